//! `resolution` is one of 480p, 720p, 1080p: there is no 4K variant.

use generated_models::models::seedance_v1_lite::Resolution;
use generated_models::SeedanceV1LiteParams;

fn main() {
    let _params = SeedanceV1LiteParams::builder("waves").resolution(Resolution::P2160).build();
}
