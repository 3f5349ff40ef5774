//! Shared helpers of the cross-crate tests.

pub mod pg;
pub mod vectors;

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The bundled registry, loaded and checked like `cargo run -p codegen` does.
pub fn bundled() -> codegen::ir::Registry {
    load("models")
}

/// The fixture registry of `tests/fixtures/models`, whose output is the goldens.
pub fn fixtures() -> codegen::ir::Registry {
    load("tests/fixtures/models")
}

fn load(dir: &str) -> codegen::ir::Registry {
    let root = root();
    match codegen::load(&root.join(dir), &root) {
        Ok(r) => r,
        Err(diags) => {
            let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
            panic!("the specs in {dir} are invalid:\n{}", text.join("\n"))
        }
    }
}
