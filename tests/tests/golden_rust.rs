//! Golden output of the Rust emitter: the fixture specs in `tests/fixtures/models` produce
//! exactly the crate checked in under `tests/golden/rust`. The goldens are also compiled and
//! run (`tests/ui/pass/golden_fixtures.rs`, through trybuild), so no snapshot can rot.
//!
//! After an intended change to the emitter: `BLESS=1 cargo test -p registry-tests --test golden_rust`.

use codegen::write::{self, Files};
use registry_tests::root;

/// The `rust/` files of everything the emitters produce for the specs under `models_dir`.
fn emitted_rust(models_dir: &str) -> Files {
    let root = root();
    let ir = match codegen::load(&root.join(models_dir), &root) {
        Ok(ir) => ir,
        Err(diags) => panic!(
            "{models_dir} is invalid:\n{}",
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    let files = codegen::emit::emit_all(&ir).expect("the emitters succeed");
    files
        .into_iter()
        .filter_map(|(path, text)| path.strip_prefix("rust/").map(|p| (p.to_owned(), text)))
        .collect()
}

fn stale_report(stale: &[write::Stale]) -> String {
    stale
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fixture_specs_produce_the_golden_crate() {
    let files = emitted_rust("tests/fixtures/models");
    let golden = root().join("tests/golden/rust");
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        write::write_tree(&golden, &files).expect("write the goldens");
        return;
    }
    let stale = write::check_tree(&golden, &files).expect("read the goldens");
    assert!(
        stale.is_empty(),
        "the generated Rust differs from tests/golden/rust:\n{}\nIf the change is intended, run `BLESS=1 cargo test -p registry-tests --test golden_rust` and commit tests/golden/",
        stale_report(&stale)
    );
    // One module per fixture model, and the crate files.
    for path in [
        "Cargo.toml",
        "src/lib.rs",
        "src/registry.rs",
        "src/providers.rs",
        "src/models/mod.rs",
        "src/models/acme_collage.rs",
        "src/models/acme_upscale.rs",
        "src/models/kie_like_video.rs",
    ] {
        assert!(files.contains_key(path), "{path} is generated");
    }
}

#[test]
fn every_generated_file_starts_with_the_header() {
    for (path, text) in emitted_rust("tests/fixtures/models") {
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.contains(codegen::emit::HEADER),
            "{path} starts with {first:?}"
        );
        assert!(!text.contains('\r'), "{path} has LF line endings");
    }
}

#[test]
fn bundled_generated_crate_is_fresh() {
    let files = emitted_rust("models");
    let stale =
        write::check_tree(&root().join("generated/rust"), &files).expect("read generated/rust");
    assert!(
        stale.is_empty(),
        "generated/rust is stale: run `cargo run -p codegen`\n{}",
        stale_report(&stale)
    );
}

#[test]
fn emitting_twice_gives_the_same_bytes() {
    assert_eq!(
        emitted_rust("tests/fixtures/models"),
        emitted_rust("tests/fixtures/models")
    );
}
