//! `registry-run`: run registry models by hand. See `registry-run --help`.

fn main() -> std::process::ExitCode {
    runtime::cli::main(generated_models::MODELS)
}
