//! Every bundled model end to end against the mock provider, in its spec's mode, through the
//! generated executors: outputs are what the mock returned, cost is the formula's.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use generated_models::MODELS;
use runtime::cost::Multiplier;
use runtime::engine::{Engine, EngineConfig, RunOutput, Via};
use runtime::error::RunError;
use runtime::http::RetryPolicy;
use runtime::keys::StaticKeys;
use runtime::listener::CallbackServer;
use runtime::mock::{Fault, MockOptions, MockProvider, Target};
use runtime::model::{Mode, ModelInfo, OutputKind};
use runtime::params::Kind;
use runtime::store::{LOCAL_USER_ID, SqliteStore, Status};
use serde_json::Value;

/// Credits each model's smoke params cost, worked out by hand from the specs.
const EXPECTED_COST: &[(&str, &str)] = &[
    ("fal_flux_dev", "3"),
    ("fal_flux_dev_image_to_image", "2.5"),
    ("fal_flux_schnell", "1"),
    ("gpt_image_1", "1"),
    ("kie_nano_banana", "4"),
    ("kling_v2_pro", "20"),
    ("minimax_video_01", "25"),
    ("nano_banana", "2"),
    ("nano_banana_edit", "3"),
    ("openrouter_gemini_image", "2"),
    ("replicate_flux_dev", "3"),
    ("runware_flux_1_schnell", "1"),
    ("runware_flux_1_schnell_async", "1"),
    ("runware_sdxl_image_to_image", "2"),
    ("seedance_v1_lite", "12"),
    ("seedance_v1_lite_image_to_video", "12"),
    ("suno_v4_5", "12"),
];

struct Setup {
    mock: MockProvider,
    engine: Engine,
    store: Arc<SqliteStore>,
    _listener: CallbackServer,
}

async fn setup() -> Setup {
    let opts = MockOptions {
        job_duration: Duration::from_millis(120),
        ..MockOptions::default()
    };
    let mock = MockProvider::start(MODELS, opts).await.unwrap();
    let mut keys = StaticKeys::new();
    for (name, value) in mock.webhook_secrets() {
        keys = keys.with(name, &value);
    }
    for m in MODELS {
        keys = keys.with(m.secret_name, &format!("key-for-{}", m.secret_name));
    }
    let config = EngineConfig {
        base_urls: mock.base_urls(),
        base_urls_from_env: false,
        timeout_cap: Some(Duration::from_secs(5)),
        poll_interval_cap: Some(Duration::from_millis(40)),
        webhook_poll_factor: 10,
        retry: RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        user_id: LOCAL_USER_ID.to_owned(),
        ..EngineConfig::default()
    };
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    store
        .set_balance(LOCAL_USER_ID, "10000".parse().unwrap())
        .unwrap();
    let engine = Engine::builder()
        .config(config)
        .store(store.clone())
        .keys(Arc::new(keys))
        .models(MODELS)
        .build()
        .unwrap();
    let listener = CallbackServer::start(engine.clone(), ([127, 0, 0, 1], 0).into(), None)
        .await
        .unwrap();
    Setup {
        mock,
        engine,
        store,
        _listener: listener,
    }
}

/// How many outputs the spec says `params` ask for: the value of the integer param its cost
/// counts, else one.
fn asked_outputs(model: &ModelInfo, params: &serde_json::Map<String, Value>) -> usize {
    model
        .cost
        .multipliers
        .iter()
        .find_map(|m| match m {
            Multiplier::Count { param } => model
                .params
                .iter()
                .find(|p| p.name == *param && matches!(p.kind, Kind::Integer { .. }))
                .and_then(|p| params.get(p.name)?.as_u64()),
            _ => None,
        })
        .map_or(1, |n| n as usize)
}

/// The kind of output the spec reads: at the submit (sync), else at the last step.
fn spec_kind(model: &ModelInfo) -> OutputKind {
    model
        .response
        .outputs
        .or_else(|| model.steps.last().and_then(|s| s.reading.outputs))
        .expect("every bundled model reads outputs")
        .kind
}

