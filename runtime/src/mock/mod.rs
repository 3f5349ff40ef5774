//! A mock provider: one HTTP/1 server on loopback that speaks every bundled provider's
//! protocol, routed by path shape, with faults injected per test.
//!
//! | route | protocol |
//! |---|---|
//! | `POST /v1` (JSON array of tasks) | Runware `imageInference`: `numberResults` images, `cost` |
//! | `POST */chat/completions` | OpenAI-compatible gateways (Lovable, OpenRouter): `images[].image_url.url` data URLs |
//! | `POST /v1/images/generations` | OpenAI Images: `data[].b64_json` |
//! | `POST /fal-ai/...` | fal sync: `images[].url` |
//! | `POST /api/v1/jobs/createTask`, `GET /api/v1/jobs/recordInfo` | KIE tasks: `resultJson` as a JSON string, `waiting -> generating -> success/fail`, HMAC-signed callbacks to `callBackUrl` |
//! | `POST /api/v1/generate`, `GET /api/v1/generate/record-info` | KIE Suno |
//! | `POST /v1/models/{owner}/{name}/predictions`, `GET /v1/predictions/{id}` | Replicate predictions, Standard Webhooks-signed webhook |
//!
//! Jobs move from pending to processing to done over [`MockOptions::job_duration`]; a webhook
//! is sent when a job finishes (when the submit named a callback URL).

mod protocols;
mod stream;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::keys::Secret;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Submits (POST).
    Submit,
    /// Polls (GET).
    Poll,
    /// Any request.
    Any,
}

/// A fault, injected with [`MockProvider::inject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (500, 502, ...) and a provider-shaped error body.
    Status {
        /// HTTP status.
        code: u16,
        /// Requests affected.
        target: Target,
    },
    /// `429` with `Retry-After: secs`.
    RateLimit {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
        /// Requests affected.
        target: Target,
    },
    /// Answer after `delay` (past the client's timeout, typically).
    Slow {
        /// Delay.
        delay: Duration,
        /// Requests affected.
        target: Target,
    },
    /// Reset the connection instead of answering (after reading the request).
    Reset {
        /// Requests affected.
        target: Target,
    },
    /// A 200 whose body is not JSON.
    MalformedJson {
        /// Requests affected.
        target: Target,
    },
    /// A provider error in the provider's own shape (KIE: HTTP 200 with `code: 422`).
    ErrorBody {
        /// Requests affected.
        target: Target,
    },
    /// The next job fails (async: final state `fail`; sync: an error body).
    JobFails,
    /// The next job's webhook is delivered twice.
    WebhookTwice,
    /// The next job's webhook comes this long after the job finished.
    WebhookLate(Duration),
    /// The next job's completion webhook is followed by a stale `processing` one.
    WebhookOutOfOrder,
    /// The next job's webhook carries a bad signature.
    WebhookBadSignature,
    /// The next job sends no webhook.
    NoWebhook,
    /// The next KIE callback names the id `task_id` instead of `taskId`.
    WebhookTaskIdVariant,
    /// The next sync job (Runware, OpenAI Images, fal) returns at most this many outputs,
    /// whatever count was asked for.
    FewerOutputs(usize),
}

impl Fault {
    fn target(&self) -> Option<Target> {
        match self {
            Fault::Status { target, .. }
            | Fault::RateLimit { target, .. }
            | Fault::Slow { target, .. }
            | Fault::Reset { target }
            | Fault::MalformedJson { target }
            | Fault::ErrorBody { target } => Some(*target),
            _ => None,
        }
    }
}

/// Mock settings.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// From submit to done.
    pub job_duration: Duration,
    /// KIE webhook HMAC key (`KIE_AI_WEBHOOK_HMAC_KEY`).
    pub kie_webhook_key: String,
    /// Replicate Standard Webhooks secret (`whsec_...`, `REPLICATE_WEBHOOK_SECRET`).
    pub replicate_webhook_secret: String,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions {
            job_duration: Duration::from_millis(150),
            kie_webhook_key: "mock-kie-webhook-key".to_owned(),
            replicate_webhook_secret: "whsec_bW9jay1yZXBsaWNhdGUtc2VjcmV0".to_owned(),
        }
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query.
    pub query: Option<String>,
    /// The `Authorization` header (a key: kept redacted).
    pub auth: Option<Secret>,
    /// The JSON body (`Null` when none).
    pub body: Value,
}

