//! A mock provider driven by the models' own data: one HTTP/1 server on loopback that serves
//! whatever the [`ModelInfo`]s it is given describe, with faults injected per test. A provider
//! added by YAML alone runs against it with no change here.
//!
//! - Each provider has its own base URL on the one server, `http://127.0.0.1:PORT/p/<id>`
//!   ([`MockProvider::base_urls`]), so two providers never share a route. A request outside
//!   `/p/` is matched against every model (for a single `--base-url`).
//! - A request is routed by the models' request templates (`routes.rs`): method, path and
//!   query, and the literals of the body template; the candidate with the most literal
//!   matches wins. Whole URLs the engine takes from answers (`whole_url`) are URLs this mock
//!   handed out, `.../p/<id>/_jobs/<job>/<kept name>`, routed to the request that uses them.
//! - Answers are the models' readings inverted (`invert.rs`): values are written at the
//!   pointers the model reads. A submit starts a job (`jobs.rs`), which moves from pending to
//!   processing to finished over [`MockOptions::job_duration`] and sends a signed webhook
//!   when it finishes, if the submit carried a callback URL.
//!
//! Faults (`faults.rs`) are injected per test with [`MockProvider::inject`]: request faults hit
//! the next request they target, job faults the next job.
//!
//! Outputs are made up per job: URLs on the mock (`.../p/<id>/_files/<job>/<i>.<ext>`, which
//! it serves), `data:` URLs, base64 or text, as the model's reading says; as many as the
//! integer param the cost counts asks for (else one). The provider cost is the formula's cost
//! in the provider's units, so by default it matches.

mod faults;
mod invert;
mod jobs;
mod routes;
mod stream;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as Body;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::keys::Secret;
use crate::model::{Auth, Method, ModelInfo, Output, ProviderInfo, Signature};
pub use faults::{Fault, Target};
use faults::{JobFaults, faulted, take_job_faults, take_request_fault};
use jobs::Job;
pub use routes::RequestKind;
use routes::{Incoming, Route, route};

