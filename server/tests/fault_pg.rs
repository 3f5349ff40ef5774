//! Two `server` instances on one Postgres, 540 generations across sync, poll and webhook
//! models, against the mock provider with every fault kind: 5xx, 429 with Retry-After, slow
//! answers past the timeout, connection resets, failed jobs, duplicate, late, out-of-order and
//! badly signed webhooks, and forged webhooks sent by this test. Midway, instance A is killed
//! with SIGKILL; it comes back under a new instance id, and the generations it held are taken
//! over when their leases expire.
//!
//! Afterwards, from the database itself: every generation is completed or failed; none the
//! clients were told about is missing; every one has exactly one credit hold, charged for the
//! completed ones (the charged holds sum to `tokens_used`) and refunded for the failed ones;
//! the balance is the initial credits less what was charged, and nothing is still held; every
//! forged webhook got a 401; the leases A held at the kill were taken over; and
//! `monitoring_alerts` names the provider whose jobs were made to fail.
//!
//! The mock runs in this test process, so it outlives the instances.

mod process;

use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use process::free_port;
use registry_tests::pg::Pg;
use runtime::mock::{Fault, MockOptions, MockProvider, Target};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const TOKEN: &str = "fault-test-token";
const USER: &str = "3b6f0c2e-9d41-4e7a-8c55-0a1b2c3d4e5f";
const INITIAL_CREDITS: u64 = 1_000_000;
const GENERATIONS: usize = 540;
const CLIENTS: usize = 24;
/// The provider whose jobs are made to fail: the alert must name it.
const FAULTED: &str = "kie_ai";

/// One model per execution mode and provider; the generations go round them.
const MODELS: &[(&str, &str)] = &[
    ("runware_flux_1_schnell", "sync"),
    ("kie_nano_banana", "poll"),
    ("runware_flux_1_schnell_async", "poll"),
    ("replicate_flux_dev", "webhook"),
    ("fal_flux_dev", "webhook"),
];

fn log_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fault-pg");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Start an instance on `port` over Postgres `db` as `owner`, every provider pointed at
/// `mock`; wait until it listens. Its log goes to `target/tmp/fault-pg/<owner>.log`.
fn start(port: u16, db: &str, owner: &str, mock: &MockProvider) -> Child {
    start_with(port, db, owner, mock, 2)
}

/// [`start`] with a lease lifetime of `lease_ttl` seconds.
fn start_with(port: u16, db: &str, owner: &str, mock: &MockProvider, lease_ttl: u64) -> Child {
    let log = std::fs::File::create(log_dir().join(format!("{owner}.log"))).unwrap();
    let mut cmd = process::command(mock);
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--postgres", db])
        .args([
            "--instance-id",
            owner,
            "--lease-ttl",
            &lease_ttl.to_string(),
            "--pool-size",
            "8",
        ])
        .args(["--initial-credits", &INITIAL_CREDITS.to_string()])
        .args(["--timeout-cap", "12", "--poll-interval-cap", "200"])
        .args(["--shutdown-grace", "2"])
        .env("RUST_LOG", "warn,server=info,runtime=info")
        .env(
            "REGISTRY_TOKENS",
            format!("{} {USER}", server::auth::sha256_hex(TOKEN.as_bytes())),
        )
        .stderr(log);
    process::spawn_listening(
        cmd,
        &format!("instance {owner} (its log is in target/tmp/fault-pg)"),
    )
}

fn params(model: &str, i: usize) -> Value {
    match model {
        "fal_flux_dev" => json!({"prompt": format!("A lighthouse, take {i}")}),
        _ => json!({"prompt": format!("A red apple, take {i}")}),
    }
}

/// Queue the faults: the faulted provider's jobs fail and its submits get 5xx; everyone's
/// polls meet 5xx, 429s with Retry-After, resets and slow answers; a few submits are slow past
/// the timeout or reset; the webhook providers send duplicates, late, out-of-order and badly
/// signed deliveries.
fn inject_faults(mock: &MockProvider) {
    for _ in 0..45 {
        mock.inject_for(FAULTED, Fault::JobFails);
    }
    for _ in 0..15 {
        mock.inject_for(
            FAULTED,
            Fault::Status {
                code: 503,
                target: Target::Submit,
            },
        );
    }
    for _ in 0..25 {
        mock.inject(Fault::Status {
            code: 502,
            target: Target::Poll,
        });
        mock.inject(Fault::RateLimit {
            retry_after_secs: 1,
            target: Target::Poll,
        });
    }
    for _ in 0..15 {
        mock.inject(Fault::Reset {
            target: Target::Poll,
        });
    }
    for _ in 0..4 {
        mock.inject(Fault::Reset {
            target: Target::Submit,
        });
        mock.inject_for(
            "runware",
            Fault::Slow {
                delay: Duration::from_secs(14),
                target: Target::Submit,
            },
        );
    }
    for provider in ["replicate", "fal_queue"] {
        for _ in 0..12 {
            mock.inject_for(provider, Fault::WebhookTwice);
        }
        for _ in 0..6 {
            mock.inject_for(provider, Fault::WebhookLate(Duration::from_millis(1500)));
            mock.inject_for(provider, Fault::WebhookBadSignature);
        }
        for _ in 0..4 {
            mock.inject_for(provider, Fault::WebhookOutOfOrder);
        }
    }
}

