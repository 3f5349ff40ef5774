//! Runtime overhead per sync generation against the mock provider on loopback, next to a bare
//! reqwest client making the same request, in the same run.
//!
//! `cargo bench -p runtime --features mock --bench overhead`

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use runtime::engine::{Engine, EngineConfig};
use runtime::mock::MockProvider;
use runtime::store::SqliteStore;
use serde_json::{Value, json};

fn overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt
        .block_on(MockProvider::start(common::MODELS, common::mock_options()))
        .unwrap();
    let engine_with = |store: SqliteStore| {
        store
            .set_balance(
                runtime::store::LOCAL_USER_ID,
                "1000000000000".parse().unwrap(),
            )
            .unwrap();
        let config = EngineConfig {
            base_urls: mock.base_urls(),
            base_urls_from_env: false,
            ..EngineConfig::default()
        };
        Engine::builder()
            .config(config)
            .store(Arc::new(store))
            .keys(Arc::new(common::keys()))
            .build()
            .unwrap()
    };
    // The engine's default store (in-memory SQLite), and a database file as `registry-run --db`
    // opens it.
    let engine = engine_with(SqliteStore::in_memory().unwrap());
    let db_dir = std::env::temp_dir().join(format!("runtime-bench-{}", std::process::id()));
    std::fs::create_dir_all(&db_dir).unwrap();
    let file_engine = engine_with(SqliteStore::open(&db_dir.join("bench.sqlite")).unwrap());
    let bare = reqwest::Client::new();
    let url = format!("{}/v1", mock.base_url_of("runware"));

    let mut group = c.benchmark_group("sync_generation");
    group.bench_function("bare_reqwest", |b| {
        b.iter(|| {
            rt.block_on(async {
                let body = json!([{"taskType": "imageInference", "taskUUID": uuid::Uuid::new_v4().to_string(), "positivePrompt": "a red apple", "numberResults": 1, "includeCost": true}]);
                let resp = bare
                    .post(&url)
                    .header("authorization", "Bearer rw-t2i-SECRET-1111")
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&body).unwrap())
                    .send()
                    .await
                    .unwrap();
                let v: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
                assert!(v["data"][0]["imageURL"].is_string());
            })
        })
    });
    for (name, engine) in [
        ("engine_run", &engine),
        ("engine_run_file_db", &file_engine),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let out = engine
                        .run_dynamic(&common::SYNC, &json!({"prompt": "a red apple"}))
                        .await
                        .unwrap();
                    assert_eq!(out.outputs.len(), 1);
                })
            })
        });
    }
    group.finish();
    drop(file_engine);
    let _ = std::fs::remove_dir_all(&db_dir);
}

criterion_group!(benches, overhead);
criterion_main!(benches);
