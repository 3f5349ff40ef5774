//! The mock provider serves models it was never written for: models built here, with made-up
//! providers and protocols, run end to end through the engine with no change to the mock.
//!
//! - `queuey`: a queue like fal's: the submit's answer hands out status, result and cancel
//!   URLs (kept whole URLs), the status step says done, a result step holds the outputs, a
//!   cancel, and ED25519-signed webhooks checked against a JWKS.
//! - `tasky`: two models on one `POST /v1`, told apart by body literals only (Runware's sync
//!   and async submits), the async one polled with another body on the same path.
//! - `waity`: a submit answer that may already be the first step's (`like_first_step`), and
//!   the key in the query.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fast_config;
use runtime::cost::{Formula, Multiplier, Round};
use runtime::engine::{CancelAck, Engine, Via};
use runtime::error::RunError;
use runtime::keys::StaticKeys;
use runtime::listener::CallbackServer;
use runtime::mock::{Fault, MockOptions, MockProvider, RequestKind, Target};
use runtime::model::*;
use runtime::params::{Kind, ParamRule};
use runtime::store::{LOCAL_USER_ID, SqliteStore, Status};
use runtime::template::{RequestTemplate, Segment, Slot, Template};
use serde_json::{Value, json};

// ---- queuey: a fal-like queue ----

const QUEUEY: ProviderInfo = ProviderInfo {
    id: "queuey",
    display_name: "Queuey",
    base_url: "https://queue.queuey.example",
    auth: Auth::Header {
        name: "X-Queue-Key",
        prefix: "Key ",
    },
    errors: Some(ErrorRule {
        message: "/detail",
        code: None,
        ok_codes: &[],
    }),
    webhook: Some(WebhookRule {
        signature: Signature::FalEd25519,
        secret_name: Some("QUEUEY_WEBHOOK_JWKS"),
        task_id: &["/request_id", "/gateway_request_id"],
        confirm_by_poll: false,
        tolerance: Some(Duration::from_secs(300)),
    }),
    idempotent_submit: false,
    allowed_hosts: &[],
    limits: Limits::NONE,
};

const PROMPT: ParamRule<'static> = ParamRule::required(
    "prompt",
    Kind::String {
        min_length: Some(1),
        max_length: Some(200),
    },
);

const IMAGES: ParamRule<'static> = ParamRule::with_default(
    "num_images",
    "1",
    Kind::Integer {
        min: Some(1),
        max: Some(4),
        step: None,
        values: None,
    },
);

/// 2 credits per image.
const PER_IMAGE: Formula<'static> = Formula {
    base: "2",
    multipliers: &[Multiplier::Count {
        param: "num_images",
    }],
    round: Round::Ceil,
    scale: 0,
};

const fn whole_url(method: Method, kept: &'static [Segment<'static>]) -> RequestTemplate<'static> {
    RequestTemplate {
        method,
        path: kept,
        whole_url: true,
        headers: &[],
        body: None,
    }
}

