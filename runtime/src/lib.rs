//! Runs the models of the registry.
//!
//! - [`model`], [`params`], [`cost`], [`template`], [`answer`]: the shared rules, re-exported
//!   from `registry-core` (the contract generated models implement: [`model::ModelInfo`]);
//! - [`engine`]: runs a model end to end ([`engine::Engine`]);
//! - [`keys`], [`http`], [`store`], [`webhook`], [`listener`]: its parts;
//! - `mock` (feature `mock`): a loopback provider that serves any model from its data;
//!   `local_mock`: that server started for a local run, with the keys that go with it.

pub use registry_core::{answer, cost, model, params, template};

pub mod engine;
pub mod error;
pub mod http;
pub mod keys;
pub mod listener;
pub mod store;
pub mod webhook;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "mock")]
pub mod local_mock;
#[cfg(feature = "mock")]
pub mod mock;

pub use engine::{Engine, EngineConfig, RunOutput, Via};
pub use error::RunError;