/// Mock settings.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// From submit to done.
    pub job_duration: Duration,
    /// The HMAC key of KIE-style webhooks (`KIE_AI_WEBHOOK_HMAC_KEY` for KIE).
    pub kie_webhook_key: String,
    /// The secret of Standard Webhooks (`whsec_...`; `REPLICATE_WEBHOOK_SECRET` for
    /// Replicate).
    pub standard_webhooks_secret: String,
    /// The seed of the ED25519 key fal-style webhooks are signed with; its public half is
    /// [`MockProvider::fal_jwks`].
    pub fal_signing_seed: [u8; 32],
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions {
            job_duration: Duration::from_millis(150),
            kie_webhook_key: "mock-kie-webhook-key".to_owned(),
            standard_webhooks_secret: "whsec_bW9jay1yZXBsaWNhdGUtc2VjcmV0".to_owned(),
            fal_signing_seed: *b"mock-fal-webhook-signing-seed-01",
        }
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// The provider of the base URL it came under (`None`: outside `/p/`).
    pub provider: Option<String>,
    /// Path under the provider's base URL, without the query.
    pub path: String,
    /// The query, without a key sent in it.
    pub query: Option<String>,
    /// The key as the provider's auth sends it (`Bearer ...`; kept redacted).
    pub auth: Option<Secret>,
    /// The JSON body (`Null` when none).
    pub body: Value,
    /// The model and request it was routed to.
    pub routed: Option<(&'static str, RequestKind)>,
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

/// A job the mock started, as tests see it.
#[derive(Debug, Clone)]
pub struct MockJob {
    /// Its id: the task id of an async model.
    pub id: String,
    /// The model.
    pub model: &'static str,
    /// The outputs it returns when it completes.
    pub outputs: Vec<Output>,
    /// The values handed out to keep, by name.
    pub kept: Vec<(String, String)>,
    /// The callback URL its submit carried.
    pub callback_url: Option<String>,
    /// Cancelled.
    pub cancelled: bool,
}

#[derive(Default)]
struct State {
    faults: Vec<faults::Queued>,
    jobs: HashMap<String, Job>,
    /// Job ids in the order they started.
    order: Vec<String>,
    /// Kept value -> job id.
    kept: HashMap<String, String>,
    requests: Vec<Recorded>,
    webhooks: Vec<SentWebhook>,
}

struct Shared {
    opts: MockOptions,
    /// `http://127.0.0.1:PORT`.
    root: String,
    models: Vec<&'static ModelInfo>,
    by_provider: HashMap<&'static str, Vec<&'static ModelInfo>>,
    signing: ed25519_dalek::SigningKey,
    state: Mutex<State>,
    client: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept values some template of `model` uses as its whole URL.
    fn whole_url_names(&self, model: &'static ModelInfo) -> Vec<&'static str> {
        routes::templates(model)
            .filter_map(|(_, t)| routes::whole_url_kept(t))
            .collect()
    }

    fn provider(&self, id: &str) -> Option<&'static ProviderInfo> {
        self.by_provider
            .get(id)
            .and_then(|ms| ms.first())
            .map(|m| m.provider)
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
            .field("models", &self.shared.models.len())
            .finish()
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockProvider {
    /// Serve `models` on `127.0.0.1` at a free port.
    pub async fn start(
        models: &[&'static ModelInfo],
        opts: MockOptions,
    ) -> std::io::Result<MockProvider> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), models, opts).await
    }

    /// Serve `models` on `addr`.
    pub async fn start_on(
        addr: SocketAddr,
        models: &[&'static ModelInfo],
        opts: MockOptions,
    ) -> std::io::Result<MockProvider> {
        crate::http::install_crypto();
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut by_provider: HashMap<&'static str, Vec<&'static ModelInfo>> = HashMap::new();
        for m in models {
            by_provider.entry(m.provider.id).or_default().push(m);
        }
        let shared = Arc::new(Shared {
            signing: ed25519_dalek::SigningKey::from_bytes(&opts.fal_signing_seed),
            opts,
            root: format!("http://{addr}"),
            models: models.to_vec(),
            by_provider,
            state: Mutex::new(State::default()),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
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
        self.shared.root.clone()
    }

    /// `provider`'s base URL on this mock, `http://127.0.0.1:PORT/p/<provider>`.
    pub fn base_url_of(&self, provider: &str) -> String {
        format!("{}/p/{provider}", self.shared.root)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Each served provider's base URL on this mock (for [`crate::EngineConfig::base_urls`]).
    pub fn base_urls(&self) -> HashMap<String, String> {
        self.shared
            .by_provider
            .keys()
            .map(|p| ((*p).to_owned(), self.base_url_of(p)))
            .collect()
    }

    /// The public key the mock signs fal-style webhooks with, as a JWKS document: the value
    /// to configure under the provider's webhook secret name.
    pub fn fal_jwks(&self) -> String {
        jobs::jwks(&self.shared.signing)
    }

    /// What the engine must be configured with to verify the served providers' webhooks:
    /// `(secret name, value)` for each provider whose webhook rule names a secret.
    pub fn webhook_secrets(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for models in self.shared.by_provider.values() {
            for m in models {
                let Some(rule) = m.provider.webhook else {
                    continue;
                };
                let Some(name) = rule.secret_name else {
                    continue;
                };
                let value = match rule.signature {
                    Signature::StandardWebhooks => {
                        self.shared.opts.standard_webhooks_secret.clone()
                    }
                    Signature::KieHmac => self.shared.opts.kie_webhook_key.clone(),
                    Signature::FalEd25519 => self.fal_jwks(),
                    Signature::UrlToken | Signature::None => continue,
                };
                if !out.iter().any(|(n, _)| *n == name) {
                    out.push((name, value));
                }
            }
        }
        out.sort();
        out
    }

    /// Queue a fault; request faults are used by the next matching request, job faults by the
    /// next job.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(faults::Queued {
            provider: None,
            fault,
        });
    }

    /// Queue a fault for provider `provider` only: its requests, or its next job.
    pub fn inject_for(&self, provider: &str, fault: Fault) {
        self.shared.lock().faults.push(faults::Queued {
            provider: Some(provider.to_owned()),
            fault,
        });
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Every webhook sent so far.
    pub fn webhooks(&self) -> Vec<SentWebhook> {
        self.shared.lock().webhooks.clone()
    }

    /// Every job started so far, in order.
    pub fn jobs(&self) -> Vec<MockJob> {
        let st = self.shared.lock();
        st.order
            .iter()
            .filter_map(|id| st.jobs.get(id))
            .map(|j| MockJob {
                id: j.id.clone(),
                model: j.model.id,
                outputs: j.outputs.clone(),
                kept: j.kept.clone(),
                callback_url: j.callback_url.clone(),
                cancelled: j.cancelled,
            })
            .collect()
    }

    /// The options it runs with.
    pub fn options(&self) -> &MockOptions {
        &self.shared.opts
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", http::HeaderValue::from_static(content_type));
    r
}

fn json_reply((status, v): (u16, Value)) -> Reply {
    reply(
        status,
        "application/json",
        serde_json::to_vec(&v).unwrap_or_default(),
    )
}

/// An error answer of `provider` (or a generic one), with `status` and its code.
fn error_reply(provider: Option<&ProviderInfo>, status: u16, message: &str) -> Reply {
    let body = match provider {
        Some(p) => jobs::error_body(p, message, Some(json!(status))),
        None => json!({"error": {"message": message}}),
    };
    json_reply((status, body))
}

fn query_key_name(p: &ProviderInfo) -> Option<&'static str> {
    match p.auth {
        Auth::Query { name } => Some(name),
        Auth::Bearer | Auth::Header { .. } => None,
    }
}

/// The key as `auth` sends it.
fn key_of(auth: &Auth, headers: &http::HeaderMap, query: Option<&str>) -> Option<Secret> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .map(Secret::new)
    };
    match auth {
        Auth::Query { name } => crate::listener::query_param(query, name).map(Secret::new),
        Auth::Header { name, .. } => header(name),
        Auth::Bearer => header("authorization"),
    }
}

/// `query` without the params named `names` (a key sent in the query).
fn without_params(query: Option<&str>, names: &[&str]) -> Option<String> {
    let rest: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !names.contains(&p.split('=').next().unwrap_or("")))
        .collect();
    (!rest.is_empty()).then(|| rest.join("&"))
}

