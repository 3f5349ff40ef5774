//! The providers' answer shapes, routed by path shape.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Job, JobKind, Reply, SentWebhook, Shared, json_reply, take_job_faults};
use crate::store::now_ms;
use crate::webhook::{now_secs, sign_kie, sign_standard_webhooks};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    Runware,
    Chat,
    OpenAiImages,
    Fal,
    KieSubmit,
    KiePoll,
    SunoSubmit,
    SunoPoll,
    ReplicateSubmit,
    ReplicatePoll,
}

pub(super) fn route(method: &str, path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let post = method == "POST";
    Some(match (post, segs.as_slice()) {
        (true, ["v1"]) => Route::Runware,
        (true, [.., "chat", "completions"]) => Route::Chat,
        (true, [.., "images", "generations"]) => Route::OpenAiImages,
        (true, ["fal-ai", ..]) => Route::Fal,
        (true, ["api", "v1", "jobs", "createTask"]) => Route::KieSubmit,
        (false, ["api", "v1", "jobs", "recordInfo"]) => Route::KiePoll,
        (true, ["api", "v1", "generate"]) => Route::SunoSubmit,
        (false, ["api", "v1", "generate", "record-info"]) => Route::SunoPoll,
        (true, ["v1", "models", _, _, "predictions"]) => Route::ReplicateSubmit,
        (false, ["v1", "predictions", _]) => Route::ReplicatePoll,
        _ => return None,
    })
}

/// An error with a non-2xx status in the provider's shape.
pub(super) fn error_reply(route: Route, status: u16, message: &str) -> Reply {
    let v = match route {
        Route::Runware => {
            json!({"errors": [{"code": format!("http{status}"), "message": message, "parameter": null}]})
        }
        Route::Chat | Route::OpenAiImages => {
            json!({"error": {"message": message, "code": status, "type": "mock"}})
        }
        Route::Fal | Route::ReplicateSubmit | Route::ReplicatePoll => json!({"detail": message}),
        Route::KieSubmit | Route::KiePoll | Route::SunoSubmit | Route::SunoPoll => {
            json!({"code": status, "msg": message, "data": null})
        }
    };
    json_reply(status, &v)
}

/// A provider error as the provider sends it for a rejected request.
pub(super) fn error_body(route: Route) -> Reply {
    match route {
        Route::KieSubmit | Route::KiePoll | Route::SunoSubmit | Route::SunoPoll => json_reply(
            200,
            &json!({"code": 422, "msg": "mock: the input is invalid", "data": null}),
        ),
        Route::Runware => json_reply(
            200,
            &json!({"errors": [{"code": "invalidPositivePrompt", "message": "mock: the prompt is invalid", "parameter": "positivePrompt"}]}),
        ),
        Route::Chat | Route::OpenAiImages => json_reply(
            400,
            &json!({"error": {"message": "mock: content policy violation", "code": "content_policy_violation"}}),
        ),
        Route::Fal | Route::ReplicateSubmit | Route::ReplicatePoll => {
            json_reply(422, &json!({"detail": "mock: the input is invalid"}))
        }
    }
}

fn count(v: Option<&Value>) -> usize {
    v.and_then(|n| {
        n.as_u64()
            .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
    })
    .unwrap_or(1)
    .clamp(1, 10) as usize
}

/// `asked`, cut to the `FewerOutputs` fault's limit.
fn at_most(asked: usize, faults: &super::JobFaults) -> usize {
    faults.at_most.map_or(asked, |n| asked.min(n))
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    crate::listener::query_param(query, name)
}

