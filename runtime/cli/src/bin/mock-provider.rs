//! `mock-provider`: the mock provider as its own process, serving every bundled model.
//!
//! `cargo run -p registry-run --bin mock-provider -- [PORT]` prints the environment that
//! points every provider at it.

fn main() -> std::process::ExitCode {
    runtime::cli::mock_provider(generated_models::MODELS)
}
