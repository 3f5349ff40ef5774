//! The generated Postgres SQL in a real server: migrations applied twice, the registry upsert
//! and retirement, and `expected_credit_cost` against the Rust cost on every parity vector.

use registry_tests::pg::{Pg, generated_files};
use registry_tests::{bundled, root};
use runtime::cost::{Round, round_div};
use rust_decimal::Decimal;

/// The server with every migration applied once.
fn ready() -> Pg {
    let pg = Pg::start();
    pg.apply_generated();
    pg
}

#[test]
fn every_generated_file_is_a_headed_migration() {
    let files = generated_files();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "001_schema.sql",
            "002_registry.sql",
            "003_cost.sql",
            "004_monitoring.sql",
            "005_alerts.sql",
            "006_rls.sql"
        ]
    );
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("-- ") && first.contains(codegen::emit::HEADER),
            "{} does not start with the generated-file header",
            file.display()
        );
        assert!(
            !text.contains('\r'),
            "{} has CR line endings",
            file.display()
        );
        assert!(
            text.ends_with(";\n"),
            "{} does not end with a statement and a newline",
            file.display()
        );
    }
}

#[test]
fn migrations_apply_twice_without_errors_warnings_or_notices() {
    let pg = Pg::start();
    for round in 1..=2 {
        for file in generated_files() {
            let out = pg.psql_file("postgres", &file);
            assert!(
                out.ok,
                "round {round}: {} failed:\n{}",
                file.display(),
                out.stderr
            );
            assert!(
                out.stderr.is_empty(),
                "round {round}: {} printed messages:\n{}",
                file.display(),
                out.stderr
            );
        }
        if round == 1 {
            // Remember the registry rows: applying again must not touch them.
            pg.query(
                "create table registry_before as select model_id, updated_at from model_registry;",
            );
        }
    }
    let models = bundled().models.len();
    assert_eq!(
        pg.query("select count(*) from model_registry where retired_at is null;")
            .trim(),
        models.to_string()
    );
    assert_eq!(
        pg.query(
            "select count(*) from model_registry r join registry_before b using (model_id) \
             where r.updated_at = b.updated_at;"
        )
        .trim(),
        models.to_string(),
        "applying the registry again rewrote rows"
    );
    // Every object the monitoring promises is there.
    let objects = pg.query(
        "select string_agg(c.relname, ',' order by c.relname) from pg_class c \
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v');",
    );
    for name in [
        "api_key_events",
        "generations",
        "model_registry",
        "monitoring_alerts",
        "monitoring_cost_mismatches",
        "monitoring_failed_generations",
        "monitoring_key_retrieval",
        "monitoring_latency",
        "monitoring_model_failure_rate",
        "monitoring_provider_error_rate",
        "monitoring_provider_errors",
        "monitoring_recent_generations",
        "monitoring_success_rate",
    ] {
        assert!(
            objects.trim().split(',').any(|o| o == name),
            "{name} missing from {objects}"
        );
    }
}

#[test]
fn the_status_check_rejects_unknown_statuses() {
    let pg = ready();
    let out = pg.psql(
        "insert into generations (model_id, provider, content_type, status) \
         values ('seedance_v1_lite', 'kie_ai', 'video', 'done');",
    );
    assert!(
        !out.ok && out.stderr.contains("generations_status_check"),
        "{}",
        out.stderr
    );
    pg.query(
        "insert into generations (model_id, provider, content_type, status) \
         values ('seedance_v1_lite', 'kie_ai', 'video', 'processing');",
    );
}

#[test]
fn a_model_deleted_from_the_specs_is_retired_and_restored_when_it_returns() {
    let pg = ready();
    pg.query(
        "insert into model_registry (model_id, display_name, provider, content_type, execution_mode, key_scope, \
           secret_name, enabled, expected_latency, timeout, cost_base, cost_factors, cost_round, cost_scale, \
           cost_formula, param_defaults, source) \
         values ('deleted_model', 'Gone', 'kie_ai', 'image', 'sync', 'x', 'X', true, '1 minute', '2 minutes', \
           5, '[]', 'ceil', 0, '5, ceil', '{}', 'kie_ai/deleted_model.yaml');",
    );
    // A model that is still specified but was changed by hand comes back to its spec.
    pg.query("update model_registry set enabled = false, retired_at = now() where model_id = 'seedance_v1_lite';");
    let registry = root().join("generated/sql/002_registry.sql");
    let out = pg.psql_file("postgres", &registry);
    assert!(out.ok && out.stderr.is_empty(), "{}", out.stderr);
    assert_eq!(
        pg.query(
            "select model_id, enabled, retired_at is not null from model_registry \
             where model_id in ('deleted_model', 'seedance_v1_lite') order by model_id;"
        ),
        "deleted_model|f|t\nseedance_v1_lite|t|f\n"
    );
    // Retired, its formula still prices its old generations.
    assert_eq!(
        pg.query("select expected_credit_cost('deleted_model', '{}');")
            .trim(),
        "5"
    );
    // Applying again keeps the first retirement time.
    let before =
        pg.query("select retired_at from model_registry where model_id = 'deleted_model';");
    let out = pg.psql_file("postgres", &registry);
    assert!(out.ok && out.stderr.is_empty(), "{}", out.stderr);
    assert_eq!(
        pg.query("select retired_at from model_registry where model_id = 'deleted_model';"),
        before
    );
}

