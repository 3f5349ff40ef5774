//! Specs loaded by a running process (`codegen::info`) give exactly the model data the
//! generated Rust holds: the same `ModelInfo`, field for field, for every bundled model.

use registry_tests::bundled;

#[test]
fn run_time_model_data_equals_the_generated_statics() {
    let loaded = codegen::info::models(&bundled());
    let generated = generated_models::MODELS;
    let ids = |ms: &[&runtime::model::ModelInfo]| ms.iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(&loaded),
        ids(generated),
        "the same models, in the same order"
    );
    for (a, b) in loaded.iter().zip(generated) {
        assert_eq!(
            *a, *b,
            "model {} differs between run-time and generated data",
            b.id
        );
    }
}
