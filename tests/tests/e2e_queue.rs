//! The bundled specs that use the queue protocol features, end to end against the mock
//! provider: fal's queue (`fal_flux_dev`: kept whole URLs, a status step then a result step,
//! an ED25519-signed webhook read apart, cancel), Replicate with `Prefer: wait`
//! (`replicate_flux_dev`: the submit answer read like a poll answer) and Runware's async
//! delivery (`runware_flux_1_schnell_async`: getResponse polls on the submit's path).

use std::sync::Arc;
use std::time::Duration;

use generated_models::{MODELS, by_id};
use runtime::engine::{CancelAck, Engine, EngineConfig, Via};
use runtime::error::RunError;
use runtime::http::RetryPolicy;
use runtime::keys::StaticKeys;
use runtime::listener::CallbackServer;
use runtime::mock::{Fault, MockOptions, MockProvider, RequestKind, Target};
use runtime::store::{LOCAL_USER_ID, SqliteStore, Status};
use serde_json::{Value, json};

struct Setup {
    mock: MockProvider,
    engine: Engine,
    store: Arc<SqliteStore>,
    _listener: Option<CallbackServer>,
}

async fn setup(job: Duration, webhooks: bool) -> Setup {
    let opts = MockOptions {
        job_duration: job,
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
        poll_interval_cap: Some(Duration::from_millis(30)),
        webhook_poll_factor: 20,
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
        ..EngineConfig::default()
    };
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    store
        .set_balance(LOCAL_USER_ID, "1000".parse().unwrap())
        .unwrap();
    let engine = Engine::builder()
        .config(config)
        .store(store.clone())
        .keys(Arc::new(keys))
        .models(MODELS)
        .build()
        .unwrap();
    let listener = match webhooks {
        true => Some(
            CallbackServer::start(engine.clone(), ([127, 0, 0, 1], 0).into(), None)
                .await
                .unwrap(),
        ),
        false => None,
    };
    Setup {
        mock,
        engine,
        store,
        _listener: listener,
    }
}

fn fal() -> &'static runtime::model::ModelInfo {
    by_id("fal_flux_dev").unwrap()
}

const PROMPT: &str = "A red apple on a table";

fn balance(s: &Setup) -> String {
    s.store
        .available(LOCAL_USER_ID)
        .unwrap()
        .unwrap()
        .to_string()
}