#[test]
fn expected_credit_cost_equals_the_rust_cost_on_every_parity_vector() {
    let pg = ready();
    costs_match_the_vectors(&pg, "cost_vectors.json", 10_000);
}

/// The golden SQL of the fixture specs (an object param priced by two of its fields, one of
/// them at its default when left out) on the fixture vectors.
#[test]
fn expected_credit_cost_of_object_fields_equals_the_rust_cost() {
    let pg = Pg::start();
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/golden/sql"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in &files {
        let out = pg.psql_file("postgres", file);
        assert!(
            out.ok && out.stderr.is_empty(),
            "{}: {}",
            file.display(),
            out.stderr
        );
    }
    costs_match_the_vectors(&pg, "fixture_cost_vectors.json", 2_000);
    let cost = |params: &str| {
        pg.query(&format!(
            "select expected_credit_cost('acme_collage', '{params}');"
        ))
        .trim()
        .to_owned()
    };
    let two = r#""image_urls": ["https://a.test/1.png", "https://a.test/2.png"]"#;
    // 0.5 x 2 x 1024/1024 x 1 (the default canvas, white).
    assert_eq!(cost(&format!("{{{two}}}")), "1");
    // 0.5 x 2 x 2048/1024 x 1.5; a field left out or null takes its default (white).
    assert_eq!(
        cost(&format!(
            r#"{{{two}, "canvas": {{"width": 2048, "background": "transparent"}}}}"#
        )),
        "3"
    );
    assert_eq!(
        cost(&format!(
            r#"{{{two}, "canvas": {{"width": 2048, "background": null}}}}"#
        )),
        "2"
    );
    assert_eq!(
        cost(&format!(r#"{{{two}, "canvas": {{"width": 2048}}}}"#)),
        "2"
    );
    let out = pg.psql(&format!(
        r#"select expected_credit_cost('acme_collage', '{{{two}, "canvas": "wide"}}');"#
    ));
    assert!(
        !out.ok
            && out
                .stderr
                .contains("canvas.width = \"wide\": not an object"),
        "{}",
        out.stderr
    );
    let out = pg.psql(&format!(
        r#"select expected_credit_cost('acme_collage', '{{{two}, "canvas": {{"height": 512}}}}');"#
    ));
    assert!(
        !out.ok
            && out
                .stderr
                .contains("needs param canvas.width, which is missing"),
        "{}",
        out.stderr
    );
}

/// `expected_credit_cost` gives the Rust cost of every vector of `tests/parity/<file>` (at
/// least `min` of them).
fn costs_match_the_vectors(pg: &Pg, file: &str, min: usize) {
    let path = root().join("tests/parity").join(file);
    let json = std::fs::read_to_string(&path).unwrap();
    let expected_count = serde_json::from_str::<Vec<serde_json::Value>>(&json)
        .unwrap()
        .len();
    assert!(
        expected_count >= min,
        "only {expected_count} vectors in {file}"
    );
    assert!(
        !json.contains("$vectors$"),
        "the vectors contain the dollar-quote tag"
    );
    // One batch: the whole file as one jsonb value, compared in SQL, mismatches listed.
    let sql = format!(
        "create temp table vectors as \
           select ordinality as n, v ->> 'model' as model, v -> 'params' as params, v ->> 'cost' as cost \
           from jsonb_array_elements($vectors${json}$vectors$::jsonb) with ordinality as t(v, ordinality);\n\
         create temp table results as \
           select vectors.n, vectors.model, vectors.params, vectors.cost, d.cost::text as sql_cost, d.problem \
           from vectors cross join lateral expected_credit_cost_detail(model, params) as d;\n\
         select 'count', count(*) from results;\n\
         select 'mismatch', n, model, params, cost, sql_cost, problem from results \
           where sql_cost is distinct from cost order by n limit 20;\n\
         select 'mismatches', count(*) from results where sql_cost is distinct from cost;\n\
         select 'compared', count(*) from vectors v where expected_credit_cost(v.model, v.params)::text = v.cost;\n"
    );
    let out = pg.query(&sql);
    let mismatches: Vec<&str> = out.lines().filter(|l| l.starts_with("mismatch|")).collect();
    assert!(
        mismatches.is_empty(),
        "SQL costs differ from the Rust costs:\n{}\n{out}",
        mismatches.join("\n")
    );
    assert!(out.contains(&format!("count|{expected_count}\n")), "{out}");
    assert!(out.contains("mismatches|0\n"), "{out}");
    // The raising function agrees too, on every vector.
    assert!(
        out.contains(&format!("compared|{expected_count}\n")),
        "{out}"
    );
}

#[test]
fn expected_credit_cost_applies_defaults_and_rounds_once() {
    let pg = ready();
    let cases = [
        (r#"{}"#, "12"),                                      // 8 x 1.5 (720p) x 5/5
        (r#"{"resolution": null, "duration": null}"#, "12"),  // null means "use the default"
        (r#"{"resolution": "1080p", "duration": 10}"#, "40"), // 8 x 2.5 x 10/5
        (r#"{"resolution": "720p", "duration": 7}"#, "17"),   // 16.8, rounded up once
        (r#"{"resolution": "480p", "duration": "5"}"#, "8"),  // a decimal string is a number
    ];
    for (params, cost) in cases {
        let got = pg.query(&format!(
            "select expected_credit_cost('seedance_v1_lite', '{params}');"
        ));
        assert_eq!(got.trim(), cost, "seedance_v1_lite {params}");
    }
    // Half even to 2 places: 2.5 x 1 x 14/28 = 1.25 exactly; 2.5 x 16/28 = 1.428571.. -> 1.43.
    assert_eq!(pg.query("select expected_credit_cost('fal_flux_dev_image_to_image', '{\"num_inference_steps\": 14}');").trim(), "1.25");
    assert_eq!(pg.query("select expected_credit_cost('fal_flux_dev_image_to_image', '{\"num_inference_steps\": 16}');").trim(), "1.43");
    // A count of a list's items or an integer.
    assert_eq!(
        pg.query(
            "select expected_credit_cost('gpt_image_1', '{\"quality\": \"high\", \"n\": 3}');"
        )
        .trim(),
        "48"
    );
}

#[test]
fn expected_credit_cost_raises_for_unknown_models_and_unusable_params() {
    let pg = ready();
    let raises = |sql: &str, code: &str, text: &str| {
        let out = pg.psql(&format!(
            "\\set VERBOSITY verbose\nselect expected_credit_cost({sql});"
        ));
        assert!(!out.ok, "{sql} did not raise: {}", out.stdout);
        assert!(
            out.stderr.contains(&format!("ERROR:  {code}:")) && out.stderr.contains(text),
            "{sql}: {}",
            out.stderr
        );
    };
    raises(
        "'no_such_model', '{}'",
        "P0002",
        "unknown model no_such_model",
    );
    raises("null, '{}'", "P0002", "unknown model null");
    raises(
        "'seedance_v1_lite', '{\"resolution\": \"4k\"}'",
        "22023",
        "no factor for this value",
    );
    raises(
        "'seedance_v1_lite', '{\"duration\": 2.5}'",
        "22023",
        "not an integer or a decimal string",
    );
    raises(
        "'seedance_v1_lite', '{\"duration\": \"1e3\"}'",
        "22023",
        "not an integer or a decimal string",
    );
    raises(
        "'gpt_image_1', '{\"n\": \"3\"}'",
        "22023",
        "not an integer or a list",
    );
    // A needed param with neither a value nor a default.
    pg.query(
        "insert into model_registry (model_id, display_name, provider, content_type, execution_mode, key_scope, \
           secret_name, enabled, expected_latency, timeout, cost_base, cost_factors, cost_round, cost_scale, \
           cost_formula, param_defaults, source) \
         values ('no_default', 'No default', 'kie_ai', 'image', 'sync', 'x', 'X', true, '1 minute', '2 minutes', \
           5, '[{\"kind\": \"count\", \"param\": \"n\"}]', 'ceil', 0, '5 x count(n), ceil', '{}', 'x.yaml');",
    );
    raises(
        "'no_default', '{}'",
        "22023",
        "needs param n, which is missing",
    );
    raises(
        "'no_default', '{\"n\": null}'",
        "22023",
        "needs param n, which is missing",
    );
    assert_eq!(
        pg.query("select expected_credit_cost('no_default', '{\"n\": [1, 2, 3]}');")
            .trim(),
        "15"
    );
}

#[test]
fn rounding_in_sql_matches_the_runtime_at_every_edge() {
    let pg = ready();
    let numerators = [
        "-7.5",
        "-5",
        "-2.5",
        "-1",
        "-0.0001",
        "0",
        "0.0001",
        "1",
        "2.5",
        "5",
        "7",
        "10",
        "16.8",
        "123.456789",
    ];
    let denominators = [1u64, 2, 3, 4, 7, 28];
    let modes = [
        ("ceil", Round::Ceil),
        ("floor", Round::Floor),
        ("half_up", Round::HalfUp),
        ("half_even", Round::HalfEven),
    ];
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for n in numerators {
        for d in denominators {
            for (name, mode) in modes {
                for scale in [0u32, 1, 2] {
                    let id = format!("edge_{}", rows.len());
                    let factors = format!(r#"[{{"kind": "ratio", "param": "x", "per": {d}}}]"#);
                    rows.push(format!(
                        "('{id}', 'edge', 'p', 'image', 'sync', 's', 'S', true, '1 minute', '1 minute', {n}, '{factors}', '{name}', {scale}, 'edge', '{{}}', 'edge.yaml')"
                    ));
                    let want = round_div(
                        Decimal::from_str_exact(n).unwrap(),
                        i128::from(d),
                        scale,
                        mode,
                    )
                    .unwrap()
                    .normalize();
                    let want = if want.is_zero() {
                        "0".to_owned()
                    } else {
                        want.to_string()
                    };
                    expected.push(format!("{id}|{want}"));
                }
            }
        }
    }
    let sql = format!(
        "insert into model_registry (model_id, display_name, provider, content_type, execution_mode, key_scope, \
           secret_name, enabled, expected_latency, timeout, cost_base, cost_factors, cost_round, cost_scale, \
           cost_formula, param_defaults, source) values {};\n\
         select model_id, expected_credit_cost(model_id, '{{\"x\": 1}}') from model_registry \
         where model_id like 'edge\\_%' order by substr(model_id, 6)::int;",
        rows.join(",\n")
    );
    let got = pg.query(&sql);
    let got: Vec<&str> = got.lines().collect();
    let wrong: Vec<String> = got
        .iter()
        .zip(&expected)
        .filter(|(g, e)| *g != e)
        .map(|(g, e)| format!("sql {g}, rust {e}"))
        .collect();
    assert_eq!(got.len(), expected.len());
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        expected.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_ledger_from_before_held_gains_it_summed_from_the_open_holds() {
    let pg = Pg::start();
    pg.apply_generated();
    // The ledger as it was before `held`, with open, charged and refunded holds.
    pg.query(
        "alter table credit_accounts drop column held; \
         insert into credit_accounts values \
           ('00000000-0000-4000-8000-000000000001', 10), ('00000000-0000-4000-8000-000000000002', 5); \
         insert into credit_holds values \
           ('00000000-0000-4000-9000-000000000001', '00000000-0000-4000-8000-000000000001', 1.5, 'reserved'), \
           ('00000000-0000-4000-9000-000000000002', '00000000-0000-4000-8000-000000000001', 2, 'reserved'), \
           ('00000000-0000-4000-9000-000000000003', '00000000-0000-4000-8000-000000000001', 4, 'charged'), \
           ('00000000-0000-4000-9000-000000000004', '00000000-0000-4000-8000-000000000002', 3, 'refunded');",
    );
    let schema = generated_files()
        .into_iter()
        .find(|f| f.ends_with("001_schema.sql"))
        .unwrap();
    for round in 1..=2 {
        let out = pg.psql_file("postgres", &schema);
        assert!(
            out.ok && out.stderr.is_empty(),
            "round {round}: {}",
            out.stderr
        );
        assert_eq!(
            pg.query("select string_agg(held::text, ',' order by user_id) from credit_accounts;")
                .trim(),
            "3.5,0",
            "round {round}"
        );
    }
}
