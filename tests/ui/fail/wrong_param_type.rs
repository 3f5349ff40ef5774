//! `duration` is one of 5, 10: typed as its values are (sent to the provider as a string).

use generated_models::SeedanceV1LiteParams;

fn main() {
    let _params = SeedanceV1LiteParams::builder("waves").duration("5").build();
}
