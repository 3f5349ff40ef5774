//! The generated crate against the bundled specs: every model is registered, builds its request
//! from its smoke params in the shape its template promises, reads answers by its pointers and
//! state table, and agrees with the parity vectors on costs and validation messages.

use generated_models::models::seedance_v1_lite::{DurationValue, Resolution};
use generated_models::{MODELS, SeedanceV1Lite, SeedanceV1LiteParams, by_id};
use registry_tests::{bundled, root};
use runtime::model::{
    AnswerError, Model, ModelInfo, Outcome, Params, RequestContext, SubmitAnswer, Task, TaskState,
};
use serde_json::{Value, json};

fn ctx() -> RequestContext {
    RequestContext {
        uuid: "6f1c2a52-8f0b-4c5e-9a57-0d7f3c1b9e11".into(),
        callback_url: Some("https://hooks.test/g/42".into()),
    }
}

fn model(id: &str) -> &'static ModelInfo {
    by_id(id).unwrap_or_else(|| panic!("{id} is registered"))
}

/// The submit request of a model for its smoke params, through the dynamic path.
fn smoke_request(m: &ModelInfo) -> runtime::model::HttpRequest {
    let info = m;
    let smoke: Value = serde_json::from_str(
        info.smoke
            .expect("every bundled model has a smoke test")
            .params,
    )
    .unwrap();
    let params = m
        .validate(&smoke)
        .unwrap_or_else(|v| panic!("{}: smoke params are invalid: {v}", info.id));
    m.submit_request(&params, &ctx())
}

#[test]
fn every_bundled_model_is_registered_once_with_its_facts() {
    let reg = bundled();
    let ids: Vec<&str> = MODELS.iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        reg.models.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for (id, spec) in &reg.models {
        let info = model(id);
        assert_eq!(info.enabled, spec.enabled, "{id}");
        assert_eq!(info.provider.id, spec.provider, "{id}");
        assert_eq!(info.secret_name, spec.secret_name, "{id}");
        assert_eq!(
            info.timeout.as_millis(),
            u128::from(spec.execution.timeout_ms),
            "{id}"
        );
        assert_eq!(
            info.params.iter().map(|p| p.name).collect::<Vec<_>>(),
            spec.params
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
        );
    }
    assert!(by_id("no_such_model").is_none());
    // The rolled-back model is listed, disabled.
    assert!(!model("kling_v2_master_text_to_video").enabled);
    // Models of one provider share one provider static.
    assert!(std::ptr::eq(
        model("seedance_v1_lite").provider,
        model("kling_v2_pro").provider
    ));
}

#[test]
fn every_bundled_model_builds_its_smoke_request() {
    for m in MODELS {
        let info = m;
        let request = smoke_request(m);
        assert!(
            request.path.starts_with('/'),
            "{}: {}",
            info.id,
            request.path
        );
        let body = request
            .body
            .unwrap_or_else(|| panic!("{} sends a body", info.id));
        let text = body.to_string();
        // Smoke params land in the body; no placeholder is left unfilled.
        let smoke: Value = serde_json::from_str(info.smoke.unwrap().params).unwrap();
        for value in smoke.as_object().unwrap().values() {
            assert!(
                text.contains(&value.to_string()),
                "{}: {value} not in {text}",
                info.id
            );
        }
        assert!(!text.contains("{{"), "{}: {text}", info.id);
        if info.mode == runtime::model::Mode::Sync {
            assert!(m.poll_request("t").is_none(), "{}", info.id);
        } else {
            assert!(m.poll_request("t").is_some(), "{}", info.id);
        }
    }
}

#[test]
fn seedance_request_has_kie_shape() {
    let request = smoke_request(model("seedance_v1_lite"));
    assert_eq!(request.method, runtime::model::Method::Post);
    assert_eq!(request.path, "/api/v1/jobs/createTask");
    assert_eq!(
        request.body.unwrap(),
        json!({
            "model": "bytedance/v1-lite-text-to-video",
            "callBackUrl": "https://hooks.test/g/42",
            "input": {
                "prompt": "Ocean waves crashing",
                "aspect_ratio": "16:9",
                "resolution": "720p",
                "duration": "5",
                "camera_fixed": false
            }
        })
    );
    let poll = SeedanceV1Lite::poll_request("task 1/2").unwrap();
    assert_eq!(poll.path, "/api/v1/jobs/recordInfo?taskId=task%201%2F2");
}

#[test]
fn typed_and_dynamic_paths_agree() {
    let typed = SeedanceV1LiteParams::builder("Ocean")
        .resolution(Resolution::P1080)
        .duration(DurationValue::V10)
        .seed(7)
        .build()
        .unwrap();
    let dynamic = model("seedance_v1_lite")
        .validate(&json!({"prompt": "Ocean", "resolution": "1080p", "duration": 10, "seed": 7}))
        .unwrap();
    assert_eq!(
        Value::Object(typed.to_json()),
        Value::Object(dynamic.clone())
    );
    assert_eq!(
        SeedanceV1Lite::submit_request(&typed, &ctx()),
        model("seedance_v1_lite").submit_request(&dynamic, &ctx())
    );
    assert_eq!(SeedanceV1Lite::cost(&typed).unwrap().to_string(), "40");
    // Serializing and deserializing typed params round-trips.
    let back: SeedanceV1LiteParams =
        serde_json::from_value(serde_json::to_value(&typed).unwrap()).unwrap();
    assert_eq!(back, typed);
}

