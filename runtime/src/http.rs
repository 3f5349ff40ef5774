//! Provider HTTP: one pooled client, per-call deadlines, retries with backoff and jitter.
//!
//! What is retried:
//! - a connection that could not be opened (nothing was sent): always;
//! - `429 Too Many Requests` (the provider refused the request): always, after `Retry-After`
//!   when it gives seconds, else after the backoff;
//! - `5xx`, a timeout, or a connection that broke after the request was sent: only when the
//!   request is safe to repeat, that is a `GET` (polls) or a submit of a provider whose submit
//!   is idempotent. A submit the provider may have accepted is never sent twice: that could
//!   start (and bill) a second job.
//!
//! Nothing here logs a URL query or a header: a key can travel in either.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::keys::Secret;
use crate::model::{Auth, HttpRequest, Method};

/// Retry pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// First backoff (doubles each retry).
    pub base: Duration,
    /// Longest backoff.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(250),
            max: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// Backoff before retry number `retry` (1-based): exponential, capped, with jitter in
    /// `[d/2, d]` so that clients that failed together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self.base.saturating_mul(
            1u32.checked_shl(retry.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let d = exp.min(self.max);
        let half = d / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// A provider's answer: status and raw body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Raw body.
    pub body: Bytes,
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The deadline passed.
    #[error("timed out")]
    Timeout,
    /// The connection failed.
    #[error("{message}")]
    Transport {
        /// What happened, without URL.
        message: String,
        /// Whether the request may have reached the provider.
        maybe_sent: bool,
    },
    /// A whole URL from an answer leaves the provider's hosts: nothing was sent.
    #[error("{0}")]
    OffHost(OffHost),
}

/// A whole URL taken from a provider's answer that the engine refuses to send the key to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffHost {
    /// Not an absolute `http(s)` URL.
    #[error("the answer's URL is not an absolute http(s) URL")]
    NotAUrl,
    /// Credentials in the URL (`https://user@host`).
    #[error("the answer's URL carries credentials")]
    Credentials,
    /// Another host (or scheme, or port) than the base URL's or an allowed one.
    #[error(
        "the answer's URL points to `{found}`, not to the provider's `{expected}`; if that host is the provider's, list it in `allowed_hosts` in the provider spec"
    )]
    Elsewhere {
        /// `scheme://host:port` of the URL (no path, no query).
        found: String,
        /// `scheme://host:port` of the base URL.
        expected: String,
    },
}

/// Where `req` goes: under `base_url`; or, for a whole URL taken from an answer, that URL,
/// only when it has the base URL's scheme, host and port, or is `https` on port 443 of a host
/// in `allowed_hosts` (compared without case). Userinfo is refused: the key never leaves for
/// a host the provider spec does not name, whatever an answer says.
pub fn target_url(
    base_url: &str,
    req: &HttpRequest,
    allowed_hosts: &[&str],
) -> Result<String, OffHost> {
    if !req.whole_url {
        return Ok(format!("{}{}", base_url.trim_end_matches('/'), req.path));
    }
    let url = reqwest::Url::parse(&req.path).map_err(|_| OffHost::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(OffHost::NotAUrl);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OffHost::Credentials);
    }
    let origin = |u: &reqwest::Url| {
        format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or_default()
        )
    };
    let base = reqwest::Url::parse(base_url).map_err(|_| OffHost::NotAUrl)?;
    let allowed = url.scheme() == "https"
        && url.port_or_known_default() == Some(443)
        && url
            .host_str()
            .is_some_and(|h| allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(h)));
    if origin(&url) == origin(&base) || allowed {
        Ok(url.into())
    } else {
        Err(OffHost::Elsewhere {
            found: origin(&url),
            expected: origin(&base),
        })
    }
}

/// Who a call is for (log fields only).
#[derive(Debug, Clone, Copy)]
pub struct CallTag<'a> {
    /// Provider id.
    pub provider: &'a str,
    /// Model id.
    pub model: &'a str,
    /// `submit` or `poll`.
    pub step: &'a str,
    /// The provider makes submits idempotent: they may be repeated.
    pub idempotent_submit: bool,
    /// Hosts a whole URL from an answer may point to, besides the base URL's.
    pub allowed_hosts: &'a [&'a str],
}

/// The HTTP client of an engine.
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    policy: RetryPolicy,
}

