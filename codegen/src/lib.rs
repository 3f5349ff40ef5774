//! The model registry toolchain: load YAML specs, check them, lower them into one IR, and emit
//! Rust, TypeScript and SQL from it.
//!
//! The pipeline is `spec` (types, YAML with positions, schema) -> `lower` (into the IR, applying
//! the semantic rules) -> `ir` -> `emit` -> `write`. Data flows one way.

pub mod diag;
pub mod emit;
pub mod info;
pub mod ir;
pub mod lower;
pub mod rules;
pub mod spec;
pub mod spelling;
pub mod write;

use std::path::Path;

use diag::{Diagnostic, Diagnostics};
use spec::schema::Schemas;

/// Load, check and lower every spec under `models_dir`. Diagnostics name files relative to
/// `display_base`. On failure, every problem found in every file is returned, sorted.
pub fn load(models_dir: &Path, display_base: &Path) -> Result<ir::Registry, Vec<Diagnostic>> {
    let mut diags = Diagnostics::default();
    let sources = spec::load::read_dir(models_dir, display_base, &mut diags);
    let result = load_sources(&sources, &Schemas::new());
    match result {
        Ok(r) if diags.is_empty() => Ok(r),
        Ok(_) => Err(diags.into_sorted()),
        Err(more) => {
            diags.0.extend(more);
            Err(diags.into_sorted())
        }
    }
}

/// Check and lower spec texts that are already in memory (no file system access).
pub fn load_sources(
    sources: &[spec::load::SourceFile],
    schemas: &Schemas,
) -> Result<ir::Registry, Vec<Diagnostic>> {
    let mut diags = Diagnostics::default();
    let set = spec::load::load_sources(sources, schemas, &mut diags);
    let registry = lower::registry(&set, &mut diags);
    match registry {
        Some(r) if diags.is_empty() => Ok(r),
        _ => Err(diags.into_sorted()),
    }
}
