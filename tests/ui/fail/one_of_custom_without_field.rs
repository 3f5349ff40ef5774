//! A custom image size needs both its required fields: one left out does not compile.

use generated_models::models::fal_flux_schnell::ImageSizeCustom;
use generated_models::FalFluxSchnellParams;

fn main() {
    let _params = FalFluxSchnellParams::builder("A red apple").image_size(ImageSizeCustom { width: 1024 }).build();
}
