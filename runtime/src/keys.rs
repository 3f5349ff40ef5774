//! API keys: resolved by scope at run time, held in a type that cannot print itself.
//!
//! A spec names a key scope (`prompt_to_video`); the generated [`crate::model::ModelInfo`]
//! names the secret it resolves to (`KIE_AI_API_KEY_PROMPT_TO_VIDEO`). A [`KeyResolver`] turns
//! that secret name into a [`Secret`]. The engine asks for exactly the model's own secret name
//! on every run and keeps no cache across scopes, so a key for one scope is never sent for
//! another. Every retrieval is logged (provider, model, scope, secret name, success), never the
//! value.

use std::collections::HashMap;
use std::fmt;

/// A key value. `Debug` and `Display` print `[redacted]`; it has no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().into_boxed_str())
    }

    /// The value, to put in a request header or to key an HMAC. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which key is wanted, and for whom (for the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRequest<'a> {
    /// Provider id.
    pub provider: &'a str,
    /// Model id (empty for provider-level secrets such as webhook signing keys).
    pub model: &'a str,
    /// Key scope name from the spec.
    pub scope: &'a str,
    /// The secret name the scope resolves to.
    pub secret_name: &'a str,
}

/// Why a key could not be had. Carries names only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not configured.
    #[error("{0} is not set")]
    NotSet(String),
    /// Configured but empty.
    #[error("{0} is empty")]
    Empty(String),
    /// The secrets backend failed.
    #[error("secrets backend: {0}")]
    Backend(String),
}

/// Resolves secret names to values: environment variables by default, a secrets store in
/// production.
pub trait KeyResolver: Send + Sync {
    /// The value of `req.secret_name`.
    fn resolve(&self, req: &KeyRequest<'_>) -> Result<Secret, KeyError>;
}

/// Reads each secret from the environment variable of the same name.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvKeys;

impl KeyResolver for EnvKeys {
    fn resolve(&self, req: &KeyRequest<'_>) -> Result<Secret, KeyError> {
        match std::env::var(req.secret_name) {
            Ok(v) if v.trim().is_empty() => Err(KeyError::Empty(req.secret_name.to_owned())),
            Ok(v) => Ok(Secret::new(v)),
            Err(_) => Err(KeyError::NotSet(req.secret_name.to_owned())),
        }
    }
}

/// Fixed secrets by name: for tests and embedding.
#[derive(Clone, Default)]
pub struct StaticKeys(HashMap<String, Secret>);

impl StaticKeys {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one.
    pub fn with(mut self, secret_name: &str, value: &str) -> Self {
        self.0.insert(secret_name.to_owned(), Secret::new(value));
        self
    }
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        f.debug_struct("StaticKeys").field("names", &names).finish()
    }
}

impl KeyResolver for StaticKeys {
    fn resolve(&self, req: &KeyRequest<'_>) -> Result<Secret, KeyError> {
        self.0
            .get(req.secret_name)
            .cloned()
            .ok_or_else(|| KeyError::NotSet(req.secret_name.to_owned()))
    }
}

/// Resolve and log the outcome (never the value).
pub fn resolve_logged(
    resolver: &dyn KeyResolver,
    req: &KeyRequest<'_>,
) -> Result<Secret, KeyError> {
    let result = resolver.resolve(req);
    match &result {
        Ok(_) => tracing::info!(
            event = "api_key_retrieved",
            provider = req.provider,
            model = req.model,
            scope = req.scope,
            secret_name = req.secret_name,
            success = true,
            "API key retrieval successful"
        ),
        Err(e) => tracing::error!(
            event = "api_key_retrieved",
            provider = req.provider,
            model = req.model,
            scope = req.scope,
            secret_name = req.secret_name,
            success = false,
            error = %e,
            "Failed to retrieve API key"
        ),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("sk-live-123");
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(&s)),
            "[redacted] [redacted] Some([redacted])"
        );
        let keys = StaticKeys::new().with("A", "sk-live-123");
        assert!(!format!("{keys:?}").contains("sk-live"));
    }

    #[test]
    fn static_keys_are_by_name() {
        let keys = StaticKeys::new().with("A", "1");
        let req = |n| KeyRequest {
            provider: "p",
            model: "m",
            scope: "s",
            secret_name: n,
        };
        assert_eq!(keys.resolve(&req("A")).unwrap().expose(), "1");
        assert_eq!(keys.resolve(&req("B")), Err(KeyError::NotSet("B".into())));
    }
}
