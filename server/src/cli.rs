//! The `server` binary: command line, store, keys, tokens, signals.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use clap::Parser;
use runtime::cost::Credits;
use runtime::engine::{Engine, EngineConfig, LOCAL_OWNER};
use runtime::keys::{EnvKeys, KeyResolver};
use runtime::local_mock::LocalMock;
use runtime::mock::MockOptions;
use runtime::model::ModelInfo;
use runtime::store::{IdempotencyStore, LOCAL_USER_ID, Lease, PgStore, SqliteStore, Store};

use crate::alerts::AlertOptions;
use crate::app::{Options, Server, Services};
use crate::auth::Tokens;
use crate::state::Limits;

/// The registry's HTTP API.
#[derive(Debug, Parser)]
#[command(name = "server", version)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "REGISTRY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// SQLite database file (created if missing): one instance. One of --db and --postgres
    /// is required unless --mock, which defaults to an in-memory database.
    #[arg(
        long,
        env = "REGISTRY_DB",
        value_name = "FILE",
        conflicts_with = "postgres"
    )]
    db: Option<PathBuf>,
    /// Postgres connection string (`postgres://user:pass@host:5432/db` or libpq's `key=value`
    /// form): the store for several instances. The migrations of `generated/sql` are applied at
    /// start.
    #[arg(long, env = "REGISTRY_DATABASE_URL", value_name = "URL")]
    postgres: Option<String>,
    /// Connections to Postgres at most.
    #[arg(long, default_value_t = 16)]
    pool_size: usize,
    /// This instance's name in the leases it holds on running generations. Give each instance
    /// its own stable id and a restarted one takes its generations back at once; otherwise
    /// another instance takes them over when their leases expire. Default: `local` on SQLite
    /// (one instance), a random id on Postgres.
    #[arg(long, env = "REGISTRY_INSTANCE_ID")]
    instance_id: Option<String>,
    /// How long a lease on a running generation lasts without a heartbeat, in seconds (the
    /// heartbeat comes every third of it): how soon another instance takes over a dead one's.
    #[arg(long, default_value_t = 30)]
    lease_ttl: u64,
    /// Apply the Postgres migrations (`--postgres`) and exit.
    #[arg(long)]
    migrate_only: bool,
    /// Start the mock provider in-process and point every provider at it, with mock keys. The
    /// mock serves every model from its spec. Without --tokens, a development token is printed.
    #[arg(long)]
    mock: bool,
    /// An origin allowed to call the API from a browser (`https://app.example`); repeatable,
    /// or comma-separated in the variable.
    #[arg(
        long = "cors-origin",
        env = "REGISTRY_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// File of bearer tokens: `<sha256 hex of the token> <user id>` per line. Entries in the
    /// variable REGISTRY_TOKENS (same format, lines or commas) are added.
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// The URL providers reach this server at, for webhook callbacks (default: the listen
    /// address).
    #[arg(long, env = "REGISTRY_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Credits given at start to every token's user that has no account yet (default: 1000
    /// with --mock, none otherwise).
    #[arg(long, value_name = "AMOUNT")]
    initial_credits: Option<String>,
    /// Largest API request body, in bytes.
    #[arg(long, default_value_t = Limits::default().api_body)]
    max_body: usize,
    /// Largest webhook body, in bytes.
    #[arg(long, default_value_t = Limits::default().webhook_body)]
    max_webhook_body: usize,
    /// Longest a request may take, in seconds (a `Prefer: wait` included).
    #[arg(long, default_value_t = 90)]
    request_timeout: u64,
    /// On SIGTERM or Ctrl-C, how long in-flight requests and generations may take, in seconds.
    #[arg(long, default_value_t = 20)]
    shutdown_grace: u64,
    /// Cap every model's timeout, in seconds.
    #[arg(long)]
    timeout_cap: Option<u64>,
    /// Cap every poll interval, in milliseconds (tests, demos; --mock caps it at 500).
    #[arg(long, value_name = "MS")]
    poll_interval_cap: Option<u64>,
    /// With --mock: how long a mock job takes, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    mock_job_ms: u64,
    /// A bearer token `GET /metrics` then requires (default: none; /metrics holds no secret,
    /// user id or prompt, but names models, providers and secret names).
    #[arg(long, env = "REGISTRY_METRICS_TOKEN", value_name = "TOKEN")]
    metrics_token: Option<String>,
    /// How often the alerts are evaluated, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    alert_interval: u64,
    /// A URL firing and resolved alerts are posted to as JSON (a Slack incoming webhook takes
    /// it as it is); repeatable, or comma-separated in the variable. The URL is never logged.
    #[arg(
        long = "alert-webhook",
        env = "REGISTRY_ALERT_WEBHOOKS",
        value_name = "URL",
        value_delimiter = ','
    )]
    alert_webhooks: Vec<String>,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Run the server over `models` with the process's command line.