/// A forged delivery for `generation` of `provider`: a completed result with a signature
/// that no secret made.
async fn forge(client: &reqwest::Client, url: &str, provider: &str, generation: &str) -> u16 {
    let body = json!({
        "id": "forged", "status": "succeeded", "request_id": "forged",
        "output": ["https://evil.example/forged.png"],
        "payload": {"images": [{"url": "https://evil.example/forged.png"}]},
    })
    .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    client
        .post(format!(
            "{url}/v1/webhooks/{provider}/{generation}?token=forged"
        ))
        .header("content-type", "application/json")
        .header("webhook-id", format!("msg_forged_{generation}"))
        .header("webhook-timestamp", now.to_string())
        .header(
            "webhook-signature",
            "v1,Zm9yZ2VkIHNpZ25hdHVyZSBmb3JnZWQgc2lnbmF0dXJl",
        )
        .header("x-fal-webhook-request-id", "forged")
        .header("x-fal-webhook-user-id", "forged")
        .header("x-fal-webhook-timestamp", now.to_string())
        .header("x-fal-webhook-signature", "00".repeat(64))
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_settle_every_generation_under_faults_and_a_kill() {
    runtime::http::install_crypto();
    let pg = Pg::start();
    let db = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port());
    let mock = MockProvider::start(
        generated_models::MODELS,
        MockOptions {
            job_duration: Duration::from_millis(400),
            ..MockOptions::default()
        },
    )
    .await
    .unwrap();
    inject_faults(&mock);

    let (port_a, port_b) = (free_port(), free_port());
    let url_a = format!("http://127.0.0.1:{port_a}");
    let url_b = format!("http://127.0.0.1:{port_b}");
    // Both start (and migrate) at once: the migrations take turns.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| start(port_a, &db, "a", &mock));
        let b = s.spawn(|| start(port_b, &db, "b", &mock));
        (a.join().unwrap(), b.join().unwrap())
    });
    let a = Arc::new(std::sync::Mutex::new(a));
    let mut b = b;

    // The load: CLIENTS clients, each sending its share round the instances; a request to the
    // killed instance is sent again to the other one with the same Idempotency-Key.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let created: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let refused: Arc<Mutex<Vec<String>>> = Arc::default();
    let kill_at = GENERATIONS / 2;
    let (killed_tx, killed_rx) = tokio::sync::watch::channel(false);
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (client, next, created, refused) = (
            client.clone(),
            next.clone(),
            created.clone(),
            refused.clone(),
        );
        let urls = [url_a.clone(), url_b.clone()];
        let killed = killed_rx.clone();
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= GENERATIONS {
                    return;
                }
                let (model, _) = MODELS[i % MODELS.len()];
                let body = json!({"model": model, "params": params(model, i)}).to_string();
                let mut target = i % 2;
                let mut answered = None;
                for attempt in 0..6 {
                    let r = client
                        .post(format!("{}/v1/generations", urls[target]))
                        .bearer_auth(TOKEN)
                        .header("idempotency-key", format!("fault-{i}"))
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let g: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
                            answered = Some(g["id"].as_str().unwrap().to_owned());
                            break;
                        }
                        // In flight at the killed instance: the key frees up once abandoned.
                        Ok(r) if r.status().as_u16() == 409 => {
                            tokio::time::sleep(Duration::from_millis(500 * (attempt + 1))).await;
                        }
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let text = r.text().await.unwrap_or_default();
                            refused
                                .lock()
                                .await
                                .push(format!("{model}: {status} {text}"));
                            break;
                        }
                        Err(_) => {
                            // The instance is down: the other one takes the request.
                            target = 1 - target;
                            if !*killed.borrow() {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        }
                    }
                }
                if let Some(id) = answered {
                    created.lock().await.push((id, model.to_owned()));
                }
            }
        }));
    }

    // Kill A once half the generations are in, with work of its own mid-run.
    let wait_from = Instant::now();
    while created.lock().await.len() < kill_at && wait_from.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    {
        let mut a = a.lock().unwrap();
        a.kill().unwrap(); // SIGKILL
        a.wait().unwrap();
    }
    let _ = killed_tx.send(true);
    let held_at_kill: Vec<String> = pg
        .query(
            "select id from generations where lease_owner = 'a' \
             and status in ('pending', 'processing') order by id",
        )
        .lines()
        .map(str::to_owned)
        .collect();
    // A comes back under a new id: its old leases are not its own any more, and expire.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut a2 = start(port_a, &db, "a2", &mock);

    // Forged webhooks at both instances, for generations of both webhook providers.
    let mut forged = Vec::new();
    {
        let created = created.lock().await.clone();
        for (id, model) in created
            .iter()
            .filter(|(_, m)| m == "replicate_flux_dev" || m == "fal_flux_dev")
            .take(20)
        {
            let provider = if model == "fal_flux_dev" {
                "fal_queue"
            } else {
                "replicate"
            };
            for url in [&url_a, &url_b] {
                forged.push((provider, forge(&client, url, provider, id).await));
            }
        }
    }

    for c in clients {
        c.await.unwrap();
    }
    let created = created.lock().await.clone();
    let refused = refused.lock().await.clone();

    // Everything settles.
    let deadline = Instant::now() + Duration::from_secs(90);
    let unfinished = loop {
        let n: u64 = pg
            .query("select count(*) from generations where status in ('pending', 'processing')")
            .trim()
            .parse()
            .unwrap();
        if n == 0 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = a2.kill();
    let _ = a2.wait();
    let _ = b.kill();
    let _ = b.wait();

    // The load went through: refusals are only what the faults explain (none at start, since
    // a provider breaker opening is the one refusal a start can get here).
    for r in &refused {
        assert!(
            r.contains("503") && r.contains("provider_unavailable"),
            "refused: {r}"
        );
    }
    assert!(
        created.len() + refused.len() >= GENERATIONS - CLIENTS,
        "{} created, {} refused",
        created.len(),
        refused.len()
    );
    assert!(
        created.len() >= 500,
        "at least 500 generations ran ({})",
        created.len()
    );

    // None stuck.
    assert_eq!(unfinished, 0, "generations left unfinished");
    // No rows lost: every generation a client was told about is there, once.
    let ids: std::collections::BTreeSet<String> = pg
        .query("select id from generations")
        .lines()
        .map(str::to_owned)
        .collect();
    let mut told: Vec<&str> = created.iter().map(|(id, _)| id.as_str()).collect();
    told.sort();
    told.dedup();
    assert_eq!(
        told.len(),
        created.len(),
        "an idempotent retry made no second generation"
    );
    for id in &told {
        assert!(
            ids.contains(*id),
            "generation {id} is missing from the store"
        );
    }
    // Exactly one hold per generation; charged ones sum to tokens_used; failed ones refunded.
    let q = |sql: &str| pg.query(sql).trim().to_owned();
    assert_eq!(
        q(
            "select count(*) from generations g left join credit_holds h on h.generation_id = g.id where h.generation_id is null"
        ),
        "0",
        "a generation without its hold"
    );
    assert_eq!(
        q("select count(*) from credit_holds where state = 'reserved'"),
        "0",
        "a hold left open"
    );
    assert_eq!(
        q(
            "select count(*) from generations g join credit_holds h on h.generation_id = g.id \
           where (g.status = 'completed') <> (h.state = 'charged')"
        ),
        "0",
        "a hold settled against its generation's end"
    );
    assert_eq!(
        q(
            "select count(*) from generations where status = 'failed' and coalesce(tokens_used, 0) <> 0"
        ),
        "0",
        "a failed generation was charged"
    );
    let charged = q("select coalesce(sum(amount), 0) from credit_holds where state = 'charged'");
    let used =
        q("select coalesce(sum(tokens_used), 0) from generations where status = 'completed'");
    assert_eq!(
        charged.parse::<rust_decimal::Decimal>().unwrap(),
        used.parse::<rust_decimal::Decimal>().unwrap(),
        "the ledger's charges equal tokens_used"
    );
    let balance: rust_decimal::Decimal = q(&format!(
        "select balance from credit_accounts where user_id = '{USER}'"
    ))
    .parse()
    .unwrap();
    assert_eq!(
        balance,
        rust_decimal::Decimal::from(INITIAL_CREDITS)
            - used.parse::<rust_decimal::Decimal>().unwrap(),
        "the balance is the initial credits less the charges"
    );
    assert_eq!(
        q(&format!(
            "select held::text from credit_accounts where user_id = '{USER}'"
        ))
        .parse::<rust_decimal::Decimal>()
        .unwrap(),
        rust_decimal::Decimal::ZERO,
        "every hold was released from the account's `held`"
    );
    // Both outcomes happened, and the faulted provider's failures are among them.
    let completed: u64 = q("select count(*) from generations where status = 'completed'")
        .parse()
        .unwrap();
    let failed_faulted: u64 = q(&format!(
        "select count(*) from generations where status = 'failed' and provider = '{FAULTED}'"
    ))
    .parse()
    .unwrap();
    assert!(completed >= 300, "most generations completed ({completed})");
    assert!(
        failed_faulted >= 40,
        "the faulted provider's jobs failed ({failed_faulted})"
    );
    // Every key retrieval was recorded.
    let key_events: usize = q("select count(*) from api_key_events").parse().unwrap();
    assert!(
        key_events >= ids.len(),
        "{key_events} key events for {} generations",
        ids.len()
    );

    // Every forged webhook was refused, and none changed a generation.
    assert!(
        forged.len() >= 20,
        "forged deliveries were sent ({})",
        forged.len()
    );
    for (provider, status) in &forged {
        assert_eq!(*status, 401, "a forged {provider} webhook was not refused");
    }
    assert_eq!(
        q("select count(*) from generations where provider_response::text like '%evil.example%'"),
        "0",
        "a forged result was stored"
    );

    // A's leases at the kill were taken over by the live instances.
    assert!(
        !held_at_kill.is_empty(),
        "the kill caught generations A was running"
    );
    let list = held_at_kill
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        q(&format!(
            "select count(*) from generations where id in ({list}) and lease_owner = 'a'"
        )),
        "0",
        "a generation A held was never taken over"
    );

    // The monitoring reads the traffic: the faulted provider is named.
    let alerts = pg.query("select rule || ' ' || subject from monitoring_alerts");
    assert!(
        alerts
            .lines()
            .any(|l| l == format!("provider_errors {FAULTED}")),
        "monitoring_alerts does not name {FAULTED}:\n{alerts}"
    );
    drop(a);
}