/// The queue model; the statics below set its id and mode.
const QUEUEY_MODEL: ModelInfo = ModelInfo {
    id: "queuey",
    display_name: "Queuey render",
    description: None,
    provider: &QUEUEY,
    content_type: ContentType::Image,
    key_scope: "render",
    secret_name: "QUEUEY_KEY_RENDER",
    mode: Mode::Poll,
    enabled: true,
    expected_latency: Duration::from_secs(10),
    timeout: Duration::from_secs(60),
    poll: Some(PollTiming {
        interval: Duration::from_secs(1),
        max_interval: Duration::from_secs(5),
    }),
    params: &[PROMPT, IMAGES],
    cost: PER_IMAGE,
    smoke: None,
    submit: RequestTemplate {
        method: Method::Post,
        path: &[
            Segment::Text("/render/v2?hook="),
            Segment::Slot(Slot::CallbackUrl),
        ],
        whole_url: false,
        headers: &[],
        body: Some(Template::Object(&[
            ("prompt", Template::param("prompt")),
            ("num_images", Template::param("num_images")),
            ("style", Template::Str("plain")),
        ])),
    },
    response: SubmitReading {
        task_id: Some("/request_id"),
        outputs: None,
        provider_cost: None,
        keep: &[
            ("status_url", "/urls/status"),
            ("result_url", "/urls/result"),
            ("cancel_url", "/urls/cancel"),
        ],
        like_first_step: false,
    },
    steps: &[
        StepReading {
            request: whole_url(Method::Get, &[Segment::Slot(Slot::Kept("status_url"))]),
            reading: Reading {
                status: Some("/state"),
                states: &[
                    ("IN_QUEUE", TaskStatus::Pending),
                    ("IN_PROGRESS", TaskStatus::Processing),
                    ("COMPLETED", TaskStatus::Done),
                    ("FAILED", TaskStatus::Failed),
                    ("CANCELLED", TaskStatus::Failed),
                ],
                outputs: None,
                error: Some("/error/message"),
                error_code: Some("/error/code"),
                provider_cost: None,
            },
        },
        StepReading {
            request: whole_url(Method::Get, &[Segment::Slot(Slot::Kept("result_url"))]),
            reading: Reading {
                status: None,
                states: &[],
                outputs: Some(OutputsAt {
                    at: "/images/*/url",
                    json_string: false,
                    then: None,
                    kind: OutputKind::Url,
                }),
                error: Some("/detail"),
                error_code: None,
                provider_cost: Some(ProviderCostAt {
                    at: "/billing/usd",
                    credits_per_unit: "100",
                }),
            },
        },
    ],
    webhook: Some(Reading {
        status: Some("/status"),
        states: &[("OK", TaskStatus::Completed), ("ERROR", TaskStatus::Failed)],
        outputs: Some(OutputsAt {
            at: "/payload/images/*/url",
            json_string: false,
            then: None,
            kind: OutputKind::Url,
        }),
        error: Some("/error"),
        error_code: None,
        provider_cost: None,
    }),
    cancel: Some(whole_url(
        Method::Put,
        &[Segment::Slot(Slot::Kept("cancel_url"))],
    )),
};

static QUEUEY_POLL: ModelInfo = ModelInfo {
    id: "queuey_poll",
    mode: Mode::Poll,
    ..QUEUEY_MODEL
};
/// The queue's status as fal's is: no failed state (it says `COMPLETED` of a failed job too).
static QUEUEY_BARE: ModelInfo = ModelInfo {
    id: "queuey_bare",
    // Another path: a request the same as another model's could be either model's.
    submit: RequestTemplate {
        path: &[
            Segment::Text("/render/v1?hook="),
            Segment::Slot(Slot::CallbackUrl),
        ],
        ..QUEUEY_MODEL.submit
    },
    steps: &[
        StepReading {
            reading: Reading {
                states: &[
                    ("IN_QUEUE", TaskStatus::Pending),
                    ("IN_PROGRESS", TaskStatus::Processing),
                    ("COMPLETED", TaskStatus::Done),
                ],
                ..QUEUEY_MODEL.steps[0].reading
            },
            ..QUEUEY_MODEL.steps[0]
        },
        QUEUEY_MODEL.steps[1],
    ],
    ..QUEUEY_MODEL
};
static QUEUEY_HOOK: ModelInfo = ModelInfo {
    id: "queuey_hook",
    mode: Mode::Webhook,
    ..QUEUEY_MODEL
};

// ---- tasky: sync and async on one path, told apart by body literals ----

const TASKY: ProviderInfo = ProviderInfo {
    id: "tasky",
    display_name: "Tasky",
    base_url: "https://api.tasky.example",
    auth: Auth::Bearer,
    errors: Some(ErrorRule {
        message: "/errors/0/message",
        code: Some("/errors/0/code"),
        ok_codes: &[],
    }),
    webhook: None,
    idempotent_submit: false,
    allowed_hosts: &[],
    limits: Limits::NONE,
};