/// The webhooks the mock sent, once `n` have been answered (the mock records each after its
/// answer), within a bound.
async fn webhooks(s: &Setup, n: usize) -> Vec<runtime::mock::SentWebhook> {
    for _ in 0..200 {
        let sent = s.mock.webhooks();
        if sent.len() >= n {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("fewer than {n} webhooks were sent")
}

/// The kinds of request the mock saw for `model`, in order.
fn kinds(s: &Setup, model: &str) -> Vec<RequestKind> {
    s.mock
        .requests()
        .into_iter()
        .filter_map(|r| r.routed.filter(|(m, _)| *m == model).map(|(_, k)| k))
        .collect()
}

#[tokio::test]
async fn fal_queue_completes_by_polling_the_status_then_fetching_the_result() {
    let s = setup(Duration::from_millis(90), false).await;
    let out = s
        .engine
        .run_dynamic(fal(), &json!({"prompt": PROMPT, "num_images": 2}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    let job = s.mock.jobs().pop().unwrap();
    assert_eq!(out.outputs, job.outputs);
    assert_eq!(out.outputs.len(), 2);
    assert_eq!(out.cost.to_string(), "5");
    let seen = kinds(&s, "fal_flux_dev");
    assert_eq!(seen.first(), Some(&RequestKind::Submit));
    assert_eq!(
        seen.last(),
        Some(&RequestKind::Step(1)),
        "the result comes last"
    );
    assert_eq!(
        seen.iter().filter(|k| **k == RequestKind::Step(1)).count(),
        1,
        "the result is fetched once, after the status said done: {seen:?}"
    );
    // The status and result URLs were the ones the submit answer gave, used as given.
    let urls: Vec<String> = s
        .mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path)
        .collect();
    assert!(
        urls.iter()
            .all(|p| p.contains(&format!("/_jobs/{}/", job.id))),
        "{urls:?}"
    );
    let row = s.store.get(&out.generation_id).unwrap().unwrap();
    assert_eq!(row.status, Status::Completed);
    assert_eq!(
        row.task().unwrap().kept.len(),
        3,
        "the kept values are stored with the task"
    );
}

#[tokio::test]
async fn fal_queue_completes_by_its_signed_webhook() {
    let s = setup(Duration::from_millis(60), true).await;
    let out = s
        .engine
        .run_dynamic(fal(), &json!({"prompt": PROMPT}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Webhook);
    assert_eq!(out.outputs, s.mock.jobs().pop().unwrap().outputs);
    let hooks = webhooks(&s, 1).await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].status, 200);
    assert_eq!(hooks[0].body["status"], "OK");
    assert!(
        !kinds(&s, "fal_flux_dev").contains(&RequestKind::Step(1)),
        "the webhook's payload is the result: no result fetch"
    );
}

#[tokio::test]
async fn fal_queue_lost_or_forged_webhooks_are_rescued_by_polling() {
    for fault in [Fault::NoWebhook, Fault::WebhookBadSignature] {
        let s = setup(Duration::from_millis(60), true).await;
        s.mock.inject(fault.clone());
        let out = s
            .engine
            .run_dynamic(fal(), &json!({"prompt": PROMPT}))
            .await
            .unwrap();
        assert_eq!(out.via, Via::Poll, "{fault:?}");
        assert_eq!(out.outputs, s.mock.jobs().pop().unwrap().outputs);
        if fault == Fault::WebhookBadSignature {
            let hooks = webhooks(&s, 1).await;
            assert_eq!(hooks.len(), 1);
            assert_eq!(hooks[0].status, 401, "the forged delivery is refused");
        }
    }
}

#[tokio::test]
async fn fal_queue_fails_at_the_result_step_and_refunds() {
    let s = setup(Duration::from_millis(30), false).await;
    s.mock.inject(Fault::JobFailsAtResult);
    let err = s
        .engine
        .run_dynamic(fal(), &json!({"prompt": PROMPT}))
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Provider { .. }), "{err:?}");
    assert_eq!(
        kinds(&s, "fal_flux_dev").last(),
        Some(&RequestKind::Step(1))
    );
    assert_eq!(balance(&s), "1000");
    let g = s.store.list().unwrap().pop().unwrap();
    assert_eq!(g.status, Status::Failed);
}

#[tokio::test]
async fn a_failure_at_the_status_step_fails_without_a_result_fetch() {
    // fal's status has no failed state, so a job failure shows at the result; Replicate's and
    // Runware's status steps report it themselves.
    for (id, params) in [
        ("replicate_flux_dev", json!({"prompt": PROMPT})),
        ("runware_flux_1_schnell_async", json!({"prompt": PROMPT})),
    ] {
        let s = setup(Duration::from_millis(60), false).await;
        s.mock.inject(Fault::JobFails);
        let err = s
            .engine
            .run_dynamic(by_id(id).unwrap(), &params)
            .await
            .unwrap_err();
        assert!(matches!(err, RunError::Provider { .. }), "{id}: {err:?}");
        assert_eq!(balance(&s), "1000", "{id}");
    }
}

