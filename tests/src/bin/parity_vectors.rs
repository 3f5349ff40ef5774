//! Regenerate the parity vectors under `tests/parity/`: from the bundled models, and from the
//! fixture specs of `tests/fixtures/models` (object and one_of params, multipliers on an
//! object's field), which the TypeScript and SQL tests replay against the golden output.

use registry_tests::vectors::{cost_vectors, to_lines, validation_vectors};

fn main() {
    let dir = registry_tests::root().join("tests/parity");
    for (prefix, reg) in [
        ("", registry_tests::bundled()),
        ("fixture_", registry_tests::fixtures()),
    ] {
        let cost = cost_vectors(&reg);
        let validation = validation_vectors(&reg);
        std::fs::write(
            dir.join(format!("{prefix}cost_vectors.json")),
            to_lines(&cost),
        )
        .expect("write cost vectors");
        std::fs::write(
            dir.join(format!("{prefix}validation_vectors.json")),
            to_lines(&validation),
        )
        .expect("write validation vectors");
        println!(
            "{prefix}: {} cost vectors, {} validation vectors",
            cost.len(),
            validation.len()
        );
    }
}