#[test]
fn deserializing_typed_params_checks_bounds_with_the_runtime_messages() {
    let bad = json!({"prompt": "", "resolution": "4k", "duration": 7, "zoom": 1});
    let err = serde_json::from_value::<SeedanceV1LiteParams>(bad.clone())
        .unwrap_err()
        .to_string();
    let expected = runtime::params::validate(SeedanceV1Lite::INFO.params, &bad)
        .unwrap_err()
        .to_string();
    assert_eq!(err, expected);
    assert_eq!(
        err,
        "resolution must be one of 480p, 720p, 1080p (got 4k); duration must be one of 5, 10 (got 7); unknown param zoom"
    );
    let missing = serde_json::from_value::<SeedanceV1LiteParams>(json!({}))
        .unwrap_err()
        .to_string();
    assert_eq!(missing, "prompt is required");
}

#[test]
fn runware_sends_one_task_with_the_request_uuid() {
    let request = smoke_request(model("runware_flux_1_schnell"));
    let body = request.body.unwrap();
    let tasks = body.as_array().expect("a task array");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["taskUUID"], ctx().uuid.as_str());
    assert_eq!(tasks[0]["taskType"], "imageInference");
    assert_eq!(tasks[0]["width"], 1024);
    assert_eq!(tasks[0]["numberResults"], 1);
    assert_eq!(tasks[0]["outputFormat"], "WEBP");
}

#[test]
fn optional_params_without_defaults_are_dropped_when_absent_and_sent_when_set() {
    let m = model("kling_v2_pro");
    let base = json!({"image_url": "https://example.com/a.png", "prompt": "move"});
    let body = m
        .submit_request(&m.validate(&base).unwrap(), &ctx())
        .body
        .unwrap();
    let input = &body["input"];
    assert!(
        input.get("negative_prompt").is_none() && input.get("tail_image_url").is_none(),
        "{body}"
    );
    assert_eq!(input["duration"], "5");
    let mut given = base.clone();
    given["tail_image_url"] = json!("https://example.com/z.png");
    let body = m
        .submit_request(&m.validate(&given).unwrap(), &ctx())
        .body
        .unwrap();
    assert_eq!(body["input"]["tail_image_url"], "https://example.com/z.png");
}

#[test]
fn answers_are_read_by_the_spec_pointers() {
    let seedance = model("seedance_v1_lite");
    assert_eq!(
        seedance
            .read_submit(&json!({"code": 200, "msg": "success", "data": {"taskId": "t-1"}}))
            .unwrap(),
        SubmitAnswer::Accepted {
            task: Task::new("t-1"),
            provider_cost: None,
            next_step: 0,
        }
    );
    let done = json!({"data": {"state": "success", "resultJson": "{\"resultUrls\":[\"https://cdn.test/v.mp4\"]}", "consumeCredits": 12}});
    match seedance.read_step(0, &done).unwrap() {
        TaskState::Done(Outcome::Completed {
            outputs,
            provider_cost,
        }) => {
            assert_eq!(outputs[0].value, "https://cdn.test/v.mp4");
            assert_eq!(provider_cost.map(|c| c.to_string()).as_deref(), Some("12"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        seedance
            .read_step(0, &json!({"data": {"state": "queuing"}}))
            .unwrap(),
        TaskState::Pending
    );
    assert_eq!(
        seedance
            .read_step(0, &json!({"data": {"state": "generating"}}))
            .unwrap(),
        TaskState::Processing
    );
    assert_eq!(
        seedance
            .read_step(
                0,
                &json!({"data": {"state": "fail", "failMsg": "nsfw", "failCode": 501}})
            )
            .unwrap(),
        TaskState::Done(Outcome::Failed {
            message: "nsfw".into(),
            code: Some("501".into())
        })
    );
    assert_eq!(
        seedance.read_step(0, &json!({"data": {"state": "exploded"}})),
        Err(AnswerError::UnknownState("exploded".into()))
    );
    assert_eq!(
        seedance.read_step(0, &json!({"data": {}})),
        Err(AnswerError::Missing("/data/state".into()))
    );

    let runware = model("runware_flux_1_schnell");
    let answer = json!({"data": [{"imageURL": "https://im.test/1.webp", "cost": 0.0013}]});
    match runware.read_submit(&answer).unwrap() {
        SubmitAnswer::Done(Outcome::Completed {
            outputs,
            provider_cost,
        }) => {
            assert_eq!(outputs.len(), 1);
            assert_eq!(provider_cost.map(|c| c.to_string()).as_deref(), Some("1.3"));
        }
        other => panic!("{other:?}"),
    }
    // A sync model reads a task answer like its submit answer.
    assert!(matches!(
        runware.read_step(0, &answer),
        Ok(TaskState::Done(Outcome::Completed { .. }))
    ));
}

fn vectors(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("tests/parity").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn generated_formulas_give_the_parity_costs() {
    let mut checked = 0;
    for v in vectors("cost_vectors.json") {
        let m = model(v["model"].as_str().unwrap());
        let params = m
            .validate(&v["params"])
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        let cost = runtime::cost::compute(&m.cost, &params).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(cost.to_string(), v["cost"].as_str().unwrap(), "{v}");
        // Every valid vector renders the model's submit request.
        let request = m.submit_request(&params, &ctx());
        assert!(request.path.starts_with('/'), "{v}: {request:?}");
        checked += 1;
    }
    assert!(checked > 10_000);
}

#[test]
fn generated_param_rules_give_the_parity_violations() {
    for v in vectors("validation_vectors.json") {
        let m = model(v["model"].as_str().unwrap());
        let got = match m.validate(&v["params"]) {
            Ok(_) => Value::Array(Vec::new()),
            Err(violations) => serde_json::to_value(violations.0).unwrap(),
        };
        assert_eq!(got, v["violations"], "{v}");
    }
}
