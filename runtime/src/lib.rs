//! Runs the models of the registry.

pub mod answer;
pub mod cost;
pub mod model;
pub mod params;
