//! The registry's HTTP API: the engine behind axum, for a frontend that never sees a provider
//! key.
//!
//! - [`app`]: the router ([`app::router`]) and the server ([`app::Server`]): bind, serve,
//!   graceful shutdown;
//! - [`api`]: the routes, one file per resource (generations, models and the account,
//!   webhooks, health);
//! - [`alerts`]: the alerts evaluated on an interval, delivered to webhooks, served at
//!   `/v1/alerts`;
//! - [`auth`]: bearer tokens, configured as SHA-256 digests mapped to user ids;
//! - [`error`]: the one error shape, and the middleware that gives it to library errors;
//! - [`views`]: the JSON the API answers with;
//! - [`metrics`]: `GET /metrics`, the engine's events as Prometheus metrics;
//! - [`state`]: what the handlers share (limits, counters, background generations);
//! - [`cli`]: the `server` binary.
//!
//! `server/README.md` documents the API, the token format and the dependencies.

pub mod alerts;
pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod error;
pub mod metrics;
pub mod state;
pub mod views;

pub use alerts::AlertOptions;
pub use app::{Options, Running, Server, Services};
pub use auth::Tokens;
pub use state::Limits;
