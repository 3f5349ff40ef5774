//! Benchmark of the TypeScript emitter (not a test): emits `generated/ts` for N synthetic
//! models and writes their params JSON Schemas, so that `tests/ts/bench/jstt.mjs` can time
//! `json-schema-to-typescript` on the very same schemas.
//!
//! ```text
//! cargo run --release -p registry-tests --bin ts_bench -- 1000 10000
//! ```
//!
//! Synthetic models are copies of the bundled ones (every param kind, every cost multiplier)
//! under new ids. Prints one JSON line per size; writes `target/ts-bench/schemas-<N>.json`.

use std::time::{Duration, Instant};

use codegen::ir::Registry;
use codegen::write::Files;
use serde_json::{Map, Value, json};

/// A registry of `n` models cycling through the bundled ones.
fn synthetic(bundled: &Registry, n: usize) -> Registry {
    let templates: Vec<_> = bundled.models.values().collect();
    let mut reg = bundled.clone();
    reg.models.clear();
    for i in 0..n {
        let mut m = templates[i % templates.len()].clone();
        m.id = format!("m{i:05}_{}", m.id);
        m.display_name = format!("{} #{i}", m.display_name);
        reg.models.insert(m.id.clone(), m);
    }
    reg
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.expect("at least one run"))
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1000, 10_000]
    } else {
        sizes
    };
    let bundled = registry_tests::bundled();
    let out_dir = registry_tests::root().join("target").join("ts-bench");
    std::fs::create_dir_all(&out_dir).expect("create target/ts-bench");
    for n in sizes {
        let reg = synthetic(&bundled, n);
        let (emit, files) = best_of(3, || {
            let mut files = Files::new();
            codegen::emit::ts::emit(&reg, &mut files).expect("emit ts");
            files
        });
        let bytes: usize = files.values().map(String::len).sum();
        let lines: usize = files.values().map(|f| f.lines().count()).sum();
        let (schema_time, schemas) = best_of(3, || {
            reg.models
                .values()
                .map(|m| (m.id.clone(), codegen::emit::ts::params_schema(m)))
                .collect::<Map<String, Value>>()
        });
        let path = out_dir.join(format!("schemas-{n}.json"));
        std::fs::write(
            &path,
            serde_json::to_string(&Value::Object(schemas)).expect("json"),
        )
        .expect("write schemas");
        println!(
            "{}",
            json!({
                "models": n,
                "ts_emit_ms": emit.as_secs_f64() * 1e3,
                "schemas_only_ms": schema_time.as_secs_f64() * 1e3,
                "files": files.len(),
                "bytes": bytes,
                "lines": lines,
                "schemas": path.strip_prefix(registry_tests::root()).unwrap_or(&path).display().to_string(),
            })
        );
    }
}
