//! Runs the models of the registry.

pub mod cost;
pub mod params;
