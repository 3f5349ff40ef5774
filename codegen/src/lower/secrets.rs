//! No literal that looks like a secret may stand in a spec: specs name key scopes, and the
//! runtime resolves them.

use serde_json::Value;

use super::{Annotate, Reporter};
use crate::diag::{Code, Diagnostics};
use crate::spec::load::Loaded;
use crate::spec::yaml::escape_token;

/// Report every string value of the file that looks like a credential.
pub(super) fn check<T>(loaded: &Loaded<T>, diags: &mut Diagnostics) {
    let mut found = Vec::new();
    walk(&loaded.raw, &mut String::new(), &mut found);
    let mut r = Reporter::new(loaded, diags);
    for (pointer, why) in found {
        r.at(Code::LiteralSecret, &pointer, format!("this looks like a secret ({why})"))
            .expect("no credentials in a spec")
            .help("name a key scope in `key_scope` and put the key in the environment (see `codegen keys`); if this is not a secret, rephrase it");
    }
}

/// Collect `(pointer, why)` for every suspicious value under `v`, whose pointer is `pointer`.
/// The pointer is one buffer grown and cut back on the way, and copied only for a finding.
fn walk(v: &Value, pointer: &mut String, out: &mut Vec<(String, &'static str)>) {
    let len = pointer.len();
    match v {
        Value::String(s) => {
            if let Some(why) = looks_like_secret(s) {
                out.push((pointer.clone(), why));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                use std::fmt::Write as _;
                let _ = write!(pointer, "/{i}");
                walk(item, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Object(members) => {
            for (k, item) in members {
                pointer.push('/');
                pointer.push_str(&escape_token(k));
                if is_auth_header(k) {
                    out.push((pointer.clone(), "a credential header"));
                } else {
                    walk(item, pointer, out);
                }
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn is_auth_header(name: &str) -> bool {
    ["authorization", "x-api-key", "api-key", "x-auth-token"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Why `s` looks like a secret, if it does.
pub fn looks_like_secret(s: &str) -> Option<&'static str> {
    let t = s.trim();
    for (prefix, why, min) in [
        ("sk-", "an `sk-` API key", 20),
        ("sk_live_", "a live secret key", 16),
        ("whsec_", "a webhook signing secret", 16),
        ("AKIA", "an AWS access key", 16),
        ("ghp_", "a GitHub token", 20),
        ("xoxb-", "a Slack token", 20),
        ("Bearer ", "a bearer token", 20),
        ("Basic ", "basic credentials", 12),
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            if t.len() >= min && !rest.contains("{{") && !rest.contains(char::is_whitespace) {
                return Some(why);
            }
        }
    }
    if t.contains("-----BEGIN") && t.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    // A long unbroken token mixing letters and digits, with no spaces, slashes or dots (which
    // would make it a URL, a path, a model name or prose).
    let long_token = t.len() >= 32
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes().any(|b| b.is_ascii_lowercase())
        && t.bytes().any(|b| b.is_ascii_uppercase());
    if long_token {
        return Some("a long random token");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::looks_like_secret;

    #[test]
    fn flags_keys_not_prose() {
        // Built at run time so the source holds no key-shaped literal.
        assert!(looks_like_secret(&format!("sk-{}", "abcdefghijklmnopqrstuvwx")).is_some());
        assert!(looks_like_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_some());
        assert!(looks_like_secret("Bearer abcdefghijklmnopqrstuvwxyz0123").is_some());
        assert!(looks_like_secret("aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3").is_some());
        assert!(looks_like_secret("bytedance/v1-lite-text-to-video").is_none());
        assert!(looks_like_secret("KIE_AI_API_KEY_PROMPT_TO_VIDEO").is_none());
        assert!(looks_like_secret("A red apple on a table").is_none());
        assert!(looks_like_secret("sk-").is_none());
    }
}
