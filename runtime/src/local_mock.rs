//! The mock provider set up for a local run (`registry-run --mock`, `server --mock`): started
//! in-process on loopback, every provider it speaks pointed at it, and mock keys for every
//! secret the models name (their API keys and the webhook signing secrets the mock signs with).

use std::time::Duration;

use crate::engine::EngineConfig;
use crate::keys::StaticKeys;
use crate::mock::{MockOptions, MockProvider};
use crate::model::ModelInfo;

/// A started mock provider with the keys that go with it.
#[derive(Debug)]
pub struct LocalMock {
    provider: MockProvider,
    /// `(secret name, value)`: mock API keys and the mock's webhook signing secrets.
    secrets: Vec<(String, String)>,
}

impl LocalMock {
    /// Start the mock on a free loopback port with `opts`, with a mock key (`mock-key-<scope>`)
    /// for every secret of `models` and the mock's own webhook signing secrets.
    pub async fn start(
        models: &[&'static ModelInfo],
        opts: MockOptions,
    ) -> std::io::Result<LocalMock> {
        let provider = MockProvider::start(models, opts).await?;
        let mut secrets: Vec<(String, String)> = provider
            .webhook_secrets()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        for m in models {
            secrets.push((
                m.secret_name.to_owned(),
                format!("mock-key-{}", m.key_scope),
            ));
        }
        Ok(LocalMock { provider, secrets })
    }

    /// Point `config` at the mock: every provider of its models, polls at most `poll_cap` apart,
    /// and webhook runs' fallback polls rarer still, so that webhooks do the work.
    pub fn configure(&self, config: &mut EngineConfig, poll_cap: Duration) {
        config.base_urls = self.provider.base_urls();
        config.poll_interval_cap = Some(poll_cap);
        config.webhook_poll_factor = 10;
    }

    /// The keys: mock API keys and the mock's webhook signing secrets.
    pub fn keys(&self) -> StaticKeys {
        self.keys_without(&[])
    }

    /// The keys less the secrets named in `left_out` (to see what a missing one does).
    pub fn keys_without(&self, left_out: &[&str]) -> StaticKeys {
        self.secrets
            .iter()
            .filter(|(name, _)| !left_out.contains(&name.as_str()))
            .fold(StaticKeys::new(), |k, (name, value)| k.with(name, value))
    }

    /// The value the mock uses for secret `name` (a webhook signing secret, to sign a
    /// delivery by hand).
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.secrets
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The running mock (to inject faults, read what it received).
    pub fn provider(&self) -> &MockProvider {
        &self.provider
    }
}