/// One webhook the mock sent.
#[derive(Debug, Clone)]
pub struct SentWebhook {
    /// Target URL.
    pub url: String,
    /// The HTTP status the receiver answered with (0: no answer).
    pub status: u16,
    /// The body sent.
    pub body: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobKind {
    Kie,
    Suno,
    Replicate,
}

#[derive(Debug, Clone, Default)]
struct JobFaults {
    fails: bool,
    twice: bool,
    late: Option<Duration>,
    out_of_order: bool,
    bad_signature: bool,
    no_webhook: bool,
    task_id_variant: bool,
    at_most: Option<usize>,
}

#[derive(Debug, Clone)]
struct Job {
    id: String,
    kind: JobKind,
    model: String,
    input: Value,
    created: Instant,
    created_ms: i64,
    faults: JobFaults,
}

#[derive(Default)]
struct State {
    faults: Vec<Fault>,
    jobs: HashMap<String, Job>,
    requests: Vec<Recorded>,
    webhooks: Vec<SentWebhook>,
}

struct Shared {
    opts: MockOptions,
    state: Mutex<State>,
    client: reqwest::Client,
    base_url: String,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running mock provider; stops when dropped.
pub struct MockProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for MockProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockProvider")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Provider ids the mock speaks for.
pub const PROVIDERS: &[&str] = &[
    "runware",
    "kie_ai",
    "lovable_ai",
    "openrouter",
    "replicate",
    "fal",
    "openai",
];

/// Credits the mock reports KIE charged (`consumeCredits`).
pub const KIE_CREDITS: u32 = 12;

impl MockProvider {
    /// Start on `127.0.0.1` at a free port.
    pub async fn start(opts: MockOptions) -> std::io::Result<MockProvider> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), opts).await
    }

    /// Start on `addr`.
    pub async fn start_on(addr: SocketAddr, opts: MockOptions) -> std::io::Result<MockProvider> {
        crate::http::install_crypto();
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            opts,
            state: Mutex::new(State::default()),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            base_url: format!("http://{addr}"),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let kill = Arc::new(AtomicBool::new(false));
                let io = TokioIo::new(stream::Killable::new(tcp, kill.clone()));
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let s = s.clone();
                        let kill = kill.clone();
                        async move { Ok::<_, Infallible>(handle(s, kill, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Ok(MockProvider { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A base URL map pointing every provider at this mock (for [`crate::EngineConfig::base_urls`]).
    pub fn base_urls(&self) -> HashMap<String, String> {
        PROVIDERS
            .iter()
            .map(|p| ((*p).to_owned(), self.base_url()))
            .collect()
    }

    /// Queue a fault; request faults are used by the next matching request, job faults by the
    /// next job.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Every webhook sent so far.
    pub fn webhooks(&self) -> Vec<SentWebhook> {
        self.shared.lock().webhooks.clone()
    }

    /// The options it runs with.
    pub fn options(&self) -> &MockOptions {
        &self.shared.opts
    }
}

fn take_request_fault(state: &mut State, is_submit: bool) -> Option<Fault> {
    let i = state.faults.iter().position(|f| match f.target() {
        Some(Target::Any) => true,
        Some(Target::Submit) => is_submit,
        Some(Target::Poll) => !is_submit,
        None => false,
    })?;
    Some(state.faults.remove(i))
}

fn take_job_faults(state: &mut State) -> JobFaults {
    let mut jf = JobFaults::default();
    state.faults.retain(|f| {
        match f {
            Fault::JobFails if !jf.fails => jf.fails = true,
            Fault::WebhookTwice if !jf.twice => jf.twice = true,
            Fault::WebhookLate(d) if jf.late.is_none() => jf.late = Some(*d),
            Fault::WebhookOutOfOrder if !jf.out_of_order => jf.out_of_order = true,
            Fault::WebhookBadSignature if !jf.bad_signature => jf.bad_signature = true,
            Fault::NoWebhook if !jf.no_webhook => jf.no_webhook = true,
            Fault::WebhookTaskIdVariant if !jf.task_id_variant => jf.task_id_variant = true,
            Fault::FewerOutputs(n) if jf.at_most.is_none() => jf.at_most = Some(*n),
            _ => return true,
        }
        false
    });
    jf
}

type Reply = Response<Full<Bytes>>;

fn reply(status: u16, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn json_reply(status: u16, v: &Value) -> Reply {
    reply(status, serde_json::to_vec(v).unwrap_or_default())
}

async fn handle(shared: Arc<Shared>, kill: Arc<AtomicBool>, req: Request<Incoming>) -> Reply {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(Secret::new);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let is_submit = method != "GET";
    let route = protocols::route(&method, &path);
    let fault = {
        let mut st = shared.lock();
        st.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            auth: auth.clone(),
            body: body.clone(),
        });
        take_request_fault(&mut st, is_submit)
    };
    let Some(route) = route else {
        return json_reply(
            404,
            &serde_json::json!({"error": {"message": format!("mock: no route for {method} {path}")}}),
        );
    };
    if auth.is_none() {
        return protocols::error_reply(route, 401, "missing API key");
    }
    match fault {
        Some(Fault::Status { code, .. }) => {
            return protocols::error_reply(route, code, "mock: injected server error");
        }
        Some(Fault::RateLimit {
            retry_after_secs, ..
        }) => {
            let mut r = protocols::error_reply(route, 429, "mock: rate limited");
            r.headers_mut()
                .insert("retry-after", http::HeaderValue::from(retry_after_secs));
            return r;
        }
        Some(Fault::Slow { delay, .. }) => tokio::time::sleep(delay).await,
        Some(Fault::Reset { .. }) => {
            kill.store(true, Ordering::SeqCst);
            return reply(200, "{}");
        }
        Some(Fault::MalformedJson { .. }) => return reply(200, "{\"data\": [ this is not json"),
        Some(Fault::ErrorBody { .. }) => return protocols::error_body(route),
        _ => {}
    }
    protocols::answer(&shared, route, &path, query.as_deref(), &body)
}
