//! The command-line front end: run one model by hand, or every enabled model's smoke test.
//!
//! The binary (`registry-run`, crate `runtime/cli`) passes the generated model list to
//! [`main`]; the logic lives here so it is tested without generated code.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{Map, Value};

use crate::engine::{Engine, EngineConfig, base_url_var};
use crate::error::RunError;
use crate::keys::{EnvKeys, KeyRequest, KeyResolver};
use crate::listener::CallbackServer;
use crate::local_mock::LocalMock;
use crate::mock::{MockOptions, MockProvider};
use crate::model::{ModelInfo, OutputKind};
use crate::store::{SqliteStore, Store};

/// Run registry models against their providers (or the local mock provider).
#[derive(Debug, Parser)]
#[command(name = "registry-run", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Start the mock provider in-process and point every provider at it (with mock keys).
    #[arg(long, global = true)]
    mock: bool,
    /// Point every provider at this base URL (e.g. a running `mock-provider`).
    #[arg(long, global = true, env = "REGISTRY_BASE_URL")]
    base_url: Option<String>,
    /// Cap every model's timeout, in seconds.
    #[arg(long, global = true)]
    timeout_cap: Option<u64>,
    /// Keep generations in this SQLite file (default: in memory).
    #[arg(long, global = true)]
    db: Option<std::path::PathBuf>,
    /// Credits of the local user.
    #[arg(long, global = true, default_value = "1000")]
    credits: String,
    /// Public URL of the webhook listener, when providers cannot reach loopback.
    #[arg(long, global = true, env = "REGISTRY_CALLBACK_BASE")]
    callback_base: Option<String>,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Load the model and provider specs of this directory (laid out like `models/`) at start,
    /// checked as `codegen` checks them, instead of the registry built into this binary: a model
    /// or provider written as YAML runs with no rebuild.
    #[arg(long, global = true, env = "REGISTRY_MODELS", value_name = "DIR")]
    models: Option<std::path::PathBuf>,
}

/// Loads specs from a directory at run time: the model data, or the problems found, rendered.
pub type SpecLoader = fn(&std::path::Path) -> Result<Vec<&'static ModelInfo>, String>;

#[derive(Debug, Subcommand)]
enum Command {
    /// List the models.
    List,
    /// Run one model: `run seedance_v1_lite --param prompt="Ocean waves" --param resolution=480p`.
    Run {
        /// Model id.
        model: String,
        /// A param as `name=value` (JSON values are parsed: `5`, `true`; anything else is a string).
        #[arg(long = "param", short = 'p')]
        params: Vec<String>,
    },
    /// Run every enabled model's smoke test.
    Smoke {
        /// Only these models.
        #[arg(long)]
        only: Vec<String>,
    },
}

