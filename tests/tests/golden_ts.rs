//! Golden output of the TypeScript emitter: the fixture specs in `tests/fixtures/models`
//! produce exactly the files checked in under `tests/golden/ts`, byte for byte. The goldens are
//! also type-checked with the project's pinned `tsc` and the options of
//! `tests/ts/tsconfig.generated.json`, so no snapshot can hold code that does not compile.
//!
//! After an intended change to the emitter: `BLESS=1 cargo test -p registry-tests --test golden_ts`.

use std::path::PathBuf;
use std::process::Command;

use codegen::write::{self, Files};
use registry_tests::root;

const BLESS: &str = "BLESS=1 cargo test -p registry-tests --test golden_ts";

/// The `ts/` files of everything the emitters produce for the specs under `models_dir`.
fn emitted_ts(models_dir: &str) -> Files {
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
        .filter_map(|(path, text)| path.strip_prefix("ts/").map(|p| (p.to_owned(), text)))
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
fn fixture_specs_produce_the_golden_bindings() {
    let files = emitted_ts("tests/fixtures/models");
    let golden = root().join("tests/golden/ts");
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        write::write_tree(&golden, &files).expect("write the goldens");
        return;
    }
    let stale = write::check_tree(&golden, &files).expect("read the goldens");
    assert!(
        stale.is_empty(),
        "the generated TypeScript differs from tests/golden/ts:\n{}\nIf the change is intended, run `{BLESS}` and commit tests/golden/ts",
        stale_report(&stale)
    );
    for path in [
        "index.ts",
        "types.ts",
        "registry.ts",
        "validate.ts",
        "cost.ts",
        "decimal.ts",
        "schemas.ts",
        "client.ts",
        "package.json",
        "tsconfig.json",
    ] {
        assert!(files.contains_key(path), "{path} is generated");
    }
    // Every fixture model is in the bindings.
    let registry = &files["registry.ts"];
    for id in ["acme_collage", "acme_upscale", "kie_like_video"] {
        assert!(
            registry.contains(&format!("\"{id}\"")),
            "registry.ts does not name {id}"
        );
    }
}

#[test]
fn every_generated_file_starts_with_the_header() {
    let files = emitted_ts("tests/fixtures/models");
    assert!(!files.is_empty(), "the TypeScript emitter produced nothing");
    for (path, text) in files {
        if path.ends_with(".json") {
            // JSON has no comments: package.json and tsconfig.json carry the header as "//".
            let json: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
            let note = json["//"].as_str().unwrap_or_default();
            assert!(
                note.starts_with(codegen::emit::HEADER),
                "{path} has no \"//\" header: {note:?}"
            );
        } else {
            assert!(path.ends_with(".ts"), "{path} is a TypeScript file");
            let first = text.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("// ") && first.contains(codegen::emit::HEADER),
                "{path} starts with {first:?}"
            );
        }
        assert!(!text.contains('\r'), "{path} has LF line endings");
        assert!(text.ends_with('\n'), "{path} ends with a newline");
    }
}

#[test]
fn bundled_bindings_are_fresh() {
    let files = emitted_ts("models");
    let stale = write::check_tree(&root().join("generated/ts"), &files).expect("read generated/ts");
    assert!(
        stale.is_empty(),
        "generated/ts is stale: run `cargo run -p codegen`\n{}",
        stale_report(&stale)
    );
}

#[test]
fn emitting_twice_gives_the_same_bytes() {
    assert_eq!(
        emitted_ts("tests/fixtures/models"),
        emitted_ts("tests/fixtures/models")
    );
}

/// The `tsc` that `tests/ts/run.sh` installs from `tests/ts/package-lock.json`.
fn pinned_tsc() -> PathBuf {
    root().join("tests/ts/node_modules/.bin/tsc")
}

/// `tsc --strict --noEmit` over the checked-in goldens, with exactly the options the generated
/// bindings are checked with (`tests/ts/tsconfig.generated.json`, extended here so the options
/// are not copied). Skipped, with a note on stderr, when the pinned `tsc` is not installed:
/// `cargo test` runs before `tests/ts/run.sh` installs it on a fresh machine.
#[test]
fn golden_bindings_type_check() {
    let tsc = pinned_tsc();
    if !tsc.exists() {
        eprintln!(
            "note: golden_bindings_type_check skipped: {} is missing (run `npm ci` in tests/ts, or tests/ts/run.sh)",
            tsc.display()
        );
        return;
    }
    let root = root();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden_ts");
    std::fs::create_dir_all(&dir).expect("create the tsconfig dir");
    let config = serde_json::json!({
        "extends": root.join("tests/ts/tsconfig.generated.json"),
        "include": [root.join("tests/golden/ts/*.ts")],
    });
    let config_path = dir.join("tsconfig.json");
    std::fs::write(&config_path, format!("{config:#}\n")).expect("write the tsconfig");
    let out = Command::new(&tsc)
        .arg("-p")
        .arg(&config_path)
        .arg("--listFilesOnly")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tsc.display()));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tsc --listFilesOnly failed:\n{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The check must cover every golden file, not an empty selection.
    for name in emitted_ts("tests/fixtures/models")
        .into_keys()
        .filter(|n| n.ends_with(".ts"))
    {
        assert!(
            listed.contains(&format!("tests/golden/ts/{name}")),
            "tsc does not see tests/golden/ts/{name}; it lists:\n{listed}"
        );
    }
    let out = Command::new(&tsc)
        .arg("-p")
        .arg(&config_path)
        .arg("--pretty")
        .arg("false")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tsc.display()));
    assert!(
        out.status.success(),
        "tsc --strict rejects tests/golden/ts:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
