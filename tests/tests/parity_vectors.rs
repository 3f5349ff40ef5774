//! The checked-in parity vectors are what the Rust runtime computes from the bundled models
//! and from the fixture specs.

use registry_tests::{bundled, fixtures, root, vectors};

#[test]
fn cost_and_validation_vectors_are_fresh() {
    let dir = root().join("tests/parity");
    let hint = "run `cargo run -p registry-tests --bin parity_vectors` and commit tests/parity/";
    for (prefix, reg) in [("", bundled()), ("fixture_", fixtures())] {
        let cost = vectors::to_lines(&vectors::cost_vectors(&reg));
        let validation = vectors::to_lines(&vectors::validation_vectors(&reg));
        for (name, text) in [("cost", &cost), ("validation", &validation)] {
            let file = format!("{prefix}{name}_vectors.json");
            assert!(
                std::fs::read_to_string(dir.join(&file)).ok().as_deref() == Some(text.as_str()),
                "tests/parity/{file} is stale: {hint}"
            );
        }
        if prefix.is_empty() {
            assert!(cost.lines().count() > 10_000);
        }
    }
}

/// The fixture vectors hold the cases of object and one_of params: every kind of violation
/// of an object's field and of a one_of, and costs that read an object's field.
#[test]
fn fixture_vectors_cover_objects_and_one_ofs() {
    let validation = vectors::validation_vectors(&fixtures());
    let codes: Vec<(String, String)> = validation
        .iter()
        .flat_map(|v| v["violations"].as_array().cloned().unwrap_or_default())
        .map(|v| {
            (
                v["param"].as_str().unwrap_or_default().to_owned(),
                v["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (param, code) in [
        ("canvas", "type"),
        ("canvas.width", "required"),
        ("canvas.another", "unknown_field"),
        ("canvas.width", "max"),
        ("canvas.width", "step"),
        ("canvas.background", "enum"),
        ("canvas.crop", "type"),
        ("frame", "one_of"),
        ("frame", "enum"),
        ("frame", "max"),
        ("frame.width", "required"),
        ("frame.color", "max_length"),
    ] {
        assert!(
            codes.iter().any(|(p, c)| p == param && c == code),
            "no `{code}` violation of `{param}` in the fixture vectors"
        );
    }
    let costs = vectors::cost_vectors(&fixtures());
    let collage: Vec<&serde_json::Value> = costs
        .iter()
        .filter(|v| v["model"] == "acme_collage")
        .collect();
    // Both given canvases (their width priced) and the default one.
    assert!(collage.iter().any(|v| v["params"].get("canvas").is_some()));
    assert!(collage.iter().any(|v| v["params"].get("canvas").is_none()));
    let frames: Vec<&serde_json::Value> = collage
        .iter()
        .filter_map(|v| v["params"].get("frame"))
        .collect();
    assert!(frames.iter().any(|f| f.is_string()) && frames.iter().any(|f| f.is_object()));
}
