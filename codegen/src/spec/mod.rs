//! Spec files: their serde types, YAML reading with positions, schemas and loading.

pub mod load;
pub mod reference;
pub mod schema;
pub mod types;
pub mod values;
pub mod yaml;
