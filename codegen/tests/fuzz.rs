//! The loader never panics: arbitrary bytes, and the bundled specs with random edits, always
//! end in a registry or in diagnostics with a real position. Hostile files (an alias bomb, a
//! spec with 100,000 keys, nesting 100,000 levels deep), edited at random, also end quickly.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegen::spec::load::SourceFile;
use codegen::spec::schema::Schemas;
use proptest::prelude::*;

fn bundled_sources() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let mut diags = codegen::diag::Diagnostics::default();
    let files = codegen::spec::load::read_dir(&root.join("models"), &root, &mut diags);
    assert!(diags.is_empty() && !files.is_empty());
    files
}

fn check_outcome(result: Result<codegen::ir::Registry, Vec<codegen::diag::Diagnostic>>) {
    if let Err(diags) = result {
        assert!(!diags.is_empty());
        for d in diags {
            assert!(
                d.span.line >= 1 && d.span.col >= 1,
                "diagnostic without a position: {d}"
            );
            // Rendering must not panic either, whatever the span.
            let _ = d.render(Some("id: x\n"), false);
        }
    }
}

/// Edits that stress YAML structure: delete, duplicate or truncate lines, insert syntax.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    Insert(usize, String),
    Truncate(usize),
    ReplaceChar(usize, char),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let junk = prop::sample::select(vec![
        ":", " ", "\n", "- ", "{", "}", "[", "]", "\"", "'", "#", "&a ", "*a", "!!str ", "|", ">",
        "\t", "~", "{{", "}}", "9.5", "-1", "yes", "é", "🙂", "\u{0}", "---\n", "? ", ",", "0x1F",
        "1e999",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), junk).prop_map(|(i, s)| Edit::Insert(i, s)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<char>()).prop_map(|(i, c)| Edit::ReplaceChar(i, c)),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    match edit {
        Edit::DeleteLine(i) if !lines.is_empty() => {
            lines.remove(i % lines.len());
            lines.join("\n")
        }
        Edit::DuplicateLine(i) if !lines.is_empty() => {
            let l = lines[i % lines.len()];
            lines.insert(i % lines.len(), l);
            lines.join("\n")
        }
        Edit::Insert(i, s) => {
            let mut at = i % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            format!("{}{}{}", &text[..at], s, &text[at..])
        }
        Edit::Truncate(i) => text.chars().take(i % (text.chars().count() + 1)).collect(),
        Edit::ReplaceChar(i, c) => {
            let n = text.chars().count().max(1);
            text.chars()
                .enumerate()
                .map(|(k, x)| if k == i % n { *c } else { x })
                .collect()
        }
        _ => text.to_owned(),
    }
}

thread_local! {
    static SCHEMAS: Schemas = Schemas::new();
    static BASE: Vec<SourceFile> = bundled_sources();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), kind in 0usize..3) {
        let rel = ["providers/x.yaml", "x/y.yaml", "monitoring.yaml"][kind].to_owned();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let sources = vec![SourceFile { shown: PathBuf::from(&rel), rel, text }];
        SCHEMAS.with(|s| check_outcome(codegen::load_sources(&sources, s)));
    }
}

proptest! {
    // Each case loads the whole bundled registry: fewer cases, same coverage of edit kinds.
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edited_bundled_specs_never_panic(file in any::<prop::sample::Index>(), edits in prop::collection::vec(edit_strategy(), 1..4)) {
        let mut sources = BASE.with(Clone::clone);
        let i = file.index(sources.len());
        for e in &edits {
            sources[i].text = apply(&sources[i].text, e);
        }
        SCHEMAS.with(|s| check_outcome(codegen::load_sources(&sources, s)));
    }
}

/// Hostile seeds: each is refused as it is, and must stay fast to refuse or accept whatever
/// the edits do to it.
fn hostile_seeds() -> Vec<(&'static str, String)> {
    let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let items = vec![format!("*{prev}"); 9].join(", ");
        bomb.push_str(&format!("{name}: &{name} [{items}]\n"));
    }
    let mut keys = String::from("id: y\n");
    for i in 0..100_000 {
        keys.push_str(&format!("k{i}: 1\n"));
    }
    vec![
        ("alias bomb", bomb),
        ("100,000 keys", keys),
        ("100,000 open lists", "[".repeat(100_000)),
        ("100,000 open mappings", "{a: ".repeat(100_000)),
        ("100,000 nested block lists", "- ".repeat(100_000)),
    ]
}

/// A generous bound for one load of a hostile file in a debug build on a shared machine;
/// without the defenses these take minutes.
const QUICK: Duration = Duration::from_secs(3);

fn load_hostile(
    text: String,
) -> (
    Result<codegen::ir::Registry, Vec<codegen::diag::Diagnostic>>,
    Duration,
) {
    let rel = "x/y.yaml".to_owned();
    let sources = vec![SourceFile {
        shown: PathBuf::from(&rel),
        rel,
        text,
    }];
    let start = Instant::now();
    let result = SCHEMAS.with(|s| codegen::load_sources(&sources, s));
    (result, start.elapsed())
}

#[test]
fn hostile_seeds_are_refused_quickly() {
    for (name, text) in hostile_seeds() {
        let (result, took) = load_hostile(text);
        assert!(took < QUICK, "{name} took {took:?}");
        let diags = result.expect_err(name);
        assert_eq!(diags.len(), 1, "{name}: {diags:?}");
        check_outcome(Err(diags));
    }
}

thread_local! {
    static HOSTILE: Vec<(&'static str, String)> = hostile_seeds();
}

proptest! {
    // Each case may parse up to the value limit: few cases.
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edited_hostile_seeds_never_panic_and_end_quickly(seed in any::<prop::sample::Index>(), edits in prop::collection::vec(edit_strategy(), 1..4)) {
        let (name, mut text) = HOSTILE.with(|h| h[seed.index(h.len())].clone());
        for e in &edits {
            text = apply(&text, e);
        }
        let (result, took) = load_hostile(text);
        prop_assert!(took < QUICK, "{} with {:?} took {:?}", name, edits, took);
        check_outcome(result);
    }
}
