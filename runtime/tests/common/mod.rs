//! Hand-written models shaped like the bundled ones, so engine tests do not need generated code.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use runtime::answer;
use runtime::cost::{Factor, Formula, Round};
use runtime::engine::{Engine, EngineConfig};
use runtime::http::RetryPolicy;
use runtime::keys::StaticKeys;
use runtime::listener::CallbackServer;
use runtime::mock::{MockOptions, MockProvider};
use runtime::model::*;
use runtime::params::{Kind, ParamRule};
use runtime::store::{SqliteStore, Store};
use serde_json::{Value, json};

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
};

pub const RUNWARE_IDEMPOTENT: ProviderInfo = ProviderInfo {
    id: "runware",
    idempotent_submit: true,
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
};

const PROMPT: ParamRule = ParamRule {
    name: "prompt",
    required: true,
    default: None,
    kind: Kind::String {
        min_length: Some(2),
        max_length: Some(100),
    },
};
const COUNT: ParamRule = ParamRule {
    name: "number_results",
    required: false,
    default: Some("1"),
    kind: Kind::Integer {
        min: Some(1),
        max: Some(4),
        step: None,
        values: None,
    },
};
const DURATION: ParamRule = ParamRule {
    name: "duration",
    required: false,
    default: Some("5"),
    kind: Kind::Integer {
        min: None,
        max: None,
        step: None,
        values: Some(&[5, 10]),
    },
};

const fn info(
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
            factors: &[
                Factor::Count {
                    param: "number_results",
                },
                Factor::Ratio {
                    param: "duration",
                    per: 5,
                },
            ],
            round: Round::Ceil,
            scale: 0,
        },
        smoke: None,
    }
}

fn get(p: &Value, k: &str) -> Value {
    p.get(k).cloned().unwrap_or(Value::Null)
}

/// Runware-shaped sync model.
pub struct SyncModel;
impl Model for SyncModel {
    type Params = Value;
    const INFO: &'static ModelInfo = &info(
        "test_sync",
        &RUNWARE,
        "text_to_image",
        "RUNWARE_API_KEY_TEXT_TO_IMAGE",
        Mode::Sync,
    );
    fn submit_request(p: &Value, ctx: &RequestContext) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            path: "/v1".into(),
            headers: vec![],
            body: Some(
                json!([{"taskType": "imageInference", "taskUUID": ctx.uuid, "positivePrompt": get(p, "prompt"), "numberResults": get(p, "number_results"), "includeCost": true}]),
            ),
        }
    }
    fn read_submit(a: &Value) -> Result<SubmitAnswer, AnswerError> {
        let outputs = answer::outputs(a, "/data/*/imageURL", false, None, OutputKind::Url)?;
        Ok(SubmitAnswer::Done(Outcome::Completed {
            outputs,
            provider_cost: answer::provider_cost(a, "/data/0/cost", "1000"),
        }))
    }
    fn poll_request(_: &str) -> Option<HttpRequest> {
        None
    }
    fn read_task(_: &Value) -> Result<TaskState, AnswerError> {
        Err(AnswerError::NoOutputs)
    }
}

/// The same on a provider whose submit is idempotent.
pub struct IdempotentSyncModel;
impl Model for IdempotentSyncModel {
    type Params = Value;
    const INFO: &'static ModelInfo = &info(
        "test_sync_idempotent",
        &RUNWARE_IDEMPOTENT,
        "text_to_image",
        "RUNWARE_API_KEY_TEXT_TO_IMAGE",
        Mode::Sync,
    );
    fn submit_request(p: &Value, ctx: &RequestContext) -> HttpRequest {
        SyncModel::submit_request(p, ctx)
    }
    fn read_submit(a: &Value) -> Result<SubmitAnswer, AnswerError> {
        SyncModel::read_submit(a)
    }
    fn poll_request(_: &str) -> Option<HttpRequest> {
        None
    }
    fn read_task(_: &Value) -> Result<TaskState, AnswerError> {
        Err(AnswerError::NoOutputs)
    }
}

/// A rolled-back model.
pub struct DisabledModel;
impl Model for DisabledModel {
    type Params = Value;
    const INFO: &'static ModelInfo = &ModelInfo {
        enabled: false,
        ..info(
            "test_disabled",
            &RUNWARE,
            "text_to_image",
            "RUNWARE_API_KEY_TEXT_TO_IMAGE",
            Mode::Sync,
        )
    };
    fn submit_request(p: &Value, ctx: &RequestContext) -> HttpRequest {
        SyncModel::submit_request(p, ctx)
    }
    fn read_submit(a: &Value) -> Result<SubmitAnswer, AnswerError> {
        SyncModel::read_submit(a)
    }
    fn poll_request(_: &str) -> Option<HttpRequest> {
        None
    }
    fn read_task(_: &Value) -> Result<TaskState, AnswerError> {
        Err(AnswerError::NoOutputs)
    }
}

fn kie_submit(p: &Value, ctx: &RequestContext) -> HttpRequest {
    let mut body = json!({"model": "bytedance/v1-lite-text-to-video", "input": {"prompt": get(p, "prompt"), "duration": get(p, "duration").to_string()}});
    if let Some(cb) = &ctx.callback_url {
        body["callBackUrl"] = json!(cb);
    }
    HttpRequest {
        method: Method::Post,
        path: "/api/v1/jobs/createTask".into(),
        headers: vec![],
        body: Some(body),
    }
}

