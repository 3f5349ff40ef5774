//! Hand-written models shaped like the bundled ones, so engine tests do not need generated code.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use runtime::cost::{Formula, Multiplier, Round};
use runtime::engine::{Engine, EngineConfig};
use runtime::http::RetryPolicy;
use runtime::keys::StaticKeys;
use runtime::listener::CallbackServer;
use runtime::mock::{MockOptions, MockProvider};
use runtime::model::*;
use runtime::params::{Kind, ParamRule};
use runtime::store::SqliteStore;
use runtime::template::{RequestTemplate, Segment, Slot, Template};

pub const RUNWARE: ProviderInfo = ProviderInfo {
    id: "runware",
    display_name: "Runware",
    base_url: "https://api.runware.ai",
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

pub const RUNWARE_IDEMPOTENT: ProviderInfo = ProviderInfo {
    id: "runware",
    idempotent_submit: true,
    allowed_hosts: &[],
    limits: Limits::NONE,
    ..RUNWARE
};

pub const KIE: ProviderInfo = ProviderInfo {
    id: "kie_ai",
    display_name: "KIE AI",
    base_url: "https://api.kie.ai",
    auth: Auth::Bearer,
    errors: Some(ErrorRule {
        message: "/msg",
        code: Some("/code"),
        ok_codes: &["200"],
    }),
    webhook: Some(WebhookRule {
        signature: Signature::KieHmac,
        secret_name: Some("KIE_AI_WEBHOOK_HMAC_KEY"),
        task_id: &["/data/taskId", "/data/task_id"],
        confirm_by_poll: true,
        tolerance: Some(Duration::from_secs(300)),
    }),
    idempotent_submit: false,
    allowed_hosts: &[],
    limits: Limits::NONE,
};

pub const REPLICATE: ProviderInfo = ProviderInfo {
    id: "replicate",
    display_name: "Replicate",
    base_url: "https://api.replicate.com",
    auth: Auth::Bearer,
    errors: Some(ErrorRule {
        message: "/detail",
        code: None,
        ok_codes: &[],
    }),
    webhook: Some(WebhookRule {
        signature: Signature::StandardWebhooks,
        secret_name: Some("REPLICATE_WEBHOOK_SECRET"),
        task_id: &["/id"],
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
        min_length: Some(2),
        max_length: Some(100),
    },
);
const COUNT: ParamRule<'static> = ParamRule::with_default(
    "number_results",
    "1",
    Kind::Integer {
        min: Some(1),
        max: Some(4),
        step: None,
        values: None,
    },
);
const DURATION: ParamRule<'static> = ParamRule::with_default(
    "duration",
    "5",
    Kind::Integer {
        min: None,
        max: None,
        step: None,
        values: Some(&[5, 10]),
    },
);

const fn request(
    method: Method,
    path: &'static [Segment<'static>],
    body: Option<Template<'static>>,
) -> RequestTemplate<'static> {
    RequestTemplate {
        method,
        path,
        whole_url: false,
        headers: &[],
        body,
    }
}

pub const fn info(
    id: &'static str,
    provider: &'static ProviderInfo,
    scope: &'static str,
    secret: &'static str,
    mode: Mode,
) -> ModelInfo {
    ModelInfo {
        id,
        display_name: id,
        description: None,
        provider,
        content_type: ContentType::Image,
        key_scope: scope,
        secret_name: secret,
        mode,
        enabled: true,
        expected_latency: Duration::from_secs(10),
        timeout: Duration::from_secs(60),
        poll: Some(PollTiming {
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(10),
        }),
        params: &[PROMPT, COUNT, DURATION],
        cost: Formula {
            base: "1.5",
            multipliers: &[
                Multiplier::Count {
                    param: "number_results",
                },
                Multiplier::Ratio {
                    param: "duration",
                    per: 5,
                },
            ],
            round: Round::Ceil,
            scale: 0,
        },
        smoke: None,
        submit: RUNWARE_SUBMIT,
        response: SubmitReading {
            task_id: None,
            outputs: Some(OutputsAt {
                at: "/data/*/imageURL",
                json_string: false,
                then: None,
                kind: OutputKind::Url,
            }),
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
    }
}

/// Runware's task array.
const RUNWARE_SUBMIT: RequestTemplate<'static> = request(
    Method::Post,
    &[Segment::Text("/v1")],
    Some(Template::Array(&[Template::Object(&[
        ("taskType", Template::Str("imageInference")),
        ("taskUUID", Template::Slot(Slot::Uuid)),
        ("positivePrompt", Template::param("prompt")),
        ("numberResults", Template::param("number_results")),
        ("includeCost", Template::Json("true")),
    ])])),
);

