//! Run generations with known key values, capture every log line (all levels) and every error
//! message, and search them for the values.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use runtime::mock::{Fault, Target};
use runtime::store::LOCAL_USER_ID;
use serde_json::json;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_key_value_reaches_a_log_line_or_an_error() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = harness().await;
    let mut errors = Vec::new();
    let mut record = |r: Result<runtime::RunOutput, runtime::RunError>| match r {
        Ok(out) => errors.push(format!("{out:?}")),
        Err(e) => errors.push(format!("{e} | {e:?}")),
    };
    record(
        h.engine
            .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
            .await,
    );
    h.mock.inject(Fault::Status {
        code: 500,
        target: Target::Submit,
    });
    record(
        h.engine
            .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
            .await,
    );
    h.mock.inject(Fault::Reset {
        target: Target::Submit,
    });
    record(
        h.engine
            .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
            .await,
    );
    h.mock.inject(Fault::ErrorBody {
        target: Target::Submit,
    });
    record(
        h.engine
            .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
            .await,
    );
    record(
        h.engine
            .run_dynamic(&KIE_WEBHOOK, &json!({"prompt": "waves"}))
            .await,
    );
    h.mock.inject(Fault::WebhookBadSignature);
    record(
        h.engine
            .run_dynamic(&REPLICATE_WEBHOOK, &json!({"prompt": "a lighthouse"}))
            .await,
    );
    h.mock.inject(Fault::JobFails);
    record(
        h.engine
            .run_dynamic(&REPLICATE_WEBHOOK, &json!({"prompt": "a lighthouse"}))
            .await,
    );
    record(h.engine.run_dynamic(&SYNC, &json!({"prompt": "x"})).await);
    // A key that is missing, and one that is configured for another scope only.
    let engine = runtime::Engine::builder()
        .config(fast_config(&h.mock))
        .keys(Arc::new(runtime::keys::StaticKeys::new().with(
            "KIE_AI_API_KEY_PROMPT_TO_VIDEO",
            "kie-p2v-SECRET-2222",
        )))
        .build()
        .unwrap();
    engine
        .store()
        .set_balance(LOCAL_USER_ID, "100".parse().unwrap())
        .await
        .unwrap();
    record(
        engine
            .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
            .await,
    );
    let rows = format!(
        "{:?} {:?}",
        h.store.list().unwrap(),
        h.store.key_events().unwrap()
    );

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("api_key_retrieved")
            && logs.contains("generation_failed")
            && logs.contains("webhook_rejected"),
        "capture works"
    );
    assert!(
        logs.contains("KIE_AI_API_KEY_IMAGE_TO_VIDEO"),
        "names are logged"
    );
    let everything = format!(
        "{logs}\n{}\n{rows}\n{:?}",
        errors.join("\n"),
        h.mock.requests()
    );
    for (name, value) in KEYS {
        let raw = value.trim_start_matches("whsec_");
        assert!(!everything.contains(raw), "the value of {name} leaked");
    }
}
