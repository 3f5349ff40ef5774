//! Crate-level modules: `lib.rs`, `registry.rs` (every model by id), `providers.rs` and
//! `models/mod.rs`.

use super::ModelView;
use super::data;
use super::out::Out;
use crate::ir;

pub fn lib_rs(ir: &ir::Registry, views: &[ModelView<'_>]) -> String {
    let enabled = ir.models.values().filter(|m| m.enabled).count();
    let mut o = Out::file();
    for line in [
        "Typed params and static data for every model of the registry, generated from the specs in",
        "`models/`.",
        "",
        &format!(
            "{} models ({enabled} enabled) from {} providers. Each model has a module under",
            ir.models.len(),
            ir.providers.len()
        ),
        "[`models`] with its params type (required params are constructor arguments, value sets",
        "are Rust enums, bounds are checked when params are built or deserialized), its model type,",
        "which implements [`registry_core::model::Model`], and its `INFO`: the model's rules and",
        "protocol as data, interpreted by `registry-core`. [`MODELS`] and [`by_id`] serve dynamic",
        "callers with JSON params.",
    ] {
        o.inner_doc(line);
    }
    o.blank();
    o.line("// Printed by codegen in rustfmt's layout; rustfmt leaves them as they are.");
    o.line("#[rustfmt::skip]");
    o.line("pub mod models;");
    o.line("#[rustfmt::skip]");
    o.line("pub mod providers;");
    o.line("#[rustfmt::skip]");
    o.line("mod registry;");
    o.blank();
    // One item per line, as rustfmt keeps them.
    for v in views {
        for item in [&v.ty, &v.params_ty, &v.builder_ty] {
            o.line(&format!("pub use models::{}::{item};", v.module));
        }
    }
    o.line("pub use registry::{MODELS, by_id};");
    o.blank();
    o.doc(
        "The Postgres migrations of `generated/sql`, in the order they apply: `(file name, SQL)`.",
    );
    o.doc("Each applies again without changing anything.");
    o.line("#[rustfmt::skip]");
    o.line("pub static MIGRATIONS: &[(&str, &str)] = &[");
    for name in crate::emit::sql::migration_names() {
        o.line(&format!(
            "(\"{name}\", include_str!(\"../../sql/{name}\")),"
        ));
    }
    o.line("];");
    o.finish()
}

pub fn registry_rs(views: &[ModelView<'_>]) -> String {
    let mut o = Out::file();
    o.inner_doc("Every model, for lookup by id with JSON params.");
    o.blank();
    o.doc("Every model of the registry, sorted by id. Disabled models are listed (their `enabled`");
    o.doc("is `false`); the engine refuses to run them.");
    o.line("pub static MODELS: &[&registry_core::model::ModelInfo] = &[");
    // Views come in IR order, which is id order: `by_id` relies on it.
    for v in views {
        o.line(&format!("&super::models::{}::INFO,", v.module));
    }
    o.line("];");
    o.blank();
    o.doc("The model with id `id`, enabled or not.");
    o.line("pub fn by_id(id: &str) -> Option<&'static registry_core::model::ModelInfo> {");
    o.line("MODELS");
    o.line("    .binary_search_by(|model| model.id.cmp(id))");
    o.line("    .ok()");
    o.line("    .map(|i| MODELS[i])");
    o.line("}");
    o.finish()
}

pub fn models_mod_rs(views: &[ModelView<'_>]) -> String {
    let mut o = Out::file();
    o.inner_doc("One module per model.");
    o.blank();
    o.line("use super::providers;");
    o.blank();
    for v in views {
        o.doc(&v.model.display_name);
        o.line(&format!("pub mod {};", v.module));
    }
    o.finish()
}

pub fn providers_rs(ir: &ir::Registry) -> String {
    let mut o = Out::file();
    o.inner_doc("Every provider; models share their provider's static.");
    if ir
        .providers
        .values()
        .any(|p| p.webhook.as_ref().is_some_and(|w| w.tolerance_ms.is_some()))
    {
        o.blank();
        o.line("use std::time::Duration;");
    }
    for p in ir.providers.values() {
        o.blank();
        data::provider(&mut o, p);
    }
    o.finish()
}
