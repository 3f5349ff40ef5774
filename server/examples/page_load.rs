//! The example page's request pattern, from many clients at once, for `bench/page.sh`:
//! `page_load URL TOKEN CLIENTS SECONDS MODEL` (loopback only).
//!
//! Each client loads the page (`GET /v1/models`, `/v1/account`, `/v1/generations?limit=20`),
//! then clicks Generate again and again for SECONDS, with no pause between clicks: `POST
//! /v1/generations` with an `Idempotency-Key`, then `GET /v1/generations/{id}` until the
//! generation is finished, first after 250 ms and then 1.25 times longer each time up to 2 s
//! (the page's `waitForGeneration` settings), then the history and the account again. Prints
//! one line per request kind and one for all requests: `kind count errors p50_ms p99_ms`, then
//! `clicks N per_s X`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

type Samples = BTreeMap<&'static str, (Vec<Duration>, u64)>;

async fn timed(
    samples: &mut Samples,
    kind: &'static str,
    req: reqwest::RequestBuilder,
) -> Option<Value> {
    let t = Instant::now();
    let r = req.send().await;
    let entry = samples.entry(kind).or_default();
    match r {
        Ok(r) if r.status().is_success() => {
            let body = r.bytes().await.ok()?;
            entry.0.push(t.elapsed());
            serde_json::from_slice(&body).ok()
        }
        _ => {
            entry.1 += 1;
            None
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, token, clients, seconds, model] = args.as_slice() else {
        eprintln!("usage: page_load URL TOKEN CLIENTS SECONDS MODEL");
        std::process::exit(2);
    };
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "load goes to loopback only"
    );
    let clients: usize = clients.parse().expect("CLIENTS");
    let seconds: u64 = seconds.parse::<u64>().expect("SECONDS").min(120);
    runtime::http::install_crypto();
    let http = reqwest::Client::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, token, model) = (http.clone(), url.clone(), token.clone(), model.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = Samples::new();
            let get = |path: String| http.get(format!("{url}{path}")).bearer_auth(&token);
            timed(&mut s, "GET /v1/models", get("/v1/models".into())).await;
            timed(&mut s, "GET /v1/account", get("/v1/account".into())).await;
            timed(
                &mut s,
                "GET /v1/generations",
                get("/v1/generations?limit=20".into()),
            )
            .await;
            let mut clicks = 0u64;
            while Instant::now() < end {
                let body = serde_json::json!({
                    "model": model,
                    "params": {"prompt": format!("A red apple, client {c}, click {clicks}")},
                });
                let post = http
                    .post(format!("{url}/v1/generations"))
                    .bearer_auth(&token)
                    .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                    .header("content-type", "application/json")
                    .body(body.to_string());
                let Some(created) = timed(&mut s, "POST /v1/generations", post).await else {
                    continue;
                };
                let id = created["id"].as_str().unwrap_or_default().to_owned();
                let mut status = created["status"].as_str().unwrap_or_default().to_owned();
                let mut delay = Duration::from_millis(250);
                while !matches!(status.as_str(), "completed" | "failed") && Instant::now() < end {
                    tokio::time::sleep(delay).await;
                    delay = delay.mul_f64(1.25).min(Duration::from_secs(2));
                    if let Some(g) = timed(
                        &mut s,
                        "GET /v1/generations/{id}",
                        get(format!("/v1/generations/{id}")),
                    )
                    .await
                    {
                        status = g["status"].as_str().unwrap_or_default().to_owned();
                    }
                }
                timed(
                    &mut s,
                    "GET /v1/generations",
                    get("/v1/generations?limit=20".into()),
                )
                .await;
                timed(&mut s, "GET /v1/account", get("/v1/account".into())).await;
                clicks += 1;
            }
            (s, clicks)
        }));
    }
    let mut all = Samples::new();
    let mut clicks = 0;
    for t in tasks {
        let (s, c) = t.await.expect("client");
        clicks += c;
        for (k, (lat, err)) in s {
            let e = all.entry(k).or_default();
            e.0.extend(lat);
            e.1 += err;
        }
    }
    let line = |kind: &str, lat: &mut Vec<Duration>, errors: u64| {
        lat.sort();
        let ms = |q: f64| {
            lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "{kind}\t{}\t{errors}\t{:.2}\t{:.2}",
            lat.len(),
            ms(0.50),
            ms(0.99)
        );
    };
    let mut total = Vec::new();
    let mut total_errors = 0;
    for (k, (lat, err)) in all.iter_mut() {
        total.extend(lat.iter().copied());
        total_errors += *err;
        line(k, lat, *err);
    }
    line("all requests", &mut total, total_errors);
    println!(
        "clicks\t{clicks}\tper_s\t{:.1}",
        clicks as f64 / seconds as f64
    );
}