fn kie_read_task(a: &Value) -> Result<TaskState, AnswerError> {
    match answer::state(a, "/data/state")?.as_str() {
        "waiting" | "queuing" => Ok(TaskState::Pending),
        "generating" => Ok(TaskState::Processing),
        "success" => Ok(TaskState::Done(Outcome::Completed {
            outputs: answer::outputs(
                a,
                "/data/resultJson",
                true,
                Some("/resultUrls"),
                OutputKind::Url,
            )?,
            provider_cost: answer::provider_cost(a, "/data/consumeCredits", "1"),
        })),
        "fail" => Ok(TaskState::Done(Outcome::Failed {
            message: answer::message(a, "/data/failMsg").unwrap_or_else(|| "failed".into()),
            code: answer::message(a, "/data/failCode"),
        })),
        other => Err(AnswerError::UnknownState(other.into())),
    }
}

fn kie_poll(task_id: &str) -> Option<HttpRequest> {
    Some(HttpRequest {
        method: Method::Get,
        path: format!(
            "/api/v1/jobs/recordInfo?taskId={}",
            runtime::http::percent_encode(task_id)
        ),
        headers: vec![],
        body: None,
    })
}

fn read_task_id(a: &Value, p: &str) -> Result<SubmitAnswer, AnswerError> {
    Ok(SubmitAnswer::Accepted {
        task_id: answer::string(a, p)?,
        provider_cost: None,
    })
}

/// KIE-shaped webhook model (prompt to video).
pub struct KieWebhookModel;
impl Model for KieWebhookModel {
    type Params = Value;
    const INFO: &'static ModelInfo = &ModelInfo {
        content_type: ContentType::Video,
        ..info(
            "test_kie_webhook",
            &KIE,
            "prompt_to_video",
            "KIE_AI_API_KEY_PROMPT_TO_VIDEO",
            Mode::Webhook,
        )
    };
    fn submit_request(p: &Value, ctx: &RequestContext) -> HttpRequest {
        kie_submit(p, ctx)
    }
    fn read_submit(a: &Value) -> Result<SubmitAnswer, AnswerError> {
        read_task_id(a, "/data/taskId")
    }
    fn poll_request(t: &str) -> Option<HttpRequest> {
        kie_poll(t)
    }
    fn read_task(a: &Value) -> Result<TaskState, AnswerError> {
        kie_read_task(a)
    }
}

/// KIE-shaped polled model (image to video: another scope of the same provider).
pub struct KiePollModel;
impl Model for KiePollModel {
    type Params = Value;
    const INFO: &'static ModelInfo = &ModelInfo {
        content_type: ContentType::Video,
        ..info(
            "test_kie_poll",
            &KIE,
            "image_to_video",
            "KIE_AI_API_KEY_IMAGE_TO_VIDEO",
            Mode::Poll,
        )
    };
    fn submit_request(p: &Value, ctx: &RequestContext) -> HttpRequest {
        kie_submit(p, ctx)
    }
    fn read_submit(a: &Value) -> Result<SubmitAnswer, AnswerError> {
        read_task_id(a, "/data/taskId")
    }
    fn poll_request(t: &str) -> Option<HttpRequest> {
        kie_poll(t)
    }
    fn read_task(a: &Value) -> Result<TaskState, AnswerError> {
        kie_read_task(a)
    }
}

/// Replicate-shaped webhook model (Standard Webhooks).
pub struct ReplicateWebhookModel;
impl Model for ReplicateWebhookModel {
    type Params = Value;
    const INFO: &'static ModelInfo = &info(
        "test_replicate",
        &REPLICATE,
        "image",
        "REPLICATE_API_TOKEN_IMAGE",
        Mode::Webhook,
    );
    fn submit_request(p: &Value, ctx: &RequestContext) -> HttpRequest {
        let mut body = json!({"input": {"prompt": get(p, "prompt"), "num_outputs": get(p, "number_results")}, "webhook_events_filter": ["completed"]});
        if let Some(cb) = &ctx.callback_url {
            body["webhook"] = json!(cb);
        }
        HttpRequest {
            method: Method::Post,
            path: "/v1/models/black-forest-labs/flux-dev/predictions".into(),
            headers: vec![],
            body: Some(body),
        }
    }
    fn read_submit(a: &Value) -> Result<SubmitAnswer, AnswerError> {
        read_task_id(a, "/id")
    }
    fn poll_request(t: &str) -> Option<HttpRequest> {
        Some(HttpRequest {
            method: Method::Get,
            path: format!("/v1/predictions/{}", runtime::http::percent_encode(t)),
            headers: vec![],
            body: None,
        })
    }
    fn read_task(a: &Value) -> Result<TaskState, AnswerError> {
        match answer::state(a, "/status")?.as_str() {
            "starting" => Ok(TaskState::Pending),
            "processing" => Ok(TaskState::Processing),
            "succeeded" => Ok(TaskState::Done(Outcome::Completed {
                outputs: answer::outputs(a, "/output/*", false, None, OutputKind::Url)?,
                provider_cost: None,
            })),
            "failed" | "canceled" => Ok(TaskState::Done(Outcome::Failed {
                message: answer::message(a, "/error").unwrap_or_else(|| "failed".into()),
                code: None,
            })),
            other => Err(AnswerError::UnknownState(other.into())),
        }
    }
}

pub static MODELS: &[&dyn DynModel] = &[
    &Erased::<SyncModel>::NEW,
    &Erased::<IdempotentSyncModel>::NEW,
    &Erased::<DisabledModel>::NEW,
    &Erased::<KieWebhookModel>::NEW,
    &Erased::<KiePollModel>::NEW,
    &Erased::<ReplicateWebhookModel>::NEW,
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
        replicate_webhook_secret: "whsec_c2VjcmV0LXJlcGxpY2F0ZS02NjY2".into(),
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
    let mock = MockProvider::start(mock_options()).await.unwrap();
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
