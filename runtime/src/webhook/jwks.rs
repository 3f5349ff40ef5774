//! The public keys a webhook signature is checked against, as a JWKS document (RFC 7517):
//! `{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "<base64url public key>", "kid": "..."}]}`.
//!
//! The document comes from configuration only; nothing is fetched at run time. For a provider
//! whose webhook rule names the secret `NAME` (fal: `FAL_WEBHOOK_JWKS`), `NAME` holds the
//! document itself and `NAME_FILE` the path of a file holding it; setting both is an error, so
//! an old value cannot silently win over a new one.
//!
//! Keys other than `OKP`/`Ed25519` signing keys are ignored, as RFC 7517 section 5 asks; an
//! Ed25519 key that cannot be used is an error naming the key and its problem, and so is a
//! document with no Ed25519 key at all. Errors name positions and members, never key bytes.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::Value;

use super::WebhookError;
use crate::keys::{KeyError, Secret};

/// base64url, padded or not (RFC 7515 writes it unpadded; a pasted key may carry `=`).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A usable set of Ed25519 public keys (at least one).
#[derive(Clone)]
pub struct Jwks {
    keys: Vec<Key>,
}

#[derive(Clone)]
struct Key {
    kid: Option<String>,
    key: VerifyingKey,
}

/// Why a JWKS document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// The document's file could not be read.
    #[error("cannot read {path}: {kind}")]
    Read {
        /// The configured path.
        path: String,
        /// What went wrong.
        kind: std::io::ErrorKind,
    },
    /// The document is not JSON.
    #[error("the JWKS is not JSON (line {line}, column {column})")]
    NotJson {
        /// 1-based line of the first error.
        line: usize,
        /// 1-based column of the first error.
        column: usize,
    },
    /// The document is JSON but not an object with a `keys` array.
    #[error("the JWKS has no `keys` array")]
    NoKeysArray,
    /// An entry of `keys` is not an object.
    #[error("keys[{index}] is not an object")]
    NotAnObject {
        /// Position in `keys`.
        index: usize,
    },
    /// An Ed25519 key that cannot be used.
    #[error("keys[{index}]{}: {problem}", kid_suffix(.kid))]
    BadKey {
        /// Position in `keys`.
        index: usize,
        /// The key's `kid`, if it has one.
        kid: Option<String>,
        /// What is wrong with it.
        problem: KeyProblem,
    },
    /// No entry is an Ed25519 signing key.
    #[error("the JWKS has no Ed25519 key ({ignored} other key(s) ignored)")]
    NoEd25519Key {
        /// Entries of other key types, curves or uses.
        ignored: usize,
    },
    /// Both `NAME` and `NAME_FILE` are configured.
    #[error("both {name} and {name}_FILE are set; set one")]
    Ambiguous {
        /// The configured name.
        name: String,
    },
}

/// What is wrong with one Ed25519 key of a JWKS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// `x` is absent or not a string.
    #[error("`x` is missing")]
    MissingX,
    /// `x` is not base64url.
    #[error("`x` is not base64url")]
    NotBase64Url,
    /// `x` decodes to the wrong number of bytes.
    #[error("`x` is {0} bytes, expected 32")]
    WrongLength(usize),
    /// `x` is not a point of the curve.
    #[error("`x` is not an Ed25519 public key")]
    NotAPoint,
    /// `x` is a point of small order, which signatures could be forged for.
    #[error("`x` is a weak Ed25519 public key")]
    Weak,
}

fn kid_suffix(kid: &Option<String>) -> String {
    kid.as_deref()
        .map(|k| format!(" (kid {k:?})"))
        .unwrap_or_default()
}

impl Jwks {
    /// Read a JWKS document.
    pub fn parse(document: &str) -> Result<Jwks, JwksError> {
        let doc: Value = serde_json::from_str(document).map_err(|e| JwksError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        let entries = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::NoKeysArray)?;
        let mut keys = Vec::new();
        let mut ignored = 0;
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.as_object().ok_or(JwksError::NotAnObject { index })?;
            let member = |name: &str| entry.get(name).and_then(Value::as_str);
            let is_ed25519 = member("kty") == Some("OKP")
                && member("crv") == Some("Ed25519")
                && member("use").is_none_or(|u| u == "sig");
            if !is_ed25519 {
                ignored += 1;
                continue;
            }
            let kid = member("kid").map(str::to_owned);
            match decode_x(member("x")) {
                Ok(key) => keys.push(Key { kid, key }),
                Err(problem) => {
                    return Err(JwksError::BadKey {
                        index,
                        kid,
                        problem,
                    });
                }
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoEd25519Key { ignored });
        }
        Ok(Jwks { keys })
    }

    /// Read a JWKS document from a file.
    pub fn from_file(path: &Path) -> Result<Jwks, JwksError> {
        let text = std::fs::read_to_string(path).map_err(|e| JwksError::Read {
            path: path.display().to_string(),
            kind: e.kind(),
        })?;
        Jwks::parse(&text)
    }

    /// Read the JWKS configured under `name`: the document in `name`, or the path of a file
    /// holding it in `name_FILE`, each read through `resolve`. Both names are asked for (to
    /// refuse setting both), so a resolver that records retrievals records one of them as
    /// absent: load the set once, at startup, not per delivery.
    pub fn from_config(
        name: &str,
        resolve: &mut dyn FnMut(&str) -> Result<Secret, KeyError>,
    ) -> Result<Jwks, WebhookError> {
        let file_name = format!("{name}_FILE");
        let mut get = |n: &str| match resolve(n) {
            Ok(v) => Ok(Some(v)),
            Err(KeyError::NotSet(_) | KeyError::Empty(_)) => Ok(None),
            Err(KeyError::Backend(_)) => Err(WebhookError::MissingSecret(n.to_owned())),
        };
        match (get(name)?, get(&file_name)?) {
            (Some(_), Some(_)) => Err(JwksError::Ambiguous {
                name: name.to_owned(),
            }
            .into()),
            (Some(doc), None) => Ok(Jwks::parse(doc.expose())?),
            (None, Some(path)) => Ok(Jwks::from_file(Path::new(path.expose()))?),
            (None, None) => Err(WebhookError::MissingSecret(format!(
                "{name} (or {file_name})"
            ))),
        }
    }

    /// [`Jwks::from_config`] reading the environment.
    pub fn from_env(name: &str) -> Result<Jwks, WebhookError> {
        Jwks::from_config(name, &mut |n| match std::env::var(n) {
            Ok(v) if v.trim().is_empty() => Err(KeyError::Empty(n.to_owned())),
            Ok(v) => Ok(Secret::new(v)),
            Err(_) => Err(KeyError::NotSet(n.to_owned())),
        })
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Never: a `Jwks` holds at least one key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid` of each key, in the document's order.
    pub fn kids(&self) -> impl Iterator<Item = Option<&str>> {
        self.keys.iter().map(|k| k.kid.as_deref())
    }

    /// Whether `signature` over `message` verifies under any key of the set (strict RFC 8032
    /// verification: no malleable signatures).
    pub(super) fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.keys
            .iter()
            .any(|k| k.key.verify_strict(message, signature).is_ok())
    }
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwks")
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish()
    }
}

fn decode_x(x: Option<&str>) -> Result<VerifyingKey, KeyProblem> {
    let x = x.ok_or(KeyProblem::MissingX)?;
    let bytes = B64URL.decode(x).map_err(|_| KeyProblem::NotBase64Url)?;
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyProblem::WrongLength(bytes.len()))?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyProblem::NotAPoint)?;
    if key.is_weak() {
        return Err(KeyProblem::Weak);
    }
    Ok(key)
}
