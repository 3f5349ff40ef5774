//! Golden output of the SQL emitter: the fixture specs in `tests/fixtures/models` produce
//! exactly the migrations checked in under `tests/golden/sql`, byte for byte. The goldens are
//! also applied, twice, to a throwaway PostgreSQL, so no snapshot can hold SQL that does not run.
//!
//! After an intended change to the emitter: `BLESS=1 cargo test -p registry-tests --test golden_sql`.

use codegen::write::{self, Files};
use registry_tests::pg::Pg;
use registry_tests::root;

const BLESS: &str = "BLESS=1 cargo test -p registry-tests --test golden_sql";

/// The `sql/` files of everything the emitters produce for the specs under `models_dir`.
fn emitted_sql(models_dir: &str) -> Files {
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
        .filter_map(|(path, text)| path.strip_prefix("sql/").map(|p| (p.to_owned(), text)))
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
fn fixture_specs_produce_the_golden_migrations() {
    let files = emitted_sql("tests/fixtures/models");
    let golden = root().join("tests/golden/sql");
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        write::write_tree(&golden, &files).expect("write the goldens");
        return;
    }
    let stale = write::check_tree(&golden, &files).expect("read the goldens");
    assert!(
        stale.is_empty(),
        "the generated SQL differs from tests/golden/sql:\n{}\nIf the change is intended, run `{BLESS}` and commit tests/golden/sql",
        stale_report(&stale)
    );
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "001_schema.sql",
            "002_registry.sql",
            "003_cost.sql",
            "004_monitoring.sql",
            "005_alerts.sql",
            "006_rls.sql"
        ],
        "the migrations and their order"
    );
    // Every fixture model is upserted into the registry (the cost function reads it there).
    for id in ["acme_collage", "acme_upscale", "kie_like_video"] {
        assert!(
            files["002_registry.sql"].contains(&format!("'{id}'")),
            "002_registry.sql does not name {id}"
        );
    }
}

#[test]
fn every_generated_file_starts_with_the_header() {
    let files = emitted_sql("tests/fixtures/models");
    assert!(!files.is_empty(), "the SQL emitter produced nothing");
    for (path, text) in files {
        assert!(path.ends_with(".sql"), "{path} is an SQL file");
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("-- ") && first.contains(codegen::emit::HEADER),
            "{path} starts with {first:?}"
        );
        assert!(!text.contains('\r'), "{path} has LF line endings");
        assert!(
            text.ends_with(";\n"),
            "{path} ends with a statement and a newline"
        );
    }
}

#[test]
fn bundled_migrations_are_fresh() {
    let files = emitted_sql("models");
    let stale =
        write::check_tree(&root().join("generated/sql"), &files).expect("read generated/sql");
    assert!(
        stale.is_empty(),
        "generated/sql is stale: run `cargo run -p codegen`\n{}",
        stale_report(&stale)
    );
}

#[test]
fn emitting_twice_gives_the_same_bytes() {
    assert_eq!(
        emitted_sql("tests/fixtures/models"),
        emitted_sql("tests/fixtures/models")
    );
}

/// The checked-in goldens (not a fresh emission: those are what the snapshot claims) run in
/// order on a real server, twice, without an error, a warning or a notice.
#[test]
fn golden_migrations_apply_twice_in_postgres() {
    let dir = root().join("tests/golden/sql");
    let mut golden: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (run `{BLESS}`)", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    golden.sort();
    assert_eq!(
        golden.len(),
        6,
        "six golden migrations in {}",
        dir.display()
    );
    let pg = Pg::start();
    for round in 1..=2 {
        for file in &golden {
            let out = pg.psql_file("postgres", file);
            assert!(
                out.ok && out.stderr.is_empty(),
                "round {round}: {} failed or printed messages:\n{}",
                file.display(),
                out.stderr
            );
        }
    }
    // The fixture registry is in the table, and the cost function prices a fixture model.
    let ids = pg.query("select model_id from model_registry order by model_id;");
    assert_eq!(
        ids.lines().collect::<Vec<_>>(),
        ["acme_collage", "acme_upscale", "kie_like_video"],
        "model_registry after applying the goldens"
    );
    let cost = pg.query(
        "select expected_credit_cost('acme_upscale', '{}'::jsonb), expected_credit_cost('acme_upscale', '{\"factor\": 4}'::jsonb);",
    );
    assert_eq!(
        cost.trim(),
        "3|6",
        "acme_upscale costs 3 x factor table (2 -> 1, the default; 4 -> 2)"
    );
}
