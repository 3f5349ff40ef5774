//! `registry-run`: run registry models by hand. See `registry-run --help`.

use std::path::Path;

use runtime::model::ModelInfo;

fn main() -> std::process::ExitCode {
    runtime::cli::main_with(generated_models::MODELS, Some(load))
}

/// `--models DIR`: the specs of `DIR`, checked and lowered as `codegen` does, as model data.
fn load(dir: &Path) -> Result<Vec<&'static ModelInfo>, String> {
    let base = std::env::current_dir().unwrap_or_default();
    match codegen::load(dir, &base) {
        Ok(registry) => Ok(codegen::info::models(&registry)),
        Err(diags) => Err(diags
            .iter()
            .map(|d| {
                let source = std::fs::read_to_string(base.join(&d.file)).ok();
                d.render(source.as_deref(), false)
            })
            .collect::<Vec<_>>()
            .join("\n")),
    }
}
