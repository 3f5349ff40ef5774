//! The `codegen` binary as a user runs it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn codegen(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codegen"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run codegen")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path()
                        .strip_prefix(dir)
                        .expect("prefix")
                        .display()
                        .to_string(),
                    fs::read(e.path()).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A scratch project: a copy of the bundled models, with outputs generated into it.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("codegen-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    copy_dir(&root().join("models"), &dir.join("models"));
    let o = codegen(&[], &dir);
    assert!(o.status.success(), "generate failed: {}", text(&o));
    dir
}

#[test]
fn committed_outputs_are_what_the_specs_produce() {
    let o = codegen(&["--check"], &root());
    assert!(
        o.status.success(),
        "generated/ or schema/ is stale; run `cargo run -p codegen`:\n{}",
        text(&o)
    );
}

#[test]
fn editing_a_spec_makes_check_fail_naming_the_stale_files() {
    let dir = scratch("stale");
    assert!(codegen(&["--check"], &dir).status.success());
    let spec = dir.join("models/kie_ai/seedance_v1_lite.yaml");
    let edited = fs::read_to_string(&spec)
        .expect("read")
        .replace("base: \"8\"", "base: \"9\"");
    fs::write(&spec, edited).expect("write");
    let before = tree(&dir.join("generated"));
    let o = codegen(&["--check"], &dir);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("stale: generated/registry.json"), "{out}");
    assert!(out.contains("stale: generated/MODELS.md"), "{out}");
    assert!(out.contains("run `cargo run -p codegen`"), "{out}");
    assert_eq!(
        before,
        tree(&dir.join("generated")),
        "--check must not write"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_broken_spec_fails_with_diagnostics_and_writes_nothing() {
    let dir = scratch("broken");
    let before = tree(&dir.join("generated"));
    let spec = dir.join("models/kie_ai/seedance_v1_lite.yaml");
    let broken = fs::read_to_string(&spec)
        .expect("read")
        .replace("base: \"8\"", "base: 8.5")
        .replace("prompt: \"{{ prompt }}\"", "prompt: \"{{ promt }}\"");
    fs::write(&spec, broken).expect("write");
    // Another model changes too, so a partial write would show.
    let other = dir.join("models/lovable_ai/nano_banana.yaml");
    fs::write(
        &other,
        fs::read_to_string(&other)
            .expect("read")
            .replace("base: \"2\"", "base: \"3\""),
    )
    .expect("write");
    let o = codegen(&[], &dir);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o);
    assert!(
        out.contains("models/kie_ai/seedance_v1_lite.yaml:"),
        "{out}"
    );
    assert!(out.contains("nothing was written"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    assert_eq!(before, tree(&dir.join("generated")));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn output_is_deterministic_and_unchanged_files_are_not_rewritten() {
    let dir = scratch("determinism");
    let first = tree(&dir.join("generated"));
    let mtime = |p: &Path| fs::metadata(p).expect("meta").modified().expect("mtime");
    let registry = dir.join("generated/registry.json");
    let t0 = mtime(&registry);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = codegen(&[], &dir);
    assert!(o.status.success());
    assert!(text(&o).contains("0 file(s) changed"), "{}", text(&o));
    assert_eq!(first, tree(&dir.join("generated")));
    assert_eq!(t0, mtime(&registry));
    for (_, bytes) in &first {
        assert!(!bytes.contains(&b'\r'), "CRLF in generated output");
    }
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn keys_env_names_missing_secrets_and_never_prints_values() {
    let names = codegen(&["keys"], &root());
    assert!(names.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&names.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_owned())
        .collect();
    assert!(listed.len() >= 15, "{listed:?}");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codegen"));
    cmd.args(["keys", "--env"]).current_dir(root()).env_clear();
    for name in &listed[1..] {
        cmd.env(name, "value-that-must-not-print-42");
    }
    let o = cmd.output().expect("run");
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o);
    assert!(out.contains(&format!("MISSING  {}", listed[0])), "{out}");
    assert!(out.contains("1 of"), "{out}");
    assert!(!out.contains("value-that-must-not-print-42"), "{out}");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codegen"));
    cmd.args(["keys", "--env"]).current_dir(root()).env_clear();
    for name in &listed {
        cmd.env(name, "value-that-must-not-print-42");
    }
    let o = cmd.output().expect("run");
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("value-that-must-not-print-42"));
}

#[test]
fn list_and_validate_and_dump_ir() {
    let o = codegen(&["list"], &root());
    assert!(o.status.success());
    let out = text(&o);
    assert!(
        out.contains("seedance_v1_lite") && out.contains("(disabled)"),
        "{out}"
    );
    let o = codegen(&["validate"], &root());
    assert!(o.status.success() && text(&o).starts_with("ok:"));
    let o = codegen(&["--dump-ir"], &root());
    let ir: serde_json::Value = serde_json::from_slice(&o.stdout).expect("IR is JSON");
    assert_eq!(ir["models"]["seedance_v1_lite"]["cost"]["base"], "8");
}

#[test]
fn every_bundled_spec_names_its_schema_for_editors() {
    let models = root().join("models");
    let mut stack = vec![models.clone()];
    let mut count = 0;
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("read") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let first = fs::read_to_string(&path)
                .expect("read")
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            let schema = first
                .strip_prefix("# yaml-language-server: $schema=")
                .unwrap_or_else(|| panic!("{} lacks the schema line", path.display()));
            assert!(
                path.parent().expect("parent").join(schema).is_file(),
                "{}: {schema} does not exist",
                path.display()
            );
            count += 1;
        }
    }
    assert!(count >= 20);
}

