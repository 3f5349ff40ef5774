//! Webhook verification by the provider's declared scheme.
//!
//! - Standard Webhooks (Replicate): `webhook-id`, `webhook-timestamp`, `webhook-signature`
//!   (space-separated `v1,<base64>`), HMAC-SHA256 over `id.timestamp.body` keyed with the
//!   base64-decoded part of a `whsec_` secret; stale or future timestamps are rejected.
//! - KIE: `X-Webhook-Timestamp` and `X-Webhook-Signature` = base64(HMAC-SHA256(key,
//!   `taskId.timestamp`)). The body is not covered: the engine confirms results by a poll.
//! - URL token: the per-generation token of the callback URL, compared in constant time.
//!
//! Signatures are compared in constant time (`subtle`).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// A webhook delivery as the listener received it.
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    /// Headers (names are case-insensitive).
    pub headers: http::HeaderMap,
    /// The raw body, exactly as received (signatures cover bytes, not parsed JSON).
    pub body: Bytes,
    /// The `token` query parameter of the callback URL.
    pub query_token: Option<String>,
}

impl WebhookRequest {
    fn header(&self, name: &str) -> Result<&str, WebhookError> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .ok_or_else(|| WebhookError::MissingHeader(name.to_owned()))
    }
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A header the scheme needs is absent.
    #[error("missing header {0}")]
    MissingHeader(String),
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// The timestamp is outside the tolerance.
    #[error("stale timestamp")]
    Stale,
    /// The signing secret is not configured (names only).
    #[error("webhook secret {0} is not configured")]
    MissingSecret(String),
    /// The secret has the wrong format.
    #[error("webhook secret is malformed")]
    BadSecret,
    /// No generation with this id.
    #[error("unknown generation")]
    UnknownGeneration,
    /// The delivery names another provider or task than the generation's.
    #[error("delivery does not match the generation")]
    Mismatch,
    /// The body is not JSON or not a task the model can read.
    #[error("malformed delivery: {0}")]
    Malformed(String),
    /// The provider declares no webhooks.
    #[error("provider has no webhooks")]
    NotSupported,
}

impl WebhookError {
    /// The HTTP status the listener answers with.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::MissingHeader(_) | WebhookError::BadSignature | WebhookError::Stale => {
                401
            }
            WebhookError::UnknownGeneration => 404,
            WebhookError::Mismatch | WebhookError::Malformed(_) => 400,
            WebhookError::NotSupported => 404,
            WebhookError::MissingSecret(_) | WebhookError::BadSecret => 500,
        }
    }
}