const TASKY_SYNC_BODY: Template<'static> = Template::Array(&[Template::Object(&[
    ("taskType", Template::Str("imageInference")),
    ("taskUUID", Template::Slot(Slot::Uuid)),
    ("positivePrompt", Template::param("prompt")),
    ("numberResults", Template::param("num_images")),
])]);

const TASKY_ASYNC_BODY: Template<'static> = Template::Array(&[Template::Object(&[
    ("taskType", Template::Str("imageInference")),
    ("taskUUID", Template::Slot(Slot::Uuid)),
    ("positivePrompt", Template::param("prompt")),
    ("numberResults", Template::param("num_images")),
    ("deliveryMethod", Template::Str("async")),
])]);

const fn post_v1(body: Template<'static>) -> RequestTemplate<'static> {
    RequestTemplate {
        method: Method::Post,
        path: &[Segment::Text("/v1")],
        whole_url: false,
        headers: &[],
        body: Some(body),
    }
}

const TASKY_OUTPUTS: OutputsAt<'static> = OutputsAt {
    at: "/data/*/imageURL",
    json_string: false,
    then: None,
    kind: OutputKind::Url,
};

const TASKY_MODEL: ModelInfo = ModelInfo {
    id: "tasky",
    provider: &TASKY,
    key_scope: "images",
    secret_name: "TASKY_KEY_IMAGES",
    mode: Mode::Sync,
    submit: post_v1(TASKY_SYNC_BODY),
    response: SubmitReading {
        task_id: None,
        outputs: Some(TASKY_OUTPUTS),
        provider_cost: Some(ProviderCostAt {
            at: "/data/0/cost",
            credits_per_unit: "1000",
        }),
        keep: &[],
        like_first_step: false,
    },
    steps: &[],
    webhook: None,
    cancel: None,
    ..QUEUEY_MODEL
};

static TASKY_SYNC: ModelInfo = ModelInfo {
    id: "tasky_sync",
    ..TASKY_MODEL
};

static TASKY_ASYNC: ModelInfo = ModelInfo {
    submit: post_v1(TASKY_ASYNC_BODY),
    response: SubmitReading {
        task_id: Some("/data/0/taskUUID"),
        outputs: None,
        provider_cost: None,
        keep: &[],
        like_first_step: false,
    },
    steps: &[StepReading {
        request: post_v1(Template::Array(&[Template::Object(&[
            ("taskType", Template::Str("getResponse")),
            ("taskUUID", Template::Slot(Slot::TaskId)),
        ])])),
        reading: Reading {
            status: Some("/data/0/status"),
            states: &[
                ("processing", TaskStatus::Processing),
                ("success", TaskStatus::Completed),
                ("error", TaskStatus::Failed),
            ],
            outputs: Some(TASKY_OUTPUTS),
            error: Some("/data/0/error"),
            error_code: None,
            provider_cost: Some(ProviderCostAt {
                at: "/data/0/cost",
                credits_per_unit: "1000",
            }),
        },
    }],
    id: "tasky_async",
    mode: Mode::Poll,
    ..TASKY_MODEL
};

// ---- waity: the answer may already be the first step's; the key in the query ----

const WAITY: ProviderInfo = ProviderInfo {
    id: "waity",
    display_name: "Waity",
    base_url: "https://api.waity.example",
    auth: Auth::Query { name: "key" },
    errors: Some(ErrorRule {
        message: "/detail",
        code: None,
        ok_codes: &[],
    }),
    webhook: None,
    idempotent_submit: false,
    allowed_hosts: &[],
    limits: Limits::NONE,
};

