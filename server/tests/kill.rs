//! The `server` binary killed with SIGKILL while generations run, then started again on the
//! same SQLite file: every generation ends completed or failed, none is lost or stuck, none is
//! submitted to the provider twice, and the credits charged are exactly the completed ones'.
//! The mock provider runs in this test process, so it outlives the server.

mod process;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use process::free_port;

use runtime::mock::{MockOptions, MockProvider, RequestKind};
use rust_decimal::Decimal;
use serde_json::{Value, json};

const TOKEN: &str = "kill-test-token";
const USER: &str = "7f1c1d52-4a8e-4c3b-9d1e-5f6a7b8c9d0e";

/// Start the binary on `port` with `db`, every provider pointed at `mock`; wait until it
/// listens.
fn start(port: u16, db: &std::path::Path, mock: &MockProvider) -> Child {
    let mut cmd = process::command(mock);
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .args(["--initial-credits", "1000", "--timeout-cap", "30"])
        .env("RUST_LOG", "warn")
        .env(
            "REGISTRY_TOKENS",
            format!("{} {USER}", server::auth::sha256_hex(TOKEN.as_bytes())),
        )
        .stderr(Stdio::null());
    process::spawn_listening(cmd, "the server")
}

async fn generations(client: &reqwest::Client, url: &str) -> Vec<Value> {
    let r = client
        .get(format!("{url}/v1/generations?limit=100"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(page.get("next_cursor").is_none(), "one page holds them all");
    page["data"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_run_settles_every_generation_after_a_restart() {
    runtime::http::install_crypto();
    let mock = MockProvider::start(
        generated_models::MODELS,
        MockOptions {
            job_duration: Duration::from_millis(1500),
            ..MockOptions::default()
        },
    )
    .await
    .unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kill-test");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("registry.db");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let mut server = start(port, &db, &mock);
    // Sync, polled and webhook models; 24 generations.
    let models = [
        ("runware_flux_1_schnell", json!({"prompt": "A red apple"})),
        ("kie_nano_banana", json!({"prompt": "A red apple"})),
        ("seedance_v1_lite", json!({"prompt": "Ocean waves"})),
        ("replicate_flux_dev", json!({"prompt": "A lighthouse"})),
        ("fal_flux_dev", json!({"prompt": "A red apple"})),
        (
            "runware_flux_1_schnell_async",
            json!({"prompt": "A red apple"}),
        ),
    ];
    let mut created = Vec::new();
    for i in 0..24 {
        let (model, params) = &models[i % models.len()];
        let r = client
            .post(format!("{url}/v1/generations"))
            .bearer_auth(TOKEN)
            .header("idempotency-key", format!("kill-{i}"))
            .header("content-type", "application/json")
            .body(json!({"model": model, "params": params}).to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{model}: {}", r.status());
        let g: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        created.push(g["id"].as_str().unwrap().to_owned());
    }
    // Let the async ones be accepted by the provider, then kill the server outright.
    let accepted = Instant::now();
    while mock.jobs().len() < created.len() && accepted.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let running = generations(&client, &url)
        .await
        .iter()
        .filter(|g| !matches!(g["status"].as_str(), Some("completed" | "failed")))
        .count();
    assert!(
        running >= created.len() / 2,
        "the kill must catch generations mid-run ({running} were running)"
    );
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    let submits_before = mock
        .requests()
        .iter()
        .filter(|r| matches!(r.routed, Some((_, RequestKind::Submit))))
        .count();

    let mut server = start(port, &db, &mock);
    let deadline = Instant::now() + Duration::from_secs(40);
    let all = loop {
        let all = generations(&client, &url).await;
        let done = all
            .iter()
            .all(|g| matches!(g["status"].as_str(), Some("completed" | "failed")));
        if done || Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = server.kill();
    let _ = server.wait();

    // Nothing lost, nothing stuck.
    let mut ids: Vec<&str> = all.iter().map(|g| g["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected: Vec<&str> = created.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(ids, expected, "every generation, once");
    for g in &all {
        assert!(
            matches!(g["status"].as_str(), Some("completed" | "failed")),
            "stuck: {g}"
        );
    }
    // Never submitted twice: the restart resubmitted nothing.
    let submits_after = mock
        .requests()
        .iter()
        .filter(|r| matches!(r.routed, Some((_, RequestKind::Submit))))
        .count();
    assert_eq!(submits_after, submits_before, "no submit after the restart");
    assert!(submits_after <= created.len());
    // Charged exactly the completed ones, each once; failed ones nothing.
    let mut charged = Decimal::ZERO;
    let mut completed = 0;
    for g in &all {
        let c: Decimal = g["charged"].as_str().unwrap_or("0").parse().unwrap();
        match g["status"].as_str() {
            Some("completed") => {
                completed += 1;
                charged += c;
            }
            _ => assert_eq!(c, Decimal::ZERO, "a failed generation is not charged: {g}"),
        }
    }
    assert!(
        completed >= created.len() / 2,
        "the accepted ones were resumed to completion ({completed} of {})",
        created.len()
    );
    let mut server = start(port, &db, &mock);
    let account = client
        .get(format!("{url}/v1/account"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let account: Value = serde_json::from_str(&account).unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let balance: Decimal = account["balance"].as_str().unwrap().parse().unwrap();
    let available: Decimal = account["available"].as_str().unwrap().parse().unwrap();
    assert_eq!(balance, Decimal::from(1000) - charged, "{account}");
    assert_eq!(available, balance, "no hold left open: {account}");
}
