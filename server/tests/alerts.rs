//! Alerts end to end, on SQLite and on Postgres: a server evaluating every 100 ms, two alert
//! webhooks (a receiver in this test, and a port nobody listens on), and rows written to the
//! store as generations would leave them. Ten failures make five alerts fire; each reaches the
//! receiver exactly once as `firing` however many evaluations follow, `GET /v1/alerts` lists
//! them with since when, and the unreachable webhook slows nothing down. A hundred successes
//! later every one of them is `resolved`, exactly once, and the list is empty.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::post;
use registry_tests::pg::Pg;
use runtime::cost::Credits;
use runtime::engine::Engine;
use runtime::model::ModelInfo;
use runtime::store::{Generation, IdempotencyStore, PgStore, SqliteStore, Status, Store, now_ms};
use serde_json::{Value, json};
use server::{AlertOptions, Limits, Options, Running, Server, Services, Tokens};

const TOKEN: &str = "alerts-test-token";
const USER: &str = "3b6f0c2e-9d41-4e7a-8c55-0a1b2c3d4e5f";
const MODEL: &str = "nano_banana";

/// A webhook receiver on a loopback port: every body it was sent, in order.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

/// A loopback URL nobody listens on.
fn unreachable_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/nobody")
}

async fn serve(
    store: Arc<dyn Store>,
    keys: Arc<dyn IdempotencyStore>,
    hooks: Vec<String>,
) -> Running {
    let models: Vec<&'static ModelInfo> = generated_models::MODELS.to_vec();
    let engine = Engine::builder()
        .store(store.clone())
        .models(&models)
        .build()
        .unwrap();
    let mut tokens = Tokens::default();
    tokens.insert_plain(TOKEN, USER);
    let opts = Options {
        listen: ([127, 0, 0, 1], 0).into(),
        limits: Limits::default(),
        shutdown_grace: Duration::from_secs(2),
        alerts: AlertOptions {
            interval: Duration::from_millis(100),
            webhooks: hooks,
            delivery_timeout: Duration::from_secs(2),
        },
        ..Options::default()
    };
    Server::bind(
        opts,
        Services {
            engine,
            store,
            idempotency: keys,
            keys: Arc::new(runtime::keys::EnvKeys),
            tokens,
        },
    )
    .await
    .unwrap()
    .spawn()
}

/// `n` generations of [`MODEL`] in `status`, created a minute ago and finished a second later,
/// charged the formula's cost when completed.
async fn write(store: &dyn Store, status: Status, n: usize, from: usize) {
    let m = generated_models::by_id(MODEL).unwrap();
    let params = Value::Object(m.validate(&json!({"prompt": "a red apple"})).unwrap());
    let cost = runtime::cost::compute(&m.cost, params.as_object().unwrap()).unwrap();
    let created = now_ms() - 60_000;
    for i in from..from + n {
        store
            .insert(&Generation {
                id: format!("00000000-0000-4000-8000-{i:012x}"),
                user_id: USER.to_owned(),
                model_id: m.id.to_owned(),
                provider: m.provider.id.to_owned(),
                content_type: "image".to_owned(),
                status,
                params: params.clone(),
                provider_response: json!({}),
                tokens_used: Some(if status == Status::Completed {
                    cost
                } else {
                    Credits::ZERO
                }),
                provider_cost: None,
                created_at: created,
                updated_at: created + 1000,
                completed_at: Some(created + 1000),
                outputs_expected: None,
                outputs_received: None,
                credits_refunded: None,
            })
            .await
            .unwrap();
    }
}

