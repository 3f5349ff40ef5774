//! Webhook signatures: fal's ED25519 scheme against a JWKS, and Standard Webhooks with key
//! rotation and malformed signatures.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use ed25519_dalek::{Signer, SigningKey};
use runtime::keys::{KeyError, Secret};
use runtime::model::{Signature, WebhookRule};
use runtime::webhook::{
    Check, DEFAULT_TOLERANCE, Jwks, JwksError, KeyProblem, Verified, WebhookError, WebhookRequest,
    sign_standard_webhooks, verify, verify_fal, verify_standard_webhooks,
    verify_standard_webhooks_delivery,
};
use sha2::{Digest, Sha256};

const NOW: i64 = 1_700_000_000;
const BODY: &str =
    r#"{"request_id":"req-1","gateway_request_id":"req-1","status":"OK","payload":{"images":[]}}"#;

fn request(headers: &[(&str, String)], body: &[u8]) -> WebhookRequest {
    let mut h = http::HeaderMap::new();
    for (k, v) in headers {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    WebhookRequest {
        headers: h,
        body: Bytes::copy_from_slice(body),
        query_token: None,
    }
}

// ---- fal ----

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn jwk(key: &SigningKey, kid: &str) -> serde_json::Value {
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
        "kid": kid,
        "use": "sig",
    })
}

fn jwks(keys: &[&SigningKey]) -> Jwks {
    let doc = serde_json::json!({
        "keys": keys
            .iter()
            .enumerate()
            .map(|(i, k)| jwk(k, &format!("key-{i}")))
            .collect::<Vec<_>>(),
    });
    Jwks::parse(&doc.to_string()).unwrap()
}

/// A fal delivery of `body` signed by `key` at `timestamp`, the message built here from the
/// scheme's description (not by the code under test).
fn fal_delivery(key: &SigningKey, timestamp: i64, body: &[u8]) -> WebhookRequest {
    let digest: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let message = format!("req-1\nuser-7\n{timestamp}\n{digest}");
    let signature: String = key
        .sign(message.as_bytes())
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    request(
        &[
            ("X-Fal-Webhook-Request-Id", "req-1".into()),
            ("X-Fal-Webhook-User-Id", "user-7".into()),
            ("X-Fal-Webhook-Timestamp", timestamp.to_string()),
            ("X-Fal-Webhook-Signature", signature),
        ],
        body,
    )
}

fn with_header(req: &WebhookRequest, name: &'static str, value: &str) -> WebhookRequest {
    let mut req = req.clone();
    req.headers.insert(name, value.parse().unwrap());
    req
}

#[test]
fn fal_valid_delivery_passes_and_names_its_request() {
    let k = key(1);
    let req = fal_delivery(&k, NOW, BODY.as_bytes());
    assert_eq!(
        verify_fal(&jwks(&[&k]), &req, NOW + 5, DEFAULT_TOLERANCE),
        Ok(Verified {
            delivery_id: None,
            signed_task_id: Some("req-1".into()),
        })
    );
}

