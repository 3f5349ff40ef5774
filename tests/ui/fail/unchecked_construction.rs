//! Params cannot be built around the checks: their fields are private.

use generated_models::models::seedance_v1_lite::{AspectRatio, DurationValue, Resolution};
use generated_models::SeedanceV1LiteParams;

fn main() {
    let _params = SeedanceV1LiteParams {
        prompt: String::new(),
        aspect_ratio: AspectRatio::R16x9,
        resolution: Resolution::P720,
        duration: DurationValue::V5,
        camera_fixed: false,
        seed: None,
    };
}
