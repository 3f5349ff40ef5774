//! `ts/`: TypeScript registry bindings for web frontends, a typed client of the server's HTTP
//! API (`client.ts`, from the description in [`api`]), and the npm package they ship in
//! (`package.json`, `tsconfig.json`: `npm pack` compiles them to `dist/`).
//!
//! The IR becomes a view model ([`view::View`]) holding every name, literal and doc line;
//! templates under `codegen/templates/ts/`, embedded in the binary and rendered with strict
//! undefined, only place that text. The output exposes what a frontend may see: ids, names,
//! content types, params, costs and schemas; never a key scope, a secret name or a URL.

mod api;
mod schema;
mod view;

pub use schema::params_schema;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::EmitError;
use crate::ir::Registry;
use crate::write::Files;

/// Output files and their templates, in the order they are rendered.
const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "ts/index.ts",
        "index.ts.j2",
        include_str!("../../../templates/ts/index.ts.j2"),
    ),
    (
        "ts/types.ts",
        "types.ts.j2",
        include_str!("../../../templates/ts/types.ts.j2"),
    ),
    (
        "ts/registry.ts",
        "registry.ts.j2",
        include_str!("../../../templates/ts/registry.ts.j2"),
    ),
    (
        "ts/schemas.ts",
        "schemas.ts.j2",
        include_str!("../../../templates/ts/schemas.ts.j2"),
    ),
    (
        "ts/decimal.ts",
        "decimal.ts.j2",
        include_str!("../../../templates/ts/decimal.ts.j2"),
    ),
    (
        "ts/validate.ts",
        "validate.ts.j2",
        include_str!("../../../templates/ts/validate.ts.j2"),
    ),
    (
        "ts/cost.ts",
        "cost.ts.j2",
        include_str!("../../../templates/ts/cost.ts.j2"),
    ),
    (
        "ts/client.ts",
        "client.ts.j2",
        include_str!("../../../templates/ts/client.ts.j2"),
    ),
    (
        "ts/package.json",
        "package.json.j2",
        include_str!("../../../templates/ts/package.json.j2"),
    ),
    (
        "ts/tsconfig.json",
        "tsconfig.json.j2",
        include_str!("../../../templates/ts/tsconfig.json.j2"),
    ),
];

/// Partials the entry templates include.
const PARTIALS: &[(&str, &str)] = &[("header.j2", include_str!("../../../templates/ts/header.j2"))];

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
    let entries = TEMPLATES.iter().map(|(_, name, source)| (*name, *source));
    for (name, source) in PARTIALS.iter().copied().chain(entries) {
        env.add_template(name, source)
            .map_err(|source| EmitError::Template {
                template: name.to_owned(),
                source,
            })?;
    }
    Ok(env)
}

/// Add the `ts/` files for `ir` to `files`.
pub fn emit(ir: &Registry, files: &mut Files) -> Result<(), EmitError> {
    let view = view::build(ir)?;
    let env = environment()?;
    // Converted once; every template renders from the same (reference-counted) value.
    let context = minijinja::Value::from(minijinja::value::Serde(&view));
    for (path, name, _) in TEMPLATES {
        let text = env
            .get_template(name)
            .and_then(|t| t.render(context.clone()))
            .map_err(|source| EmitError::Template {
                template: (*name).to_owned(),
                source,
            })?;
        files.insert((*path).to_owned(), text);
    }
    Ok(())
}
