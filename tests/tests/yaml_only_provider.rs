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

#[tokio::test]
async fn the_yaml_only_protocol_is_followed_request_by_request() {
    use std::sync::Arc;
    use std::time::Duration;

    use runtime::engine::{Engine, EngineConfig, Via};
    use runtime::keys::StaticKeys;
    use runtime::mock::{MockOptions, MockProvider, RequestKind};

    let models = Vec::leak(codegen::info::load(&root().join("tests/fixtures/yaml_only")).unwrap());
    let mock = MockProvider::start(
        models,
        MockOptions {
            job_duration: Duration::from_millis(60),
            ..MockOptions::default()
        },
    )
    .await
    .unwrap();
    let engine = Engine::builder()
        .config(EngineConfig {
            base_urls: mock.base_urls(),
            base_urls_from_env: false,
            poll_interval_cap: Some(Duration::from_millis(20)),
            ..EngineConfig::default()
        })
        .keys(Arc::new(
            StaticKeys::new().with("TASKER_API_KEY", "tasker-SECRET-1"),
        ))
        .models(models)
        .build()
        .unwrap();
    engine
        .store()
        .set_balance(runtime::store::LOCAL_USER_ID, "100".parse().unwrap())
        .await
        .unwrap();
    let out = engine
        .run_by_id(
            "tasker_tts",
            &serde_json::json!({"text": "Hello", "voice": "bass"}),
        )
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    assert_eq!(out.cost.to_string(), "3", "2 x 1.5 from the YAML's table");
    let job = mock.jobs().pop().unwrap();
    assert_eq!(out.outputs, job.outputs);
    let ticket = &job.kept.iter().find(|(k, _)| k == "ticket").unwrap().1;
    let requests = mock.requests();
    let submit = &requests[0];
    assert_eq!(
        (submit.method.as_str(), submit.path.as_str()),
        ("PUT", "/api/v2/speech")
    );
    assert_eq!(submit.body["voice"], "bass");
    assert_eq!(
        submit
            .auth
            .as_ref()
            .map(|k| k.expose().to_owned())
            .as_deref(),
        Some("tasker-SECRET-1"),
        "the key reached the mock where the provider spec puts it (the query's `api_key`, which \
         the mock strips from the recorded query)"
    );
    let polls: Vec<_> = requests
        .iter()
        .filter(|r| r.routed.map(|(_, k)| k) == Some(RequestKind::Step(0)))
        .collect();
    assert!(!polls.is_empty());
    for p in &polls {
        assert_eq!(p.path, format!("/api/v2/speech/{}/progress", job.id));
        assert_eq!(
            p.query.as_deref(),
            Some(format!("ticket={ticket}").as_str())
        );
    }
    let result = requests.last().unwrap();
    assert_eq!(result.routed.map(|(_, k)| k), Some(RequestKind::Step(1)));
    assert_eq!(
        (result.method.as_str(), result.body["ticket"].as_str()),
        ("POST", Some(ticket.as_str()))
    );
}
