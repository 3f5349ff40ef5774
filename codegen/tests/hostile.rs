//! Hostile spec files: each is refused quickly with a diagnostic that says where and why,
//! never a hang, a panic or a flood of output. The time bounds are generous correctness bounds
//! on the defenses (debug build, shared machine), not benchmarks: without the defenses these
//! inputs take minutes or exhaust memory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use codegen::diag::{Diagnostic, MAX_PER_FILE, problem_count};

const BOUND: Duration = Duration::from_secs(1);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
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

/// A valid models tree (the base of the broken-spec corpus) plus `models/acme/<name>` holding
/// `text`. Returns the scratch directory that diagnostics are relative to.
fn scratch_with(name: &str, text: &[u8]) -> PathBuf {
    let scratch = std::env::temp_dir().join(format!(
        "codegen-hostile-{}-{}",
        std::process::id(),
        name.replace('.', "-")
    ));
    let _ = fs::remove_dir_all(&scratch);
    copy_dir(
        &root().join("tests/invalid/base/models"),
        &scratch.join("models"),
    );
    fs::write(scratch.join("models/acme").join(name), text).expect("write spec");
    scratch
}

/// Load the tree, timed; it must fail.
fn load_failing(scratch: &Path) -> (Vec<Diagnostic>, Duration) {
    let start = Instant::now();
    let result = codegen::load(&scratch.join("models"), scratch);
    let took = start.elapsed();
    let _ = fs::remove_dir_all(scratch);
    match result {
        Ok(_) => panic!("a hostile spec was accepted"),
        Err(diags) => (diags, took),
    }
}

/// Nine levels of nine aliases to the level before: 9^9 (387 million) strings once expanded,
/// from about 700 bytes.
fn alias_bomb() -> String {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let items = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{items}]\n"));
    }
    text
}

/// `id: huge` and then `k0: 1` ... `k<n-1>: 1`, one a line.
fn many_keys(n: usize) -> String {
    let mut text = String::from("id: huge\n");
    for i in 0..n {
        text.push_str(&format!("k{i}: 1\n"));
    }
    text
}

#[test]
fn an_alias_bomb_is_refused_at_the_first_alias() {
    let bomb = alias_bomb();
    assert!(bomb.len() < 800, "{} bytes", bomb.len());
    let (diags, took) = load_failing(&scratch_with("bomb.yaml", bomb.as_bytes()));
    assert!(took < BOUND, "took {took:?}");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(
        d.to_string(),
        "models/acme/bomb.yaml:2:8: YAML aliases (`*name`) are not supported in specs"
    );
    let hint = d.hint.as_deref().unwrap_or_default();
    assert!(hint.contains("write the value out"), "{hint}");
    assert!(
        hint.contains("anchors and aliases are not supported"),
        "{hint}"
    );
}

#[test]
fn the_cli_refuses_an_alias_bomb_quickly() {
    let scratch = scratch_with("bomb_cli.yaml", alias_bomb().as_bytes());
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_codegen"))
        .args(["validate", "--models", "models"])
        .current_dir(&scratch)
        .env("NO_COLOR", "1")
        .output()
        .expect("run codegen");
    let took = start.elapsed();
    let _ = fs::remove_dir_all(&scratch);
    // Process start-up included, so a looser bound than the library's.
    assert!(took < 5 * BOUND, "took {took:?}");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[E0109]: YAML aliases (`*name`) are not supported in specs\n"),
        "{stderr}"
    );
    assert!(stderr.contains("models/acme/bomb_cli.yaml:2:8"), "{stderr}");
}

#[test]
fn a_spec_with_100_000_keys_is_refused_at_the_value_over_the_limit() {
    let text = many_keys(100_000);
    let (diags, took) = load_failing(&scratch_with("huge.yaml", text.as_bytes()));
    assert!(took < BOUND, "took {took:?}");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    // The root mapping, `id` and 9,998 keys' values make 10,000: the value of `k9998`, on
    // line 10,000, is one too many.
    assert_eq!(
        diags[0].to_string(),
        "models/acme/huge.yaml:10000:8: the file holds more than 10000 values, the limit for a spec file"
    );
    assert!(diags[0].hint.is_some());
}

