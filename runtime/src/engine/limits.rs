//! Per-provider limits: a cap on requests in flight and a circuit breaker (see
//! [`crate::model::Limits`]). One gate per provider and engine: each instance limits its own
//! traffic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::model::{CircuitBreaker, ProviderInfo};

/// The gate of one provider.
pub(super) struct Gate {
    slots: Option<Arc<Semaphore>>,
    breaker: Option<(CircuitBreaker, Mutex<Breaker>)>,
}

#[derive(Debug, Clone, Copy)]
enum Breaker {
    /// Counting the requests of the window that began at `since`.
    Closed {
        since: Instant,
        requests: u32,
        failures: u32,
    },
    /// Refusing new generations until `until`.
    Open { until: Instant },
    /// The cooldown is over: the next result decides.
    HalfOpen,
}

impl Gate {
    fn new(provider: &ProviderInfo) -> Gate {
        let limits = provider.limits;
        Gate {
            slots: limits
                .concurrency
                .map(|n| Arc::new(Semaphore::new(n.max(1) as usize))),
            breaker: limits.circuit_breaker.map(|cb| {
                (
                    cb,
                    Mutex::new(Breaker::Closed {
                        since: Instant::now(),
                        requests: 0,
                        failures: 0,
                    }),
                )
            }),
        }
    }

    /// May a new generation start? `Err(wait)`: the breaker is open for `wait` more.
    pub(super) fn admit(&self) -> Result<(), Duration> {
        let Some((_, state)) = &self.breaker else {
            return Ok(());
        };
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            Breaker::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(until - now);
                }
                *state = Breaker::HalfOpen;
                Ok(())
            }
            Breaker::Closed { .. } | Breaker::HalfOpen => Ok(()),
        }
    }

    /// A slot for one request, waited for until `deadline`; `None` when the deadline passes.
    pub(super) async fn slot(&self, deadline: Instant) -> Option<Option<OwnedSemaphorePermit>> {
        let Some(slots) = &self.slots else {
            return Some(None);
        };
        tokio::time::timeout_at(deadline, slots.clone().acquire_owned())
            .await
            .ok()?
            .ok()
            .map(Some)
    }

    /// Count one request's result.
    pub(super) fn record(&self, failed: bool) {
        let Some((cb, state)) = &self.breaker else {
            return;
        };
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        *state = match *state {
            Breaker::HalfOpen if failed => Breaker::Open {
                until: now + cb.cooldown,
            },
            Breaker::HalfOpen => Breaker::Closed {
                since: now,
                requests: 0,
                failures: 0,
            },
            open @ Breaker::Open { .. } => open,
            Breaker::Closed {
                since,
                requests,
                failures,
            } => {
                let (since, requests, failures) = if now.duration_since(since) > cb.window {
                    (now, 0, 0)
                } else {
                    (since, requests, failures)
                };
                let requests = requests + 1;
                let failures = failures + u32::from(failed);
                let tripped = requests >= cb.min_requests.max(1)
                    && u64::from(failures) * 100
                        >= u64::from(cb.failure_rate) * u64::from(requests);
                if tripped {
                    tracing::warn!(
                        event = "circuit_open",
                        requests,
                        failures,
                        cooldown_ms = cb.cooldown.as_millis() as u64,
                        "provider circuit breaker opened"
                    );
                    Breaker::Open {
                        until: now + cb.cooldown,
                    }
                } else {
                    Breaker::Closed {
                        since,
                        requests,
                        failures,
                    }
                }
            }
        };
    }
}

/// The gates of an engine's providers, made on first use.
#[derive(Default)]
pub(super) struct Gates(Mutex<HashMap<&'static str, Arc<Gate>>>);

impl Gates {
    pub(super) fn of(&self, provider: &'static ProviderInfo) -> Arc<Gate> {
        let mut gates = self.0.lock().unwrap_or_else(|p| p.into_inner());
        gates
            .entry(provider.id)
            .or_insert_with(|| Arc::new(Gate::new(provider)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(cb: CircuitBreaker) -> Gate {
        Gate {
            slots: None,
            breaker: Some((
                cb,
                Mutex::new(Breaker::Closed {
                    since: Instant::now(),
                    requests: 0,
                    failures: 0,
                }),
            )),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_at_the_rate_cools_down_then_one_result_decides() {
        let g = gate(CircuitBreaker {
            failure_rate: 50,
            min_requests: 4,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
        });
        // Three failures out of three: under min_requests, still closed.
        for _ in 0..3 {
            g.record(true);
        }
        assert_eq!(g.admit(), Ok(()));
        g.record(false); // 3 of 4 failed: 75% >= 50%
        assert!(g.admit().is_err());
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(g.admit(), Ok(()), "half open after the cooldown");
        g.record(true);
        assert!(
            g.admit().is_err(),
            "a failure while half open opens it again"
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(g.admit(), Ok(()));
        g.record(false);
        // Closed again, counting afresh: one failure in one request is under min_requests.
        g.record(true);
        assert_eq!(g.admit(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_window_is_forgotten() {
        let g = gate(CircuitBreaker {
            failure_rate: 100,
            min_requests: 2,
            window: Duration::from_secs(10),
            cooldown: Duration::from_secs(5),
        });
        g.record(true);
        tokio::time::advance(Duration::from_secs(11)).await;
        g.record(true); // a new window: 1 of 1
        assert_eq!(g.admit(), Ok(()));
        g.record(true); // 2 of 2
        assert!(g.admit().is_err());
    }
}