async fn handle(shared: Arc<Shared>, kill: Arc<AtomicBool>, req: Request<Body>) -> Reply {
    let method_text = req.method().as_str().to_owned();
    let full_path = req.uri().path().to_owned();
    let raw_query = req.uri().query().map(str::to_owned);
    let headers = req.headers().clone();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();

    // `/p/<provider>/rest`, else the whole path.
    let (provider_id, path) = match full_path.strip_prefix("/p/") {
        Some(rest) => {
            let (p, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            (Some(p.to_owned()), tail.to_owned())
        }
        None => (None, full_path.clone()),
    };
    let provider = provider_id.as_deref().and_then(|p| shared.provider(p));
    // A key in the query is no part of the request the templates describe.
    let key_params: Vec<&str> = match provider {
        Some(p) => query_key_name(p).into_iter().collect(),
        None => shared
            .models
            .iter()
            .filter_map(|m| query_key_name(m.provider))
            .collect(),
    };
    let query = without_params(raw_query.as_deref(), &key_params);
    let target = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    let method = match method_text.as_str() {
        "GET" => Some(Method::Get),
        "POST" => Some(Method::Post),
        "PUT" => Some(Method::Put),
        _ => None,
    };
    let routed = method.and_then(|method| {
        let incoming = Incoming {
            method,
            target: &target,
            headers: &headers,
            body: body.as_ref(),
        };
        route(&shared, provider_id.as_deref(), incoming)
    });
    // The routed model's provider speaks for the answer (its error shape).
    let provider = routed
        .as_ref()
        .and_then(Route::model)
        .map(|m| m.provider)
        .or(provider);
    let auth = provider.and_then(|p| key_of(&p.auth, &headers, raw_query.as_deref()));
    let fault = {
        let mut st = shared.lock();
        st.requests.push(Recorded {
            method: method_text.clone(),
            provider: provider_id.clone(),
            path: path.clone(),
            query: query.clone(),
            auth: auth.clone(),
            body: body.clone().unwrap_or(Value::Null),
            routed: routed
                .as_ref()
                .and_then(|r| Some((r.model()?.id, r.kind()))),
        });
        routed
            .as_ref()
            .and_then(|r| take_request_fault(&mut st, r.kind(), provider_id.as_deref()))
    };
    let Some(routed) = routed else {
        let message = format!("mock: no route for {method_text} {full_path}");
        return error_reply(provider, 404, &message);
    };
    if let Route::File(name) = &routed {
        let content_type = match name.rsplit('.').next() {
            Some("png") => "image/png",
            Some("mp4") => "video/mp4",
            Some("mp3") => "audio/mpeg",
            _ => "text/plain",
        };
        return reply(200, content_type, format!("mock file {name}"));
    }
    if auth.is_none() {
        return error_reply(provider, 401, "missing API key");
    }
    if let Some(fault) = fault
        && let Some(r) = faulted(fault, provider, &kill).await
    {
        return r;
    }
    answer(&shared, routed)
}

fn answer(shared: &Arc<Shared>, routed: Route) -> Reply {
    let d = shared.opts.job_duration;
    match routed {
        Route::Submit(c) => {
            let (job, answer) = {
                let mut st = shared.lock();
                let faults = take_job_faults(&mut st, c.model.provider.id);
                let job = Job::new(shared, c.model, &c.captures, faults);
                let answer = jobs::submit_answer(&job, d);
                for (_, v) in &job.kept {
                    st.kept.insert(v.clone(), job.id.clone());
                }
                st.order.push(job.id.clone());
                st.jobs.insert(job.id.clone(), job.clone());
                (job, answer)
            };
            let accepted = c.model.response.task_id.is_some() && answer.0 == 200;
            if accepted && job.callback_url.is_some() && !job.faults.no_webhook {
                tokio::spawn(jobs::send_webhooks(shared.clone(), job.id.clone()));
            }
            json_reply(answer)
        }
        Route::Job(c, id) => {
            let mut st = shared.lock();
            let Some(job) = st.jobs.get_mut(&id) else {
                return error_reply(Some(c.model.provider), 404, "mock: no such task");
            };
            json_reply(match c.kind {
                RequestKind::Step(i) => jobs::step_answer(job, i, d),
                _ => jobs::cancel_answer(job, d),
            })
        }
        Route::UnknownJob(c) => error_reply(Some(c.model.provider), 404, "mock: no such task"),
        Route::File(_) => error_reply(None, 404, "mock: no such file"),
    }
}
