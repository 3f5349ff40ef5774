//! Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` headers,
//! HMAC-SHA256 over `id.timestamp.body` keyed with the base64-decoded part of a `whsec_`
//! secret.
//!
//! `webhook-signature` is a space-separated list of `v1,<base64>` entries: a sender rotating
//! its secret signs with the old and the new one, and one matching entry is enough. An entry
//! that is not `v1,` followed by exactly one base64 HMAC-SHA256 (a bare `v1,`, a truncated or
//! non-base64 value, another version) never matches. Every well-formed entry is compared in
//! constant time, and all of them are compared, so the time taken does not say which one
//! matched.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use subtle::{Choice, ConstantTimeEq};

use super::{Verified, WebhookError, WebhookRequest, check_time, hmac};

/// The length of an HMAC-SHA256.
const MAC_LEN: usize = 32;

fn whsec_key(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let raw = secret.strip_prefix("whsec_").unwrap_or(secret);
    match B64.decode(raw) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(WebhookError::BadSecret),
    }
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

/// Verify a Standard Webhooks delivery; [`verify_standard_webhooks_delivery`] also returns its
/// delivery id.
pub fn verify_standard_webhooks(
    secret: &str,
    req: &WebhookRequest,
    now_secs: i64,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    verify_standard_webhooks_delivery(secret, req, now_secs, tolerance).map(drop)
}

/// Verify a Standard Webhooks delivery and return its `webhook-id` as
/// [`Verified::delivery_id`]: the sender keeps it across retries of one message, so a caller
/// that records it can drop a second delivery of the same message.
pub fn verify_standard_webhooks_delivery(
    secret: &str,
    req: &WebhookRequest,
    now_secs: i64,
    tolerance: Duration,
) -> Result<Verified, WebhookError> {
    let id = req.header("webhook-id")?;
    let ts = req.header("webhook-timestamp")?;
    let sigs = req.header("webhook-signature")?;
    check_time(ts, now_secs, tolerance)?;
    let key = whsec_key(secret)?;
    let expected = hmac(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", &req.body]);
    let matched = sigs
        .split_ascii_whitespace()
        .filter_map(decode_v1)
        .fold(Choice::from(0), |acc, sig| acc | sig.ct_eq(&expected[..]));
    if bool::from(matched) {
        Ok(Verified {
            delivery_id: Some(id.to_owned()),
            signed_task_id: None,
        })
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The MAC of one `v1,<base64>` entry, if it is one: exactly 32 bytes in canonical base64.
fn decode_v1(entry: &str) -> Option<[u8; MAC_LEN]> {
    let b64 = entry.strip_prefix("v1,")?;
    let mut mac = [0u8; MAC_LEN];
    // Canonical padded base64 of 32 bytes is 44 characters; anything else is refused before
    // decoding, so a truncated value cannot decode into a shorter MAC.
    if b64.len() != 44 {
        return None;
    }
    match B64.decode_slice(b64, &mut mac) {
        Ok(MAC_LEN) => Some(mac),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::req;
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn round_trip_and_rejections() {
        let body = r#"{"id":"p1","status":"succeeded"}"#;
        let sig = sign_standard_webhooks(SECRET, "msg_1", 1_700_000_000, body.as_bytes()).unwrap();
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
            verify_standard_webhooks(SECRET, &ok, 1_700_000_010, tol),
            Ok(())
        );
        assert_eq!(
            verify_standard_webhooks_delivery(SECRET, &ok, 1_700_000_010, tol),
            Ok(Verified {
                delivery_id: Some("msg_1".into()),
                signed_task_id: None,
            })
        );
        assert_eq!(
            verify_standard_webhooks(SECRET, &ok, 1_700_000_400, tol),
            Err(WebhookError::Stale)
        );
        let tampered = WebhookRequest {
            body: bytes::Bytes::from_static(b"{\"id\":\"p1\",\"status\":\"failed\"}"),
            ..ok.clone()
        };
        assert_eq!(
            verify_standard_webhooks(SECRET, &tampered, 1_700_000_010, tol),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_standard_webhooks("whsec_b3RoZXI=", &ok, 1_700_000_010, tol),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn only_whole_v1_macs_decode() {
        let mac = B64.encode([7u8; 32]);
        assert_eq!(decode_v1(&format!("v1,{mac}")), Some([7u8; 32]));
        assert_eq!(decode_v1("v1,"), None);
        assert_eq!(decode_v1(&format!("v2,{mac}")), None);
        assert_eq!(decode_v1(&format!("v1,{}", &mac[..40])), None);
        assert_eq!(decode_v1(&format!("v1,{}", &mac[..43])), None);
        assert_eq!(decode_v1(&format!("v1,{}", mac.replace('=', "!"))), None);
        assert_eq!(decode_v1(&format!("v1,{}", B64.encode([7u8; 33]))), None);
    }

    #[test]
    fn an_empty_secret_is_malformed() {
        assert_eq!(whsec_key("whsec_"), Err(WebhookError::BadSecret));
        assert_eq!(whsec_key("whsec_***"), Err(WebhookError::BadSecret));
    }
}
