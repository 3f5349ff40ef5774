//! The router (routes, OpenAPI document, middleware) and the server that runs it.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::routing::get;
use runtime::Engine;
use runtime::keys::KeyResolver;
use runtime::store::{AlertRules, IdempotencyStore, Store};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::alerts::{self, AlertOptions, Alerting};
use crate::api::{generations, health, models, webhooks};
use crate::auth::Tokens;
use crate::error::{ApiError, ErrorBody, json_errors};
use crate::metrics::{self, Metrics};
use crate::state::{AppState, Background, Limits, Stats};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Model registry API",
        description = "Runs the registry's generation models for a frontend: the provider keys stay on the server. Errors are `{\"error\": {\"code\", \"message\", \"field\"?, \"violations\"?}}`."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {method} {}", uri.path()))
}

/// The CORS layer for `origins` (exact origins such as `https://app.example`); none allows no
/// cross-origin caller.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("prefer"),
        ])
        .expose_headers([
            header::LOCATION,
            header::RETRY_AFTER,
            HeaderName::from_static("preference-applied"),
            HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(Duration::from_secs(600))
}

/// The application: every route, `/openapi.json`, and the middleware (tracing, CORS, the
/// error shape, the request timeout, panics caught, body limits per route).
pub fn router(state: AppState, cors_origins: &[HeaderValue]) -> Router {
    let limits = state.limits;
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(generations::create, generations::list))
        .routes(routes!(generations::get))
        .routes(routes!(generations::cancel))
        .routes(routes!(models::list_models))
        .routes(routes!(models::account))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(alerts::list))
        .split_for_parts();
    let (hooks, hooks_doc) = OpenApiRouter::new()
        .routes(routes!(webhooks::receive))
        .split_for_parts();
    doc.merge(hooks_doc);
    let doc = Arc::new(doc);
    Router::new()
        .merge(api.layer(RequestBodyLimitLayer::new(limits.api_body)))
        .merge(hooks.layer(RequestBodyLimitLayer::new(limits.webhook_body)))
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(no_route)
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            json_errors,
        ))
        .layer(cors(cors_origins))
        .layer(
            TraceLayer::new_for_http()
                // Method and path only: no header (a bearer token) and no query (a webhook's
                // callback token) is recorded.
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// How the server listens and behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen (port 0: a free one).
    pub listen: SocketAddr,
    /// The URL providers reach this server at (`https://api.example`); default
    /// `http://<the bound address>`. Webhook callback URLs are `<this>/v1/webhooks/...`.
    pub public_url: Option<String>,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<HeaderValue>,
    /// Size and time limits.
    pub limits: Limits,
    /// After a shutdown signal, how long in-flight requests (and background generations) may
    /// take before the server exits anyway.
    pub shutdown_grace: Duration,
    /// The bearer token `/metrics` requires; none serves it to anyone who can reach it.
    pub metrics_token: Option<String>,
    /// Alert evaluation and delivery.
    pub alerts: AlertOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            cors_origins: Vec::new(),
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(20),
            metrics_token: None,
            alerts: AlertOptions::default(),
        }
    }
}

/// What the server runs on.
pub struct Services {
    /// The engine (its models are the registry served).
    pub engine: Engine,
    /// The engine's store.
    pub store: Arc<dyn Store>,
    /// Where Idempotency-Key records are kept (the same database).
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The engine's key resolver.
    pub keys: Arc<dyn KeyResolver>,
    /// Bearer tokens.
    pub tokens: Tokens,
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    state: AppState,
    grace: Duration,
}