/// The run's outputs are the ones the mock made for its job (with the task id the engine
/// read), as many as the params ask for, of the kind the spec reads.
fn check_outputs(s: &Setup, model: &ModelInfo, params: &Value, out: &RunOutput) {
    let id = model.id;
    let job = s.mock.jobs().pop().expect("the run started a job");
    assert_eq!(job.model, id);
    if model.mode != Mode::Sync {
        assert_eq!(out.task_id.as_deref(), Some(job.id.as_str()), "{id}");
    }
    assert_eq!(out.outputs, job.outputs, "{id}: the mock's outputs");
    let validated = model.validate(params).unwrap();
    assert_eq!(out.outputs.len(), asked_outputs(model, &validated), "{id}");
    let files = format!("{}/_files/", s.mock.base_url_of(model.provider.id));
    for o in &out.outputs {
        assert_eq!(o.kind, spec_kind(model), "{id}");
        match o.kind {
            OutputKind::Url => assert!(o.value.starts_with(&files), "{id}: {}", o.value),
            OutputKind::DataUrl => {
                let (head, data) = o.value.split_once(";base64,").unwrap();
                assert!(head.starts_with("data:"), "{id}");
                assert!(b64_decodes(data), "{id}");
            }
            OutputKind::Base64 => assert!(b64_decodes(&o.value), "{id}"),
            OutputKind::Text => assert!(!o.value.is_empty(), "{id}"),
        }
    }
}

