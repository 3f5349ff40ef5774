//! A bounded load generator for `bench/server.sh`: `load URL TOKEN BODY CONCURRENCY SECONDS`
//! POSTs `BODY` to `URL` from CONCURRENCY connections for SECONDS (loopback only), then prints
//! `requests ok errors req_per_s p50_ms p99_ms` on one line. TOKEN `-` sends no auth; a
//! comma-separated list of tokens gives connection `i` the `i % n`-th (many users). Every
//! request carries `Prefer: wait=10`, so a generation counts once it is finished.
//!
//! With `nCOUNT` for SECONDS (`n10000`), it sends COUNT requests in all, without `Prefer`: each
//! answers once its generation is started (what puts many generations in flight at once).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, token, body, concurrency, seconds] = args.as_slice() else {
        eprintln!("usage: load URL TOKEN BODY CONCURRENCY SECONDS");
        std::process::exit(2);
    };
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "load goes to loopback only"
    );
    let concurrency: usize = concurrency.parse().expect("CONCURRENCY");
    let count: Option<usize> = seconds
        .strip_prefix('n')
        .map(|n| n.parse().expect("nCOUNT"));
    let seconds: u64 = if count.is_some() {
        600
    } else {
        seconds.parse().expect("SECONDS")
    };
    let sent = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    runtime::http::install_crypto();
    let client = reqwest::Client::new();
    let end = Instant::now() + Duration::from_secs(seconds.min(60));
    let mut tasks = Vec::new();
    let tokens: Vec<&str> = token.split(',').collect();
    for i in 0..concurrency {
        let token = tokens[i % tokens.len()].to_owned();
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < end {
                if let Some(n) = count
                    && sent.fetch_add(1, Ordering::SeqCst) >= n
                {
                    break;
                }
                let t = Instant::now();
                let mut rb = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone());
                if count.is_none() {
                    // The server answers when the generation is done, not when it is accepted.
                    rb = rb.header("prefer", "wait=10");
                }
                if token != "-" {
                    rb = rb.bearer_auth(&token);
                }
                match rb.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    lat.sort();
    let ms = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let secs = if count.is_some() {
        began.elapsed().as_secs_f64()
    } else {
        seconds.min(60) as f64
    };
    println!(
        "{} {} {} {:.0} {:.2} {:.2}",
        lat.len() as u64 + errors,
        lat.len(),
        errors,
        lat.len() as f64 / secs,
        ms(0.50),
        ms(0.99)
    );
}
