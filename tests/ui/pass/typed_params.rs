//! The typed entry: required params as arguments, enums as Rust enums, bounds checked at build.

use generated_models::models::seedance_v1_lite::{AspectRatio, DurationValue, Resolution};
use generated_models::{SeedanceV1Lite, SeedanceV1LiteParams};
use registry_core::model::{Model, RequestContext};

fn main() {
    let params = SeedanceV1LiteParams::builder("Ocean waves crashing")
        .resolution(Resolution::P1080)
        .aspect_ratio(AspectRatio::R9x16)
        .duration(DurationValue::V10)
        .seed(42)
        .build()
        .expect("valid params");
    assert_eq!(params.resolution(), Resolution::P1080);
    assert_eq!(SeedanceV1Lite::cost(&params).unwrap().to_string(), "40");

    let ctx = RequestContext { uuid: "u".into(), callback_url: Some("https://hook.test/g/1".into()) };
    let request = SeedanceV1Lite::submit_request(&params, &ctx);
    let body = request.body.expect("a body");
    assert_eq!(body["input"]["duration"], "10");
    assert_eq!(body["input"]["aspect_ratio"], "9:16");
    assert_eq!(body["input"]["seed"], 42);

    // Bounds are checked when built, with the runtime's messages.
    let too_long = SeedanceV1LiteParams::new("x".repeat(2001)).unwrap_err();
    assert_eq!(too_long.to_string(), "prompt must be at most 2000 characters (got 2001)");
    // A duration outside its value set does not compile; from JSON it is refused with the
    // runtime's message.
    let bad_duration = serde_json::from_value::<SeedanceV1LiteParams>(
        serde_json::json!({"prompt": "waves", "duration": 7}),
    )
    .unwrap_err();
    assert_eq!(bad_duration.to_string(), "duration must be one of 5, 10 (got 7)");
}
