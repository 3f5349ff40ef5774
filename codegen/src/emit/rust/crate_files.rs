//! Crate files that are not Rust: the manifest.

use super::HEADER;

/// `Cargo.toml` of `generated-models`, a workspace member two levels below the root.
pub fn cargo_toml() -> String {
    let lines = [
        format!("# {HEADER}"),
        String::new(),
        "[package]".to_owned(),
        "name = \"generated-models\"".to_owned(),
        "version = \"0.1.0\"".to_owned(),
        "edition.workspace = true".to_owned(),
        "rust-version.workspace = true".to_owned(),
        "license.workspace = true".to_owned(),
        "publish.workspace = true".to_owned(),
        "description = \"Typed params and static data for every model of the registry, generated from models/.\"".to_owned(),
        String::new(),
        "[lib]".to_owned(),
        "name = \"generated_models\"".to_owned(),
        "path = \"src/lib.rs\"".to_owned(),
        String::new(),
        "[dependencies]".to_owned(),
        "registry-core = { path = \"../../core\" }".to_owned(),
        "serde = { version = \"1\", features = [\"derive\"] }".to_owned(),
        "serde_json = \"1\"".to_owned(),
    ];
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