#[test]
fn nesting_100_000_levels_deep_is_refused() {
    let cases = [
        ("flow_lists.yaml", "[".repeat(100_000)),
        ("flow_maps.yaml", "{a: ".repeat(100_000)),
        ("block_lists.yaml", "- ".repeat(100_000)),
        ("value.yaml", format!("id: x\nd: {}", "[".repeat(100_000))),
    ];
    for (name, text) in cases {
        let (diags, took) = load_failing(&scratch_with(name, text.as_bytes()));
        assert!(took < BOUND, "{name} took {took:?}");
        assert_eq!(diags.len(), 1, "{diags:#?}");
        let d = &diags[0];
        assert_eq!(d.file, Path::new("models/acme").join(name));
        assert!(
            d.message == "lists and mappings nest deeper than 64 levels here",
            "{name}: {d}"
        );
        assert!(d.span.line >= 1 && d.span.col >= 1, "{d}");
        assert!(d.hint.as_deref().unwrap_or_default().contains("unclosed"));
    }
    // Where the reader itself stops: at the 65th level.
    let block: String = (0..100).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
    let (diags, _) = load_failing(&scratch_with("block_maps.yaml", block.as_bytes()));
    assert_eq!(
        diags[0].to_string(),
        "models/acme/block_maps.yaml:65:65: lists and mappings nest deeper than 64 levels here"
    );
}

#[test]
fn a_file_over_the_size_limit_is_not_even_read() {
    let text = format!("id: x\nd: \"{}\"\n", "x".repeat(2 << 20));
    let (diags, took) = load_failing(&scratch_with("large.yaml", text.as_bytes()));
    assert!(took < BOUND, "took {took:?}");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(
        diags[0].to_string(),
        format!(
            "models/acme/large.yaml:1:1: the file has {} bytes, more than the 1 MiB a spec file may have",
            text.len()
        )
    );
}

#[test]
fn a_file_that_is_not_utf8_is_placed_at_the_first_bad_byte() {
    let (diags, _) = load_failing(&scratch_with("latin1.yaml", b"id: x\nname: caf\xe9\n"));
    assert_eq!(
        diags[0].to_string(),
        "models/acme/latin1.yaml:2:10: the file is not UTF-8 text"
    );
}

#[test]
fn a_file_shows_its_first_50_problems_and_counts_the_rest() {
    let mut text = fs::read_to_string(root().join("tests/invalid/base/models/acme/good.yaml"))
        .expect("base spec")
        .replace("id: good", "id: many");
    let first_line = text.lines().count() + 1;
    for i in 0..200 {
        text.push_str(&format!("extra_{i}: 1\n"));
    }
    let (diags, took) = load_failing(&scratch_with("many.yaml", text.as_bytes()));
    assert!(took < BOUND, "took {took:?}");
    assert_eq!(diags.len(), MAX_PER_FILE + 1, "{diags:#?}");
    for (i, d) in diags[..MAX_PER_FILE].iter().enumerate() {
        assert_eq!(
            d.to_string(),
            format!(
                "models/acme/many.yaml:{}:1: unknown field `extra_{i}`",
                first_line + i
            )
        );
        assert_eq!(d.omitted, 0);
    }
    let more = &diags[MAX_PER_FILE];
    assert_eq!(
        more.to_string(),
        format!(
            "models/acme/many.yaml:{}:1: and 150 more problems in models/acme/many.yaml",
            first_line + MAX_PER_FILE
        )
    );
    assert_eq!(more.omitted, 150);
    assert_eq!(problem_count(&diags), 200);
}

#[test]
fn the_cli_prints_50_problems_and_one_line_for_the_rest() {
    let mut text = fs::read_to_string(root().join("tests/invalid/base/models/acme/good.yaml"))
        .expect("base spec")
        .replace("id: good", "id: many_cli");
    for i in 0..5000 {
        text.push_str(&format!("extra_{i}: 1\n"));
    }
    let scratch = scratch_with("many_cli.yaml", text.as_bytes());
    let out = Command::new(env!("CARGO_BIN_EXE_codegen"))
        .args(["validate", "--models", "models"])
        .current_dir(&scratch)
        .env("NO_COLOR", "1")
        .output()
        .expect("run codegen");
    let _ = fs::remove_dir_all(&scratch);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    // 50 problems, the count of the rest, and the closing summary.
    assert_eq!(errors.len(), MAX_PER_FILE + 2, "{stderr}");
    assert!(
        errors
            .iter()
            .filter(|l| l.contains("unknown field `extra_"))
            .count()
            == MAX_PER_FILE,
        "{stderr}"
    );
    assert_eq!(
        errors[MAX_PER_FILE],
        "error[E0001]: and 4950 more problems in models/acme/many_cli.yaml"
    );
    assert!(
        stderr.lines().count() < 1000,
        "{} lines",
        stderr.lines().count()
    );
}