fn b64_decodes(s: &str) -> bool {
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bundled_model_runs_end_to_end_in_its_mode() {
    let s = setup().await;
    assert_eq!(
        MODELS.len(),
        EXPECTED_COST.len() + 1,
        "one expectation per enabled model"
    );
    for model in MODELS {
        let info = model;
        let params: Value = serde_json::from_str(
            info.smoke
                .expect("every bundled model has a smoke test")
                .params,
        )
        .unwrap();
        let before = s.mock.requests().len();
        let result = s.engine.run_dynamic(model, &params).await;
        if !info.enabled {
            assert!(
                matches!(&result, Err(RunError::Disabled(id)) if id == info.id),
                "{}: {result:?}",
                info.id
            );
            assert_eq!(
                s.mock.requests().len(),
                before,
                "a disabled model sends nothing"
            );
            continue;
        }
        let out = result.unwrap_or_else(|e| panic!("{}: {e}", info.id));
        let expected_via = match info.mode {
            Mode::Sync => Via::Sync,
            Mode::Poll => Via::Poll,
            Mode::Webhook => Via::Webhook,
        };
        assert_eq!(out.via, expected_via, "{}", info.id);
        let reqs = s.mock.requests();
        let submit = &reqs[before];
        assert_eq!(submit.method, "POST", "{}", info.id);
        let auth = submit.auth.as_ref().unwrap().expose();
        assert!(
            auth.ends_with(&format!("key-for-{}", info.secret_name)),
            "{}: sent the key of its own scope",
            info.id
        );
        check_outputs(&s, model, &params, &out);
        let kind = out.outputs[0].kind;
        assert!(
            matches!(
                kind,
                OutputKind::Url | OutputKind::DataUrl | OutputKind::Base64
            ),
            "{}",
            info.id
        );
        let want = EXPECTED_COST
            .iter()
            .find(|(id, _)| *id == info.id)
            .unwrap()
            .1;
        assert_eq!(out.cost.to_string(), want, "{}: cost", info.id);
        let validated = model.validate(&params).unwrap();
        assert_eq!(
            out.cost,
            runtime::cost::compute(&info.cost, &validated).unwrap(),
            "{}",
            info.id
        );
        let row = s.store.get(&out.generation_id).unwrap().unwrap();
        assert_eq!(row.status, Status::Completed, "{}", info.id);
        assert_eq!(
            row.tokens_used.unwrap().to_string(),
            want,
            "{}: charged",
            info.id
        );
        if info.mode == Mode::Webhook {
            // The mock records a delivery once the listener has answered it.
            let mut hooks = s.mock.webhooks();
            for _ in 0..100 {
                if hooks.iter().any(|w| w.url.contains(&out.generation_id)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                hooks = s.mock.webhooks();
            }
            assert!(
                hooks
                    .iter()
                    .any(|w| w.url.contains(&out.generation_id) && w.status == 200),
                "{}: webhook accepted",
                info.id
            );
        }
    }
    let charged: rust_decimal::Decimal = EXPECTED_COST
        .iter()
        .map(|(_, c)| c.parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    assert_eq!(
        s.store
            .balance(LOCAL_USER_ID)
            .unwrap()
            .unwrap()
            .as_decimal(),
        rust_decimal::Decimal::from(10000) - charged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_entry_runs_generated_params() {
    use generated_models::models::seedance_v1_lite::{DurationValue, Resolution};
    let s = setup().await;
    let params = generated_models::SeedanceV1LiteParams::builder("Ocean waves crashing")
        .resolution(Resolution::P1080)
        .duration(DurationValue::V10)
        .build()
        .unwrap();
    let out = s
        .engine
        .run::<generated_models::SeedanceV1Lite>(params)
        .await
        .unwrap();
    assert_eq!(out.cost.to_string(), "40"); // 8 x 2.5 x 10/5
    assert_eq!(out.via, Via::Webhook);
    let submit = &s.mock.requests()[0];
    assert_eq!(submit.body["input"]["duration"], "10");
    assert_eq!(submit.body["input"]["resolution"], "1080p");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_through_generated_models() {
    let s = setup().await;
    let id = |id: &str| *MODELS.iter().find(|m| m.id == id).unwrap();
    let kling =
        serde_json::json!({"prompt": "Slow zoom", "image_url": "https://example.com/a.png"});

    // KIE: HTTP 200 with code 422 is an error, refunded.
    s.mock.inject(Fault::ErrorBody {
        target: Target::Submit,
    });
    let err = s
        .engine
        .run_dynamic(id("kling_v2_pro"), &kling)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::Provider { code: Some(c), .. } if c == "422"),
        "{err:?}"
    );

    // A failing job fails with the provider's message.
    s.mock.inject(Fault::JobFails);
    let err = s
        .engine
        .run_dynamic(id("suno_v4_5"), &serde_json::json!({"prompt": "sea"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mock: generation failed"), "{err}");

    // Duplicate, out-of-order and badly signed webhooks.
    s.mock.inject(Fault::WebhookTwice);
    s.mock.inject(Fault::WebhookOutOfOrder);
    let out = s
        .engine
        .run_dynamic(
            id("replicate_flux_dev"),
            &serde_json::json!({"prompt": "lighthouse"}),
        )
        .await
        .unwrap();
    assert_eq!(out.via, Via::Webhook);
    s.mock.inject(Fault::WebhookBadSignature);
    let out = s
        .engine
        .run_dynamic(
            id("seedance_v1_lite"),
            &serde_json::json!({"prompt": "waves"}),
        )
        .await
        .unwrap();
    assert_eq!(
        out.via,
        Via::Poll,
        "the forged delivery is refused; polling finishes the job"
    );

    // 429 and 5xx on sync gateways.
    s.mock.inject(Fault::RateLimit {
        retry_after_secs: 0,
        target: Target::Submit,
    });
    s.engine
        .run_dynamic(id("nano_banana"), &serde_json::json!({"prompt": "test"}))
        .await
        .unwrap();
    s.mock.inject(Fault::Status {
        code: 500,
        target: Target::Submit,
    });
    let err = s
        .engine
        .run_dynamic(id("gpt_image_1"), &serde_json::json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            RunError::Provider {
                status: Some(500),
                ..
            }
        ),
        "{err:?}"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = s.store.list().unwrap();
    let failed = rows.iter().filter(|r| r.status == Status::Failed).count();
    assert_eq!(failed, 3);
    assert!(
        rows.iter().filter(|r| r.status == Status::Failed).all(|r| r
            .tokens_used
            .unwrap()
            .to_string()
            == "0")
    );
}
