//! `prompt` is required: params without it cannot be built.

use generated_models::SeedanceV1LiteParams;

fn main() {
    let _params = SeedanceV1LiteParams::builder().build();
}
