//! fal's webhook signature: ED25519 over
//! `request_id + "\n" + user_id + "\n" + timestamp + "\n" + hex(sha256(body))`, with the
//! values of the `X-Fal-Webhook-Request-Id`, `X-Fal-Webhook-User-Id` and
//! `X-Fal-Webhook-Timestamp` headers (Unix seconds) and the signature as 128 hex digits in
//! `X-Fal-Webhook-Signature`. A signature valid under any key of the configured [`Jwks`] is
//! accepted, so fal can rotate its keys while both are listed.

use std::fmt::Write as _;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Jwks, Verified, WebhookError, WebhookRequest, check_time};

/// The request id header (the fal request the delivery is about).
pub const FAL_REQUEST_ID: &str = "x-fal-webhook-request-id";
/// The user id header.
pub const FAL_USER_ID: &str = "x-fal-webhook-user-id";
/// The timestamp header (Unix seconds).
pub const FAL_TIMESTAMP: &str = "x-fal-webhook-timestamp";
/// The signature header (hex ED25519 signature).
pub const FAL_SIGNATURE: &str = "x-fal-webhook-signature";

/// Verify a fal delivery against `keys`. The signed request id comes back as
/// [`Verified::signed_task_id`]; fal gives no separate delivery id.
pub fn verify_fal(
    keys: &Jwks,
    req: &WebhookRequest,
    now_secs: i64,
    tolerance: Duration,
) -> Result<Verified, WebhookError> {
    let request_id = req.header(FAL_REQUEST_ID)?;
    let user_id = req.header(FAL_USER_ID)?;
    let timestamp = req.header(FAL_TIMESTAMP)?;
    let signature = req.header(FAL_SIGNATURE)?;
    check_time(timestamp, now_secs, tolerance)?;
    let signature = decode_signature(signature).ok_or(WebhookError::BadSignature)?;
    let mut message = format!("{request_id}\n{user_id}\n{timestamp}\n");
    for b in Sha256::digest(&req.body) {
        let _ = write!(message, "{b:02x}");
    }
    if keys.verifies(message.as_bytes(), &signature) {
        Ok(Verified {
            delivery_id: None,
            signed_task_id: Some(request_id.to_owned()),
        })
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// 128 hex digits (either case) as a signature.
fn decode_signature(hex: &str) -> Option<ed25519_dalek::Signature> {
    let hex = hex.as_bytes();
    if hex.len() != 2 * ed25519_dalek::SIGNATURE_LENGTH {
        return None;
    }
    let mut bytes = [0u8; ed25519_dalek::SIGNATURE_LENGTH];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(ed25519_dalek::Signature::from_bytes(&bytes))
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_128_hex_digits() {
        let hex = "0f".repeat(64);
        assert_eq!(
            decode_signature(&hex).map(|s| s.to_bytes()),
            Some([15u8; 64])
        );
        assert_eq!(
            decode_signature(&"AB".repeat(64)).map(|s| s.to_bytes()),
            Some([0xab; 64])
        );
        assert!(decode_signature(&hex[..126]).is_none());
        assert!(decode_signature(&format!("{hex}00")).is_none());
        assert!(decode_signature(&"zz".repeat(64)).is_none());
        assert!(decode_signature("").is_none());
    }
}
