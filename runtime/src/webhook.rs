//! Webhook verification by the provider's declared scheme.
//!
//! - Standard Webhooks (Replicate): `webhook-id`, `webhook-timestamp`, `webhook-signature`
//!   (space-separated `v1,<base64>`), HMAC-SHA256 over `id.timestamp.body` keyed with the
//!   base64-decoded part of a `whsec_` secret; stale or future timestamps are rejected, and
//!   any one of several signatures may match (key rotation). See [`verify_standard_webhooks`].
//! - KIE: `X-Webhook-Timestamp` and `X-Webhook-Signature` = base64(HMAC-SHA256(key,
//!   `taskId.timestamp`)). The body is not covered: the engine confirms results by a poll.
//! - fal: ED25519 over `request_id \n user_id \n timestamp \n hex(sha256(body))`, checked
//!   against the public keys of a JWKS document read from configuration ([`Jwks`]); any key
//!   of the set may match (key rotation). See [`verify_fal`].
//! - URL token: the per-generation token of the callback URL, compared in constant time.
//!
//! Secrets are compared in constant time (`subtle`). Errors carry header and secret names,
//! never a key, a signature or the body.
//!
//! [`verify`] dispatches on the provider's [`Signature`] and returns what the delivery proved
//! ([`Verified`]), including the Standard Webhooks delivery id to dedupe on.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::keys::{KeyError, Secret};
use crate::model::{Signature, WebhookRule};

mod fal;
mod jwks;
mod standard;

pub use fal::{FAL_REQUEST_ID, FAL_SIGNATURE, FAL_TIMESTAMP, FAL_USER_ID, verify_fal};
pub use jwks::{Jwks, JwksError, KeyProblem};
pub use standard::{
    sign_standard_webhooks, verify_standard_webhooks, verify_standard_webhooks_delivery,
};

type HmacSha256 = Hmac<Sha256>;

/// The timestamp tolerance of a provider whose webhook rule sets none.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

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
    /// The trimmed value of header `name`; absent, empty or not text is missing.
    fn header(&self, name: &str) -> Result<&str, WebhookError> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| WebhookError::MissingHeader(name.to_owned()))
    }
}

/// What a verified delivery proved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// The provider's id of this message, the same on every retry of it (Standard Webhooks
    /// `webhook-id`). Record it and drop a delivery whose id was already handled.
    pub delivery_id: Option<String>,
    /// The provider's task id when the signature covers it (fal's `X-Fal-Webhook-Request-Id`,
    /// KIE's task id). Compare it with the generation's task id.
    pub signed_task_id: Option<String>,
}

/// What [`verify`] needs besides the delivery and the provider's rule.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    /// The task id read from the body (KIE signs it, not the body).
    pub task_id: Option<&'a str>,
    /// The generation's callback token (URL-token scheme); `None` refuses the delivery.
    pub url_token: Option<&'a str>,
    /// The provider's public keys (fal), loaded once from configuration with
    /// [`Jwks::from_env`] or [`Jwks::from_config`]; `None` refuses the delivery.
    pub jwks: Option<&'a Jwks>,
    /// Unix seconds now.
    pub now_secs: i64,
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
    /// The configured public keys (a JWKS document) cannot be used.
    #[error("webhook public keys: {0}")]
    BadKeys(#[from] JwksError),
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
            WebhookError::MissingSecret(_) | WebhookError::BadSecret | WebhookError::BadKeys(_) => {
                500
            }
        }
    }
}

/// Verify `req` by `rule`'s scheme. `resolve` reads a configured value by name (the engine's
/// key resolver); it is asked only for what the scheme needs: the signing secret
/// `rule.secret_name` (Standard Webhooks, KIE). fal's public keys come in `check.jwks`, loaded
/// once from the configuration named by `rule.secret_name`. The tolerance is
/// `rule.tolerance`, else [`DEFAULT_TOLERANCE`].
pub fn verify(
    rule: &WebhookRule,
    req: &WebhookRequest,
    check: Check<'_>,
    resolve: &mut dyn FnMut(&str) -> Result<Secret, KeyError>,
) -> Result<Verified, WebhookError> {
    let tolerance = rule.tolerance.unwrap_or(DEFAULT_TOLERANCE);
    let name = || {
        rule.secret_name
            .ok_or_else(|| WebhookError::MissingSecret("(unnamed)".to_owned()))
    };
    let mut secret =
        |name: &str| resolve(name).map_err(|_| WebhookError::MissingSecret(name.to_owned()));
    match rule.signature {
        Signature::None => Ok(Verified::default()),
        Signature::UrlToken => {
            verify_url_token(check.url_token.unwrap_or(""), req)?;
            Ok(Verified::default())
        }
        Signature::StandardWebhooks => verify_standard_webhooks_delivery(
            secret(name()?)?.expose(),
            req,
            check.now_secs,
            tolerance,
        ),
        Signature::KieHmac => {
            let task_id = check
                .task_id
                .ok_or_else(|| WebhookError::Malformed("no task id".to_owned()))?;
            verify_kie(
                secret(name()?)?.expose(),
                task_id,
                req,
                check.now_secs,
                tolerance,
            )?;
            Ok(Verified {
                delivery_id: None,
                signed_task_id: Some(task_id.to_owned()),
            })
        }
        Signature::FalEd25519 => match check.jwks {
            Some(keys) => verify_fal(keys, req, check.now_secs, tolerance),
            None => Err(WebhookError::MissingSecret(name()?.to_owned())),
        },
    }
}

