//! The monitoring queries over 1,000,000 generations: every metric view and the alert view
//! read the recent rows through the indexes, never the whole table.

use std::time::Instant;

use registry_tests::pg::Pg;
use registry_tests::root;

const ROWS: u32 = 1_000_000;

/// Views that read `generations`, with the index each must use.
const GENERATION_VIEWS: &[(&str, &str)] = &[
    (
        "monitoring_recent_generations",
        "generations_created_at_idx",
    ),
    (
        "monitoring_failed_generations",
        "generations_failed_created_at_idx",
    ),
    ("monitoring_success_rate", "generations_created_at_idx"),
    ("monitoring_latency", "generations_created_at_idx"),
    (
        "monitoring_model_failure_rate",
        "generations_created_at_idx",
    ),
    (
        "monitoring_provider_error_rate",
        "generations_created_at_idx",
    ),
    (
        "monitoring_provider_errors",
        "generations_failed_created_at_idx",
    ),
    ("monitoring_cost_mismatches", "generations_created_at_idx"),
    ("monitoring_cost_drift", "generations_created_at_idx"),
];

fn explain(pg: &Pg, query: &str) -> String {
    pg.query(&format!("explain (costs off) {query};"))
}

#[test]
fn alert_and_metric_queries_use_the_indexes_over_a_million_generations() {
    let pg = Pg::start();
    pg.apply_generated();
    let seed = std::fs::read_to_string(root().join("tests/bench/sql_seed.sql")).unwrap();
    let started = Instant::now();
    pg.query(&format!("\\set rows {ROWS}\n{seed}"));
    eprintln!("seeded {ROWS} generations in {:?}", started.elapsed());
    assert_eq!(
        pg.query("select count(*) from generations;").trim(),
        ROWS.to_string()
    );

    for (view, index) in GENERATION_VIEWS {
        let plan = explain(&pg, &format!("select * from {view}"));
        assert!(
            !plan.contains("Seq Scan on generations"),
            "{view} scans the whole table:\n{plan}"
        );
        assert!(plan.contains(index), "{view} does not use {index}:\n{plan}");
    }
    let plan = explain(&pg, "select * from monitoring_key_retrieval");
    assert!(
        !plan.contains("Seq Scan on api_key_events"),
        "monitoring_key_retrieval scans the whole table:\n{plan}"
    );
    assert!(
        plan.contains("api_key_events_occurred_at_idx"),
        "monitoring_key_retrieval:\n{plan}"
    );

    let plan = explain(&pg, "select * from monitoring_alerts");
    assert!(
        !plan.contains("Seq Scan on generations"),
        "monitoring_alerts scans the whole table:\n{plan}"
    );
    assert!(
        !plan.contains("Seq Scan on api_key_events"),
        "monitoring_alerts scans every key event:\n{plan}"
    );
    assert!(
        plan.contains("generations_created_at_idx"),
        "monitoring_alerts:\n{plan}"
    );
    assert!(
        plan.contains("api_key_events_occurred_at_idx"),
        "monitoring_alerts:\n{plan}"
    );

    // The seeded failing model fires, and nothing else of a healthy platform does.
    let alerts = pg.query("select rule, subject from monitoring_alerts;");
    let failing = pg.query("select model_id from model_registry where retired_at is null order by model_id offset 5 limit 1;");
    assert!(
        alerts.contains(&format!("model_failing|{}", failing.trim())),
        "{alerts}"
    );
    assert!(
        !alerts.contains("all_generations_failing") && !alerts.contains("unexpected_token_cost"),
        "{alerts}"
    );

    let started = Instant::now();
    pg.query("select * from monitoring_alerts;");
    eprintln!(
        "monitoring_alerts over {ROWS} generations: {:?} (with psql start)",
        started.elapsed()
    );
}
