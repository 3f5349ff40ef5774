//! The checked-in parity vectors are what the Rust runtime computes from the bundled models.

use registry_tests::{bundled, root, vectors};

#[test]
fn cost_and_validation_vectors_are_fresh() {
    let reg = bundled();
    let dir = root().join("tests/parity");
    let cost = vectors::to_lines(&vectors::cost_vectors(&reg));
    let validation = vectors::to_lines(&vectors::validation_vectors(&reg));
    let hint = "run `cargo run -p registry-tests --bin parity_vectors` and commit tests/parity/";
    assert!(
        std::fs::read_to_string(dir.join("cost_vectors.json"))
            .ok()
            .as_deref()
            == Some(cost.as_str()),
        "tests/parity/cost_vectors.json is stale: {hint}"
    );
    assert!(
        std::fs::read_to_string(dir.join("validation_vectors.json"))
            .ok()
            .as_deref()
            == Some(validation.as_str()),
        "tests/parity/validation_vectors.json is stale: {hint}"
    );
    assert!(cost.lines().count() > 10_000);
}
