//! The bad-input corpus: every case under `tests/invalid/cases/<name>/models/` is laid over the
//! valid base specs in `tests/invalid/base/models/`, loaded, and must produce exactly the
//! diagnostics in `tests/invalid/cases/<name>/expected.txt` (file:line:col, message, what was
//! expected, hint, and the code of each). Set `BLESS=1` to rewrite the expected files after a
//! deliberate change.

use std::fs;
use std::path::{Path, PathBuf};

use registry_tests::root;

fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn render(diags: &[codegen::diag::Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&format!(
            "{}:{}:{}: [{}] {}\n",
            d.file.display(),
            d.span.line,
            d.span.col,
            d.code,
            d.message
        ));
        if let Some(e) = &d.expected {
            out.push_str(&format!("  expected: {e}\n"));
        }
        if let Some(h) = &d.hint {
            out.push_str(&format!("  help: {h}\n"));
        }
    }
    out
}

fn run_case(case: &Path, scratch: &Path) -> String {
    let _ = fs::remove_dir_all(scratch);
    let models = scratch.join("models");
    fs::create_dir_all(&models).expect("mkdir");
    copy_dir(&root().join("tests/invalid/base/models"), &models);
    copy_dir(&case.join("models"), &models);
    match codegen::load(&models, scratch) {
        Ok(_) => "(no diagnostics: the case is valid)\n".to_owned(),
        Err(diags) => render(&diags),
    }
}

#[test]
fn the_base_specs_are_valid() {
    let base = root().join("tests/invalid/base");
    if let Err(diags) = codegen::load(&base.join("models"), &base) {
        panic!("base specs must be valid:\n{}", render(&diags));
    }
}

#[test]
fn every_broken_spec_gets_its_exact_diagnostics() {
    let cases_dir = root().join("tests/invalid/cases");
    let mut cases: Vec<PathBuf> = fs::read_dir(&cases_dir)
        .expect("cases")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 25,
        "the corpus has {} cases; it must keep at least 25",
        cases.len()
    );
    let scratch_root = std::env::temp_dir().join(format!("invalid-specs-{}", std::process::id()));
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let got = run_case(case, &scratch_root.join(&name));
        assert!(
            !got.starts_with("(no diagnostics"),
            "case {name} produced no diagnostics"
        );
        let expected_file = case.join("expected.txt");
        if bless {
            fs::write(&expected_file, &got).expect("write expected");
            continue;
        }
        let expected = fs::read_to_string(&expected_file).unwrap_or_default();
        if expected != got {
            failures.push(format!(
                "--- case {name}\nexpected:\n{expected}\ngot:\n{got}"
            ));
        }
    }
    let _ = fs::remove_dir_all(&scratch_root);
    assert!(
        failures.is_empty(),
        "{} case(s) differ (BLESS=1 rewrites them):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every case, with its outputs: the one-line form of the corpus and the full rendering a user
/// sees (snippet, notes, help).
fn every_case_output() -> Vec<(String, Vec<codegen::diag::Diagnostic>, String)> {
    let cases_dir = root().join("tests/invalid/cases");
    let mut cases: Vec<PathBuf> = fs::read_dir(&cases_dir)
        .expect("cases")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    let scratch_root = std::env::temp_dir().join(format!("invalid-scan-{}", std::process::id()));
    let mut out = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let scratch = scratch_root.join(&name);
        let _ = fs::remove_dir_all(&scratch);
        let models = scratch.join("models");
        fs::create_dir_all(&models).expect("mkdir");
        copy_dir(&root().join("tests/invalid/base/models"), &models);
        copy_dir(&case.join("models"), &models);
        let diags = codegen::load(&models, &scratch).err().unwrap_or_default();
        let mut rendered = String::new();
        for d in &diags {
            let source = fs::read_to_string(scratch.join(&d.file)).ok();
            rendered.push_str(&d.render(source.as_deref(), false));
            rendered.push('\n');
        }
        out.push((name, diags, rendered));
    }
    let _ = fs::remove_dir_all(&scratch_root);
    out
}

