//! `server`: the registry's HTTP API over the generated registry (see `server/README.md`).

fn main() -> std::process::ExitCode {
    server::cli::main(generated_models::MODELS)
}
