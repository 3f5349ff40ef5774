//! A one_of takes one of its options' types: a plain string is not a preset.

use generated_models::FalFluxSchnellParams;

fn main() {
    let _params = FalFluxSchnellParams::builder("A red apple").image_size("square_hd").build();
}