static WAITY_MODEL: ModelInfo = ModelInfo {
    provider: &WAITY,
    secret_name: "WAITY_KEY",
    mode: Mode::Poll,
    submit: RequestTemplate {
        method: Method::Post,
        path: &[Segment::Text("/v1/predictions")],
        whole_url: false,
        headers: &[("Prefer", &[Segment::Text("wait")])],
        body: Some(Template::Object(&[(
            "input",
            Template::Object(&[("prompt", Template::param("prompt"))]),
        )])),
    },
    response: SubmitReading {
        task_id: Some("/id"),
        outputs: None,
        provider_cost: None,
        keep: &[],
        like_first_step: true,
    },
    steps: &[StepReading {
        request: RequestTemplate {
            method: Method::Get,
            path: &[
                Segment::Text("/v1/predictions/"),
                Segment::Slot(Slot::TaskId),
            ],
            whole_url: false,
            headers: &[],
            body: None,
        },
        reading: Reading {
            status: Some("/status"),
            states: &[
                ("starting", TaskStatus::Pending),
                ("processing", TaskStatus::Processing),
                ("succeeded", TaskStatus::Completed),
                ("failed", TaskStatus::Failed),
            ],
            outputs: Some(OutputsAt {
                at: "/output",
                json_string: false,
                then: None,
                kind: OutputKind::Url,
            }),
            error: Some("/error"),
            error_code: None,
            provider_cost: None,
        },
    }],
    webhook: None,
    cancel: None,
    id: "waity",
    ..QUEUEY_MODEL
};

static MODELS: &[&ModelInfo] = &[
    &QUEUEY_POLL,
    &QUEUEY_BARE,
    &QUEUEY_HOOK,
    &TASKY_SYNC,
    &TASKY_ASYNC,
    &WAITY_MODEL,
];

// ---- the harness ----

struct Setup {
    mock: MockProvider,
    engine: Engine,
    store: Arc<SqliteStore>,
    _listener: CallbackServer,
}