/// SIGTERM hands the leases back: with a lease lifetime of a minute, the generations a stopped
/// instance left running are taken over by another at once, not a minute later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_instance_hands_its_leases_back() {
    runtime::http::install_crypto();
    let pg = Pg::start();
    let db = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port());
    let mock = MockProvider::start(
        generated_models::MODELS,
        MockOptions {
            job_duration: Duration::from_secs(4),
            ..MockOptions::default()
        },
    )
    .await
    .unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let first = start_with(port, &db, "first", &mock, 60);
    let client = reqwest::Client::new();
    for i in 0..6 {
        let r = client
            .post(format!("{url}/v1/generations"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(
                json!({"model": "kie_nano_banana", "params": params("kie_nano_banana", i)})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let accepted = Instant::now();
    while mock.jobs().len() < 6 && accepted.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGTERM with a grace of 2 s: the 4 s jobs are still running when it is over.
    let stopped = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let mut first = first;
    let status = first.wait().unwrap();
    assert!(status.success(), "a clean exit after SIGTERM ({status})");
    let q = |sql: &str| pg.query(sql).trim().to_owned();
    assert_eq!(
        q("select count(*) from generations where status in ('pending', 'processing')"),
        "6",
        "the generations were still running at the exit"
    );
    assert_eq!(
        q(
            "select count(*) from generations where status in ('pending', 'processing') \
           and lease_expires_at > now()"
        ),
        "0",
        "every lease was handed back"
    );
    // Another instance takes them over on its first beat, well before a minute.
    let started = Instant::now();
    let mut second = start_with(port, &db, "second", &mock, 60);
    let left = loop {
        let n = q("select count(*) from generations where status in ('pending', 'processing')");
        if n == "0" || started.elapsed() > Duration::from_secs(40) {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = second.kill();
    let _ = second.wait();
    assert_eq!(
        left, "0",
        "the handed-back generations were finished by the other instance"
    );
    assert_eq!(
        q("select count(*) from generations where status = 'completed'"),
        "6"
    );
    assert_eq!(
        q("select count(distinct lease_owner) from generations where lease_owner = 'second'"),
        "1",
        "the second instance took them over"
    );
}