/// Install ring as the process's rustls provider (idempotent).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Transport {
    /// A client with connection pooling and the given retry policy.
    pub fn new(policy: RetryPolicy) -> Self {
        install_crypto();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Transport { client, policy }
    }

    /// The underlying client (for webhook senders and tests).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Send `req` to `base_url`, with the key placed by `auth`, retrying by the rules above until
    /// an answer, a non-retryable failure, the attempts run out, or `deadline`.
    pub async fn send(
        &self,
        tag: CallTag<'_>,
        base_url: &str,
        req: &HttpRequest,
        auth: &Auth,
        key: &Secret,
        deadline: Instant,
    ) -> Result<Answer, SendError> {
        // Only a submit may start work twice; the requests after it (status, result, cancel)
        // are safe to repeat whatever their method (Runware polls with a POST).
        let safe =
            matches!(req.method, Method::Get) || tag.step != "submit" || tag.idempotent_submit;
        let mut url = target_url(base_url, req, tag.allowed_hosts).map_err(SendError::OffHost)?;
        if let Auth::Query { name } = auth {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(name);
            url.push('=');
            url.push_str(&percent_encode(key.expose()));
        }
        let log_path = match req.whole_url {
            true => url.split('?').next().unwrap_or(""),
            false => req.path.split('?').next().unwrap_or(""),
        };
        let body = req
            .body
            .as_ref()
            .map(|b| Bytes::from(serde_json::to_vec(b).unwrap_or_default()));
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
        };
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let now = Instant::now();
            if now >= deadline {
                return Err(SendError::Timeout);
            }
            let mut rb = self
                .client
                .request(method.clone(), &url)
                .timeout(deadline - now);
            rb = match auth {
                Auth::Bearer => rb.header("authorization", format!("Bearer {}", key.expose())),
                Auth::Header { name, prefix } => {
                    rb.header(*name, format!("{prefix}{}", key.expose()))
                }
                Auth::Query { .. } => rb,
            };
            for (name, value) in &req.headers {
                rb = rb.header(name.as_str(), value);
            }
            if let Some(b) = &body {
                rb = rb
                    .header("content-type", "application/json")
                    .body(b.clone());
            }
            let last = attempt >= self.policy.max_attempts;
            let (retry_after, outcome) = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let body = resp.bytes().await;
                    match body {
                        Ok(body) => {
                            let retryable = status == 429 || (status >= 500 && safe);
                            tracing::debug!(
                                event = "http_answer",
                                provider = tag.provider,
                                model = tag.model,
                                step = tag.step,
                                path = log_path,
                                attempt,
                                status,
                                "provider answered"
                            );
                            if !retryable || last {
                                return Ok(Answer { status, body });
                            }
                            (
                                retry_after.filter(|_| status == 429),
                                Ok(Answer { status, body }),
                            )
                        }
                        Err(e) => (None, Err(classify(&e, true))),
                    }
                }
                Err(e) => (None, Err(classify(&e, !e.is_connect()))),
            };
            if let Err(err) = &outcome {
                tracing::warn!(event = "http_error", provider = tag.provider, model = tag.model, step = tag.step, path = log_path, attempt, error = %err, "provider call failed");
                let may_repeat = match err {
                    SendError::Timeout => safe,
                    SendError::Transport { maybe_sent, .. } => safe || !maybe_sent,
                    SendError::OffHost(_) => false,
                };
                if !may_repeat || last {
                    return outcome;
                }
            }
            let wait = retry_after.unwrap_or_else(|| self.policy.backoff(attempt));
            let now = Instant::now();
            if now + wait >= deadline {
                // Waiting would pass the deadline: report what we have instead of sleeping.
                return match outcome {
                    Ok(a) => Ok(a),
                    Err(_) => Err(SendError::Timeout),
                };
            }
            tracing::info!(
                event = "http_retry",
                provider = tag.provider,
                model = tag.model,
                step = tag.step,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

fn classify(e: &reqwest::Error, maybe_sent: bool) -> SendError {
    if e.is_timeout() {
        return SendError::Timeout;
    }
    let mut message = if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "connection failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    SendError::Transport {
        message,
        maybe_sent,
    }
}

/// Percent-encode a query value (RFC 3986 unreserved characters kept).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(350),
        };
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(
                b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100),
                "{b1:?}"
            );
            let b3 = p.backoff(3);
            assert!(
                b3 >= Duration::from_millis(175) && b3 <= Duration::from_millis(350),
                "{b3:?}"
            );
            assert!(p.backoff(40) <= Duration::from_millis(350));
        }
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(percent_encode("a b&c=d~"), "a%20b%26c%3Dd~");
    }

    fn whole(url: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            path: url.to_owned(),
            whole_url: true,
            headers: Vec::new(),
            body: None,
        }
    }

    #[test]
    fn whole_urls_stay_on_the_base_urls_origin_or_an_allowed_host() {
        let base = "https://queue.fal.run";
        let ok = |u: &str, allowed: &[&str]| target_url(base, &whole(u), allowed);
        assert_eq!(
            ok("https://queue.fal.run/fal-ai/flux/requests/1/status", &[]).as_deref(),
            Ok("https://queue.fal.run/fal-ai/flux/requests/1/status")
        );
        assert!(ok("https://QUEUE.fal.run:443/x", &[]).is_ok());
        assert!(ok("https://cdn.fal.media/x", &["cdn.fal.media"]).is_ok());
        // Another host, scheme or port; a look-alike; credentials; garbage.
        for bad in [
            "https://evil.example/steal",
            "http://queue.fal.run/x",
            "https://queue.fal.run:8443/x",
            "https://queue.fal.run.evil.example/x",
            "https://queue.fal.run@evil.example/x",
            "https://user:pw@queue.fal.run/x",
            "//evil.example/x",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(ok(bad, &[]).is_err(), "{bad} was accepted");
        }
        // An allowed host is https on 443 only.
        assert!(ok("http://cdn.fal.media/x", &["cdn.fal.media"]).is_err());
        assert!(ok("https://cdn.fal.media:444/x", &["cdn.fal.media"]).is_err());
        let Err(OffHost::Elsewhere { found, expected }) = ok("https://evil.example/a?k=v", &[])
        else {
            panic!("expected Elsewhere")
        };
        assert_eq!(
            (found.as_str(), expected.as_str()),
            ("https://evil.example:443", "https://queue.fal.run:443")
        );
        // A loopback base (the mock) accepts its own origin only.
        let mock = "http://127.0.0.1:4010/p/fal";
        assert!(
            target_url(
                mock,
                &whole("http://127.0.0.1:4010/p/fal/_jobs/1/status"),
                &[]
            )
            .is_ok()
        );
        assert!(target_url(mock, &whole("http://127.0.0.1:4011/x"), &[]).is_err());
        // A path is joined to the base URL as before.
        let mut path = whole("/v1/x");
        path.whole_url = false;
        assert_eq!(
            target_url(mock, &path, &[]).as_deref(),
            Ok("http://127.0.0.1:4010/p/fal/v1/x")
        );
    }
}
