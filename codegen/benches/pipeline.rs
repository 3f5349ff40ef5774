//! Validate + generate on synthetic registries of 100, 1,000 and 10,000 models.
//!
//! `cargo bench -p codegen --bench pipeline`. Each synthetic model is a copy of the bundled
//! Seedance spec (a webhook model with six params, a table and a ratio multiplier) under a new
//! id, so the work per model is realistic. The figure to watch is time per model: flat from
//! 100 to 10,000 models means the pipeline grows linearly.

use std::path::{Path, PathBuf};

use codegen::spec::load::SourceFile;
use codegen::spec::schema::Schemas;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn synthetic(n: usize) -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let mut diags = codegen::diag::Diagnostics::default();
    let bundled = codegen::spec::load::read_dir(&root.join("models"), &root, &mut diags);
    let template = bundled
        .iter()
        .find(|f| f.rel == "kie_ai/seedance_v1_lite.yaml")
        .expect("seedance spec")
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
    files
}

fn pipeline(c: &mut Criterion) {
    let schemas = Schemas::new();
    let mut group = c.benchmark_group("validate_and_generate");
    group.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        let sources = synthetic(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &sources, |b, sources| {
            b.iter(|| {
                let ir =
                    codegen::load_sources(sources, &schemas).expect("synthetic specs are valid");
                codegen::emit::emit_all(&ir).expect("emit")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
