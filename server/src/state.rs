//! What every handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use runtime::Engine;
use runtime::keys::KeyResolver;
use runtime::store::{IdempotencyStore, Store};
use tokio::sync::Notify;

use crate::alerts::Alerting;
use crate::auth::Tokens;
use crate::metrics::Metrics;

/// Size and time limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body of an API request, in bytes.
    pub api_body: usize,
    /// Largest body of a webhook delivery, in bytes.
    pub webhook_body: usize,
    /// Longest a request may take (a `Prefer: wait` included).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            api_body: 256 * 1024,
            webhook_body: 1024 * 1024,
            request_timeout: Duration::from_secs(90),
        }
    }
}

/// Counters of refused traffic.
#[derive(Debug, Default)]
pub struct Stats {
    webhooks_rejected: AtomicU64,
    webhooks_forged: AtomicU64,
    bodies_too_large: AtomicU64,
}

impl Stats {
    /// A webhook delivery was refused; `forged` when its signature or token did not verify.
    /// Returns the refusals so far.
    pub fn webhook_rejected(&self, forged: bool) -> u64 {
        if forged {
            self.webhooks_forged.fetch_add(1, Ordering::Relaxed);
        }
        self.webhooks_rejected.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A body over its limit was refused.
    pub fn body_too_large(&self) {
        self.bodies_too_large.fetch_add(1, Ordering::Relaxed);
    }

    /// Webhook deliveries refused, for any reason.
    pub fn webhooks_rejected(&self) -> u64 {
        self.webhooks_rejected.load(Ordering::Relaxed)
    }

    /// Webhook deliveries refused for a signature or token that did not verify.
    pub fn webhooks_forged(&self) -> u64 {
        self.webhooks_forged.load(Ordering::Relaxed)
    }

    /// Bodies refused for their size.
    pub fn bodies_too_large(&self) -> u64 {
        self.bodies_too_large.load(Ordering::Relaxed)
    }
}

/// Generations running in the background (their provider calls), counted so that a shutdown
/// can wait for them.
#[derive(Debug, Default)]
pub struct Background {
    running: AtomicUsize,
    idle: Notify,
}

/// One running background generation; dropping it counts it out.
pub struct BackgroundGuard(Arc<Background>);

impl Drop for BackgroundGuard {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Background {
    /// Count one in.
    pub fn enter(self: &Arc<Self>) -> BackgroundGuard {
        self.running.fetch_add(1, Ordering::AcqRel);
        BackgroundGuard(self.clone())
    }

    /// How many are running.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// Resolves once none is running.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.running() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The handlers' shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Runs the generations.
    pub engine: Engine,
    /// The generation store (the engine's).
    pub store: Arc<dyn Store>,
    /// Idempotency-Key records.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The key resolver (the engine's), asked by `/readyz` which secrets are present.
    pub keys: Arc<dyn KeyResolver>,
    /// Bearer tokens.
    pub tokens: Arc<Tokens>,
    /// Limits.
    pub limits: Limits,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Background generations.
    pub background: Arc<Background>,
    /// Secret names of the registered models and providers, kept out of every answer.
    pub secret_names: Arc<Vec<&'static str>>,
    /// The metrics `/metrics` serves (the engine's observer).
    pub metrics: Arc<Metrics>,
    /// The SHA-256 of the token `/metrics` requires, if any.
    pub metrics_token: Option<Arc<[u8; 32]>>,
    /// The alert evaluator (what `/v1/alerts` serves).
    pub alerts: Arc<Alerting>,
}

impl AppState {
    /// `message` with every secret name replaced by `[secret]`.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = message.to_owned();
        for name in self.secret_names.iter() {
            if out.contains(name) {
                out = out.replace(name, "[secret]");
            }
        }
        out
    }
}