fn check_time(ts: &str, now_secs: i64, tolerance: Duration) -> Result<(), WebhookError> {
    let t: i64 = ts.parse().map_err(|_| WebhookError::Stale)?;
    if now_secs.abs_diff(t) > tolerance.as_secs() {
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

    pub(super) fn req(headers: &[(&'static str, String)], body: &str) -> WebhookRequest {
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

    #[test]
    fn an_empty_header_is_missing() {
        let r = req(
            &[
                ("X-Webhook-Timestamp", "  ".into()),
                ("X-Webhook-Signature", "x".into()),
            ],
            "{}",
        );
        assert_eq!(
            verify_kie("k", "t", &r, 0, DEFAULT_TOLERANCE),
            Err(WebhookError::MissingHeader("x-webhook-timestamp".into()))
        );
    }

    const RULE: WebhookRule = WebhookRule {
        signature: Signature::KieHmac,
        secret_name: Some("KIE_AI_WEBHOOK_HMAC_KEY"),
        task_id: &["/data/taskId"],
        confirm_by_poll: true,
        tolerance: None,
    };

    fn keys(name: &str) -> Result<Secret, KeyError> {
        match name {
            "KIE_AI_WEBHOOK_HMAC_KEY" => Ok(Secret::new("k")),
            "REPLICATE_WEBHOOK_SECRET" => Ok(Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
            other => Err(KeyError::NotSet(other.to_owned())),
        }
    }

    #[test]
    fn verify_dispatches_on_the_scheme() {
        let now = 1_700_000_000;
        let check = Check {
            task_id: Some("task-1"),
            url_token: None,
            jwks: None,
            now_secs: now,
        };
        let kie = req(
            &[
                ("X-Webhook-Timestamp", now.to_string()),
                ("X-Webhook-Signature", sign_kie("k", "task-1", now)),
            ],
            "{}",
        );
        assert_eq!(
            verify(&RULE, &kie, check, &mut keys),
            Ok(Verified {
                delivery_id: None,
                signed_task_id: Some("task-1".into()),
            })
        );
        // The default tolerance applies when the rule sets none.
        let late = Check {
            now_secs: now + 301,
            ..check
        };
        assert_eq!(
            verify(&RULE, &kie, late, &mut keys),
            Err(WebhookError::Stale)
        );
        let unnamed = WebhookRule {
            secret_name: Some("NOT_SET"),
            ..RULE
        };
        assert_eq!(
            verify(&unnamed, &kie, check, &mut keys),
            Err(WebhookError::MissingSecret("NOT_SET".into()))
        );

        let body = r#"{"id":"p1"}"#;
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sw = req(
            &[
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", now.to_string()),
                (
                    "webhook-signature",
                    sign_standard_webhooks(secret, "msg_1", now, body.as_bytes()).unwrap(),
                ),
            ],
            body,
        );
        let rule = WebhookRule {
            signature: Signature::StandardWebhooks,
            secret_name: Some("REPLICATE_WEBHOOK_SECRET"),
            ..RULE
        };
        assert_eq!(
            verify(&rule, &sw, check, &mut keys).map(|v| v.delivery_id),
            Ok(Some("msg_1".into()))
        );

        let mut token = req(&[], "{}");
        token.query_token = Some("tok".into());
        let rule = WebhookRule {
            signature: Signature::UrlToken,
            secret_name: None,
            ..RULE
        };
        let with_token = Check {
            url_token: Some("tok"),
            ..check
        };
        assert_eq!(
            verify(&rule, &token, with_token, &mut keys),
            Ok(Verified::default())
        );
        assert_eq!(
            verify(&rule, &token, check, &mut keys),
            Err(WebhookError::BadSignature)
        );
    }
}
