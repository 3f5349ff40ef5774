//! `codegen`: check the model specs and generate the registry code from them.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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
    /// How problems in the specs are printed: `human` (with source snippets), `json` (one
    /// object per line on stdout, then a summary object) or `github` (GitHub Actions
    /// workflow commands, so each problem annotates the pull request's diff).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = MessageFormat::Human, global = true)]
    message_format: MessageFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The forms of `--message-format`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum MessageFormat {
    /// Rustc-style errors with the source line and the value marked.
    Human,
    /// One JSON object per line and problem, then `{"reason":"summary",...}`.
    Json,
    /// `::error file=...,line=...::message` workflow commands for GitHub Actions.
    Github,
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
            report(&diags, cli.message_format);
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
            if cli.message_format == MessageFormat::Json {
                println!("{}", summary_json(0, 0, Some(&registry)));
            } else {
                println!(
                    "ok: {} models and {} providers are valid",
                    registry.models.len(),
                    registry.providers.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            list(&registry);
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { env } => Ok(keys(&registry, env)),
        Command::Generate => generate(
            &registry,
            &out,
            &schema_dir,
            cli.check,
            &cwd,
            cli.message_format,
        ),
    }
}

fn generate(
    registry: &Registry,
    out: &Path,
    schema_dir: &Path,
    check: bool,
    cwd: &Path,
    format: MessageFormat,
) -> Result<ExitCode, String> {
    // With `json`, stdout holds JSON only: the progress lines go to stderr.
    let say = |line: String| {
        if format == MessageFormat::Json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
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
            say(format!(
                "ok: {} and {} are up to date",
                shown(out),
                shown(schema_dir)
            ));
            if format == MessageFormat::Json {
                println!("{}", summary_json(0, 0, Some(registry)));
            }
            return Ok(ExitCode::SUCCESS);
        }
        for s in &stale {
            let s = match s {
                Stale::Missing(p) => Stale::Missing(PathBuf::from(shown(p))),
                Stale::Changed(p, d) => Stale::Changed(PathBuf::from(shown(p)), d.clone()),
                Stale::Extra(p) => Stale::Extra(PathBuf::from(shown(p))),
            };
            eprintln!("{s}");
            stale_line(&s, format);
        }
        eprintln!(
            "error: {} generated file(s) differ from what the specs produce; run `cargo run -p codegen` and commit the result",
            stale.len()
        );
        if format == MessageFormat::Json {
            println!(
                "{}",
                serde_json::json!({
                    "reason": "summary",
                    "success": false,
                    "problems": 0,
                    "files": 0,
                    "stale": stale.len(),
                })
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    let mut written = 0;
    let mut unchanged = 0;
    for (root, files) in [(out, &files), (schema_dir, &schemas)] {
        let r = write::write_tree(root, files)
            .map_err(|e| format!("cannot write {}: {e} (nothing was changed)", shown(root)))?;
        for f in &r.written {
            say(format!("wrote {}/{f}", shown(root)));
        }
        for f in &r.removed {
            say(format!("removed {}/{f}", shown(root)));
        }
        written += r.written.len() + r.removed.len();
        unchanged += r.unchanged;
    }
    say(format!(
        "ok: {} models, {} providers; {written} file(s) changed, {unchanged} unchanged",
        registry.models.len(),
        registry.providers.len()
    ));
    if format == MessageFormat::Json {
        println!("{}", summary_json(0, 0, Some(registry)));
    }
    Ok(ExitCode::SUCCESS)
}

/// A stale generated file in the machine forms: a JSON object, or a GitHub annotation on the
/// file (the diff itself went to stderr).
fn stale_line(s: &Stale, format: MessageFormat) {
    let (state, path) = match s {
        Stale::Missing(p) => ("missing", p),
        Stale::Changed(p, _) => ("stale", p),
        Stale::Extra(p) => ("extra", p),
    };
    let path = path.display().to_string();
    match format {
        MessageFormat::Human => {}
        MessageFormat::Json => println!(
            "{}",
            serde_json::json!({ "reason": "stale", "file": path, "state": state })
        ),
        MessageFormat::Github => println!(
            "::error file={},title=stale::{}",
            codegen::diag::github_property(&path),
            codegen::diag::github_data(&format!(
                "{path} is {state}: it is not what the specs produce; run `cargo run -p codegen` and commit the result"
            ))
        ),
    }
}

/// Print the problems of the specs in the chosen form. `human` goes to stderr; `json` and
/// `github` go to stdout, where tools and the Actions runner read them.
fn report(diags: &[Diagnostic], format: MessageFormat) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut files = std::collections::BTreeSet::new();
    // Each file is read once, however many problems it has.
    let mut sources: std::collections::HashMap<PathBuf, Option<String>> = Default::default();
    for d in diags {
        let source = sources
            .entry(d.file.clone())
            .or_insert_with(|| std::fs::read_to_string(&d.file).ok())
            .as_deref();
        match format {
            MessageFormat::Human => eprintln!("{}", d.render(source, color)),
            MessageFormat::Json => println!("{}", d.to_json(source)),
            MessageFormat::Github => println!("{}", d.to_github(source)),
        }
        files.insert(d.file.clone());
    }
    let problems = codegen::diag::problem_count(diags);
    let line = format!(
        "error: {problems} problem(s) in {} file(s); nothing was written",
        files.len()
    );
    match format {
        MessageFormat::Json => println!("{}", summary_json(problems, files.len(), None)),
        MessageFormat::Human | MessageFormat::Github => eprintln!("{line}"),
    }
}

/// The last line of `--message-format json`: how many problems in how many files, and, when
/// the specs are valid, how many models and providers they hold.
fn summary_json(problems: usize, files: usize, registry: Option<&Registry>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "reason": "summary",
        "success": problems == 0,
        "problems": problems,
        "files": files,
    });
    if let Some(r) = registry {
        v["models"] = r.models.len().into();
        v["providers"] = r.providers.len().into();
    }
    v
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