async fn setup_with(job_duration: Duration) -> Setup {
    let mock = MockProvider::start(
        MODELS,
        MockOptions {
            job_duration,
            ..MockOptions::default()
        },
    )
    .await
    .unwrap();
    // The JWKS the mock signs with, through the key resolver like any secret.
    let keys = StaticKeys::new()
        .with("QUEUEY_KEY_RENDER", "queuey-SECRET-1")
        .with("TASKY_KEY_IMAGES", "tasky-SECRET-2")
        .with("WAITY_KEY", "waity-SECRET-3")
        .with("QUEUEY_WEBHOOK_JWKS", &mock.fal_jwks());
    assert_eq!(
        mock.webhook_secrets(),
        [("QUEUEY_WEBHOOK_JWKS", mock.fal_jwks())]
    );
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    store
        .set_balance(LOCAL_USER_ID, "1000".parse().unwrap())
        .unwrap();
    let engine = Engine::builder()
        .config(fast_config(&mock))
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

async fn setup() -> Setup {
    setup_with(Duration::from_millis(120)).await
}

fn balance(s: &Setup) -> String {
    s.store.balance(LOCAL_USER_ID).unwrap().unwrap().to_string()
}

/// The (model, request) each received request was routed to.
fn routes(s: &Setup) -> Vec<(&'static str, RequestKind)> {
    s.mock
        .requests()
        .iter()
        .map(|r| r.routed.expect("every request is routed"))
        .collect()
}

fn count(routes: &[(&str, RequestKind)], kind: RequestKind) -> usize {
    routes.iter().filter(|(_, k)| *k == kind).count()
}

/// The mock's sent webhooks once there are `n`.
async fn webhooks(mock: &MockProvider, n: usize) -> Vec<runtime::mock::SentWebhook> {
    for _ in 0..100 {
        let w = mock.webhooks();
        if w.len() >= n {
            return w;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    mock.webhooks()
}

fn prompt(n: u64) -> Value {
    json!({"prompt": "a paper boat", "num_images": n})
}

// ---- queuey ----

#[tokio::test]
async fn a_queue_with_kept_urls_completes_by_polling_status_then_result() {
    let s = setup().await;
    let out = s
        .engine
        .run_dynamic(&QUEUEY_POLL, &prompt(2))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    let job = &s.mock.jobs()[0];
    assert_eq!(out.task_id.as_deref(), Some(job.id.as_str()));
    assert_eq!(out.outputs, job.outputs);
    assert_eq!(out.outputs.len(), 2);
    assert_eq!(out.cost.to_string(), "4");
    // The result's `/billing/usd` (0.04 at 100 credits per unit) is the formula's cost.
    assert_eq!(out.provider_cost.unwrap().to_string(), "4");
    // The kept values are whole URLs on the mock, under the provider's base URL.
    let base = s.mock.base_url_of("queuey");
    for (name, url) in &job.kept {
        assert_eq!(url, &format!("{base}/_jobs/{}/{name}", job.id));
    }
    let r = routes(&s);
    assert_eq!(r[0], ("queuey_poll", RequestKind::Submit));
    assert!(count(&r, RequestKind::Step(0)) >= 2, "{r:?}");
    assert_eq!(r.last(), Some(&("queuey_poll", RequestKind::Step(1))));
    assert_eq!(count(&r, RequestKind::Step(1)), 1);
    let reqs = s.mock.requests();
    assert_eq!(reqs[0].path, "/render/v2");
    assert_eq!(
        reqs[0].query.as_deref(),
        Some("hook="),
        "no callback in poll mode"
    );
    assert!(
        reqs.iter()
            .all(|r| r.auth.as_ref().unwrap().expose() == "Key queuey-SECRET-1"),
        "the key in the provider's own header"
    );
    assert_eq!(reqs[1].path, format!("/_jobs/{}/status_url", job.id));
    assert_eq!(balance(&s), "996");
}

#[tokio::test]
async fn a_queue_completes_by_an_ed25519_signed_webhook() {
    let s = setup().await;
    let out = s
        .engine
        .run_dynamic(&QUEUEY_HOOK, &prompt(1))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Webhook);
    let job = &s.mock.jobs()[0];
    assert_eq!(out.outputs, job.outputs);
    // The callback URL came in the submit's query, percent-encoded.
    let callback = job.callback_url.as_deref().unwrap();
    assert!(callback.contains(&out.generation_id), "{callback}");
    let hooks = webhooks(&s.mock, 1).await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].status, 200, "the signature verified");
    assert_eq!(hooks[0].url, callback);
    assert_eq!(hooks[0].body["status"], "OK");
    assert_eq!(hooks[0].body["request_id"], json!(job.id));
    assert_eq!(
        hooks[0].body["payload"]["images"][0]["url"],
        json!(job.outputs[0].value)
    );
    assert_eq!(
        s.store.get(&out.generation_id).unwrap().unwrap().status,
        Status::Completed
    );
}

#[tokio::test]
async fn a_lost_or_forged_webhook_is_rescued_by_polling() {
    let s = setup().await;
    s.mock.inject(Fault::NoWebhook);
    let out = s
        .engine
        .run_dynamic(&QUEUEY_HOOK, &prompt(1))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    assert!(s.mock.webhooks().is_empty());
    assert_eq!(count(&routes(&s), RequestKind::Step(1)), 1);

    s.mock.inject(Fault::WebhookBadSignature);
    let out = s
        .engine
        .run_dynamic(&QUEUEY_HOOK, &prompt(1))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    assert_eq!(webhooks(&s.mock, 1).await[0].status, 401);
    assert_eq!(balance(&s), "996");
}

