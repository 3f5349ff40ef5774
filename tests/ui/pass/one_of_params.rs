//! A one_of param: a preset or a custom size, the choice made by the Rust type; the custom
//! size's fields checked at build, named by their path; JSON choosing by the value's type.

use generated_models::models::fal_flux_schnell::{ImageSize, ImageSizeCustom, ImageSizePreset};
use generated_models::{FalFluxSchnell, FalFluxSchnellParams};
use registry_core::model::{Model, RequestContext};
use serde_json::json;

fn main() {
    let ctx = RequestContext { uuid: "u".into(), callback_url: None };

    // The default is the spec's preset.
    let default = FalFluxSchnellParams::new("A red apple").unwrap();
    assert_eq!(default.image_size(), &ImageSize::Preset(ImageSizePreset::Landscape4x3));

    // Either option converts into the one_of.
    let preset = FalFluxSchnellParams::builder("A red apple").image_size(ImageSizePreset::SquareHd).build().unwrap();
    let body = FalFluxSchnell::submit_request(&preset, &ctx).body.unwrap();
    assert_eq!(body["image_size"], "square_hd");
    let custom = FalFluxSchnellParams::builder("A red apple")
        .image_size(ImageSizeCustom { width: 1024, height: 768 })
        .build()
        .unwrap();
    let body = FalFluxSchnell::submit_request(&custom, &ctx).body.unwrap();
    assert_eq!(body["image_size"], json!({"width": 1024, "height": 768}));
    assert_eq!(FalFluxSchnell::cost(&custom).unwrap().to_string(), "1");

    // A field's bounds are checked when built; the violation names the field.
    let small = FalFluxSchnellParams::builder("A red apple")
        .image_size(ImageSize::Custom(ImageSizeCustom { width: 10, height: 768 }))
        .build()
        .unwrap_err();
    assert_eq!(small.0[0].param, "image_size.width");
    assert_eq!(small.to_string(), "image_size.width must be at least 64 (got 10)");

    // From JSON, the value's type chooses the option.
    let read: FalFluxSchnellParams =
        serde_json::from_value(json!({"prompt": "x", "image_size": {"width": 512, "height": 640}})).unwrap();
    assert!(matches!(read.image_size(), ImageSize::Custom(c) if c.width == 512 && c.height == 640));
    let read: FalFluxSchnellParams = serde_json::from_value(json!({"prompt": "x", "image_size": "square"})).unwrap();
    assert_eq!(read.image_size(), &ImageSize::Preset(ImageSizePreset::Square));
    let wrong = serde_json::from_value::<FalFluxSchnellParams>(json!({"prompt": "x", "image_size": 512})).unwrap_err();
    assert_eq!(
        wrong.to_string(),
        "image_size must be one of square_hd, square, portrait_4_3, portrait_16_9, landscape_4_3, landscape_16_9, \
         or an object {width, height} (got a number)"
    );
    let unknown = serde_json::from_value::<FalFluxSchnellParams>(
        json!({"prompt": "x", "image_size": {"width": 512, "height": 512, "depth": 3}}),
    )
    .unwrap_err();
    assert_eq!(unknown.to_string(), "image_size has no field depth (its fields are width, height)");

    // The types serialize as their JSON forms, and read back through the rules.
    assert_eq!(serde_json::to_value(ImageSize::Preset(ImageSizePreset::Square)).unwrap(), json!("square"));
    let size: ImageSize = serde_json::from_value(json!({"width": 64, "height": 64})).unwrap();
    assert_eq!(size, ImageSize::Custom(ImageSizeCustom { width: 64, height: 64 }));
    assert!(serde_json::from_value::<ImageSizeCustom>(json!({"width": 64})).is_err());
}
