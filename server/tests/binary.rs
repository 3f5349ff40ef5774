//! The `server` binary as the README runs it: `--mock`, the printed development token, a
//! generation, then SIGTERM with a request in flight: that request is answered, new
//! connections are refused, and the process exits 0.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_with_the_mock_and_shuts_down_gracefully() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--mock",
            "--listen",
            "127.0.0.1:0",
            "--mock-job-ms",
            "800",
            "--shutdown-grace",
            "10",
        ])
        .env("RUST_LOG", "warn")
        .env_remove("REGISTRY_TOKENS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut url, mut token) = (None, None);
    let start = Instant::now();
    while (url.is_none() || token.is_none()) && start.elapsed() < Duration::from_secs(20) {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if let Some(u) = line.strip_prefix("listening on ") {
            url = Some(u.trim().to_owned());
        }
        if let Some(t) = line.strip_prefix("dev token: ") {
            token = Some(t.trim().to_owned());
        }
    }
    let (Some(url), Some(token)) = (url, token) else {
        let _ = child.kill();
        panic!("the server printed no address and token");
    };

    // The client's TLS stack (unused on loopback) needs its crypto provider.
    runtime::http::install_crypto();
    let client = reqwest::Client::new();
    let ready = client.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    // The README's generation.
    let r = client
        .post(format!("{url}/v1/generations"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("prefer", "wait=20")
        .body(r#"{"model": "nano_banana", "params": {"prompt": "A red apple on a table"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "completed", "{body}");

    // A request in flight (a polled model, about a second), then SIGTERM.
    let in_flight = tokio::spawn({
        let client = client.clone();
        let (url, token) = (url.clone(), token.clone());
        async move {
            let r = client
                .post(format!("{url}/v1/generations"))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .header("prefer", "wait=20")
                .body(r#"{"model": "kie_nano_banana", "params": {"prompt": "x"}}"#)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            (status, body)
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // New connections are refused soon after.
    let mut refused = false;
    for _ in 0..40 {
        let fresh = reqwest::Client::new();
        if fresh.get(format!("{url}/healthz")).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "still accepting connections after SIGTERM");

    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed", "{body}");

    let start = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("the server did not exit after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}
