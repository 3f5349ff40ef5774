//! Spec files: their serde types, YAML reading with positions, schemas and loading.

pub mod load;
pub mod schema;
pub mod types;
pub mod values;
pub mod yaml;