/// Runware-shaped sync model.
pub static SYNC: ModelInfo = info(
    "test_sync",
    &RUNWARE,
    "text_to_image",
    "RUNWARE_API_KEY_TEXT_TO_IMAGE",
    Mode::Sync,
);

/// The same on a provider whose submit is idempotent.
pub static IDEMPOTENT_SYNC: ModelInfo = info(
    "test_sync_idempotent",
    &RUNWARE_IDEMPOTENT,
    "text_to_image",
    "RUNWARE_API_KEY_TEXT_TO_IMAGE",
    Mode::Sync,
);

/// A rolled-back model.
pub static DISABLED: ModelInfo = ModelInfo {
    enabled: false,
    ..info(
        "test_disabled",
        &RUNWARE,
        "text_to_image",
        "RUNWARE_API_KEY_TEXT_TO_IMAGE",
        Mode::Sync,
    )
};

const KIE_INPUT: Template<'static> = Template::Object(&[
    ("prompt", Template::param("prompt")),
    ("duration", Template::param_as_string("duration")),
]);

const KIE_READING: SubmitReading<'static> = SubmitReading {
    task_id: Some("/data/taskId"),
    outputs: None,
    provider_cost: None,
    keep: &[],
    like_first_step: false,
};

const KIE_STEP: StepReading<'static> = StepReading {
    request: request(
        Method::Get,
        &[
            Segment::Text("/api/v1/jobs/recordInfo?taskId="),
            Segment::Slot(Slot::TaskId),
        ],
        None,
    ),
    reading: KIE_STATE,
};

const KIE_STATE: Reading<'static> = Reading {
    status: Some("/data/state"),
    states: &[
        ("waiting", TaskStatus::Pending),
        ("queuing", TaskStatus::Pending),
        ("generating", TaskStatus::Processing),
        ("success", TaskStatus::Completed),
        ("fail", TaskStatus::Failed),
    ],
    outputs: Some(OutputsAt {
        at: "/data/resultJson",
        json_string: true,
        then: Some("/resultUrls"),
        kind: OutputKind::Url,
    }),
    error: Some("/data/failMsg"),
    error_code: Some("/data/failCode"),
    provider_cost: Some(ProviderCostAt {
        at: "/data/consumeCredits",
        credits_per_unit: "1",
    }),
};

/// KIE-shaped webhook model (prompt to video).
pub static KIE_WEBHOOK: ModelInfo = ModelInfo {
    content_type: ContentType::Video,
    submit: request(
        Method::Post,
        &[Segment::Text("/api/v1/jobs/createTask")],
        Some(Template::Object(&[
            ("model", Template::Str("bytedance/v1-lite-text-to-video")),
            ("callBackUrl", Template::Slot(Slot::CallbackUrl)),
            ("input", KIE_INPUT),
        ])),
    ),
    response: KIE_READING,
    steps: &[KIE_STEP],
    webhook: None,
    cancel: None,
    ..info(
        "test_kie_webhook",
        &KIE,
        "prompt_to_video",
        "KIE_AI_API_KEY_PROMPT_TO_VIDEO",
        Mode::Webhook,
    )
};

/// KIE-shaped polled model (image to video: another scope of the same provider).
pub static KIE_POLL: ModelInfo = ModelInfo {
    content_type: ContentType::Video,
    submit: request(
        Method::Post,
        &[Segment::Text("/api/v1/jobs/createTask")],
        Some(Template::Object(&[
            ("model", Template::Str("bytedance/v1-lite-text-to-video")),
            ("input", KIE_INPUT),
        ])),
    ),
    response: KIE_READING,
    steps: &[KIE_STEP],
    webhook: None,
    cancel: None,
    ..info(
        "test_kie_poll",
        &KIE,
        "image_to_video",
        "KIE_AI_API_KEY_IMAGE_TO_VIDEO",
        Mode::Poll,
    )
};