#[test]
fn fal_body_changed_by_one_byte_fails() {
    let k = key(1);
    let keys = jwks(&[&k]);
    let mut req = fal_delivery(&k, NOW, BODY.as_bytes());
    let mut body = BODY.as_bytes().to_vec();
    let at = BODY.find("OK").unwrap();
    body[at] = b'N';
    req.body = Bytes::from(body);
    assert_eq!(
        verify_fal(&keys, &req, NOW, DEFAULT_TOLERANCE),
        Err(WebhookError::BadSignature)
    );
    // One more trailing byte is a different body too.
    let mut longer = BODY.as_bytes().to_vec();
    longer.push(b' ');
    req.body = Bytes::from(longer);
    assert_eq!(
        verify_fal(&keys, &req, NOW, DEFAULT_TOLERANCE),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn fal_signed_headers_cannot_be_swapped() {
    let k = key(1);
    let keys = jwks(&[&k]);
    let req = fal_delivery(&k, NOW, BODY.as_bytes());
    for (name, value) in [
        ("x-fal-webhook-request-id", "req-2"),
        ("x-fal-webhook-user-id", "user-8"),
        ("x-fal-webhook-timestamp", "1700000001"),
    ] {
        assert_eq!(
            verify_fal(
                &keys,
                &with_header(&req, name, value),
                NOW,
                DEFAULT_TOLERANCE
            ),
            Err(WebhookError::BadSignature),
            "{name}"
        );
    }
}

#[test]
fn fal_stale_or_future_timestamp_fails() {
    let k = key(1);
    let keys = jwks(&[&k]);
    let req = fal_delivery(&k, NOW, BODY.as_bytes());
    assert_eq!(
        verify_fal(&keys, &req, NOW + 300, DEFAULT_TOLERANCE).map(drop),
        Ok(())
    );
    assert_eq!(
        verify_fal(&keys, &req, NOW + 301, DEFAULT_TOLERANCE),
        Err(WebhookError::Stale)
    );
    assert_eq!(
        verify_fal(&keys, &req, NOW - 301, DEFAULT_TOLERANCE),
        Err(WebhookError::Stale)
    );
    // The tolerance is the caller's (the provider rule's `tolerance`).
    let ten_minutes = Duration::from_secs(600);
    assert_eq!(
        verify_fal(&keys, &req, NOW + 360, ten_minutes).map(drop),
        Ok(())
    );
    assert_eq!(
        verify_fal(&keys, &req, NOW + 360, Duration::from_secs(60)),
        Err(WebhookError::Stale)
    );
    let not_a_number = with_header(&req, "x-fal-webhook-timestamp", "yesterday");
    assert_eq!(
        verify_fal(&keys, &not_a_number, NOW, DEFAULT_TOLERANCE),
        Err(WebhookError::Stale)
    );
}

#[test]
fn fal_key_not_in_the_jwks_fails() {
    let req = fal_delivery(&key(2), NOW, BODY.as_bytes());
    assert_eq!(
        verify_fal(&jwks(&[&key(1)]), &req, NOW, DEFAULT_TOLERANCE),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verify_fal(&jwks(&[&key(1), &key(3)]), &req, NOW, DEFAULT_TOLERANCE),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn fal_jwks_with_two_keys_accepts_either() {
    let (old, new) = (key(1), key(2));
    let keys = jwks(&[&old, &new]);
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys.kids().collect::<Vec<_>>(),
        [Some("key-0"), Some("key-1")]
    );
    for k in [&old, &new] {
        let req = fal_delivery(k, NOW, BODY.as_bytes());
        assert_eq!(
            verify_fal(&keys, &req, NOW, DEFAULT_TOLERANCE).map(drop),
            Ok(())
        );
    }
}

#[test]
fn fal_malformed_signature_or_missing_header_fails() {
    let k = key(1);
    let keys = jwks(&[&k]);
    let req = fal_delivery(&k, NOW, BODY.as_bytes());
    let sig = req.headers["x-fal-webhook-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    );
    let upper = sig.to_uppercase();
    assert_eq!(
        verify_fal(
            &keys,
            &with_header(&req, "x-fal-webhook-signature", &upper),
            NOW,
            DEFAULT_TOLERANCE
        )
        .map(drop),
        Ok(())
    );
    for bad in [
        flipped.as_str(),
        &sig[..126],
        &STANDARD.encode([0u8; 64]),
        "zz",
    ] {
        assert_eq!(
            verify_fal(
                &keys,
                &with_header(&req, "x-fal-webhook-signature", bad),
                NOW,
                DEFAULT_TOLERANCE
            ),
            Err(WebhookError::BadSignature),
            "{bad}"
        );
    }
    let mut missing = req.clone();
    missing.headers.remove("x-fal-webhook-user-id");
    assert_eq!(
        verify_fal(&keys, &missing, NOW, DEFAULT_TOLERANCE),
        Err(WebhookError::MissingHeader("x-fal-webhook-user-id".into()))
    );
}

#[test]
fn malformed_jwks_gives_a_typed_error_naming_the_problem() {
    let x = URL_SAFE_NO_PAD.encode(key(1).verifying_key().to_bytes());
    let cases: Vec<(String, JwksError, &str)> = vec![
        (
            "{\"keys\": [".into(),
            JwksError::NotJson { line: 1, column: 10 },
            "the JWKS is not JSON (line 1, column 10)",
        ),
        (
            r#"{"kty":"OKP"}"#.into(),
            JwksError::NoKeysArray,
            "the JWKS has no `keys` array",
        ),
        (
            r#"{"keys": {}}"#.into(),
            JwksError::NoKeysArray,
            "the JWKS has no `keys` array",
        ),
        (
            r#"{"keys": []}"#.into(),
            JwksError::NoEd25519Key { ignored: 0 },
            "the JWKS has no Ed25519 key (0 other key(s) ignored)",
        ),
        (
            r#"{"keys": ["abc"]}"#.into(),
            JwksError::NotAnObject { index: 0 },
            "keys[0] is not an object",
        ),
        (
            r#"{"keys": [{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"X25519","x":"AA"}]}"#
                .into(),
            JwksError::NoEd25519Key { ignored: 2 },
            "the JWKS has no Ed25519 key (2 other key(s) ignored)",
        ),
        (
            format!(r#"{{"keys": [{{"kty":"OKP","crv":"Ed25519","x":"{x}"}},{{"kty":"OKP","crv":"Ed25519","kid":"k2"}}]}}"#),
            JwksError::BadKey {
                index: 1,
                kid: Some("k2".into()),
                problem: KeyProblem::MissingX,
            },
            "keys[1] (kid \"k2\"): `x` is missing",
        ),
        (
            r#"{"keys": [{"kty":"OKP","crv":"Ed25519","x":"not base64!"}]}"#.into(),
            JwksError::BadKey {
                index: 0,
                kid: None,
                problem: KeyProblem::NotBase64Url,
            },
            "keys[0]: `x` is not base64url",
        ),
        (
            format!(r#"{{"keys": [{{"kty":"OKP","crv":"Ed25519","x":"{}"}}]}}"#, &x[..40]),
            JwksError::BadKey {
                index: 0,
                kid: None,
                problem: KeyProblem::WrongLength(30),
            },
            "keys[0]: `x` is 30 bytes, expected 32",
        ),
        (
            // The identity point: a valid encoding of a small-order point.
            format!(
                r#"{{"keys": [{{"kty":"OKP","crv":"Ed25519","x":"{}","kid":"weak"}}]}}"#,
                URL_SAFE_NO_PAD.encode({
                    let mut b = [0u8; 32];
                    b[0] = 1;
                    b
                })
            ),
            JwksError::BadKey {
                index: 0,
                kid: Some("weak".into()),
                problem: KeyProblem::Weak,
            },
            "keys[0] (kid \"weak\"): `x` is a weak Ed25519 public key",
        ),
    ];
    for (doc, error, message) in cases {
        let got = Jwks::parse(&doc).unwrap_err();
        assert_eq!(got, error, "{doc}");
        assert_eq!(got.to_string(), message, "{doc}");
        assert!(!got.to_string().contains(&x));
        let as_webhook = WebhookError::from(got);
        assert_eq!(as_webhook.status(), 500);
        assert_eq!(
            as_webhook.to_string(),
            format!("webhook public keys: {message}")
        );
    }
}

#[test]
fn jwks_ignores_keys_of_other_types_and_accepts_padded_x() {
    let k = key(1);
    let padded = base64::engine::general_purpose::URL_SAFE.encode(k.verifying_key().to_bytes());
    assert!(padded.ends_with('='));
    let doc = format!(
        r#"{{"keys": [
            {{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"rsa"}},
            {{"kty":"OKP","crv":"Ed25519","use":"enc","x":"AA"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{padded}","kid":"ed"}}
        ]}}"#
    );
    let keys = Jwks::parse(&doc).unwrap();
    assert_eq!(keys.kids().collect::<Vec<_>>(), [Some("ed")]);
    let req = fal_delivery(&k, NOW, BODY.as_bytes());
    assert_eq!(
        verify_fal(&keys, &req, NOW, DEFAULT_TOLERANCE).map(drop),
        Ok(())
    );
    // Debug names the kids, not the keys.
    assert_eq!(format!("{keys:?}"), r#"Jwks { kids: [Some("ed")] }"#);
}

/// A resolver over fixed values, like the engine's key resolver.
fn config(values: &[(&str, &str)]) -> impl FnMut(&str) -> Result<Secret, KeyError> {
    let values: Vec<(String, String)> = values
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| {
        values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Secret::new(v.as_str()))
            .ok_or_else(|| KeyError::NotSet(name.to_owned()))
    }
}

#[test]
fn jwks_comes_from_the_document_or_a_file_named_in_configuration() {
    let k = key(1);
    let doc = serde_json::json!({ "keys": [jwk(&k, "main")] }).to_string();
    let path = std::env::temp_dir().join(format!("fal-jwks-{}.json", std::process::id()));
    std::fs::write(&path, &doc).unwrap();
    let path_str = path.to_str().unwrap();

    let from_doc = Jwks::from_config(
        "FAL_WEBHOOK_JWKS",
        &mut config(&[("FAL_WEBHOOK_JWKS", &doc)]),
    );
    assert_eq!(from_doc.unwrap().kids().collect::<Vec<_>>(), [Some("main")]);
    let from_file = Jwks::from_config(
        "FAL_WEBHOOK_JWKS",
        &mut config(&[("FAL_WEBHOOK_JWKS_FILE", path_str)]),
    );
    assert_eq!(from_file.unwrap().len(), 1);
    assert_eq!(
        Jwks::from_config(
            "FAL_WEBHOOK_JWKS",
            &mut config(&[
                ("FAL_WEBHOOK_JWKS", &doc),
                ("FAL_WEBHOOK_JWKS_FILE", path_str)
            ]),
        )
        .unwrap_err(),
        WebhookError::BadKeys(JwksError::Ambiguous {
            name: "FAL_WEBHOOK_JWKS".into()
        })
    );
    assert_eq!(
        Jwks::from_config("FAL_WEBHOOK_JWKS", &mut config(&[])).unwrap_err(),
        WebhookError::MissingSecret("FAL_WEBHOOK_JWKS (or FAL_WEBHOOK_JWKS_FILE)".into())
    );
    let missing = path.with_extension("absent");
    let err = Jwks::from_config(
        "FAL_WEBHOOK_JWKS",
        &mut config(&[("FAL_WEBHOOK_JWKS_FILE", missing.to_str().unwrap())]),
    )
    .unwrap_err();
    assert_eq!(
        err,
        WebhookError::BadKeys(JwksError::Read {
            path: missing.display().to_string(),
            kind: std::io::ErrorKind::NotFound,
        })
    );
    std::fs::write(&path, "{\"keys\": 1}").unwrap();
    assert_eq!(
        Jwks::from_config(
            "FAL_WEBHOOK_JWKS",
            &mut config(&[("FAL_WEBHOOK_JWKS_FILE", path_str)])
        )
        .unwrap_err(),
        WebhookError::BadKeys(JwksError::NoKeysArray)
    );
    std::fs::remove_file(&path).unwrap();
}

const FAL_RULE: WebhookRule = WebhookRule {
    signature: Signature::FalEd25519,
    secret_name: Some("FAL_WEBHOOK_JWKS"),
    task_id: &["/request_id"],
    confirm_by_poll: false,
    tolerance: Some(Duration::from_secs(300)),
};

#[test]
fn verify_dispatches_fal_deliveries_to_the_jwks() {
    let k = key(1);
    let keys = jwks(&[&k]);
    let req = fal_delivery(&k, NOW, BODY.as_bytes());
    let check = Check {
        task_id: None,
        url_token: None,
        jwks: Some(&keys),
        now_secs: NOW,
    };
    let mut nothing = config(&[]);
    assert_eq!(
        verify(&FAL_RULE, &req, check, &mut nothing),
        Ok(Verified {
            delivery_id: None,
            signed_task_id: Some("req-1".into()),
        })
    );
    let other = jwks(&[&key(2)]);
    assert_eq!(
        verify(
            &FAL_RULE,
            &req,
            Check {
                jwks: Some(&other),
                ..check
            },
            &mut nothing
        ),
        Err(WebhookError::BadSignature)
    );
    let strict = WebhookRule {
        tolerance: Some(Duration::from_secs(10)),
        ..FAL_RULE
    };
    assert_eq!(
        verify(
            &strict,
            &req,
            Check {
                now_secs: NOW + 11,
                ..check
            },
            &mut nothing
        ),
        Err(WebhookError::Stale)
    );
    assert_eq!(
        verify(
            &FAL_RULE,
            &req,
            Check {
                jwks: None,
                ..check
            },
            &mut nothing
        ),
        Err(WebhookError::MissingSecret("FAL_WEBHOOK_JWKS".into()))
    );
}

// ---- Standard Webhooks ----

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_b3RoZXIgc2VjcmV0IG9mIDI0IGJ5dGVz";

fn sw_delivery(signature: &str) -> WebhookRequest {
    request(
        &[
            ("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".into()),
            ("webhook-timestamp", NOW.to_string()),
            ("webhook-signature", signature.to_owned()),
        ],
        BODY.as_bytes(),
    )
}

fn sw_sign(secret: &str) -> String {
    sign_standard_webhooks(
        secret,
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        NOW,
        BODY.as_bytes(),
    )
    .unwrap()
}

fn sw(signature: &str) -> Result<(), WebhookError> {
    verify_standard_webhooks(SECRET, &sw_delivery(signature), NOW, DEFAULT_TOLERANCE)
}

#[test]
fn standard_webhooks_correct_signature_passes_and_gives_the_delivery_id() {
    assert_eq!(sw(&sw_sign(SECRET)), Ok(()));
    assert_eq!(
        verify_standard_webhooks_delivery(
            SECRET,
            &sw_delivery(&sw_sign(SECRET)),
            NOW,
            DEFAULT_TOLERANCE
        ),
        Ok(Verified {
            delivery_id: Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".into()),
            signed_task_id: None,
        })
    );
}

#[test]
fn standard_webhooks_signature_matches_the_reference_computation() {
    // HMAC-SHA256 over `id.timestamp.body` keyed with the decoded secret, computed here.
    use hmac::{Hmac, Mac};
    let key = STANDARD.decode(&SECRET["whsec_".len()..]).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.{NOW}.{BODY}").as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(sw_sign(SECRET), expected);
    assert_eq!(sw(&expected), Ok(()));
}

#[test]
fn standard_webhooks_wrong_secret_fails() {
    assert_eq!(sw(&sw_sign(OTHER_SECRET)), Err(WebhookError::BadSignature));
}

#[test]
fn standard_webhooks_accepts_any_of_several_signatures() {
    let good = sw_sign(SECRET);
    let old = sw_sign(OTHER_SECRET);
    assert_eq!(sw(&format!("{old} {good}")), Ok(()));
    assert_eq!(sw(&format!("{good} {old}")), Ok(()));
    assert_eq!(sw(&format!("v1, {good}")), Ok(()));
    assert_eq!(sw(&format!("v1a,c2lnbmF0dXJl  {good}")), Ok(()));
    assert_eq!(sw(&format!("{old} {old}")), Err(WebhookError::BadSignature));
}

#[test]
fn standard_webhooks_refuses_a_bare_v1() {
    assert_eq!(sw("v1,"), Err(WebhookError::BadSignature));
    assert_eq!(sw("v1, v1,"), Err(WebhookError::BadSignature));
    assert_eq!(sw("v1"), Err(WebhookError::BadSignature));
    assert_eq!(sw(","), Err(WebhookError::BadSignature));
}

#[test]
fn standard_webhooks_refuses_a_truncated_signature() {
    let good = sw_sign(SECRET);
    for cut in [1, 2, 4, 8, 40] {
        let truncated = &good[..good.len() - cut];
        assert_eq!(
            sw(truncated),
            Err(WebhookError::BadSignature),
            "{truncated}"
        );
    }
    // A prefix of the right MAC, re-encoded as valid base64, is not the MAC either.
    let mac = STANDARD.decode(&good[3..]).unwrap();
    for len in [0, 1, 16, 31] {
        let short = format!("v1,{}", STANDARD.encode(&mac[..len]));
        assert_eq!(sw(&short), Err(WebhookError::BadSignature), "{short}");
    }
}

#[test]
fn standard_webhooks_refuses_a_non_base64_signature() {
    let good = sw_sign(SECRET);
    let mangled = good.replace(['+', '/'], "-");
    let not_b64 = if mangled == good {
        format!("v1,{}*", &good[3..good.len() - 1])
    } else {
        mangled
    };
    assert_eq!(sw(&not_b64), Err(WebhookError::BadSignature));
    assert_eq!(sw("v1,!!!!"), Err(WebhookError::BadSignature));
    assert_eq!(
        sw(&format!("v1,{}", "A".repeat(44))),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn standard_webhooks_keeps_the_300_second_tolerance() {
    let req = sw_delivery(&sw_sign(SECRET));
    let at = |now| verify_standard_webhooks(SECRET, &req, now, DEFAULT_TOLERANCE);
    assert_eq!(DEFAULT_TOLERANCE, Duration::from_secs(300));
    assert_eq!(at(NOW + 300), Ok(()));
    assert_eq!(at(NOW - 300), Ok(()));
    assert_eq!(at(NOW + 301), Err(WebhookError::Stale));
    assert_eq!(at(NOW - 301), Err(WebhookError::Stale));
}

#[test]
fn standard_webhooks_needs_every_header() {
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut req = sw_delivery(&sw_sign(SECRET));
        req.headers.remove(name);
        assert_eq!(
            verify_standard_webhooks(SECRET, &req, NOW, DEFAULT_TOLERANCE),
            Err(WebhookError::MissingHeader(name.into()))
        );
    }
}

#[test]
fn errors_never_carry_the_body_or_a_key() {
    let k = key(1);
    let x = URL_SAFE_NO_PAD.encode(k.verifying_key().to_bytes());
    let req = fal_delivery(&key(2), NOW, BODY.as_bytes());
    let err = verify_fal(&jwks(&[&k]), &req, NOW, DEFAULT_TOLERANCE).unwrap_err();
    let sw_err = sw(&sw_sign(OTHER_SECRET)).unwrap_err();
    for text in [
        err.to_string(),
        format!("{err:?}"),
        sw_err.to_string(),
        format!("{sw_err:?}"),
    ] {
        assert!(!text.contains("request_id"), "{text}");
        assert!(!text.contains(&x), "{text}");
        assert!(!text.contains(&SECRET[6..]), "{text}");
    }
}
