//! How long `select * from monitoring_alerts` takes over a million generations.
//!
//! Starts a throwaway PostgreSQL 15 (see `registry_tests::pg`), applies `generated/sql/`,
//! seeds it with `tests/bench/sql_seed.sql`, then times the alert view in one `psql` session:
//! the client round trip (`\timing`) and the server's own execution time (`EXPLAIN ANALYZE`),
//! each the median of several runs after a warm-up.
//!
//! ```text
//! cargo run --release -p registry-tests --bin sql_alerts_bench [-- ROWS RUNS]
//! ```

use std::time::Instant;

use registry_tests::pg::Pg;
use registry_tests::root;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The numbers after `prefix` on each line that has it, such as `Time: 12.3 ms`.
fn millis(out: &str, prefix: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix(prefix))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .map(|a| a.parse().expect("ROWS is a number"))
        .unwrap_or(1_000_000);
    let runs: usize = args
        .next()
        .map(|a| a.parse().expect("RUNS is a number"))
        .unwrap_or(15);

    let pg = Pg::start();
    pg.apply_generated();
    let seed = std::fs::read_to_string(root().join("tests/bench/sql_seed.sql"))
        .expect("read the seed script");
    let started = Instant::now();
    pg.query(&format!("\\set rows {rows}\n{seed}"));
    println!(
        "seeded {rows} generations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let firing = pg.query("select count(*) from monitoring_alerts;");
    println!("alerts firing: {}", firing.trim());

    let warmup = "\\o /dev/null\nselect * from monitoring_alerts;\n";
    let timed = "select * from monitoring_alerts;\n".repeat(runs);
    let out = pg.query(&format!("{warmup}\\timing on\n{timed}"));
    let client = millis(&out, "Time:");
    assert_eq!(client.len(), runs, "psql timing output:\n{out}");

    let analyze = "explain (analyze, timing off) select * from monitoring_alerts;\n".repeat(runs);
    let out = pg.query(&analyze);
    let server = millis(&out, "Execution Time:");
    assert_eq!(server.len(), runs, "explain output:\n{out}");

    println!(
        "select * from monitoring_alerts over {rows} generations, {runs} runs: \
         median {:.1} ms round trip (min {:.1}, max {:.1}), median {:.1} ms server execution",
        median(client.clone()),
        client.iter().copied().fold(f64::INFINITY, f64::min),
        client.iter().copied().fold(0.0, f64::max),
        median(server),
    );
}
