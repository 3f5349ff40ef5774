//! `sql/`: Postgres monitoring SQL, as ordered migrations that can be applied again and again.
//!
//! 1. `001_schema.sql`: the `generations`, `api_key_events` and `model_registry` tables, and the
//!    runtime store's `credit_accounts`, `credit_holds`, `webhook_deliveries`, `idempotency_keys`;
//! 2. `002_registry.sql`: an upsert of every model (a model whose spec was deleted is retired);
//! 3. `003_cost.sql`: `expected_credit_cost(model_id, params)`, the cost formula in SQL;
//! 4. `004_monitoring.sql`: one view per metric of the deployment plan;
//! 5. `005_alerts.sql`: `monitoring_alerts`, one row per firing alert;
//! 6. `006_rls.sql`: row level security for clients that reach the database directly
//!    (Supabase's `anon` and `authenticated` roles).
//!
//! The Rust side builds a view model ([`view::Context`]) in which every value is a finished SQL
//! literal; the templates, embedded in the binary, only place it.

mod literal;
mod view;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::EmitError;
use crate::ir::Registry;
use crate::write::Files;

/// The shared header partial.
const PARTIALS: &[(&str, &str)] = &[(
    "header.sql",
    include_str!("../../../templates/sql/header.sql"),
)];

/// One template per output file, in migration order.
const FILES: &[(&str, &str)] = &[
    (
        "001_schema.sql",
        include_str!("../../../templates/sql/001_schema.sql"),
    ),
    (
        "002_registry.sql",
        include_str!("../../../templates/sql/002_registry.sql"),
    ),
    (
        "003_cost.sql",
        include_str!("../../../templates/sql/003_cost.sql"),
    ),
    (
        "004_monitoring.sql",
        include_str!("../../../templates/sql/004_monitoring.sql"),
    ),
    (
        "005_alerts.sql",
        include_str!("../../../templates/sql/005_alerts.sql"),
    ),
    (
        "006_rls.sql",
        include_str!("../../../templates/sql/006_rls.sql"),
    ),
];

/// The migration files, in the order they apply.
pub(crate) fn migration_names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

fn environment() -> Result<Environment<'static>, EmitError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|source| EmitError::Template {
            template: "syntax".into(),
            source,
        })?;
    env.set_syntax(syntax);
    for (name, source) in PARTIALS.iter().chain(FILES) {
        env.add_template(name, source)
            .map_err(|source| EmitError::Template {
                template: (*name).into(),
                source,
            })?;
    }
    Ok(env)
}

pub(super) fn emit(ir: &Registry, files: &mut Files) -> Result<(), EmitError> {
    let ctx = view::build(ir)?;
    let env = environment()?;
    // Converted once; every template renders from the same (reference-counted) value.
    let context = minijinja::Value::from(minijinja::value::Serde(&ctx));
    for (name, _) in FILES {
        let template = env
            .get_template(name)
            .map_err(|source| EmitError::Template {
                template: (*name).into(),
                source,
            })?;
        let text = template
            .render(context.clone())
            .map_err(|source| EmitError::Template {
                template: (*name).into(),
                source,
            })?;
        files.insert(format!("sql/{name}"), text);
    }
    Ok(())
}