#[tokio::test]
async fn a_job_that_fails_fails_at_the_status_step() {
    let s = setup().await;
    s.mock.inject(Fault::JobFails);
    let err = s
        .engine
        .run_dynamic(&QUEUEY_POLL, &prompt(1))
        .await
        .unwrap_err();
    match &err {
        RunError::Provider {
            message,
            code,
            status,
            ..
        } => assert_eq!(
            (message.as_str(), code.as_deref(), *status),
            ("mock: generation failed", Some("500"), None)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&routes(&s), RequestKind::Step(1)), 0);
    assert_eq!(balance(&s), "1000");
    let row = &s.store.list().unwrap()[0];
    assert_eq!(row.status, Status::Failed);
    assert_eq!(row.provider_response["error"]["kind"], "provider");
}

#[tokio::test]
async fn a_job_that_fails_at_the_result_fails_with_its_error_status() {
    let s = setup().await;
    s.mock.inject(Fault::JobFailsAtResult);
    let err = s
        .engine
        .run_dynamic(&QUEUEY_POLL, &prompt(1))
        .await
        .unwrap_err();
    match &err {
        RunError::Provider {
            message, status, ..
        } => assert_eq!(
            (message.as_str(), *status),
            ("mock: generation failed", Some(422))
        ),
        other => panic!("{other:?}"),
    }
    let r = routes(&s);
    assert_eq!(count(&r, RequestKind::Step(1)), 1, "the status said done");
    assert_eq!(balance(&s), "1000");

    // By webhook: the delivery reports the failure, and the run fails at once.
    s.mock.inject(Fault::JobFails);
    let err = s
        .engine
        .run_dynamic(&QUEUEY_HOOK, &prompt(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::Provider { message, .. } if message == "mock: generation failed"),
        "{err:?}"
    );
    assert_eq!(webhooks(&s.mock, 1).await[0].body["status"], "ERROR");
    assert_eq!(balance(&s), "1000");
}

#[tokio::test]
async fn without_a_failed_state_a_failed_job_says_done_and_its_result_errors() {
    let s = setup().await;
    s.mock.inject(Fault::JobFails);
    let err = s
        .engine
        .run_dynamic(&QUEUEY_BARE, &prompt(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::Provider { message, status: Some(422), .. } if message == "mock: generation failed"),
        "{err:?}"
    );
    let reqs = s.mock.requests();
    let result = reqs.last().unwrap();
    assert_eq!(result.routed, Some(("queuey_bare", RequestKind::Step(1))));
    assert_eq!(balance(&s), "1000");
}

