//! A provider and a model written as YAML only, for a protocol no bundled spec uses (the key in
//! a query parameter, a PUT submit, a kept ticket in a poll's query string, a result fetched by
//! POST), run by `registry-run --models DIR --mock smoke`: loaded, checked, and run against the
//! mock provider with no Rust change and no rebuild.

use std::process::ExitCode;

use registry_tests::root;

fn registry_run(args: &[&str]) -> ExitCode {
    let mut argv = vec!["registry-run"];
    argv.extend_from_slice(args);
    runtime::cli::main_from(argv, &[], Some(codegen::info::load))
}

#[test]
fn a_yaml_only_provider_passes_smoke_against_the_mock() {
    let dir = root().join("tests/fixtures/yaml_only");
    let dir = dir.to_str().expect("utf-8 path");
    let code = registry_run(&["--models", dir, "--mock", "--timeout-cap", "20", "smoke"]);
    assert_eq!(format!("{code:?}"), format!("{:?}", ExitCode::SUCCESS));
}

#[test]
fn broken_yaml_stops_before_anything_runs() {
    let scratch = root().join("target/yaml-only-broken");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(scratch.join("tasker")).unwrap();
    std::fs::create_dir_all(scratch.join("providers")).unwrap();
    let fixture = root().join("tests/fixtures/yaml_only");
    std::fs::copy(
        fixture.join("providers/tasker.yaml"),
        scratch.join("providers/tasker.yaml"),
    )
    .unwrap();
    let model = std::fs::read_to_string(fixture.join("tasker/tasker_tts.yaml")).unwrap();
    std::fs::write(
        scratch.join("tasker/tasker_tts.yaml"),
        model
            .replace("{{ kept.ticket }}/", "{{ kept.tiket }}/")
            .replace(
                "progress?ticket={{ kept.ticket }}",
                "progress?ticket={{ kept.tiket }}",
            ),
    )
    .unwrap();
    let code = registry_run(&["--models", scratch.to_str().unwrap(), "--mock", "smoke"]);
    assert_eq!(format!("{code:?}"), format!("{:?}", ExitCode::from(2)));
}
