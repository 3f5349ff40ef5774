//! Engine tests against the mock provider, with hand-written models (see `common`).

mod common;

use std::time::Duration;

use common::*;
use runtime::engine::{Via, WebhookAck};
use runtime::error::RunError;
use runtime::mock::{Fault, Target};
use runtime::model::{ModelInfo, OutputKind, ProviderInfo};
use runtime::store::{LOCAL_USER_ID, Status};
use runtime::webhook::{WebhookError, WebhookRequest};
use serde_json::json;

fn balance(h: &Harness) -> String {
    h.store.balance(LOCAL_USER_ID).unwrap().unwrap().to_string()
}

#[tokio::test]
async fn sync_generation_completes_charges_and_records() {
    let h = harness().await;
    let out = h
        .engine
        .run_dynamic(
            &SYNC,
            &json!({"prompt": "a red apple", "number_results": 2}),
        )
        .await
        .unwrap();
    assert_eq!(out.via, Via::Sync);
    assert_eq!(out.outputs.len(), 2);
    // The outputs are the ones the mock made for this job: URLs on the mock.
    let files = format!("{}/_files/", h.mock.base_url_of("runware"));
    assert!(
        out.outputs
            .iter()
            .all(|o| o.kind == OutputKind::Url && o.value.starts_with(&files))
    );
    assert_eq!(out.outputs, h.mock.jobs()[0].outputs);
    // 1.5 x 2 results x (5 / 5) = 3
    assert_eq!(out.cost.to_string(), "3");
    // The mock reports the formula's cost in USD (0.003 at 1000 credits per USD).
    assert_eq!(
        out.provider_cost
            .map(|d| d.normalize().to_string())
            .as_deref(),
        Some("3")
    );
    assert_eq!(balance(&h), "997");
    let row = h.store.get(&out.generation_id).unwrap().unwrap();
    assert_eq!(
        (row.status, row.tokens_used.unwrap().to_string()),
        (Status::Completed, "3".into())
    );
    assert_eq!(
        row.provider_response["outputs"][0]["value"],
        json!(out.outputs[0].value)
    );
    assert!(row.completed_at.is_some());
    let reqs = h.mock.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].auth.as_ref().unwrap().expose(),
        "Bearer rw-t2i-SECRET-1111"
    );
    let events = h.store.key_events().unwrap();
    assert_eq!(events.len(), 1);
    assert!(
        events[0].success
            && events[0].scope == "text_to_image"
            && events[0].secret_name == "RUNWARE_API_KEY_TEXT_TO_IMAGE"
    );
}

#[tokio::test]
async fn fewer_outputs_than_asked_are_refunded_pro_rata() {
    let h = harness().await;
    h.mock.inject(Fault::FewerOutputs(1));
    let out = h
        .engine
        .run_dynamic(
            &SYNC,
            &json!({"prompt": "a red apple", "number_results": 4}),
        )
        .await
        .unwrap();
    assert_eq!(out.outputs.len(), 1);
    // The formula: ceil(1.5 x 4 x 5/5) = 6 held; a quarter of it, 1.5, rounds up to 2.
    assert_eq!(out.cost.to_string(), "2");
    let row = h.store.get(&out.generation_id).unwrap().unwrap();
    assert_eq!(
        (
            row.status,
            row.tokens_used.unwrap().to_string(),
            row.outputs_expected,
            row.outputs_received,
            row.credits_refunded.unwrap().to_string()
        ),
        (Status::Completed, "2".into(), Some(4), Some(1), "4".into())
    );
    // The ledger: the balance fell by exactly tokens_used, and nothing stays held.
    assert_eq!(balance(&h), "998");
    assert_eq!(
        h.store
            .available(LOCAL_USER_ID)
            .unwrap()
            .unwrap()
            .to_string(),
        "998"
    );

    // All four back: the whole cost, nothing refunded, the counts still recorded.
    let out = h
        .engine
        .run_dynamic(
            &SYNC,
            &json!({"prompt": "a red apple", "number_results": 4}),
        )
        .await
        .unwrap();
    let row = h.store.get(&out.generation_id).unwrap().unwrap();
    assert_eq!(
        (
            out.cost.to_string(),
            row.outputs_expected,
            row.outputs_received,
            row.credits_refunded.unwrap().to_string()
        ),
        ("6".into(), Some(4), Some(4), "0".into())
    );
    assert_eq!(balance(&h), "992");
    let charged: rust_decimal::Decimal = h
        .store
        .list()
        .unwrap()
        .iter()
        .filter_map(|g| g.tokens_used)
        .map(|c| c.as_decimal())
        .sum();
    assert_eq!(charged, rust_decimal::Decimal::from(8));
}

