//! Regenerate the parity vectors under `tests/parity/` from the bundled models.

fn main() {
    let reg = registry_tests::bundled();
    let dir = registry_tests::root().join("tests/parity");
    let cost = registry_tests::vectors::cost_vectors(&reg);
    let validation = registry_tests::vectors::validation_vectors(&reg);
    std::fs::write(
        dir.join("cost_vectors.json"),
        registry_tests::vectors::to_lines(&cost),
    )
    .expect("write cost vectors");
    std::fs::write(
        dir.join("validation_vectors.json"),
        registry_tests::vectors::to_lines(&validation),
    )
    .expect("write validation vectors");
    println!(
        "{} cost vectors, {} validation vectors",
        cost.len(),
        validation.len()
    );
}