fn check_time(ts: &str, now_secs: i64, tolerance: Duration) -> Result<(), WebhookError> {
    let t: i64 = ts.parse().map_err(|_| WebhookError::Stale)?;
    if (now_secs - t).unsigned_abs() > tolerance.as_secs() {
        return Err(WebhookError::Stale);
    }
    Ok(())
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn whsec_key(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let raw = secret.strip_prefix("whsec_").unwrap_or(secret);
    B64.decode(raw).map_err(|_| WebhookError::BadSecret)
}

/// The `webhook-signature` value for a Standard Webhooks delivery (`v1,<base64>`).
pub fn sign_standard_webhooks(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, WebhookError> {
    let key = whsec_key(secret)?;
    let ts = timestamp.to_string();
    Ok(format!(
        "v1,{}",
        B64.encode(hmac(
            &key,
            &[id.as_bytes(), b".", ts.as_bytes(), b".", body]
        ))
    ))
}

/// Verify a Standard Webhooks delivery.
pub fn verify_standard_webhooks(
    secret: &str,
    req: &WebhookRequest,
    now_secs: i64,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let id = req.header("webhook-id")?;
    let ts = req.header("webhook-timestamp")?;
    let sigs = req.header("webhook-signature")?;
    check_time(ts, now_secs, tolerance)?;
    let key = whsec_key(secret)?;
    let expected = hmac(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", &req.body]);
    let ok = sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| B64.decode(s).ok())
        .any(|sig| bool::from(sig.ct_eq(&expected)));
    if ok {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The `X-Webhook-Signature` value of a KIE callback.
pub fn sign_kie(key: &str, task_id: &str, timestamp: i64) -> String {
    let ts = timestamp.to_string();
    B64.encode(hmac(
        key.as_bytes(),
        &[task_id.as_bytes(), b".", ts.as_bytes()],
    ))
}

/// Verify a KIE callback for `task_id`.
pub fn verify_kie(
    key: &str,
    task_id: &str,
    req: &WebhookRequest,
    now_secs: i64,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let ts = req.header("x-webhook-timestamp")?;
    let sig = req.header("x-webhook-signature")?;
    check_time(ts, now_secs, tolerance)?;
    let expected = hmac(key.as_bytes(), &[task_id.as_bytes(), b".", ts.as_bytes()]);
    let given = B64.decode(sig).map_err(|_| WebhookError::BadSignature)?;
    if bool::from(given.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Compare a URL token in constant time.
pub fn verify_url_token(expected: &str, req: &WebhookRequest) -> Result<(), WebhookError> {
    let given = req.query_token.as_deref().unwrap_or("");
    if !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&'static str, String)], body: &str) -> WebhookRequest {
        let mut h = http::HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, v.parse().unwrap());
        }
        WebhookRequest {
            headers: h,
            body: Bytes::from(body.to_owned()),
            query_token: None,
        }
    }

    #[test]
    fn standard_webhooks_round_trip_and_rejections() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"id":"p1","status":"succeeded"}"#;
        let sig = sign_standard_webhooks(secret, "msg_1", 1_700_000_000, body.as_bytes()).unwrap();
        let ok = req(
            &[
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", "1700000000".into()),
                ("webhook-signature", format!("v1,bm9wZQ== {sig}")),
            ],
            body,
        );
        let tol = Duration::from_secs(300);
        assert_eq!(
            verify_standard_webhooks(secret, &ok, 1_700_000_010, tol),
            Ok(())
        );
        assert_eq!(
            verify_standard_webhooks(secret, &ok, 1_700_000_400, tol),
            Err(WebhookError::Stale)
        );
        let tampered = WebhookRequest {
            body: Bytes::from_static(b"{\"id\":\"p1\",\"status\":\"failed\"}"),
            ..ok.clone()
        };
        assert_eq!(
            verify_standard_webhooks(secret, &tampered, 1_700_000_010, tol),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_standard_webhooks("whsec_b3RoZXI=", &ok, 1_700_000_010, tol),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn kie_hmac_round_trip_and_rejections() {
        let sig = sign_kie("k", "task-1", 1_700_000_000);
        let ok = req(
            &[
                ("X-Webhook-Timestamp", "1700000000".into()),
                ("X-Webhook-Signature", sig),
            ],
            "{}",
        );
        let tol = Duration::from_secs(300);
        assert_eq!(verify_kie("k", "task-1", &ok, 1_700_000_000, tol), Ok(()));
        assert_eq!(
            verify_kie("k", "task-2", &ok, 1_700_000_000, tol),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_kie("other", "task-1", &ok, 1_700_000_000, tol),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_kie("k", "task-1", &ok, 1_800_000_000, tol),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            verify_kie("k", "task-1", &req(&[], "{}"), 0, tol),
            Err(WebhookError::MissingHeader("x-webhook-timestamp".into()))
        );
    }

    #[test]
    fn url_tokens_compare() {
        let mut r = req(&[], "");
        assert_eq!(verify_url_token("abc", &r), Err(WebhookError::BadSignature));
        r.query_token = Some("abc".into());
        assert_eq!(verify_url_token("abc", &r), Ok(()));
        assert_eq!(verify_url_token("abd", &r), Err(WebhookError::BadSignature));
    }
}
