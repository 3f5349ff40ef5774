//! The names of the types generated for object and one_of params: nested types are named after
//! their param, and never take a name another param's type already has.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

const MODEL: &str = r#"
id: sizes
display_name: Sizes
provider: acme
content_type: image
key_scope: text_to_image
params:
  prompt: { type: string, required: true }
  image_size_custom: { type: enum, values: [a, b], default: a }
  image_size:
    type: one_of
    options:
      preset: { type: enum, values: [square, wide] }
      custom:
        type: object
        fields:
          width: { type: integer, required: true }
          unit: { type: enum, values: [px, mm], default: px }
      pixels: { type: integer, min: 1 }
    default: { width: 512 }
cost:
  base: "1"
execution:
  mode: sync
  submit:
    method: POST
    path: /v1/images
    body: { prompt: "{{ prompt }}", a: "{{ image_size_custom }}", size: "{{ image_size }}" }
  response:
    outputs: { at: /images/*/url }
  expected_latency: 10s
  timeout: 1m
"#;

#[test]
fn nested_types_are_named_after_their_param_and_unique() {
    let dir = std::env::temp_dir().join(format!("nested-types-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("models/providers")).unwrap();
    fs::create_dir_all(dir.join("models/acme")).unwrap();
    fs::copy(
        root().join("tests/invalid/base/models/providers/acme.yaml"),
        dir.join("models/providers/acme.yaml"),
    )
    .unwrap();
    fs::write(dir.join("models/acme/sizes.yaml"), MODEL).unwrap();
    let ir = match codegen::load(&dir.join("models"), &dir) {
        Ok(ir) => ir,
        Err(d) => panic!(
            "{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    let files = codegen::emit::emit_all(&ir).unwrap();
    let rust = &files["rust/src/models/sizes.rs"];
    for item in [
        "pub enum ImageSizeCustom {",
        "pub enum ImageSizePreset {",
        "pub struct ImageSizeCustomValue for \"image_size\" {",
        "pub enum ImageSizeCustomValueUnit {",
        "pub enum ImageSize for \"image_size\" {",
        "Custom(ImageSizeCustomValue) = (\"custom\", Kind::Object { fields: ImageSizeCustomValue::FIELDS }),",
        "Pixels(i64) = (\"pixels\",",
        // The default, an object with its field's default filled in, as Rust.
        "image_size: ImageSize::Custom(ImageSizeCustomValue {",
        "unit: ImageSizeCustomValueUnit::Px,",
    ] {
        assert!(rust.contains(item), "{item} is not in:\n{rust}");
    }
    let ts = &files["ts/registry.ts"];
    assert!(
        ts.contains(
            r#"image_size?: "square" | "wide" | { width: number; unit?: "px" | "mm" } | number;"#
        ),
        "{ts}"
    );
    let _ = fs::remove_dir_all(&dir);
}
