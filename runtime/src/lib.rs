//! Runs the models of the registry.
//!
//! - [`model`]: the contract generated executors implement ([`model::Model`], [`model::DynModel`]);
//! - [`engine`]: runs a model end to end ([`engine::Engine`]);
//! - [`keys`], [`http`], [`store`], [`webhook`], [`listener`]: its parts;
//! - `mock` (feature `mock`): a loopback server speaking every bundled provider's protocol.

pub mod answer;
pub mod cost;
pub mod engine;
pub mod error;
pub mod http;
pub mod keys;
pub mod listener;
pub mod model;
pub mod params;
pub mod store;
pub mod webhook;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "mock")]
pub mod mock;

pub use engine::{Engine, EngineConfig, RunOutput, Via};
pub use error::RunError;
