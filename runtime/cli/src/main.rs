//! `registry-run`: run registry models by hand. See `registry-run --help`.

fn main() -> std::process::ExitCode {
    runtime::cli::main_with(generated_models::MODELS, Some(codegen::info::load))
}
