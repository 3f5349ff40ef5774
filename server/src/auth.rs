//! Bearer tokens: configured as SHA-256 digests, each mapped to a user id.
//!
//! The token file (`--tokens FILE`) and the `REGISTRY_TOKENS` variable hold one entry per line
//! (the variable may also separate entries with `,`): the lowercase or uppercase hex SHA-256 of
//! the token, whitespace, and the user id, a UUID. Blank lines and lines starting with `#` are
//! skipped.
//!
//! ```text
//! # sha256(token)                                                  user id
//! 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 6f1c2d3e-0000-4000-8000-000000000001
//! ```
//!
//! `printf %s "$TOKEN" | sha256sum` prints the digest. The server keeps only digests: a
//! presented token is hashed and looked up, so the file never holds a usable token.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The configured tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    by_digest: HashMap<[u8; 32], String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.by_digest.len())
            .finish()
    }
}

/// The hex SHA-256 of `s`.
pub fn sha256_hex(s: &[u8]) -> String {
    hex(&Sha256::digest(s))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Tokens {
    /// Read entries from `text` (see the module docs); `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Tokens, String> {
        let mut tokens = Tokens::default();
        for (n, line) in text.split(['\n', ',']).enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(digest), Some(user), None) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!(
                    "{source}: entry {}: expected `<sha256 hex> <user id>`",
                    n + 1
                ));
            };
            let digest = unhex(digest).ok_or_else(|| {
                format!(
                    "{source}: entry {}: the digest must be 64 hex digits (SHA-256 of the token)",
                    n + 1
                )
            })?;
            let user = uuid::Uuid::parse_str(user)
                .map_err(|_| format!("{source}: entry {}: the user id must be a UUID", n + 1))?;
            tokens
                .by_digest
                .insert(digest, user.hyphenated().to_string());
        }
        Ok(tokens)
    }

    /// Add a token given in clear (the generated development token, tests).
    pub fn insert_plain(&mut self, token: &str, user_id: &str) {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.by_digest.insert(digest, user_id.to_owned());
    }

    /// Add the entries of `other`.
    pub fn extend(&mut self, other: Tokens) {
        self.by_digest.extend(other.by_digest);
    }

    /// No token configured.
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    /// The user `token` belongs to.
    pub fn user_for(&self, token: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.by_digest.get(&digest).map(String::as_str)
    }

    /// Every configured user id (once each).
    pub fn users(&self) -> Vec<&str> {
        let mut users: Vec<&str> = self.by_digest.values().map(String::as_str).collect();
        users.sort_unstable();
        users.dedup();
        users
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct User(pub String);

/// A 401 with its `WWW-Authenticate` challenge; `invalid` when a token was sent but is wrong.
pub(crate) fn unauthorized(message: &str, invalid: bool) -> ApiError {
    let challenge = if invalid {
        "Bearer realm=\"registry\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"registry\""
    };
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
        .field("Authorization")
        .header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )
}

/// The token of a request's `Authorization: Bearer <token>`, or the 401 that says what is
/// wrong with the header.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "missing bearer token: send `Authorization: Bearer <token>`",
            false,
        ));
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`", true))
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<User, ApiError> {
        let token = bearer(&parts.headers)?;
        match state.tokens.user_for(token) {
            Some(user) => Ok(User(user.to_owned())),
            None => Err(unauthorized("the bearer token is not valid", true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_map_digests_to_users() {
        let digest = sha256_hex(b"test");
        assert_eq!(
            digest,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        let text = format!(
            "# comment\n\n{} 6F1C2D3E-0000-4000-8000-000000000001\n",
            digest.to_uppercase()
        );
        let t = Tokens::parse(&text, "file").unwrap();
        assert_eq!(
            t.user_for("test"),
            Some("6f1c2d3e-0000-4000-8000-000000000001")
        );
        assert_eq!(t.user_for("other"), None);
        let two = Tokens::parse(
            &format!(
                "{digest} 6f1c2d3e-0000-4000-8000-000000000001,{} 6f1c2d3e-0000-4000-8000-000000000002",
                sha256_hex(b"b")
            ),
            "env",
        )
        .unwrap();
        assert_eq!(two.users().len(), 2);
    }

    #[test]
    fn bad_entries_are_refused_by_position() {
        assert!(
            Tokens::parse("abc 6f1c2d3e-0000-4000-8000-000000000001", "f")
                .unwrap_err()
                .contains("entry 1: the digest")
        );
        let d = sha256_hex(b"x");
        assert!(
            Tokens::parse(&format!("\n{d} bob"), "f")
                .unwrap_err()
                .contains("entry 2: the user id")
        );
        assert!(Tokens::parse(&d, "f").unwrap_err().contains("expected"));
    }
}