pub fn main(models: &'static [&'static ModelInfo]) -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(run(args, models))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn run(args: Args, models: &'static [&'static ModelInfo]) -> ExitCode {
    // Tokens.
    let mut tokens = Tokens::default();
    if let Some(path) = &args.tokens {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
        };
        match Tokens::parse(&text, &path.display().to_string()) {
            Ok(t) => tokens.extend(t),
            Err(e) => return fail(e),
        }
    }
    if let Ok(text) = std::env::var("REGISTRY_TOKENS") {
        match Tokens::parse(&text, "REGISTRY_TOKENS") {
            Ok(t) => tokens.extend(t),
            Err(e) => return fail(e),
        }
    }
    let mut dev_token = None;
    if tokens.is_empty() {
        if !args.mock {
            return fail(
                "no bearer tokens configured: pass --tokens FILE or set REGISTRY_TOKENS (see server/README.md)",
            );
        }
        let token = format!(
            "dev_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        tokens.insert_plain(&token, LOCAL_USER_ID);
        dev_token = Some(token);
    }

    let mut cors_origins = Vec::new();
    for o in &args.cors_origins {
        let o = o.trim().trim_end_matches('/');
        if o.is_empty() {
            continue;
        }
        if !(o.starts_with("http://") || o.starts_with("https://")) {
            return fail(format!(
                "--cors-origin `{o}` must be an origin such as https://app.example"
            ));
        }
        match HeaderValue::from_str(o) {
            Ok(v) => cors_origins.push(v),
            Err(_) => return fail(format!("--cors-origin `{o}` is not a valid origin")),
        }
    }

    let mut alert_webhooks = Vec::new();
    for url in &args.alert_webhooks {
        let url = url.trim();
        if url.is_empty() {
            continue;
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return fail("--alert-webhook must be an http:// or https:// URL");
        }
        alert_webhooks.push(url.to_owned());
    }

    // Store.
    let opened = match open_store(&args).await {
        Ok(o) => o,
        Err(message) => return fail(message),
    };
    if args.migrate_only {
        println!("migrations applied");
        return ExitCode::SUCCESS;
    }
    let OpenedStore {
        store,
        idempotency,
        default_owner,
    } = opened;
    let credits = match args.initial_credits.as_deref() {
        Some(c) => match Credits::from_str(c) {
            Ok(c) => Some(c),
            Err(_) => return fail("--initial-credits must be a decimal number"),
        },
        None if args.mock => Some(Credits::from_str("1000").unwrap_or(Credits::ZERO)),
        None => None,
    };
    if let Some(c) = credits {
        for user in tokens.users() {
            let has = match store.balance(user).await {
                Ok(b) => b.is_some(),
                Err(e) => return fail(format!("store: {e}")),
            };
            if !has && let Err(e) = store.set_balance(user, c).await {
                return fail(format!("store: {e}"));
            }
        }
    }

    // Engine, keys, models.
    let mut config = EngineConfig {
        timeout_cap: args.timeout_cap.map(Duration::from_secs),
        poll_interval_cap: args.poll_interval_cap.map(Duration::from_millis),
        lease: Lease {
            owner: args.instance_id.clone().unwrap_or(default_owner),
            ttl_ms: i64::try_from(args.lease_ttl.max(1).saturating_mul(1000)).unwrap_or(30_000),
        },
        ..EngineConfig::default()
    };
    tracing::info!(event = "instance", owner = %config.lease.owner, lease_ttl_s = args.lease_ttl, "leases held as this instance");
    let mut mock = None;
    let (keys, served): (Arc<dyn KeyResolver>, Vec<&'static ModelInfo>) = if args.mock {
        // The mock is driven by the models' data: it serves every one of them.
        let served: Vec<&'static ModelInfo> = models.to_vec();
        let opts = MockOptions {
            job_duration: Duration::from_millis(args.mock_job_ms),
            ..MockOptions::default()
        };
        let m = match LocalMock::start(&served, opts).await {
            Ok(m) => m,
            Err(e) => return fail(format!("cannot start the mock provider: {e}")),
        };
        m.configure(&mut config, Duration::from_millis(500));
        if let Some(cap) = args.poll_interval_cap {
            config.poll_interval_cap = Some(Duration::from_millis(cap));
        }
        tracing::info!(event = "mock_started", url = %m.provider().base_url(), "mock provider started; every provider points at it");
        let keys = Arc::new(m.keys());
        mock = Some(m);
        (keys, served)
    } else {
        (Arc::new(EnvKeys), models.to_vec())
    };
    let engine = match Engine::builder()
        .config(config)
        .store(store.clone())
        .keys(keys.clone())
        .models(&served)
        .build()
    {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    // What a previous run under this instance id left, and what no live instance holds (an
    // expired lease): resumed if the provider had accepted it, otherwise failed and refunded
    // (the rule is in runtime's `engine/recover.rs`).
    match engine.recover().await {
        Ok((found, runs)) => {
            if !found.resumed.is_empty() || !found.failed.is_empty() {
                tracing::info!(
                    event = "recovered",
                    resumed = found.resumed.len(),
                    failed = found.failed.len(),
                    "settled the generations a previous run left unfinished"
                );
            }
            for run in runs {
                tokio::spawn(run);
            }
        }
        Err(e) => return fail(format!("cannot settle unfinished generations: {e}")),
    }

    let opts = Options {
        listen: args.listen,
        public_url: args.public_url.clone(),
        cors_origins,
        limits: Limits {
            api_body: args.max_body,
            webhook_body: args.max_webhook_body,
            request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        },
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        metrics_token: args.metrics_token.clone(),
        alerts: AlertOptions {
            interval: Duration::from_secs(args.alert_interval.max(1)),
            webhooks: alert_webhooks,
            ..AlertOptions::default()
        },
    };
    let server = match Server::bind(
        opts,
        Services {
            engine,
            store: store.clone(),
            idempotency,
            keys,
            tokens,
        },
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot listen on {}: {e}", args.listen)),
    };
    let url = format!("http://{}", server.addr());
    println!("listening on {url}");
    if let Some(token) = &dev_token {
        println!("dev token: {token}");
        println!("  (mock mode with no --tokens: this token is the local user, with its credits)");
        println!("  curl -H 'Authorization: Bearer {token}' {url}/v1/models");
    }
    server.serve(shutdown_signal()).await;
    drop(mock);
    ExitCode::SUCCESS
}

/// The store the server runs on, as both traits, and the lease owner it defaults to.
struct OpenedStore {
    store: Arc<dyn Store>,
    idempotency: Arc<dyn IdempotencyStore>,
    default_owner: String,
}

/// Open the store the arguments name: Postgres (migrated), a SQLite file, or, with --mock
/// alone, an in-memory SQLite database.
async fn open_store(args: &Args) -> Result<OpenedStore, String> {
    if let Some(url) = &args.postgres {
        let pg = PgStore::connect(url, args.pool_size)
            .await
            .map_err(|e| format!("cannot open the Postgres store: {e}"))?;
        pg.migrate(generated_models::MIGRATIONS)
            .await
            .map_err(|e| format!("cannot migrate {}: {e}", pg.target()))?;
        tracing::info!(event = "store_opened", store = %pg.target(), migrations = generated_models::MIGRATIONS.len(), "Postgres store migrated");
        let pg = Arc::new(pg);
        let owner = format!(
            "instance-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        return Ok(OpenedStore {
            store: pg.clone(),
            idempotency: pg,
            default_owner: owner,
        });
    }
    if args.migrate_only {
        return Err("--migrate-only needs --postgres URL".to_owned());
    }
    let sqlite = match (&args.db, args.mock) {
        (Some(path), _) => SqliteStore::open(path)
            .map_err(|e| format!("cannot open the store {}: {e}", path.display()))?,
        (None, true) => {
            SqliteStore::in_memory().map_err(|e| format!("cannot open the store: {e}"))?
        }
        (None, false) => {
            return Err(
                "a store is required: --db FILE (SQLite) or --postgres URL (an in-memory store is only the default with --mock)"
                    .to_owned(),
            );
        }
    };
    let sqlite = Arc::new(sqlite);
    Ok(OpenedStore {
        store: sqlite.clone(),
        idempotency: sqlite,
        default_owner: LOCAL_OWNER.to_owned(),
    })
}
