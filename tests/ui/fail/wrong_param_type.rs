//! `duration` is an integer (sent to the provider as a string, but typed as a number here).

use generated_models::SeedanceV1LiteParams;

fn main() {
    let _params = SeedanceV1LiteParams::builder("waves").duration("5").build();
}
