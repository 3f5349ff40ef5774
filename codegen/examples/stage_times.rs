//! Time each stage of the pipeline on N synthetic models: `cargo run --release -p codegen --example stage_times -- 1000`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use codegen::spec::load::SourceFile;
use codegen::spec::schema::Schemas;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let mut diags = codegen::diag::Diagnostics::default();
    let bundled = codegen::spec::load::read_dir(&root.join("models"), &root, &mut diags);
    let template = bundled
        .iter()
        .find(|f| f.rel == "kie_ai/seedance_v1_lite.yaml")
        .expect("seedance")
        .text
        .clone();
    let mut files: Vec<SourceFile> = bundled
        .into_iter()
        .filter(|f| !f.rel.starts_with("kie_ai/"))
        .collect();
    for i in 0..n {
        let id = format!("seedance_copy_{i:05}");
        let rel = format!("kie_ai/{id}.yaml");
        files.push(SourceFile {
            shown: PathBuf::from(&rel),
            rel,
            text: template.replace("id: seedance_v1_lite", &format!("id: {id}")),
        });
    }
    let t = Instant::now();
    let schemas = Schemas::new();
    println!("schemas: {:?}", t.elapsed());
    let t = Instant::now();
    for f in &files {
        let _ = codegen::spec::yaml::parse(&f.text);
    }
    println!("yaml parse: {:?}", t.elapsed());
    let t = Instant::now();
    let ir = codegen::load_sources(&files, &schemas).expect("valid");
    println!("load (parse+schema+validate): {:?}", t.elapsed());
    let t = Instant::now();
    let out = codegen::emit::emit_all(&ir).expect("emit");
    println!("emit all: {:?} ({} files)", t.elapsed(), out.len());
}
