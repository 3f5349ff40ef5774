//! `codegen`: check the model specs and generate the registry code from them.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use codegen::diag::Diagnostic;
use codegen::emit::{cost_formula, human_duration};
use codegen::ir::Registry;
use codegen::write::{self, Stale};

/// The pipeline allocates many small strings and maps per spec (YAML scalars, JSON values,
/// source positions) and frees them all at the end; with mimalloc a whole run over 1,000 specs
/// takes about a fifth less time than with the system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Check the model specs under `models/` and generate Rust, TypeScript and SQL from them.
///
/// With no command, validates every spec and writes `generated/` (and `schema/`) atomically:
/// after a failure nothing has changed. Unchanged files are not rewritten.
#[derive(Parser, Debug)]
#[command(name = "codegen", version, about, long_about)]
struct Cli {
    /// Directory of the YAML specs (`providers/*.yaml`, `<provider>/<model>.yaml`,
    /// `monitoring.yaml`).
    #[arg(long, value_name = "DIR", global = true)]
    models: Option<PathBuf>,
    /// Output directory for generated code; owned by this tool (files no spec produces are
    /// removed).
    #[arg(long, value_name = "DIR", global = true)]
    out: Option<PathBuf>,
    /// Output directory for the JSON Schemas of the spec files.
    #[arg(long, value_name = "DIR", global = true)]
    schema_dir: Option<PathBuf>,
    /// Write nothing; exit 1 and name every missing, stale or extra file when the outputs are
    /// not exactly what the specs produce (for CI).
    #[arg(long)]
    check: bool,
    /// Print the intermediate representation as JSON and exit (for debugging and other tools).
    #[arg(long)]
    dump_ir: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate every spec and write the outputs (the default).
    Generate,
    /// Validate every spec; write nothing.
    Validate,
    /// Print the models as a table.
    List,
    /// Print the secret names (environment variables) the enabled models need.
    Keys {
        /// Check the environment: report each missing secret and exit 1 if any is missing.
        /// Values are never printed.
        #[arg(long)]
        env: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The project root: the current directory if it has `models/`, else the workspace this binary
/// was built in.
fn project_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if cwd.join("models").is_dir() {
        return cwd;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let root = project_root();
    let cwd = std::env::current_dir().unwrap_or_else(|_| root.clone());
    let models = cli.models.clone().unwrap_or_else(|| root.join("models"));
    let out = cli.out.clone().unwrap_or_else(|| root.join("generated"));
    let schema_dir = cli
        .schema_dir
        .clone()
        .unwrap_or_else(|| root.join("schema"));

    let registry = match codegen::load(&models, &cwd) {
        Ok(r) => r,
        Err(diags) => {
            report(&diags);
            return Ok(ExitCode::FAILURE);
        }
    };
    if cli.dump_ir {
        println!(
            "{}",
            serde_json::to_string_pretty(&registry).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command.unwrap_or(Command::Generate) {
        Command::Validate => {
            println!(
                "ok: {} models and {} providers are valid",
                registry.models.len(),
                registry.providers.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            list(&registry);
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { env } => Ok(keys(&registry, env)),
        Command::Generate => generate(&registry, &out, &schema_dir, cli.check, &cwd),
    }
}

fn generate(
    registry: &Registry,
    out: &Path,
    schema_dir: &Path,
    check: bool,
    cwd: &Path,
) -> Result<ExitCode, String> {
    let files = codegen::emit::emit_all(registry).map_err(|e| format!("generation failed: {e}"))?;
    let schemas = codegen::emit::schema_files().map_err(|e| format!("generation failed: {e}"))?;
    let shown = |p: &Path| codegen::diag::display_path(p, cwd).display().to_string();
    if check {
        let mut stale: Vec<Stale> = Vec::new();
        for (root, files) in [(out, &files), (schema_dir, &schemas)] {
            stale.extend(
                write::check_tree(root, files)
                    .map_err(|e| format!("cannot read {}: {e}", shown(root)))?,
            );
        }
        if stale.is_empty() {
            println!(
                "ok: {} and {} are up to date",
                shown(out),
                shown(schema_dir)
            );
            return Ok(ExitCode::SUCCESS);
        }
        for s in &stale {
            let s = match s {
                Stale::Missing(p) => Stale::Missing(PathBuf::from(shown(p))),
                Stale::Changed(p, d) => Stale::Changed(PathBuf::from(shown(p)), d.clone()),
                Stale::Extra(p) => Stale::Extra(PathBuf::from(shown(p))),
            };
            eprintln!("{s}");
        }
        eprintln!(
            "error: {} generated file(s) differ from what the specs produce; run `cargo run -p codegen` and commit the result",
            stale.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    let mut written = 0;
    let mut unchanged = 0;
    for (root, files) in [(out, &files), (schema_dir, &schemas)] {
        let r = write::write_tree(root, files)
            .map_err(|e| format!("cannot write {}: {e} (nothing was changed)", shown(root)))?;
        for f in &r.written {
            println!("wrote {}/{f}", shown(root));
        }
        for f in &r.removed {
            println!("removed {}/{f}", shown(root));
        }
        written += r.written.len() + r.removed.len();
        unchanged += r.unchanged;
    }
    println!(
        "ok: {} models, {} providers; {written} file(s) changed, {unchanged} unchanged",
        registry.models.len(),
        registry.providers.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn report(diags: &[Diagnostic]) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut files = std::collections::BTreeSet::new();
    for d in diags {
        let source = std::fs::read_to_string(&d.file).ok();
        eprintln!("{}", d.render(source.as_deref(), color));
        files.insert(d.file.clone());
    }
    eprintln!(
        "error: {} problem(s) in {} file(s); nothing was written",
        codegen::diag::problem_count(diags),
        files.len()
    );
}

fn list(registry: &Registry) {
    let rows: Vec<[String; 7]> = registry
        .models
        .values()
        .map(|m| {
            [
                m.id.clone(),
                m.provider.clone(),
                m.content_type.name().to_owned(),
                m.execution.mode.name().to_owned(),
                m.key_scope.clone(),
                cost_formula(&m.cost),
                format!(
                    "{}{}",
                    human_duration(m.execution.expected_latency_ms),
                    if m.enabled { "" } else { "  (disabled)" }
                ),
            ]
        })
        .collect();
    let header = [
        "ID",
        "PROVIDER",
        "CONTENT",
        "MODE",
        "KEY SCOPE",
        "COST",
        "LATENCY",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(&header);
    for row in &rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

fn keys(registry: &Registry, check_env: bool) -> ExitCode {
    // Secret name -> (provider, scope, models), enabled models only.
    let mut needed: std::collections::BTreeMap<&str, (String, String, Vec<&str>)> =
        Default::default();
    for m in registry.models.values().filter(|m| m.enabled) {
        needed
            .entry(&m.secret_name)
            .or_insert_with(|| (m.provider.clone(), m.key_scope.clone(), Vec::new()))
            .2
            .push(&m.id);
        let webhook = registry
            .providers
            .get(&m.provider)
            .and_then(|p| p.webhook.as_ref());
        if let (codegen::ir::ExecutionMode::Webhook, Some(w)) = (m.execution.mode, webhook) {
            if let (Some(name), Some(scope)) = (&w.secret_name, &w.secret_scope) {
                needed
                    .entry(name)
                    .or_insert_with(|| (m.provider.clone(), scope.clone(), Vec::new()))
                    .2
                    .push(&m.id);
            }
        }
    }
    if !check_env {
        for (name, (provider, scope, models)) in &needed {
            println!("{name}\t{provider}/{scope}\t{}", models.join(","));
        }
        return ExitCode::SUCCESS;
    }
    let mut missing = 0;
    for (name, (provider, scope, models)) in &needed {
        let present = std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if present {
            println!("ok       {name}");
        } else {
            missing += 1;
            println!(
                "MISSING  {name}  (provider {provider}, scope {scope}; needed by {})",
                models.join(", ")
            );
        }
    }
    if missing > 0 {
        eprintln!(
            "error: {missing} of {} secret(s) missing from the environment",
            needed.len()
        );
        ExitCode::FAILURE
    } else {
        println!("ok: all {} secret(s) are set", needed.len());
        ExitCode::SUCCESS
    }
}