impl Server {
    /// Bind `opts.listen` and point the engine's webhook callback URLs at this server.
    pub async fn bind(opts: Options, services: Services) -> std::io::Result<Server> {
        let listener = TcpListener::bind(opts.listen).await?;
        let addr = listener.local_addr()?;
        let public = opts
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        services
            .engine
            .set_callback_base(Some(format!("{}/v1", public.trim_end_matches('/'))));
        let mut secret_names: Vec<&'static str> = Vec::new();
        for m in services.engine.models() {
            secret_names.push(m.secret_name);
            if let Some(name) = m.provider.webhook.and_then(|w| w.secret_name) {
                secret_names.push(name);
            }
        }
        secret_names.sort_unstable();
        secret_names.dedup();
        let models: Vec<_> = services.engine.models().collect();
        let metrics = Arc::new(Metrics::new(&models));
        services.engine.observe(metrics.clone());
        let metrics_token = opts.metrics_token.as_deref().map(|t| {
            use sha2::Digest;
            Arc::new(<[u8; 32]>::from(sha2::Sha256::digest(t.trim().as_bytes())))
        });
        let thresholds = alerts::registry_thresholds().map_err(std::io::Error::other)?;
        let alerting = Arc::new(Alerting::new(
            services.store.clone(),
            AlertRules::new(thresholds, &models),
            metrics.clone(),
            &opts.alerts,
        ));
        let state = AppState {
            engine: services.engine,
            store: services.store,
            idempotency: services.idempotency,
            keys: services.keys,
            tokens: Arc::new(services.tokens),
            limits: opts.limits,
            stats: Arc::new(Stats::default()),
            background: Arc::new(Background::default()),
            secret_names: Arc::new(secret_names),
            metrics,
            metrics_token,
            alerts: alerting,
        };
        let router = router(state.clone(), &opts.cors_origins);
        Ok(Server {
            listener,
            addr,
            router,
            state,
            grace: opts.shutdown_grace,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The refusal counters.
    pub fn stats(&self) -> Arc<Stats> {
        self.state.stats.clone()
    }

    /// Serve until `shutdown` resolves; then stop accepting, let in-flight requests and
    /// background generations finish within the grace period, and return.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = tokio::sync::oneshot::channel::<tokio::time::Instant>();
        let signal = async move {
            shutdown.await;
            tracing::info!(
                event = "shutdown_started",
                "shutting down: no new connections"
            );
            let _ = tx.send(tokio::time::Instant::now());
        };
        // The heartbeat of this instance's leases, and the takeover of expired ones, until the
        // generations still running have had their grace period.
        let (stop_leases, leases_stopped) = tokio::sync::oneshot::channel::<()>();
        let engine = self.state.engine.clone();
        let keeper = tokio::spawn(async move {
            engine
                .keep_leases(async move {
                    let _ = leases_stopped.await;
                })
                .await
        });
        // The alerts, evaluated every interval until the server stops serving.
        let (stop_alerts, alerts_stopped) = tokio::sync::oneshot::channel::<()>();
        let alerting = self.state.alerts.clone();
        let evaluator = tokio::spawn(async move {
            alerting
                .run(async move {
                    let _ = alerts_stopped.await;
                })
                .await
        });
        let serve = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(signal)
            .into_future();
        tokio::pin!(serve);
        let grace = self.grace;
        let mut deadline = None;
        tokio::select! {
            r = &mut serve => {
                if let Err(e) = r {
                    tracing::error!(event = "serve_failed", error = %e, "server failed");
                }
            }
            started = rx => {
                let end = started.unwrap_or_else(|_| tokio::time::Instant::now()) + grace;
                deadline = Some(end);
                if tokio::time::timeout_at(end, &mut serve).await.is_err() {
                    tracing::warn!(event = "shutdown_grace_over", "grace period over: closing the requests still open");
                }
            }
        }
        let end = deadline.unwrap_or_else(|| tokio::time::Instant::now() + grace);
        let background = self.state.background.clone();
        if background.running() > 0 {
            tracing::info!(
                event = "shutdown_waiting",
                running = background.running(),
                "waiting for background generations"
            );
            if tokio::time::timeout_at(end, background.idle())
                .await
                .is_err()
            {
                tracing::warn!(
                    event = "shutdown_abandoned",
                    running = background.running(),
                    "grace period over: generations still running are left in the store as they stand"
                );
            }
        }
        let _ = stop_alerts.send(());
        let _ = evaluator.await;
        let _ = stop_leases.send(());
        let _ = keeper.await;
        // What is still unfinished goes to another instance (or this one's next start) now,
        // not when its lease would have expired.
        match self.state.engine.release_leases().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(
                    event = "leases_released",
                    count = n,
                    "handed back the leases of unfinished generations"
                )
            }
            Err(e) => {
                tracing::error!(event = "lease_release_failed", error = %e, "could not hand back the leases; they expire on their own")
            }
        }
        tracing::info!(event = "shutdown_done", "server stopped");
    }

    /// Serve in a task until [`Running::stop`] (tests, embedding).
    pub fn spawn(self) -> Running {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let addr = self.addr;
        let stats = self.stats();
        let alerts = self.state.alerts.clone();
        let task = tokio::spawn(self.serve(async move {
            let _ = rx.await;
        }));
        Running {
            addr,
            stats,
            alerts,
            stop: Some(tx),
            task,
        }
    }
}

/// A server serving in a task.
pub struct Running {
    addr: SocketAddr,
    stats: Arc<Stats>,
    alerts: Arc<Alerting>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The refusal counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The alert evaluator (to evaluate now, or read what fires).
    pub fn alerts(&self) -> &Arc<Alerting> {
        &self.alerts
    }

    /// Shut down gracefully and wait for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.stop.is_some() {
            self.task.abort();
        }
    }
}
