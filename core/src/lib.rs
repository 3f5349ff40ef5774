//! The rules every side of the registry shares: generated code, `codegen` and the engine.
//!
//! - [`model`]: the model contract as static data ([`model::ModelInfo`]), typed params
//!   ([`model::Params`]) and the [`model::Model`] trait generated code implements;
//! - [`params`]: param rules, with the validation codes and messages the TypeScript bindings
//!   share;
//! - [`cost`]: exact credit costs;
//! - [`template`]: request templates as data, and their rendering;
//! - [`answer`]: reading provider answers by JSON pointer.
//!
//! Nothing here is async or does I/O.

pub mod answer;
pub mod cost;
pub mod model;
pub mod params;
pub mod template;
pub mod typed;

pub use rust_decimal::Decimal;