/// Replicate-shaped webhook model (Standard Webhooks).
pub static REPLICATE_WEBHOOK: ModelInfo = ModelInfo {
    submit: request(
        Method::Post,
        &[Segment::Text(
            "/v1/models/black-forest-labs/flux-dev/predictions",
        )],
        Some(Template::Object(&[
            (
                "input",
                Template::Object(&[
                    ("prompt", Template::param("prompt")),
                    ("num_outputs", Template::param("number_results")),
                ]),
            ),
            ("webhook", Template::Slot(Slot::CallbackUrl)),
            ("webhook_events_filter", Template::Json("[\"completed\"]")),
        ])),
    ),
    response: SubmitReading {
        task_id: Some("/id"),
        outputs: None,
        provider_cost: None,
        keep: &[],
        like_first_step: false,
    },
    steps: &[StepReading {
        request: request(
            Method::Get,
            &[
                Segment::Text("/v1/predictions/"),
                Segment::Slot(Slot::TaskId),
            ],
            None,
        ),
        reading: Reading {
            status: Some("/status"),
            states: &[
                ("starting", TaskStatus::Pending),
                ("processing", TaskStatus::Processing),
                ("succeeded", TaskStatus::Completed),
                ("failed", TaskStatus::Failed),
                ("canceled", TaskStatus::Failed),
            ],
            outputs: Some(OutputsAt {
                at: "/output/*",
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
    ..info(
        "test_replicate",
        &REPLICATE,
        "image",
        "REPLICATE_API_TOKEN_IMAGE",
        Mode::Webhook,
    )
};

pub static MODELS: &[&ModelInfo] = &[
    &SYNC,
    &IDEMPOTENT_SYNC,
    &DISABLED,
    &KIE_WEBHOOK,
    &KIE_POLL,
    &REPLICATE_WEBHOOK,
];

/// Known key values, distinct per scope.
pub const KEYS: &[(&str, &str)] = &[
    ("RUNWARE_API_KEY_TEXT_TO_IMAGE", "rw-t2i-SECRET-1111"),
    ("KIE_AI_API_KEY_PROMPT_TO_VIDEO", "kie-p2v-SECRET-2222"),
    ("KIE_AI_API_KEY_IMAGE_TO_VIDEO", "kie-i2v-SECRET-3333"),
    ("REPLICATE_API_TOKEN_IMAGE", "r8-img-SECRET-4444"),
    ("KIE_AI_WEBHOOK_HMAC_KEY", "kie-hook-SECRET-5555"),
    (
        "REPLICATE_WEBHOOK_SECRET",
        "whsec_c2VjcmV0LXJlcGxpY2F0ZS02NjY2",
    ),
];

pub fn keys() -> StaticKeys {
    KEYS.iter()
        .fold(StaticKeys::new(), |k, (n, v)| k.with(n, v))
}

pub fn mock_options() -> MockOptions {
    MockOptions {
        job_duration: Duration::from_millis(120),
        kie_webhook_key: "kie-hook-SECRET-5555".into(),
        standard_webhooks_secret: "whsec_c2VjcmV0LXJlcGxpY2F0ZS02NjY2".into(),
        ..MockOptions::default()
    }
}

pub fn fast_config(mock: &MockProvider) -> EngineConfig {
    EngineConfig {
        base_urls: mock.base_urls(),
        base_urls_from_env: false,
        timeout_cap: Some(Duration::from_secs(3)),
        poll_interval_cap: Some(Duration::from_millis(40)),
        webhook_poll_factor: 10,
        retry: RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        user_id: runtime::store::LOCAL_USER_ID.to_owned(),
        ..EngineConfig::default()
    }
}

pub struct Harness {
    pub mock: MockProvider,
    pub engine: Engine,
    pub store: Arc<SqliteStore>,
    pub listener: CallbackServer,
}

pub async fn harness_with(config: impl FnOnce(&MockProvider) -> EngineConfig) -> Harness {
    let mock = MockProvider::start(MODELS, mock_options()).await.unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    store
        .set_balance(runtime::store::LOCAL_USER_ID, "1000".parse().unwrap())
        .unwrap();
    let engine = Engine::builder()
        .config(config(&mock))
        .store(store.clone())
        .keys(Arc::new(keys()))
        .models(MODELS)
        .build()
        .unwrap();
    let listener = CallbackServer::start(engine.clone(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    Harness {
        mock,
        engine,
        store,
        listener,
    }
}

pub async fn harness() -> Harness {
    harness_with(fast_config).await
}

/// The mock's sent webhooks once there are `n` (it records each after the receiver answered).
pub async fn webhooks(mock: &MockProvider, n: usize) -> Vec<runtime::mock::SentWebhook> {
    for _ in 0..100 {
        let w = mock.webhooks();
        if w.len() >= n {
            return w;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    mock.webhooks()
}
