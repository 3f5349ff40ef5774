//! Runs the mock provider on loopback for local demos.
//!
//! `cargo run -p runtime --features mock --bin mock-provider -- [PORT]` prints the environment
//! to point every provider at it.

use std::net::SocketAddr;

use runtime::engine::base_url_var;
use runtime::mock::{MockOptions, MockProvider, PROVIDERS};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let mut opts = MockOptions::default();
    if let Ok(ms) = std::env::var("MOCK_JOB_MS")
        && let Ok(ms) = ms.parse()
    {
        opts.job_duration = std::time::Duration::from_millis(ms);
    }
    if let Ok(k) = std::env::var("KIE_AI_WEBHOOK_HMAC_KEY") {
        opts.kie_webhook_key = k;
    }
    if let Ok(k) = std::env::var("REPLICATE_WEBHOOK_SECRET") {
        opts.replicate_webhook_secret = k;
    }
    let mock = MockProvider::start_on(SocketAddr::from(([127, 0, 0, 1], port)), opts).await?;
    println!("mock provider listening on {}", mock.base_url());
    println!("# point every provider at it:");
    for p in PROVIDERS {
        println!("export {}={}", base_url_var(p), mock.base_url());
    }
    println!("# webhook signing secrets the mock signs with:");
    println!(
        "export KIE_AI_WEBHOOK_HMAC_KEY={}",
        mock.options().kie_webhook_key
    );
    println!(
        "export REPLICATE_WEBHOOK_SECRET={}",
        mock.options().replicate_webhook_secret
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