/// Wait (at most 20 s) until `got` holds `n` events.
async fn until(got: &Mutex<Vec<Value>>, n: usize) {
    let start = Instant::now();
    while got.lock().unwrap().len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "only {} of {n} events arrived: {:#?}",
            got.lock().unwrap().len(),
            got.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut rb = reqwest::Client::new().get(url);
    if let Some(t) = token {
        rb = rb.header("authorization", format!("Bearer {t}"));
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

const FIRING: [(&str, &str); 5] = [
    ("all_generations_failing", "all models"),
    ("high_error_rate", "all models"),
    ("low_success_rate", "all models"),
    ("model_failing", MODEL),
    ("provider_errors", "lovable_ai"),
];

/// The events of `got` as `(event, rule, subject)`, checked to be what Slack takes.
fn events(got: &Mutex<Vec<Value>>) -> Vec<(String, String, String)> {
    got.lock()
        .unwrap()
        .iter()
        .map(|b| {
            assert!(b["text"].as_str().is_some_and(|t| !t.is_empty()), "{b}");
            assert!(b["blocks"].as_array().is_some_and(|a| !a.is_empty()), "{b}");
            (
                b["event"].as_str().unwrap().to_owned(),
                b["alert"]["rule"].as_str().unwrap().to_owned(),
                b["alert"]["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn scenario(store: Arc<dyn Store>, keys: Arc<dyn IdempotencyStore>) {
    let (hook, got) = receiver().await;
    let server = serve(store.clone(), keys, vec![unreachable_url(), hook]).await;
    let base = server.url();

    // Nothing fires on an empty store.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(got.lock().unwrap().is_empty());
    let (status, text) = get(&format!("{base}/v1/alerts"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["data"], json!([]));
    assert!(
        list["evaluated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let (status, _) = get(&format!("{base}/v1/alerts"), None).await;
    assert_eq!(status, 401, "bearer auth like every /v1 route");

    // Ten failures: five alerts fire, each announced once across many evaluations.
    write(store.as_ref(), Status::Failed, 10, 1).await;
    until(&got, 5).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut firing = events(&got);
    firing.sort();
    let want: Vec<(String, String, String)> = FIRING
        .iter()
        .map(|(r, s)| ("firing".to_owned(), (*r).to_owned(), (*s).to_owned()))
        .collect();
    assert_eq!(firing, want, "each alert once, over 8 more evaluations");
    let first = got.lock().unwrap()[0].clone();
    assert!(
        first["text"].as_str().unwrap().starts_with("[FIRING]"),
        "{first}"
    );

    // The list while they fire: critical first, with since when.
    let (status, text) = get(&format!("{base}/v1/alerts"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    let rows = list["data"].as_array().unwrap();
    let listed: Vec<(&str, &str)> = rows
        .iter()
        .map(|a| (a["rule"].as_str().unwrap(), a["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("all_generations_failing", "all models"),
            ("high_error_rate", "all models"),
            ("low_success_rate", "all models"),
            ("model_failing", MODEL),
            ("provider_errors", "lovable_ai"),
        ]
    );
    let high = &rows[1];
    assert_eq!(high["severity"], "critical");
    assert_eq!(high["observed"], "100.00");
    assert_eq!(high["threshold"], "20");
    assert_eq!(high["window_s"], 900);
    assert_eq!(high["sample"], 10);
    assert_eq!(
        high["action"],
        "Check provider status and investigate the logs; no rollback yet."
    );
    let since = high["since"].as_str().unwrap();
    assert!(since.ends_with('Z'), "{since}");
    assert_eq!(rows[4]["severity"], "warning");
    // The same since on the next evaluations.
    server.alerts().evaluate().await.unwrap();
    let (_, text) = get(&format!("{base}/v1/alerts"), Some(TOKEN)).await;
    let again: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again["data"][1]["since"], since);

    // A hundred successes: every alert resolves, once.
    write(store.as_ref(), Status::Completed, 100, 100).await;
    until(&got, 10).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let all = events(&got);
    assert_eq!(all.len(), 10, "{all:#?}");
    let mut resolved: Vec<_> = all[5..].to_vec();
    resolved.sort();
    let want: Vec<(String, String, String)> = FIRING
        .iter()
        .map(|(r, s)| ("resolved".to_owned(), (*r).to_owned(), (*s).to_owned()))
        .collect();
    assert_eq!(resolved, want);
    let (_, text) = get(&format!("{base}/v1/alerts"), Some(TOKEN)).await;
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["data"], json!([]));

    // The deliveries as counted: every event sent to the receiver, and failed at the port
    // nobody listens on.
    let (_, metrics) = get(&format!("{base}/metrics"), None).await;
    let counted: BTreeMap<&str, &str> = metrics
        .lines()
        .filter(|l| l.starts_with("registry_alert_notifications_total{"))
        .filter_map(|l| l.rsplit_once(' '))
        .collect();
    assert_eq!(
        counted,
        BTreeMap::from([
            (
                "registry_alert_notifications_total{event=\"firing\",result=\"failed\"}",
                "5"
            ),
            (
                "registry_alert_notifications_total{event=\"firing\",result=\"sent\"}",
                "5"
            ),
            (
                "registry_alert_notifications_total{event=\"resolved\",result=\"failed\"}",
                "5"
            ),
            (
                "registry_alert_notifications_total{event=\"resolved\",result=\"sent\"}",
                "5"
            ),
        ]),
        "{metrics}"
    );
    assert!(
        !metrics.contains("registry_alerts_firing{"),
        "nothing fires now: {metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_and_resolve_once_on_sqlite() {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    scenario(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_and_resolve_once_on_postgres() {
    let pg = tokio::task::spawn_blocking(Pg::start).await.unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port());
    let store = PgStore::connect(&url, 4).await.expect("connect");
    store
        .migrate(generated_models::MIGRATIONS)
        .await
        .expect("apply generated/sql");
    let store = Arc::new(store);
    scenario(store.clone(), store).await;
    drop(pg);
}