/// No validator sentence reaches a user: every schema error is described in terms of the
/// field and the value, in the one-line form and in the full rendering.
#[test]
fn no_raw_validator_message_reaches_a_user() {
    for (name, diags, rendered) in every_case_output() {
        let text = format!("{}\n{rendered}", render(&diags));
        for raw in [
            "anyOf",
            "oneOf",
            "allOf",
            "is not valid under",
            "$ref",
            "$defs",
        ] {
            assert!(
                !text.contains(raw),
                "case {name} shows the validator's `{raw}`:\n{text}"
            );
        }
    }
}

/// A wrong value is marked whole: the span of every "unknown value `x`" and every bad
/// duration covers exactly the value as written (quotes included when it is quoted).
#[test]
fn a_wrong_value_is_marked_whole() {
    let mut checked = 0;
    for (name, diags, _) in every_case_output() {
        let case = root().join("tests/invalid/cases").join(&name);
        for d in &diags {
            let value = d
                .message
                .strip_prefix("unknown value `")
                .or_else(|| d.message.strip_prefix("bad duration: `"))
                .and_then(|rest| rest.split('`').next());
            let Some(value) = value else { continue };
            let rel = d.file.strip_prefix("models").expect("under models/");
            let source = fs::read_to_string(case.join("models").join(rel))
                .or_else(|_| fs::read_to_string(root().join("tests/invalid/base/models").join(rel)))
                .expect("source");
            let marked: String = source
                .chars()
                .skip(d.span.start)
                .take(d.span.end - d.span.start)
                .collect();
            let bare = marked.trim_matches(['"', '\'']);
            assert_eq!(bare, value, "case {name}: {d} marks `{marked}`");
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} values checked");
}

/// Every code the corpus produces is in the one list of codes, and documented in SPEC.md
/// with its name; the human rendering shows it like rustc (`error[E0201]: ...`).
#[test]
fn every_code_of_the_corpus_is_listed_and_documented() {
    use codegen::diag::Code;
    let spec = fs::read_to_string(root().join("schema/SPEC.md")).expect("SPEC.md");
    let mut seen = std::collections::BTreeSet::new();
    for (name, diags, rendered) in every_case_output() {
        for d in &diags {
            assert!(
                Code::ALL.contains(&d.code),
                "case {name}: {} is not listed",
                d.code
            );
            assert!(
                spec.contains(&format!("| `{}` | `{}` |", d.code, d.code.name())),
                "case {name}: {} is not documented in SPEC.md",
                d.code
            );
            assert!(
                rendered.contains(&format!("error[{}]: {}", d.code, d.message)),
                "case {name}: the rendering does not show the code:\n{rendered}"
            );
            seen.insert(d.code);
        }
    }
    assert!(
        seen.len() >= 35,
        "the corpus exercises only {} codes",
        seen.len()
    );
}

/// A spec default is checked by the same rule, with the same message, as a caller's param at
/// run time: codegen refuses an `image_url` default of `"https://"` exactly as the runtime does.
#[test]
fn spec_defaults_get_the_runtimes_verdict_and_message() {
    let runtime_says = runtime::params::check(
        "image_url",
        &runtime::params::Kind::ImageUrl,
        &serde_json::json!("https://"),
    )
    .expect_err("the runtime refuses a URL with no host");
    let case = root().join("tests/invalid/cases/image_url_default_not_a_url");
    let scratch = std::env::temp_dir().join(format!("image-url-default-{}", std::process::id()));
    let got = run_case(&case, &scratch);
    let _ = fs::remove_dir_all(&scratch);
    assert!(
        got.contains(&format!(
            "default of `image_url` is invalid: {}",
            runtime_says.message
        )),
        "codegen said:\n{got}\nthe runtime says: {}",
        runtime_says.message
    );
}