#[tokio::test]
async fn fal_queue_cancel_stops_the_wait_and_refunds() {
    let s = setup(Duration::from_secs(3), false).await;
    let engine = s.engine.clone();
    let run =
        tokio::spawn(async move { engine.run_dynamic(fal(), &json!({"prompt": PROMPT})).await });
    // Wait for the provider to accept the task, then cancel it.
    let g = loop {
        if let Some(g) = s
            .store
            .list()
            .unwrap()
            .into_iter()
            .find(|g| g.task_id().is_some())
        {
            break g;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(balance(&s), "997", "held while running");
    assert_eq!(s.engine.cancel(&g.id).await.unwrap(), CancelAck::Cancelled);
    let err = run.await.unwrap().unwrap_err();
    assert!(matches!(err, RunError::Cancelled), "{err:?}");
    let row = s.store.get(&g.id).unwrap().unwrap();
    assert_eq!(row.status, Status::Failed);
    assert_eq!(row.provider_response["error"]["kind"], "cancelled");
    assert_eq!(balance(&s), "1000");
    assert!(
        s.mock.jobs().pop().unwrap().cancelled,
        "the mock got the cancel"
    );
    assert_eq!(kinds(&s, "fal_flux_dev").last(), Some(&RequestKind::Cancel));
    // A second cancel changes nothing.
    assert_eq!(
        s.engine.cancel(&g.id).await.unwrap(),
        CancelAck::AlreadyFinished
    );
    // A sync model has no cancel request.
    let sync = s
        .engine
        .run_dynamic(
            by_id("fal_flux_schnell").unwrap(),
            &json!({"prompt": PROMPT}),
        )
        .await
        .unwrap();
    assert!(matches!(
        s.engine.cancel(&sync.generation_id).await,
        Ok(CancelAck::AlreadyFinished)
    ));
}

#[tokio::test]
async fn an_answer_pointing_off_host_is_refused_before_the_key_is_sent() {
    let s = setup(Duration::from_millis(30), false).await;
    s.mock.inject(Fault::OffHostUrl);
    let err = s
        .engine
        .run_dynamic(fal(), &json!({"prompt": PROMPT}))
        .await
        .unwrap_err();
    match &err {
        RunError::OffHost { provider, reason } => {
            assert_eq!(provider, "fal_queue");
            let text = reason.to_string();
            assert!(text.contains("evil.example"), "{text}");
            assert!(!text.contains("key-for"), "no key in the error: {text}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        kinds(&s, "fal_flux_dev"),
        [RequestKind::Submit],
        "nothing after the submit was sent"
    );
    assert_eq!(balance(&s), "1000");
    let g = s.store.list().unwrap().pop().unwrap();
    assert_eq!(g.provider_response["error"]["kind"], "off_host");
}

#[tokio::test]
async fn replicate_prefer_wait_is_answered_at_once_or_polled() {
    let model = by_id("replicate_flux_dev").unwrap();
    // Finished within the wait: the submit answer is the result.
    let quick = setup(Duration::ZERO, false).await;
    let out = quick
        .engine
        .run_dynamic(model, &json!({"prompt": PROMPT}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Sync);
    assert_eq!(kinds(&quick, model.id), [RequestKind::Submit]);
    let submit = quick.mock.requests().remove(0);
    assert_eq!(submit.method, "POST");
    // Still running: polled.
    let slow = setup(Duration::from_millis(80), false).await;
    let out = slow
        .engine
        .run_dynamic(model, &json!({"prompt": PROMPT}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    assert!(kinds(&slow, model.id).contains(&RequestKind::Step(0)));
}

#[tokio::test]
async fn runware_async_submits_then_polls_get_response_on_the_same_path() {
    let model = by_id("runware_flux_1_schnell_async").unwrap();
    let s = setup(Duration::from_millis(60), false).await;
    let out = s
        .engine
        .run_dynamic(model, &json!({"prompt": PROMPT, "number_results": 2}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    assert_eq!(out.outputs.len(), 2);
    let requests = s.mock.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.path == "/v1" && r.method == "POST")
    );
    assert_eq!(requests[0].body[0]["deliveryMethod"], "async");
    let poll = &requests[1].body[0];
    assert_eq!(poll["taskType"], "getResponse");
    assert_eq!(poll["taskUUID"], Value::from(out.task_id.clone().unwrap()));
    // The sync model on the same path is still told apart.
    let sync = s
        .engine
        .run_dynamic(
            by_id("runware_flux_1_schnell").unwrap(),
            &json!({"prompt": PROMPT}),
        )
        .await
        .unwrap();
    assert_eq!(sync.via, Via::Sync);
}

#[tokio::test]
async fn provider_errors_at_the_status_step_are_retried_then_the_run_completes() {
    let s = setup(Duration::from_millis(60), false).await;
    s.mock.inject(Fault::Status {
        code: 503,
        target: Target::Step(0),
    });
    let out = s
        .engine
        .run_dynamic(fal(), &json!({"prompt": PROMPT}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
}

#[tokio::test]
async fn fal_queue_sends_a_custom_image_size_as_the_object_it_is() {
    let s = setup(Duration::from_millis(30), false).await;
    let size = json!({"width": 512, "height": 768});
    s.engine
        .run_dynamic(fal(), &json!({"prompt": PROMPT, "image_size": size}))
        .await
        .unwrap();
    assert_eq!(s.mock.requests()[0].body["image_size"], size);
    let err = s
        .engine
        .run_dynamic(
            fal(),
            &json!({"prompt": PROMPT, "image_size": {"width": 512}}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("image_size.height"), "{err}");
}