#[tokio::test]
async fn poll_generation_completes_through_polls() {
    let h = harness().await;
    let out = h
        .engine
        .run_dynamic(&KIE_POLL, &json!({"prompt": "waves", "duration": 10}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    let job = &h.mock.jobs()[0];
    assert_eq!(out.task_id.as_deref(), Some(job.id.as_str()));
    assert_eq!(out.outputs, job.outputs);
    assert_eq!(out.outputs.len(), 1);
    assert_eq!(out.cost.to_string(), "3"); // ceil(1.5 x 1 x 10/5)
    // `consumeCredits`, which the mock sets to the formula's cost of the params it got.
    assert_eq!(out.provider_cost.unwrap().to_string(), "3");
    let polls = h
        .mock
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert!(polls >= 2, "polled {polls} times");
    // Poll mode sends no callback URL and gets no webhook.
    assert!(h.mock.webhooks().is_empty());
}

#[tokio::test]
async fn kie_webhook_is_verified_and_confirmed_by_a_poll() {
    let h = harness().await;
    let out = h
        .engine
        .run_dynamic(&KIE_WEBHOOK, &json!({"prompt": "waves"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Webhook);
    let hooks = webhooks(&h.mock, 1).await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].status, 200);
    assert!(hooks[0].url.contains(&out.generation_id));
    // The unsigned body was confirmed by a poll after the delivery.
    assert!(h.mock.requests().iter().any(|r| r.method == "GET"));
    assert_eq!(
        h.mock.requests()[0].auth.as_ref().unwrap().expose(),
        "Bearer kie-p2v-SECRET-2222"
    );
}

#[tokio::test]
async fn replicate_standard_webhook_completes_without_polling() {
    let h = harness().await;
    let out = h
        .engine
        .run_dynamic(
            &REPLICATE_WEBHOOK,
            &json!({"prompt": "a lighthouse", "number_results": 3}),
        )
        .await
        .unwrap();
    assert_eq!(out.via, Via::Webhook);
    assert_eq!(out.outputs.len(), 3);
    assert_eq!(out.cost.to_string(), "5"); // ceil(1.5 x 3)
    assert_eq!(webhooks(&h.mock, 1).await[0].status, 200);
}

#[tokio::test]
async fn submit_500_is_not_retried_and_refunds() {
    let h = harness().await;
    h.mock.inject(Fault::Status {
        code: 500,
        target: Target::Submit,
    });
    let err = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    match &err {
        RunError::Provider {
            status: Some(500),
            message,
            ..
        } => assert!(message.contains("injected server error")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.mock.requests().len(),
        1,
        "a submit that may have been accepted is not repeated"
    );
    assert_eq!(balance(&h), "1000");
    assert_eq!(
        h.store
            .available(LOCAL_USER_ID)
            .unwrap()
            .unwrap()
            .to_string(),
        "1000"
    );
    let row = &h.store.list().unwrap()[0];
    assert_eq!(row.status, Status::Failed);
    assert_eq!(row.provider_response["error"]["kind"], "provider");
    assert_eq!(row.provider_response["error"]["status"], 500);
}

#[tokio::test]
async fn submit_500_is_retried_when_the_provider_is_idempotent() {
    let h = harness().await;
    h.mock.inject(Fault::Status {
        code: 502,
        target: Target::Submit,
    });
    h.mock.inject(Fault::Status {
        code: 500,
        target: Target::Submit,
    });
    let out = h
        .engine
        .run_dynamic(&IDEMPOTENT_SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap();
    assert_eq!(out.outputs.len(), 1);
    assert_eq!(h.mock.requests().len(), 3);
}

#[tokio::test]
async fn poll_500_and_reset_are_retried() {
    let h = harness().await;
    h.mock.inject(Fault::Status {
        code: 503,
        target: Target::Poll,
    });
    h.mock.inject(Fault::Reset {
        target: Target::Poll,
    });
    let out = h
        .engine
        .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let h = harness().await;
    h.mock.inject(Fault::RateLimit {
        retry_after_secs: 1,
        target: Target::Submit,
    });
    let out = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap();
    assert!(
        out.elapsed >= Duration::from_secs(1),
        "waited {:?}",
        out.elapsed
    );
    assert_eq!(h.mock.requests().len(), 2);
}

#[tokio::test]
async fn rate_limit_beyond_the_deadline_fails_fast() {
    let h = harness().await;
    h.mock.inject(Fault::RateLimit {
        retry_after_secs: 120,
        target: Target::Submit,
    });
    let started = std::time::Instant::now();
    let err = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RunError::Provider {
                status: Some(429),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn slow_answer_times_out_at_the_model_timeout() {
    let h = harness_with(|m| runtime::EngineConfig {
        timeout_cap: Some(Duration::from_millis(400)),
        ..fast_config(m)
    })
    .await;
    h.mock.inject(Fault::Slow {
        delay: Duration::from_secs(5),
        target: Target::Submit,
    });
    let started = std::time::Instant::now();
    let err = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RunError::Timeout(d) if d == Duration::from_millis(400)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(balance(&h), "1000");
    assert_eq!(
        h.store.list().unwrap()[0].provider_response["error"]["kind"],
        "timeout"
    );
}

#[tokio::test]
async fn a_job_that_never_finishes_times_out() {
    let h = harness_with(|m| runtime::EngineConfig {
        timeout_cap: Some(Duration::from_millis(300)),
        ..fast_config(m)
    })
    .await;
    h.mock.inject(Fault::Slow {
        delay: Duration::from_secs(5),
        target: Target::Poll,
    });
    let started = std::time::Instant::now();
    let err = h
        .engine
        .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Timeout(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn reset_after_a_submit_was_sent_is_not_retried() {
    let h = harness().await;
    h.mock.inject(Fault::Reset {
        target: Target::Submit,
    });
    let err = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Transport { .. }), "{err:?}");
    assert_eq!(h.mock.requests().len(), 1);
    assert_eq!(balance(&h), "1000");
}

#[tokio::test]
async fn connection_refused_before_sending_is_retried() {
    // Reserve a port, leave it closed, and open the mock there a little later.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let store = std::sync::Arc::new(runtime::store::SqliteStore::in_memory().unwrap());
    store
        .set_balance(LOCAL_USER_ID, "10".parse().unwrap())
        .unwrap();
    let mut config = runtime::EngineConfig {
        base_urls_from_env: false,
        user_id: LOCAL_USER_ID.to_owned(),
        ..runtime::EngineConfig::default()
    };
    config
        .base_urls
        .insert("runware".into(), format!("{base}/p/runware"));
    config.retry = runtime::http::RetryPolicy {
        max_attempts: 8,
        base: Duration::from_millis(100),
        max: Duration::from_millis(200),
    };
    let engine = runtime::Engine::builder()
        .config(config)
        .store(store)
        .keys(std::sync::Arc::new(keys()))
        .build()
        .unwrap();
    let opener = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        runtime::mock::MockProvider::start_on(([127, 0, 0, 1], port).into(), MODELS, mock_options())
            .await
            .unwrap()
    });
    let out = engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap();
    let mock = opener.await.unwrap();
    assert_eq!(out.outputs.len(), 1);
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn malformed_json_fails_a_sync_call_clearly() {
    let h = harness().await;
    h.mock.inject(Fault::MalformedJson {
        target: Target::Submit,
    });
    let err = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RunError::NotJson { status: 200, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("not JSON"));
}

#[tokio::test]
async fn malformed_json_on_a_poll_is_retried_at_the_next_poll() {
    let h = harness().await;
    h.mock.inject(Fault::MalformedJson {
        target: Target::Poll,
    });
    let out = h
        .engine
        .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
}

#[tokio::test]
async fn failed_jobs_fail_with_the_provider_message_and_refund() {
    let h = harness().await;
    h.mock.inject(Fault::JobFails);
    let err = h
        .engine
        .run_dynamic(&KIE_WEBHOOK, &json!({"prompt": "waves"}))
        .await
        .unwrap_err();
    match &err {
        RunError::Provider { message, code, .. } => {
            assert_eq!(message, "mock: generation failed");
            assert_eq!(code.as_deref(), Some("500"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(balance(&h), "1000");
    assert_eq!(
        h.store.list().unwrap()[0].tokens_used.unwrap().to_string(),
        "0"
    );
}

#[tokio::test]
async fn provider_errors_in_http_200_bodies_are_errors() {
    let h = harness().await;
    h.mock.inject(Fault::ErrorBody {
        target: Target::Submit,
    });
    let err = h
        .engine
        .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
        .await
        .unwrap_err();
    match &err {
        RunError::Provider {
            message,
            code,
            status,
            ..
        } => {
            assert_eq!(
                (message.as_str(), code.as_deref(), *status),
                ("mock: the input is invalid", Some("422"), Some(200))
            );
        }
        other => panic!("{other:?}"),
    }
    h.mock.inject(Fault::ErrorBody {
        target: Target::Submit,
    });
    let err = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::Provider { code: Some(c), status: Some(200), .. } if c == "invalid_input"),
        "{err:?}"
    );
}

#[tokio::test]
async fn duplicate_webhooks_charge_once() {
    let h = harness().await;
    h.mock.inject(Fault::WebhookTwice);
    let out = h
        .engine
        .run_dynamic(&REPLICATE_WEBHOOK, &json!({"prompt": "a lighthouse"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Webhook);
    let hooks = webhooks(&h.mock, 2).await;
    assert_eq!(hooks.len(), 2);
    assert!(
        hooks.iter().all(|w| w.status == 200),
        "duplicates are acknowledged"
    );
    assert_eq!(balance(&h), "998");
    assert_eq!(
        h.store.get(&out.generation_id).unwrap().unwrap().status,
        Status::Completed
    );
}

#[tokio::test]
async fn out_of_order_webhooks_do_not_reopen_a_generation() {
    let h = harness().await;
    h.mock.inject(Fault::WebhookOutOfOrder);
    let out = h
        .engine
        .run_dynamic(&REPLICATE_WEBHOOK, &json!({"prompt": "a lighthouse"}))
        .await
        .unwrap();
    assert_eq!(webhooks(&h.mock, 2).await.len(), 2);
    let row = h.store.get(&out.generation_id).unwrap().unwrap();
    assert_eq!((row.status, balance(&h)), (Status::Completed, "998".into()));
}

#[tokio::test]
async fn late_webhooks_after_the_poll_fallback_are_harmless() {
    let h = harness().await;
    h.mock
        .inject(Fault::WebhookLate(Duration::from_millis(700)));
    let out = h
        .engine
        .run_dynamic(&KIE_WEBHOOK, &json!({"prompt": "waves"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll, "the fallback poll finished it");
    let hooks = webhooks(&h.mock, 1).await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].status, 200);
    assert_eq!(balance(&h), "998");
}

#[tokio::test]
async fn badly_signed_webhooks_are_rejected_and_polling_completes() {
    let h = harness().await;
    h.mock.inject(Fault::WebhookBadSignature);
    let out = h
        .engine
        .run_dynamic(&REPLICATE_WEBHOOK, &json!({"prompt": "a lighthouse"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    assert_eq!(webhooks(&h.mock, 1).await[0].status, 401);
    h.mock.inject(Fault::WebhookBadSignature);
    let out = h
        .engine
        .run_dynamic(&KIE_WEBHOOK, &json!({"prompt": "waves"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    assert_eq!(webhooks(&h.mock, 2).await[1].status, 401);
}

#[tokio::test]
async fn kie_callbacks_naming_task_id_are_accepted() {
    let h = harness().await;
    h.mock.inject(Fault::WebhookTaskIdVariant);
    let out = h
        .engine
        .run_dynamic(&KIE_WEBHOOK, &json!({"prompt": "waves"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Webhook);
}

#[tokio::test]
async fn lost_webhooks_fall_back_to_polling() {
    let h = harness().await;
    h.mock.inject(Fault::NoWebhook);
    let out = h
        .engine
        .run_dynamic(&REPLICATE_WEBHOOK, &json!({"prompt": "a lighthouse"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
}

#[tokio::test]
async fn webhook_handler_rejects_unknown_and_mismatched_deliveries() {
    let h = harness().await;
    let req = WebhookRequest {
        body: bytes::Bytes::from_static(b"{}"),
        ..Default::default()
    };
    assert_eq!(
        h.engine.handle_webhook("replicate", "nope", &req).await,
        Err(WebhookError::UnknownGeneration)
    );
    let out = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap();
    assert_eq!(
        h.engine
            .handle_webhook("replicate", &out.generation_id, &req)
            .await,
        Err(WebhookError::Mismatch)
    );
    assert_eq!(
        h.engine
            .handle_webhook("runware", &out.generation_id, &req)
            .await,
        Err(WebhookError::NotSupported)
    );
    let _ = WebhookAck::Delivered;
}

#[tokio::test]
async fn disabled_models_refuse_to_run() {
    let h = harness().await;
    let err = h
        .engine
        .run_dynamic(&DISABLED, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    assert!(matches!(&err, RunError::Disabled(id) if id == "test_disabled"));
    assert!(h.mock.requests().is_empty() && h.store.list().unwrap().is_empty());
}

#[tokio::test]
async fn invalid_params_are_reported_before_anything_happens() {
    let h = harness().await;
    let err = h
        .engine
        .run_by_id(
            "test_sync",
            &json!({"prompt": "x", "number_results": 9, "zoom": 1}),
        )
        .await
        .unwrap_err();
    let RunError::Validation(v) = &err else {
        panic!("{err:?}")
    };
    let codes: Vec<_> = v.0.iter().map(|v| v.param.as_str()).collect();
    assert_eq!(codes, ["prompt", "number_results", "zoom"]);
    assert!(matches!(
        h.engine.run_by_id("nope", &json!({})).await,
        Err(RunError::UnknownModel(_))
    ));
    assert!(h.mock.requests().is_empty());
}

#[tokio::test]
async fn missing_keys_name_the_variable_and_are_logged() {
    let mock = runtime::mock::MockProvider::start(MODELS, mock_options())
        .await
        .unwrap();
    let store = std::sync::Arc::new(runtime::store::SqliteStore::in_memory().unwrap());
    store
        .set_balance(LOCAL_USER_ID, "10".parse().unwrap())
        .unwrap();
    let keys = runtime::keys::StaticKeys::new()
        .with("KIE_AI_API_KEY_PROMPT_TO_VIDEO", "kie-p2v-SECRET-2222");
    let engine = runtime::Engine::builder()
        .config(fast_config(&mock))
        .store(store.clone())
        .keys(std::sync::Arc::new(keys))
        .build()
        .unwrap();
    // The prompt-to-video key exists, but this model's scope is image-to-video: never borrowed.
    let err = engine
        .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::MissingKey { secret_name, scope, .. } if secret_name == "KIE_AI_API_KEY_IMAGE_TO_VIDEO" && scope == "image_to_video")
    );
    assert!(
        err.to_string()
            .contains("set KIE_AI_API_KEY_IMAGE_TO_VIDEO")
    );
    assert!(mock.requests().is_empty());
    assert_eq!(
        store.available(LOCAL_USER_ID).unwrap().unwrap().to_string(),
        "10"
    );
    let ev = store.key_events().unwrap();
    assert!(
        !ev[0].success
            && ev[0].error.as_deref() == Some("KIE_AI_API_KEY_IMAGE_TO_VIDEO is not set")
    );
    assert_eq!(
        store.list().unwrap()[0].provider_response["error"]["kind"],
        "missing_key"
    );
}

#[tokio::test]
async fn insufficient_credits_are_refused_before_the_provider_is_called() {
    let h = harness().await;
    h.store
        .set_balance(LOCAL_USER_ID, "2".parse().unwrap())
        .unwrap();
    let err = h
        .engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple", "number_results": 2}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::InsufficientCredits { .. }),
        "{err:?}"
    );
    assert!(h.mock.requests().is_empty());
}

#[tokio::test]
async fn each_scope_sends_its_own_key() {
    let h = harness().await;
    h.engine
        .run_dynamic(&KIE_WEBHOOK, &json!({"prompt": "waves"}))
        .await
        .unwrap();
    h.engine
        .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
        .await
        .unwrap();
    let reqs = h.mock.requests();
    let submits: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.auth.as_ref().unwrap().expose().to_owned())
        .collect();
    assert_eq!(
        submits,
        ["Bearer kie-p2v-SECRET-2222", "Bearer kie-i2v-SECRET-3333"]
    );
    let _: &ModelInfo = MODELS[0];
}

#[tokio::test]
async fn a_standard_webhooks_message_sent_again_is_dropped_as_a_duplicate() {
    let h = harness().await;
    h.mock.inject(Fault::NoWebhook);
    let out = h
        .engine
        .run_dynamic(&REPLICATE_WEBHOOK, &json!({"prompt": "a lighthouse"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    let body = json!({"id": out.task_id.clone().unwrap(), "status": "succeeded", "output": ["https://cdn.test/a.png"]})
        .to_string();
    let delivery = |id: &str| {
        let now = runtime::webhook::now_secs();
        let secret = &mock_options().standard_webhooks_secret;
        let sig =
            runtime::webhook::sign_standard_webhooks(secret, id, now, body.as_bytes()).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", id.parse().unwrap());
        headers.insert("webhook-timestamp", now.to_string().parse().unwrap());
        headers.insert("webhook-signature", sig.parse().unwrap());
        WebhookRequest {
            headers,
            body: body.clone().into(),
            query_token: None,
        }
    };
    let g = out.generation_id.as_str();
    let first = delivery("msg_1");
    assert_eq!(
        h.engine.handle_webhook("replicate", g, &first).await,
        Ok(WebhookAck::AlreadyFinished)
    );
    // The provider's retry of the same message: dropped before it is read.
    assert_eq!(
        h.engine.handle_webhook("replicate", g, &first).await,
        Ok(WebhookAck::Duplicate)
    );
    // Another message is handled (and finds the generation finished).
    assert_eq!(
        h.engine
            .handle_webhook("replicate", g, &delivery("msg_2"))
            .await,
        Ok(WebhookAck::AlreadyFinished)
    );
    // A forged copy of the message id is refused by its signature, not by the dedupe.
    let mut forged = delivery("msg_3");
    forged.body = b"{\"id\":\"x\",\"status\":\"succeeded\"}".to_vec().into();
    assert_eq!(
        h.engine.handle_webhook("replicate", g, &forged).await,
        Err(WebhookError::BadSignature)
    );
    let row = h.store.get(g).unwrap().unwrap();
    assert_eq!(row.status, Status::Completed);
}

/// Runware-shaped, on a provider with a circuit breaker (2 requests, 50%, a long cooldown).
const FRAGILE: ProviderInfo = ProviderInfo {
    limits: runtime::model::Limits {
        concurrency: Some(1),
        circuit_breaker: Some(runtime::model::CircuitBreaker {
            failure_rate: 50,
            min_requests: 2,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(600),
        }),
    },
    ..RUNWARE
};

static FRAGILE_SYNC: ModelInfo = common::info(
    "test_sync",
    &FRAGILE,
    "text_to_image",
    "RUNWARE_API_KEY_TEXT_TO_IMAGE",
    runtime::model::Mode::Sync,
);

#[tokio::test]
async fn an_open_circuit_breaker_refuses_new_generations_at_once() {
    let h = harness().await;
    for _ in 0..2 {
        h.mock.inject(Fault::Status {
            code: 503,
            target: Target::Submit,
        });
        let err = h
            .engine
            .run_dynamic(&FRAGILE_SYNC, &json!({"prompt": "apple"}))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                RunError::Provider {
                    status: Some(503),
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let sent = h.mock.requests().len();
    let started = std::time::Instant::now();
    let err = h
        .engine
        .run_dynamic(&FRAGILE_SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::ProviderUnavailable { provider, .. } if provider == "runware"),
        "{err:?}"
    );
    assert!(err.to_string().contains("circuit breaker open"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once, not after a wait"
    );
    assert_eq!(h.mock.requests().len(), sent, "nothing sent while open");
    assert_eq!(balance(&h), "1000", "nothing held or charged");
    assert_eq!(
        h.store.list().unwrap().len(),
        2,
        "a refused run records no generation"
    );
    // Another provider is not affected.
    assert!(
        h.engine
            .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
            .await
            .is_ok()
    );
}

/// A second engine on the harness's store and mock: the process after a restart.
fn restarted(h: &Harness) -> runtime::engine::Engine {
    runtime::engine::Engine::builder()
        .config(fast_config(&h.mock))
        .store(h.store.clone())
        .keys(std::sync::Arc::new(keys()))
        .models(MODELS)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_run_killed_after_the_provider_accepted_is_resumed_and_charged_once() {
    let h = harness().await;
    let engine = h.engine.clone();
    let run = tokio::spawn(async move {
        engine
            .run_dynamic(&KIE_POLL, &json!({"prompt": "waves"}))
            .await
    });
    let g = loop {
        if let Some(g) = h
            .store
            .list()
            .unwrap()
            .into_iter()
            .find(|g| g.task_id().is_some())
        {
            break g;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    // The process dies: the run's future is dropped mid-wait, nothing is cleaned up.
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    assert_eq!(
        h.store.get(&g.id).unwrap().unwrap().status,
        Status::Processing
    );
    let available = |h: &Harness| {
        h.store
            .available(LOCAL_USER_ID)
            .unwrap()
            .unwrap()
            .to_string()
    };
    assert_eq!(balance(&h), "1000", "held, not yet charged");

    let after = restarted(&h);
    let (found, runs) = after.recover().await.unwrap();
    assert_eq!(found.resumed, vec![g.id.clone()]);
    assert!(found.failed.is_empty());
    let submits_before = h
        .mock
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    let mut charged = None;
    for r in runs {
        let out = r.await.unwrap();
        assert_eq!(out.generation_id, g.id);
        assert_eq!(out.task_id.as_deref(), g.task_id());
        charged = Some(out.cost);
    }
    let left = (runtime::cost::Credits::from_decimal("1000".parse().unwrap()).as_decimal()
        - charged.unwrap().as_decimal())
    .to_string();
    assert_eq!(
        h.mock
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        submits_before,
        "the provider was not submitted to again"
    );
    let row = h.store.get(&g.id).unwrap().unwrap();
    assert_eq!(row.status, Status::Completed);
    assert_eq!(balance(&h), left, "charged once");
    assert_eq!(available(&h), left, "and the hold settled");
    // Recovering again finds nothing to do.
    let (found, runs) = restarted(&h).recover().await.unwrap();
    assert_eq!(
        (found, runs.len()),
        (runtime::engine::Recovered::default(), 0)
    );
}

#[tokio::test]
async fn a_run_killed_before_the_provider_accepted_is_failed_and_refunded() {
    let h = harness().await;
    // Recorded and held, then the process stops before the submit's answer.
    let started = h
        .engine
        .start(LOCAL_USER_ID, "test_kie_poll", &json!({"prompt": "waves"}))
        .await
        .unwrap();
    let id = started.generation_id().to_owned();
    drop(started);
    let available = || {
        h.store
            .available(LOCAL_USER_ID)
            .unwrap()
            .unwrap()
            .to_string()
    };
    assert_ne!(available(), "1000", "held");
    let (found, runs) = restarted(&h).recover().await.unwrap();
    assert_eq!((found.failed, runs.len()), (vec![id.clone()], 0));
    let row = h.store.get(&id).unwrap().unwrap();
    assert_eq!(row.status, Status::Failed);
    assert_eq!(row.provider_response["error"]["kind"], "interrupted");
    assert_eq!(balance(&h), "1000", "refunded");
    assert!(
        h.mock.requests().is_empty(),
        "nothing was sent, before or after"
    );
}

/// What an observer was told, as text.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl runtime::engine::EngineEvents for Recorder {
    fn generation_finished(&self, f: &runtime::engine::Finished<'_>) {
        self.0.lock().unwrap().push(format!(
            "finished {} {} {} {:?} charged {} refunded {}",
            f.model,
            f.provider,
            f.status.as_str(),
            f.error_kind,
            f.charged,
            f.refunded
        ));
    }
    fn provider_error(&self, provider: &str, status: runtime::engine::ProviderStatus) {
        self.0
            .lock()
            .unwrap()
            .push(format!("provider_error {provider} {}", status.label()));
    }
    fn key_retrieved(&self, secret_name: &str, ok: bool) {
        self.0
            .lock()
            .unwrap()
            .push(format!("key {secret_name} {ok}"));
    }
    fn in_flight(&self, delta: i64) {
        self.0.lock().unwrap().push(format!("in_flight {delta}"));
    }
}

#[tokio::test]
async fn an_observer_is_told_each_end_error_and_key_once_without_a_server() {
    let h = harness().await;
    let seen = std::sync::Arc::new(Recorder::default());
    h.engine.observe(seen.clone());
    h.engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap();
    h.mock.inject(Fault::Status {
        code: 500,
        target: Target::Submit,
    });
    h.engine
        .run_dynamic(&SYNC, &json!({"prompt": "apple"}))
        .await
        .unwrap_err();
    let key = "key RUNWARE_API_KEY_TEXT_TO_IMAGE true";
    let model = format!("{} {}", SYNC.id, SYNC.provider.id);
    assert_eq!(
        *seen.0.lock().unwrap(),
        [
            key.to_owned(),
            "in_flight 1".to_owned(),
            format!("finished {model} completed None charged 2 refunded 0"),
            "in_flight -1".to_owned(),
            key.to_owned(),
            "in_flight 1".to_owned(),
            format!("provider_error {} 500", SYNC.provider.id),
            format!("finished {model} failed Some(\"provider\") charged 0 refunded 2"),
            "in_flight -1".to_owned(),
        ]
    );
}