pub(super) fn answer(
    shared: &Arc<Shared>,
    route: Route,
    path: &str,
    query: Option<&str>,
    body: &Value,
) -> Reply {
    match route {
        Route::Runware => {
            let Some(tasks) = body.as_array() else {
                return error_reply(route, 400, "the body must be an array of tasks");
            };
            let faults = take_job_faults(&mut shared.lock());
            if faults.fails {
                return error_body(route);
            }
            let mut data = Vec::new();
            for task in tasks {
                let uuid = task
                    .get("taskUUID")
                    .and_then(Value::as_str)
                    .unwrap_or("task");
                let format = task
                    .get("outputFormat")
                    .and_then(Value::as_str)
                    .unwrap_or("WEBP")
                    .to_ascii_lowercase();
                for i in 0..at_most(count(task.get("numberResults")), &faults) {
                    data.push(json!({
                        "taskType": "imageInference",
                        "taskUUID": uuid,
                        "imageUUID": format!("img-{uuid}-{i}"),
                        "imageURL": format!("https://im.runware.mock/image/{uuid}-{i}.{format}"),
                        "seed": 42 + i,
                        "NSFWContent": false,
                        "cost": 0.001,
                    }));
                }
            }
            json_reply(200, &json!({ "data": data }))
        }
        Route::Chat => {
            if take_job_faults(&mut shared.lock()).fails {
                return error_body(route);
            }
            let model = body.get("model").and_then(Value::as_str).unwrap_or("mock");
            let image = format!(
                "data:image/png;base64,{}",
                B64.encode(format!("mock-png:{model}"))
            );
            json_reply(
                200,
                &json!({
                    "id": format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
                    "object": "chat.completion",
                    "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": "Here is your image.",
                        "images": [{"type": "image_url", "image_url": {"url": image}}]
                    }}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 1290, "total_tokens": 1300}
                }),
            )
        }
        Route::OpenAiImages => {
            let faults = take_job_faults(&mut shared.lock());
            if faults.fails {
                return error_body(route);
            }
            let data: Vec<Value> = (0..at_most(count(body.get("n")), &faults))
                .map(|i| json!({"b64_json": B64.encode(format!("mock-png:{i}"))}))
                .collect();
            json_reply(200, &json!({"created": now_secs(), "data": data}))
        }
        Route::Fal => {
            let faults = take_job_faults(&mut shared.lock());
            if faults.fails {
                return error_body(route);
            }
            let images: Vec<Value> = (0..at_most(count(body.get("num_images")), &faults))
                .map(|i| json!({"url": format!("https://fal.media.mock/files{path}/{i}.jpg"), "width": 1024, "height": 768, "content_type": "image/jpeg"}))
                .collect();
            json_reply(
                200,
                &json!({"images": images, "seed": 7, "has_nsfw_concepts": [false], "prompt": body.get("prompt")}),
            )
        }
        Route::KieSubmit | Route::SunoSubmit | Route::ReplicateSubmit => {
            let kind = match route {
                Route::KieSubmit => JobKind::Kie,
                Route::SunoSubmit => JobKind::Suno,
                _ => JobKind::Replicate,
            };
            let id = match kind {
                JobKind::Replicate => {
                    format!("rp{}", &uuid::Uuid::new_v4().simple().to_string()[..18])
                }
                _ => uuid::Uuid::new_v4().simple().to_string(),
            };
            let model = match kind {
                JobKind::Replicate => path
                    .trim_start_matches("/v1/models/")
                    .trim_end_matches("/predictions")
                    .to_owned(),
                _ => body
                    .get("model")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            };
            let callback = match kind {
                JobKind::Replicate => body.get("webhook"),
                _ => body.get("callBackUrl"),
            }
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
            let input = match kind {
                JobKind::Suno => body.clone(),
                _ => body.get("input").cloned().unwrap_or(Value::Null),
            };
            let job = {
                let mut st = shared.lock();
                let faults = take_job_faults(&mut st);
                let job = Job {
                    id: id.clone(),
                    kind,
                    model,
                    input,
                    created: Instant::now(),
                    created_ms: now_ms(),
                    faults,
                };
                st.jobs.insert(id.clone(), job.clone());
                job
            };
            if let Some(url) = callback
                && !job.faults.no_webhook
            {
                tokio::spawn(send_webhooks(shared.clone(), job.clone(), url));
            }
            match kind {
                JobKind::Replicate => json_reply(201, &prediction(shared, &job, Duration::ZERO)),
                _ => json_reply(
                    200,
                    &json!({"code": 200, "msg": "success", "data": {"taskId": id}}),
                ),
            }
        }
        Route::KiePoll | Route::SunoPoll | Route::ReplicatePoll => {
            let id = match route {
                Route::ReplicatePoll => path.rsplit('/').next().map(str::to_owned),
                _ => query_param(query, "taskId"),
            };
            let job = id.and_then(|id| shared.lock().jobs.get(&id).cloned());
            let Some(job) = job else {
                return match route {
                    Route::ReplicatePoll => json_reply(404, &json!({"detail": "Not found."})),
                    _ => json_reply(
                        200,
                        &json!({"code": 404, "msg": "mock: no such task", "data": null}),
                    ),
                };
            };
            let elapsed = job.created.elapsed();
            match job.kind {
                JobKind::Kie => json_reply(200, &kie_record(shared, &job, elapsed, false)),
                JobKind::Suno => json_reply(200, &suno_record(shared, &job, elapsed)),
                JobKind::Replicate => json_reply(200, &prediction(shared, &job, elapsed)),
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Running,
    Done,
}

fn phase(shared: &Shared, elapsed: Duration) -> Phase {
    let d = shared.opts.job_duration;
    if elapsed >= d {
        Phase::Done
    } else if elapsed >= d / 3 {
        Phase::Running
    } else {
        Phase::Pending
    }
}

fn kie_record(shared: &Shared, job: &Job, elapsed: Duration, id_variant: bool) -> Value {
    let ph = phase(shared, elapsed);
    let state = match ph {
        Phase::Pending => "waiting",
        Phase::Running => "generating",
        Phase::Done if job.faults.fails => "fail",
        Phase::Done => "success",
    };
    let urls: Vec<String> = (0..1)
        .map(|i| format!("https://tempfile.kie.mock/{}/{i}.mp4", job.id))
        .collect();
    let done_ok = state == "success";
    let mut data = json!({
        "model": job.model,
        "state": state,
        "param": json!({"model": job.model, "input": job.input}).to_string(),
        "resultJson": if done_ok { json!({"resultUrls": urls}).to_string() } else { String::new() },
        "failCode": if state == "fail" { "500" } else { "" },
        "failMsg": if state == "fail" { "mock: generation failed" } else { "" },
        "costTime": if ph == Phase::Done { json!(elapsed.as_millis() as u64) } else { Value::Null },
        "createTime": job.created_ms,
        "completeTime": if ph == Phase::Done { json!(now_ms()) } else { Value::Null },
        "consumeCredits": if done_ok { super::KIE_CREDITS } else { 0 },
    });
    data[if id_variant { "task_id" } else { "taskId" }] = json!(job.id);
    json!({"code": 200, "msg": "success", "data": data})
}

fn suno_record(shared: &Shared, job: &Job, elapsed: Duration) -> Value {
    let status = match phase(shared, elapsed) {
        Phase::Pending => "PENDING",
        Phase::Running => "TEXT_SUCCESS",
        Phase::Done if job.faults.fails => "GENERATE_AUDIO_FAILED",
        Phase::Done => "SUCCESS",
    };
    let tracks: Vec<Value> = if status == "SUCCESS" {
        (0..2)
            .map(|i| json!({"id": format!("{}-{i}", job.id), "audioUrl": format!("https://musicfile.kie.mock/{}-{i}.mp3", job.id), "title": "Mock song", "duration": 120.5}))
            .collect()
    } else {
        Vec::new()
    };
    json!({"code": 200, "msg": "success", "data": {
        "taskId": job.id,
        "status": status,
        "param": job.input.to_string(),
        "response": {"taskId": job.id, "sunoData": tracks},
        "errorMessage": if status == "GENERATE_AUDIO_FAILED" { json!("mock: generation failed") } else { Value::Null },
    }})
}

fn prediction(shared: &Shared, job: &Job, elapsed: Duration) -> Value {
    let ph = phase(shared, elapsed);
    let status = match ph {
        Phase::Pending => "starting",
        Phase::Running => "processing",
        Phase::Done if job.faults.fails => "failed",
        Phase::Done => "succeeded",
    };
    let output = if status == "succeeded" {
        match job.input.get("num_outputs") {
            Some(n) => Value::Array(
                (0..count(Some(n)))
                    .map(|i| {
                        json!(format!(
                            "https://replicate.delivery.mock/{}/out-{i}.webp",
                            job.id
                        ))
                    })
                    .collect(),
            ),
            None => json!(format!(
                "https://replicate.delivery.mock/{}/output.mp4",
                job.id
            )),
        }
    } else {
        Value::Null
    };
    json!({
        "id": job.id,
        "model": job.model,
        "version": "mock",
        "input": job.input,
        "status": status,
        "output": output,
        "error": if status == "failed" { json!("mock: prediction failed") } else { Value::Null },
        "logs": "",
        "metrics": if ph == Phase::Done { json!({"predict_time": elapsed.as_secs_f64()}) } else { json!({}) },
        "urls": {"get": format!("{}/v1/predictions/{}", shared.base_url, job.id), "cancel": format!("{}/v1/predictions/{}/cancel", shared.base_url, job.id)},
    })
}

async fn send_webhooks(shared: Arc<Shared>, job: Job, url: String) {
    let d = shared.opts.job_duration;
    tokio::time::sleep(d + job.faults.late.unwrap_or_default()).await;
    let elapsed = job.created.elapsed();
    let done = match job.kind {
        JobKind::Kie => kie_record(&shared, &job, elapsed, job.faults.task_id_variant),
        JobKind::Suno => suno_record(&shared, &job, elapsed),
        JobKind::Replicate => prediction(&shared, &job, elapsed),
    };
    let times = if job.faults.twice { 2 } else { 1 };
    for _ in 0..times {
        deliver(&shared, &job, &url, &done).await;
    }
    if job.faults.out_of_order {
        let stale = match job.kind {
            JobKind::Kie => kie_record(&shared, &job, d / 2, job.faults.task_id_variant),
            JobKind::Suno => suno_record(&shared, &job, d / 2),
            JobKind::Replicate => prediction(&shared, &job, d / 2),
        };
        deliver(&shared, &job, &url, &stale).await;
    }
}

async fn deliver(shared: &Shared, job: &Job, url: &str, body: &Value) {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let ts = now_secs();
    let mut rb = shared
        .client
        .post(url)
        .header("content-type", "application/json");
    match job.kind {
        JobKind::Kie | JobKind::Suno => {
            let key = if job.faults.bad_signature {
                "not-the-key"
            } else {
                shared.opts.kie_webhook_key.as_str()
            };
            rb = rb
                .header("X-Webhook-Timestamp", ts.to_string())
                .header("X-Webhook-Signature", sign_kie(key, &job.id, ts));
        }
        JobKind::Replicate => {
            let msg_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
            let secret = if job.faults.bad_signature {
                "whsec_bm90LXRoZS1zZWNyZXQ="
            } else {
                shared.opts.replicate_webhook_secret.as_str()
            };
            let sig = sign_standard_webhooks(secret, &msg_id, ts, &bytes).unwrap_or_default();
            rb = rb
                .header("webhook-id", msg_id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig);
        }
    }
    let status = match rb.body(bytes).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    shared.lock().webhooks.push(SentWebhook {
        url: url.to_owned(),
        status,
        body: body.clone(),
    });
}