/// Parse `name=value` params.
pub fn parse_params(items: &[String]) -> Result<Value, String> {
    let mut map = Map::new();
    for item in items {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}` is not name=value"))?;
        let value = serde_json::from_str::<Value>(v)
            .ok()
            .filter(|v| !v.is_object())
            .unwrap_or_else(|| Value::String(v.to_owned()));
        map.insert(k.trim().to_owned(), value);
    }
    Ok(Value::Object(map))
}

fn short(kind: OutputKind, v: &str) -> String {
    if matches!(kind, OutputKind::DataUrl | OutputKind::Base64) && v.len() > 72 {
        format!("{}... ({} chars)", &v[..60], v.len())
    } else {
        v.to_owned()
    }
}

/// What is missing to run `models` against real providers: secret names without values.
pub fn missing_keys(keys: &dyn KeyResolver, models: &[&ModelInfo]) -> BTreeSet<&'static str> {
    models
        .iter()
        .filter(|m| {
            keys.resolve(&KeyRequest {
                provider: m.provider.id,
                model: m.id,
                scope: m.key_scope,
                secret_name: m.secret_name,
            })
            .is_err()
        })
        .map(|m| m.secret_name)
        .collect()
}

fn explain_missing(missing: &BTreeSet<&str>, infos: &[&ModelInfo]) {
    eprintln!(
        "missing API keys: {}",
        missing.iter().copied().collect::<Vec<_>>().join(", ")
    );
    eprintln!(
        "  set each as an environment variable (its value is never printed), or run against the mock provider:"
    );
    eprintln!(
        "    registry-run --mock ...                     (starts the mock in-process, with mock keys)"
    );
    eprintln!(
        "    cargo run -p registry-run --bin mock-provider   (then export the printed *_BASE_URL lines)"
    );
    let providers: BTreeSet<&str> = infos.iter().map(|m| m.provider.id).collect();
    for p in providers {
        let var = base_url_var(p);
        if std::env::var(&var).is_err() {
            eprintln!("  {var} is not set: {p} requests would go to its public API");
        }
    }
}

/// Run the CLI over `models`.
pub fn main(models: &'static [&'static ModelInfo]) -> ExitCode {
    main_with(models, None)
}

/// Run the CLI over `models`, or over the specs `--models DIR` names, loaded by `loader`.
pub fn main_with(models: &'static [&'static ModelInfo], loader: Option<SpecLoader>) -> ExitCode {
    main_from(std::env::args_os(), models, loader)
}

/// [`main_with`] with the command line given (tests run the CLI in-process with it).
pub fn main_from(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
    models: &'static [&'static ModelInfo],
    loader: Option<SpecLoader>,
) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let models: &'static [&'static ModelInfo] = match (&cli.models, loader) {
        (None, _) => models,
        (Some(dir), Some(load)) => match load(dir) {
            // Loaded once for the life of the process.
            Ok(loaded) => Vec::leak(loaded),
            Err(problems) => {
                eprintln!("{problems}");
                eprintln!(
                    "error: the specs in {} do not load; nothing was run",
                    dir.display()
                );
                return ExitCode::from(2);
            }
        },
        (Some(_), None) => {
            eprintln!("error: this build cannot load specs at run time; use `registry-run`");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Once per process (a test may run the CLI more than once).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run(cli, models))
}

async fn run(cli: Cli, models: &'static [&'static ModelInfo]) -> ExitCode {
    if let Command::List = cli.command {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for m in models {
            let i = m;
            // A closed pipe (`| head`) ends the listing quietly.
            let line = writeln!(
                out,
                "{:<34} {:<11} {:<6} {:<8} {:<8} key {}",
                i.id,
                i.provider.id,
                format!("{:?}", i.content_type).to_lowercase(),
                format!("{:?}", i.mode).to_lowercase(),
                if i.enabled { "enabled" } else { "disabled" },
                i.secret_name
            );
            if line.is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let selected: Vec<&'static ModelInfo> = match &cli.command {
        Command::Run { model, .. } => match models.iter().find(|m| m.id == model) {
            Some(m) => vec![*m],
            None => {
                eprintln!("unknown model `{model}`; `registry-run list` shows the ids");
                return ExitCode::from(2);
            }
        },
        Command::Smoke { only } => models
            .iter()
            .copied()
            .filter(|m| {
                m.enabled
                    && m.smoke.is_some()
                    && (only.is_empty() || only.iter().any(|o| o == m.id))
            })
            .collect(),
        Command::List => unreachable!(),
    };
    let infos: Vec<&ModelInfo> = selected.to_vec();

    let mut config = EngineConfig {
        timeout_cap: cli.timeout_cap.map(Duration::from_secs),
        ..EngineConfig::default()
    };
    let mut mock = None;
    let keys: Arc<dyn KeyResolver> = if cli.mock {
        let opts = MockOptions {
            job_duration: Duration::from_millis(1500),
            ..MockOptions::default()
        };
        let m = match LocalMock::start(models, opts).await {
            Ok(m) => m,
            Err(e) => {
                eprintln!("cannot start the mock provider: {e}");
                return ExitCode::FAILURE;
            }
        };
        m.configure(&mut config, Duration::from_millis(500));
        eprintln!(
            "mock provider on {} (every provider points at it; mock keys)",
            m.provider().base_url()
        );
        let keys = m.keys();
        mock = Some(m);
        Arc::new(keys)
    } else {
        if let Some(base) = &cli.base_url {
            for i in &infos {
                config
                    .base_urls
                    .insert(i.provider.id.to_owned(), base.clone());
            }
        }
        let missing = missing_keys(&EnvKeys, &infos);
        if !missing.is_empty() {
            explain_missing(&missing, &infos);
            if matches!(cli.command, Command::Run { .. }) {
                return ExitCode::from(2);
            }
        }
        Arc::new(EnvKeys)
    };
    let store: Arc<dyn Store> = match &cli.db {
        Some(path) => match SqliteStore::open(path) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                eprintln!("cannot open {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => match SqliteStore::in_memory() {
            Ok(s) => Arc::new(s),
            Err(e) => {
                eprintln!("cannot open the store: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let Ok(credits) = cli.credits.parse() else {
        eprintln!("--credits must be a decimal number");
        return ExitCode::from(2);
    };
    if let Err(e) = store
        .set_balance(crate::store::LOCAL_USER_ID, credits)
        .await
    {
        eprintln!("store: {e}");
        return ExitCode::FAILURE;
    }
    let engine = match Engine::builder()
        .config(config)
        .store(store)
        .keys(keys.clone())
        .models(models)
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let _listener = match CallbackServer::start(
        engine.clone(),
        ([127, 0, 0, 1], 0).into(),
        cli.callback_base.clone(),
    )
    .await
    {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("no webhook listener ({e}): webhook models will poll");
            None
        }
    };
    for i in &infos {
        let base = engine.base_url(i.provider);
        if base == i.provider.base_url && !cli.json {
            eprintln!(
                "note: {} -> {} (set {} or pass --base-url / --mock to use another)",
                i.provider.id,
                base,
                base_url_var(i.provider.id)
            );
        }
    }

    match cli.command {
        Command::Run { model, params } => {
            let params = match parse_params(&params) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            match engine.run_by_id(&model, &params).await {
                Ok(out) => {
                    if cli.json {
                        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                    } else {
                        println!("model       {}", out.model_id);
                        println!("generation  {}", out.generation_id);
                        println!("status      completed ({:?})", out.via);
                        if let Some(t) = &out.task_id {
                            println!("task        {t}");
                        }
                        for (n, o) in out.outputs.iter().enumerate() {
                            println!("output {n}    {:?} {}", o.kind, short(o.kind, &o.value));
                        }
                        println!("cost        {} credits", out.cost);
                        if let Some(pc) = out.provider_cost {
                            println!("provider    {} credits (reported)", pc.normalize());
                        }
                        println!("time        {} ms", out.elapsed.as_millis());
                    }
                    drop(mock);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("failed: {e}");
                    if let RunError::Transport { .. } = e {
                        eprintln!(
                            "  (is the provider reachable? --mock or {} points it elsewhere)",
                            base_url_var(infos[0].provider.id)
                        );
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Command::Smoke { .. } => {
            let missing = if cli.mock {
                BTreeSet::new()
            } else {
                missing_keys(keys.as_ref(), &infos)
            };
            let mut failed = 0;
            let mut passed = 0;
            let mut skipped = 0;
            for m in &selected {
                let i = m;
                let Some(smoke) = i.smoke else { continue };
                if missing.contains(i.secret_name) {
                    skipped += 1;
                    println!("SKIP {:<34} set {}", i.id, i.secret_name);
                    continue;
                }
                let params: Value = serde_json::from_str(smoke.params).unwrap_or(Value::Null);
                let within = smoke.within.min(engine.timeout_of(i));
                let started = std::time::Instant::now();
                let result = tokio::time::timeout(
                    within + Duration::from_secs(1),
                    engine.run_dynamic(m, &params),
                )
                .await;
                let ms = started.elapsed().as_millis();
                match result {
                    Ok(Ok(out)) if started.elapsed() <= within => {
                        passed += 1;
                        println!(
                            "ok   {:<34} {:>6} ms  {:>4} credits  {} output(s) via {:?}",
                            i.id,
                            ms,
                            out.cost.to_string(),
                            out.outputs.len(),
                            out.via
                        );
                    }
                    Ok(Ok(_)) => {
                        failed += 1;
                        println!("FAIL {:<34} {:>6} ms  slower than {:?}", i.id, ms, within);
                    }
                    Ok(Err(e)) => {
                        failed += 1;
                        println!("FAIL {:<34} {:>6} ms  {e}", i.id, ms);
                    }
                    Err(_) => {
                        failed += 1;
                        println!(
                            "FAIL {:<34} {:>6} ms  no result within {:?}",
                            i.id, ms, within
                        );
                    }
                }
            }
            println!("{passed} passed, {failed} failed, {skipped} skipped");
            if failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::List => ExitCode::SUCCESS,
    }
}

/// The `mock-provider` binary: serve `models` from the mock on loopback until Ctrl-C, and
/// print the environment that points the engine at it. Arguments: `[PORT]`; `MOCK_JOB_MS`
/// sets the job duration, `KIE_AI_WEBHOOK_HMAC_KEY` and `REPLICATE_WEBHOOK_SECRET` the keys
/// the mock signs webhooks with.
pub fn mock_provider(models: &'static [&'static ModelInfo]) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        match serve_mock(models).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mock provider: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn serve_mock(models: &'static [&'static ModelInfo]) -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let mut opts = MockOptions::default();
    if let Ok(ms) = std::env::var("MOCK_JOB_MS")
        && let Ok(ms) = ms.parse()
    {
        opts.job_duration = Duration::from_millis(ms);
    }
    if let Ok(k) = std::env::var("KIE_AI_WEBHOOK_HMAC_KEY") {
        opts.kie_webhook_key = k;
    }
    if let Ok(k) = std::env::var("REPLICATE_WEBHOOK_SECRET") {
        opts.standard_webhooks_secret = k;
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mock = MockProvider::start_on(addr, models, opts).await?;
    println!("mock provider listening on {}", mock.base_url());
    println!("# point every provider at it:");
    let mut urls: Vec<(String, String)> = mock.base_urls().into_iter().collect();
    urls.sort();
    for (provider, url) in urls {
        println!("export {}={url}", base_url_var(&provider));
    }
    println!("# webhook secrets the mock signs with:");
    for (name, value) in mock.webhook_secrets() {
        println!("export {name}='{value}'");
    }
    tokio::signal::ctrl_c().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_json_values_and_strings() {
        let p = parse_params(&[
            "prompt=Ocean waves".into(),
            "duration=10".into(),
            "camera_fixed=true".into(),
            "ratio=16:9".into(),
            "q=\"5\"".into(),
        ])
        .unwrap();
        assert_eq!(
            p,
            serde_json::json!({"prompt": "Ocean waves", "duration": 10, "camera_fixed": true, "ratio": "16:9", "q": "5"})
        );
        assert!(parse_params(&["nope".into()]).is_err());
    }
}