#[tokio::test]
async fn a_cancelled_generation_ends_cancelled_and_refunded() {
    let s = setup_with(Duration::from_secs(10)).await;
    let engine = s.engine.clone();
    let run = tokio::spawn(async move { engine.run_dynamic(&QUEUEY_POLL, &prompt(2)).await });
    // Wait until the provider has accepted the task.
    let mut generation = None;
    for _ in 0..100 {
        if let Some(row) = s.store.list().unwrap().first()
            && row.task_id().is_some()
        {
            generation = Some(row.id.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let g = generation.expect("the task was accepted");
    assert_eq!(s.engine.cancel(&g).await.unwrap(), CancelAck::Cancelled);
    let err = run.await.unwrap().unwrap_err();
    assert!(matches!(err, RunError::Cancelled), "{err:?}");
    let row = s.store.get(&g).unwrap().unwrap();
    assert_eq!(row.status, Status::Failed);
    assert_eq!(row.provider_response["error"]["kind"], "cancelled");
    assert_eq!(balance(&s), "1000");
    assert_eq!(
        s.store
            .available(LOCAL_USER_ID)
            .unwrap()
            .unwrap()
            .to_string(),
        "1000"
    );
    let job = &s.mock.jobs()[0];
    assert!(job.cancelled);
    let reqs = s.mock.requests();
    let cancel = reqs.last().unwrap();
    assert_eq!(cancel.routed, Some(("queuey_poll", RequestKind::Cancel)));
    assert_eq!(cancel.method, "PUT");
    assert_eq!(cancel.path, format!("/_jobs/{}/cancel_url", job.id));
    // The job now reports the cancelled state its status reading maps to failed.
    let status_url = &job.kept.iter().find(|(n, _)| n == "status_url").unwrap().1;
    let answer = reqwest::Client::new()
        .get(status_url)
        .header("X-Queue-Key", "Key queuey-SECRET-1")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["state"], "CANCELLED");
    assert_eq!(answer["error"]["message"], "mock: the job was cancelled");
    // Cancelling again changes nothing.
    assert_eq!(
        s.engine.cancel(&g).await.unwrap(),
        CancelAck::AlreadyFinished
    );
}

#[tokio::test]
async fn a_hostile_off_host_url_is_refused_before_the_key_is_sent() {
    let s = setup().await;
    s.mock.inject(Fault::OffHostUrl);
    let err = s
        .engine
        .run_dynamic(&QUEUEY_POLL, &prompt(1))
        .await
        .unwrap_err();
    match &err {
        RunError::OffHost { provider, reason } => {
            assert_eq!(provider, "queuey");
            assert!(reason.to_string().contains("evil.example"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let job = &s.mock.jobs()[0];
    assert!(
        job.kept
            .iter()
            .all(|(_, url)| url.starts_with("http://evil.example/"))
    );
    // Only the submit reached the mock: the step's request was never sent anywhere.
    assert_eq!(routes(&s), [("queuey_poll", RequestKind::Submit)]);
    assert_eq!(balance(&s), "1000");
    assert_eq!(
        s.store.list().unwrap()[0].provider_response["error"]["kind"],
        "off_host"
    );
}

#[tokio::test]
async fn a_fault_can_target_one_step() {
    let s = setup().await;
    s.mock.inject(Fault::Status {
        code: 503,
        target: Target::Step(1),
    });
    let out = s
        .engine
        .run_dynamic(&QUEUEY_POLL, &prompt(1))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    // The result GET was retried once after the 503; the status polls were untouched.
    assert_eq!(count(&routes(&s), RequestKind::Step(1)), 2);
}

// ---- tasky ----

#[tokio::test]
async fn one_path_is_routed_by_body_literals() {
    let s = setup().await;
    let sync = s.engine.run_dynamic(&TASKY_SYNC, &prompt(3)).await.unwrap();
    assert_eq!((sync.via, sync.outputs.len()), (Via::Sync, 3));
    assert_eq!(sync.provider_cost.unwrap().to_string(), "6");
    let polled = s
        .engine
        .run_dynamic(&TASKY_ASYNC, &prompt(2))
        .await
        .unwrap();
    assert_eq!((polled.via, polled.outputs.len()), (Via::Poll, 2));
    assert_eq!(polled.provider_cost.unwrap().to_string(), "4");
    let r = routes(&s);
    assert_eq!(r[0], ("tasky_sync", RequestKind::Submit));
    assert_eq!(r[1], ("tasky_async", RequestKind::Submit));
    assert!(
        r[2..]
            .iter()
            .all(|x| *x == ("tasky_async", RequestKind::Step(0)))
    );
    let reqs = s.mock.requests();
    assert!(reqs.iter().all(|r| r.method == "POST" && r.path == "/v1"));
    assert_eq!(reqs[2].body[0]["taskType"], "getResponse");
    assert_eq!(reqs[2].body[0]["taskUUID"], json!(polled.task_id.unwrap()));
    let jobs = s.mock.jobs();
    assert_eq!(sync.outputs, jobs[0].outputs);
    assert_eq!(polled.outputs, jobs[1].outputs);
}

#[tokio::test]
async fn provider_errors_come_in_the_provider_shape() {
    let s = setup().await;
    s.mock.inject(Fault::ErrorBody {
        target: Target::Submit,
    });
    let err = s
        .engine
        .run_dynamic(&TASKY_SYNC, &prompt(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::Provider { message, code: Some(c), status: Some(200), .. }
            if message == "mock: the input is invalid" && c == "invalid_input"),
        "{err:?}"
    );
    s.mock.inject(Fault::FewerOutputs(1));
    let out = s
        .engine
        .run_dynamic(&TASKY_ASYNC, &prompt(4))
        .await
        .unwrap();
    assert_eq!(out.outputs.len(), 1);
    // 8 held, a quarter charged.
    assert_eq!(out.cost.to_string(), "2");
}

// ---- waity ----

#[tokio::test]
async fn a_quick_job_is_finished_in_the_submit_answer() {
    let s = setup_with(Duration::ZERO).await;
    let out = s
        .engine
        .run_dynamic(&WAITY_MODEL, &json!({"prompt": "now"}))
        .await
        .unwrap();
    assert_eq!(
        out.via,
        Via::Sync,
        "the submit answer was the finished step"
    );
    assert_eq!(out.outputs, s.mock.jobs()[0].outputs);
    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 1);
    // The key came in the query; the recorded query does not hold it.
    assert_eq!(reqs[0].auth.as_ref().unwrap().expose(), "waity-SECRET-3");
    assert_eq!(reqs[0].query, None);
}

#[tokio::test]
async fn a_slow_job_answers_running_and_is_polled() {
    let s = setup().await;
    let out = s
        .engine
        .run_dynamic(&WAITY_MODEL, &json!({"prompt": "later"}))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Poll);
    let r = routes(&s);
    assert!(count(&r, RequestKind::Step(0)) >= 1, "{r:?}");
    let reqs = s.mock.requests();
    assert_eq!(
        reqs[1].path,
        format!("/v1/predictions/{}", out.task_id.unwrap())
    );
    assert!(reqs.iter().all(|r| r.query.is_none()));
}

#[tokio::test]
async fn repeated_stale_and_renamed_deliveries_charge_once() {
    let s = setup().await;
    s.mock.inject(Fault::WebhookTwice);
    s.mock.inject(Fault::WebhookOutOfOrder);
    s.mock.inject(Fault::WebhookTaskIdVariant);
    let out = s
        .engine
        .run_dynamic(&QUEUEY_HOOK, &prompt(1))
        .await
        .unwrap();
    assert_eq!(out.via, Via::Webhook);
    let hooks = webhooks(&s.mock, 3).await;
    assert_eq!(hooks.len(), 3);
    assert!(hooks.iter().all(|w| w.status == 200), "{hooks:?}");
    // The second task id pointer; the reading has no running state, so the stale one
    // repeats the final delivery.
    assert!(
        hooks
            .iter()
            .all(|w| w.body["gateway_request_id"] == json!(out.task_id)
                && w.body.get("request_id").is_none())
    );
    assert_eq!(balance(&s), "998");
}

#[tokio::test]
async fn requests_outside_a_provider_prefix_are_routed_by_every_model() {
    let s = setup().await;
    let mut config = fast_config(&s.mock);
    config.base_urls.insert("tasky".into(), s.mock.base_url());
    let engine = Engine::builder()
        .config(config)
        .store(s.store.clone())
        .keys(Arc::new(
            StaticKeys::new().with("TASKY_KEY_IMAGES", "tasky-SECRET-2"),
        ))
        .models(MODELS)
        .build()
        .unwrap();
    let out = engine.run_dynamic(&TASKY_ASYNC, &prompt(1)).await.unwrap();
    assert_eq!(out.outputs, s.mock.jobs()[0].outputs);
    let reqs = s.mock.requests();
    assert!(reqs.iter().all(|r| r.provider.is_none() && r.path == "/v1"));
    assert_eq!(reqs[0].routed, Some(("tasky_async", RequestKind::Submit)));
    assert_eq!(reqs[1].routed, Some(("tasky_async", RequestKind::Step(0))));
}
