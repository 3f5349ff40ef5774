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
    keys: StaticKeys,
}

impl LocalMock {
    /// Start the mock on a free loopback port with `opts`, with a mock key (`mock-key-<scope>`)
    /// for every secret of `models` and the mock's own webhook signing secrets.
    pub async fn start(models: &[&ModelInfo], opts: MockOptions) -> std::io::Result<LocalMock> {
        let provider = MockProvider::start(opts).await?;
        let mut keys = StaticKeys::new()
            .with(
                "KIE_AI_WEBHOOK_HMAC_KEY",
                &provider.options().kie_webhook_key,
            )
            .with(
                "REPLICATE_WEBHOOK_SECRET",
                &provider.options().replicate_webhook_secret,
            );
        for m in models {
            keys = keys.with(m.secret_name, &format!("mock-key-{}", m.key_scope));
        }
        Ok(LocalMock { provider, keys })
    }

    /// Point `config` at the mock: every provider it speaks, polls at most `poll_cap` apart,
    /// and webhook runs' fallback polls rarer still, so that webhooks do the work.
    pub fn configure(&self, config: &mut EngineConfig, poll_cap: Duration) {
        config.base_urls = self.provider.base_urls();
        config.poll_interval_cap = Some(poll_cap);
        config.webhook_poll_factor = 10;
    }

    /// Whether the mock speaks `model`'s provider's protocol.
    pub fn serves(model: &ModelInfo) -> bool {
        crate::mock::PROVIDERS.contains(&model.provider.id)
    }

    /// The keys: mock API keys and the mock's webhook signing secrets.
    pub fn keys(&self) -> &StaticKeys {
        &self.keys
    }

    /// The running mock (to inject faults, read what it received).
    pub fn provider(&self) -> &MockProvider {
        &self.provider
    }
}