/// A small project with one broken model: a state name written wrong inside the optional
/// `poll` block.
fn broken_project(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("codegen-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    copy_dir(
        &root().join("tests/invalid/base/models"),
        &dir.join("models"),
    );
    fs::write(
        dir.join("models/acme/clip.yaml"),
        "id: clip
display_name: Clip
provider: acme
content_type: video
key_scope: text_to_video
params:
  prompt: { type: string, required: true }
cost: { base: \"4\" }
execution:
  mode: poll
  submit: { method: POST, path: /v1/videos, body: { prompt: \"{{ prompt }}\" } }
  response: { task_id: /id }
  poll:
    method: GET
    path: /v1/videos/{{ task_id }}
    status: /status
    states: { queued: pending, running: procesing, done: completed, error: failed }
    outputs: { at: /video/url }
  expected_latency: 1m
  timeout: 10m
",
    )
    .expect("write");
    dir
}

#[test]
fn message_format_json_prints_one_object_per_problem_then_a_summary() {
    let dir = broken_project("json");
    let o = codegen(&["validate", "--message-format", "json"], &dir);
    fs::remove_dir_all(&dir).ok();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        r#"{"reason":"diagnostic","file":"models/acme/clip.yaml","line":17,"column":41,"end_line":17,"end_column":50,"span":{"start":410,"end":419},"code":"E0204","name":"unknown-value","severity":"error","message":"unknown value `procesing` for `execution.poll.states.running`","expected":"one of `pending`, `processing`, `completed`, `failed`, `done`","hint":"did you mean `processing`?"}
{"reason":"summary","success":false,"problems":1,"files":1}
"#
    );
}

#[test]
fn message_format_github_prints_workflow_commands() {
    let dir = broken_project("github");
    let o = codegen(&["validate", "--message-format", "github"], &dir);
    fs::remove_dir_all(&dir).ok();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "::error file=models/acme/clip.yaml,line=17,col=41,endLine=17,endColumn=49,title=E0204::unknown value `procesing` for `execution.poll.states.running` (expected one of `pending`, `processing`, `completed`, `failed`, `done`; hint: did you mean `processing`?)\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: 1 problem(s) in 1 file(s); nothing was written\n"
    );
}
