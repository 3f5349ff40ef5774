//! The API end to end: a real server on a loopback port, the mock provider, an HTTP client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use runtime::mock::{Fault, Target};
use serde_json::{Value, json};

fn id_of(r: &Resp) -> String {
    r.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", r.text))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_poll_and_webhook_generations_run_to_completion() {
    let h = Harness::start().await;
    let cases = [
        (
            "nano_banana",
            json!({"prompt": "A red apple on a table"}),
            "2",
        ),
        ("kie_nano_banana", json!({"prompt": "A red apple"}), "4"),
        (
            "seedance_v1_lite",
            json!({"prompt": "Ocean waves crashing", "resolution": "480p"}),
            "8",
        ),
        (
            "replicate_flux_dev",
            json!({"prompt": "A lighthouse", "num_outputs": 2}),
            "6",
        ),
    ];
    let mut ids = Vec::new();
    for (model, params, cost) in &cases {
        let r = h.create(ALICE, model, params.clone()).await;
        assert_eq!(r.status, 201, "{model}: {}", r.text);
        assert_eq!(r.body["status"], "pending", "{model}");
        assert_eq!(r.body["model"], *model);
        assert_eq!(r.body["cost"], *cost, "{model}: the held cost");
        let id = id_of(&r);
        assert_eq!(
            r.header("location"),
            Some(&*format!("/v1/generations/{id}"))
        );
        assert!(r.body["created_at"].as_str().unwrap().ends_with('Z'));
        ids.push(id);
    }
    for ((model, _, cost), id) in cases.iter().zip(&ids) {
        let g = h.until_done(ALICE, id).await;
        assert_eq!(g["status"], "completed", "{model}: {g}");
        assert_eq!(g["charged"], *cost, "{model}");
        let outputs = g["outputs"].as_array().unwrap();
        assert!(!outputs.is_empty(), "{model}");
        assert!(outputs[0]["value"].as_str().is_some(), "{model}");
        assert!(g.get("error").is_none(), "{model}");
    }
    // The webhook models got their deliveries through this server's route, taken with 200.
    let hooks = h.mock.provider().webhooks();
    for (provider, id) in [("kie_ai", &ids[2]), ("replicate", &ids[3])] {
        let path = format!("/v1/webhooks/{provider}/{id}?token=");
        let sent: Vec<_> = hooks.iter().filter(|w| w.url.contains(&path)).collect();
        assert!(!sent.is_empty(), "no webhook to {path}: {hooks:?}");
        assert!(sent.iter().all(|w| w.status == 200), "{sent:?}");
    }
    assert_eq!(
        h.credits(ALICE).await,
        ("980".to_owned(), "980".to_owned()),
        "2 + 4 + 8 + 6 charged once each"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_wait_answers_the_finished_generation_or_the_running_one() {
    let h = Harness::start().await;
    let body = json!({"model": "nano_banana", "params": {"prompt": "x"}}).to_string();
    let r = h
        .post(
            "/v1/generations",
            Some(ALICE),
            &body,
            &[("prefer", "wait=5")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "completed");
    assert_eq!(r.header("preference-applied"), Some("wait=5"));
    assert!(r.body["outputs"].as_array().is_some_and(|o| !o.is_empty()));

    // More than 60 s is capped at 60 (and said so).
    let r = h
        .post(
            "/v1/generations",
            Some(ALICE),
            &body,
            &[("prefer", "wait=600")],
        )
        .await;
    assert_eq!(
        (r.status, r.header("preference-applied")),
        (200, Some("wait=60"))
    );

    // Still running when the wait runs out: 201, as without the preference.
    h.mock.provider().inject(Fault::Slow {
        delay: Duration::from_secs(3),
        target: Target::Submit,
    });
    let t = Instant::now();
    let r = h
        .post(
            "/v1/generations",
            Some(ALICE),
            &body,
            &[("prefer", "respond-async, wait=1")],
        )
        .await;
    let took = t.elapsed();
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.header("preference-applied"), Some("wait=1"));
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(2500),
        "{took:?}"
    );

    // No preference: answered at once, no Preference-Applied.
    let r = h.post("/v1/generations", Some(ALICE), &body, &[]).await;
    assert_eq!((r.status, r.header("preference-applied")), (201, None));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_refuse_other_params_and_in_flight() {
    let h = Harness::start().await;
    let body = json!({"model": "nano_banana", "params": {"prompt": "same"}});
    let body = body.to_string();
    let key = [("idempotency-key", "order-1")];
    let first = h.post("/v1/generations", Some(ALICE), &body, &key).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let id = id_of(&first);
    h.until_done(ALICE, &id).await;

    // The same key and body: the first answer again, status and body to the byte.
    let again = h.post("/v1/generations", Some(ALICE), &body, &key).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.text, first.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    // Key order is not content.
    let reordered = r#"{"params": {"prompt": "same"}, "model": "nano_banana"}"#;
    let r = h
        .post("/v1/generations", Some(ALICE), reordered, &key)
        .await;
    assert_eq!((r.status, r.text.as_str()), (201, first.text.as_str()));
    // One generation, one charge.
    let list = h.get("/v1/generations", Some(ALICE)).await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );
    assert_eq!(h.credits(ALICE).await.0, "998");

    // The same key with other params.
    let other = json!({"model": "nano_banana", "params": {"prompt": "different"}}).to_string();
    let r = h.post("/v1/generations", Some(ALICE), &other, &key).await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (422, "idempotency_key_reused", "Idempotency-Key")
    );

    // Keys are per user: Bob's "order-1" is his own.
    let r = h.post("/v1/generations", Some(BOB), &body, &key).await;
    assert_eq!(r.status, 201);
    assert_ne!(id_of(&r), id);
    // (Finished before the fault below is queued, so that its submit does not take it.)
    h.until_done(BOB, &id_of(&r)).await;

    // A request still in flight with the key: 409; once it answered, its answer is replayed.
    h.mock.provider().inject(Fault::Slow {
        delay: Duration::from_millis(1500),
        target: Target::Submit,
    });
    let slow_key = [("idempotency-key", "order-2"), ("prefer", "wait=10")];
    let (first, second) = tokio::join!(
        h.post("/v1/generations", Some(ALICE), &body, &slow_key),
        async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            h.post("/v1/generations", Some(ALICE), &body, &slow_key)
                .await
        }
    );
    assert_eq!(
        (second.status, second.code()),
        (409, "idempotency_key_in_flight"),
        "{}",
        second.text
    );
    assert_eq!(first.status, 200, "{}", first.text);
    let third = h
        .post("/v1/generations", Some(ALICE), &body, &slow_key)
        .await;
    assert_eq!(
        (third.status, third.text.as_str()),
        (200, first.text.as_str())
    );
    assert_eq!(third.header("preference-applied"), Some("wait=10"));
    assert_eq!(
        h.credits(ALICE).await.0,
        "996",
        "two generations of 2 credits"
    );

    // A request refused before any generation existed leaves the key free.
    let bad = json!({"model": "nano_banana", "params": {}}).to_string();
    let k3 = [("idempotency-key", "order-3")];
    let r = h.post("/v1/generations", Some(ALICE), &bad, &k3).await;
    assert_eq!(r.status, 422);
    let r = h.post("/v1/generations", Some(ALICE), &other, &k3).await;
    assert_eq!(r.status, 201, "{}", r.text);

    // A key that is not one.
    let long = "k".repeat(256);
    let r = h
        .post(
            "/v1/generations",
            Some(ALICE),
            &body,
            &[("idempotency-key", &long)],
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_idempotency_key"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_required_and_generations_are_private() {
    let h = Harness::start().await;
    let r = h.get("/v1/models", None).await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"));
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"registry\"")
    );
    let r = h.get("/v1/generations", Some("not-a-token")).await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let r = h
        .send(
            h.client
                .get(format!("{}/v1/models", h.url))
                .header("authorization", "Basic YWxpY2U6eA=="),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = h
        .post("/v1/generations", None, r#"{"model": "nano_banana"}"#, &[])
        .await;
    assert_eq!(r.status, 401);

    let r = h
        .create(ALICE, "nano_banana", json!({"prompt": "mine"}))
        .await;
    let id = id_of(&r);
    h.until_done(ALICE, &id).await;
    assert_eq!(
        h.get(&format!("/v1/generations/{id}"), Some(ALICE))
            .await
            .status,
        200
    );
    // Bob cannot see, list or cancel it: to him it does not exist.
    let r = h.get(&format!("/v1/generations/{id}"), Some(BOB)).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = h.get("/v1/generations", Some(BOB)).await;
    assert_eq!(r.body["data"], json!([]));
    let r = h
        .post(&format!("/v1/generations/{id}/cancel"), Some(BOB), "", &[])
        .await;
    assert_eq!(r.status, 404);

    // No answer names a secret.
    let models = h.get("/v1/models", Some(ALICE)).await;
    assert_eq!(models.status, 200);
    for m in generated_models::MODELS {
        assert!(!models.text.contains(m.secret_name), "{}", m.secret_name);
    }
    assert!(!models.text.contains("key_scope"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_is_allowed_for_a_configured_origin_only() {
    let h = Harness::with(Setup {
        cors: vec!["https://app.example"],
        ..Setup::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        h.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/generations", h.url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,idempotency-key,prefer",
            )
    };
    let r = h.send(preflight("https://app.example")).await;
    assert!(r.status < 300, "{}", r.status);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let allowed = r.header("access-control-allow-headers").unwrap().to_owned();
    for name in ["authorization", "content-type", "idempotency-key", "prefer"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    let r = h.send(preflight("https://evil.example")).await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    // An actual request from the allowed origin can read even an error.
    let r = h
        .send(
            h.client
                .get(format!("{}/v1/models", h.url))
                .header("origin", "https://app.example"),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_naming_the_field() {
    let h = Harness::start().await;
    let cases: &[(&str, u16, &str, &str)] = &[
        // body, status, code, field
        (r#"{"model": "#, 400, "malformed_json", ""),
        ("", 400, "malformed_json", ""),
        ("[1, 2]", 422, "invalid_body", ""),
        (r#"{"model": 5}"#, 422, "invalid_type", "model"),
        (r#"{"params": {}}"#, 422, "missing_field", "model"),
        (
            r#"{"model": "nano_banana", "params": "a prompt"}"#,
            422,
            "invalid_type",
            "params",
        ),
        (
            r#"{"model": "nano_banana", "params": {"prompt": "x"}, "extra": 1}"#,
            422,
            "unknown_field",
            "extra",
        ),
        (
            r#"{"model": "no_such_model"}"#,
            422,
            "unknown_model",
            "model",
        ),
        (
            r#"{"model": "kling_v2_master_text_to_video", "params": {"prompt": "x"}}"#,
            409,
            "model_disabled",
            "model",
        ),
    ];
    for (body, status, code, field) in cases {
        let r = h.post("/v1/generations", Some(ALICE), body, &[]).await;
        assert_eq!(
            (r.status, r.code(), r.field()),
            (*status, *code, *field),
            "{body}: {}",
            r.text
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let r = h
        .post(
            "/v1/generations",
            Some(ALICE),
            r#"{"model": "kling_v2_master_text_to_video", "params": {"prompt": "x"}}"#,
            &[],
        )
        .await;
    assert!(r.text.contains("rolled back"), "{}", r.text);

    // Params: every violation, with the codes and messages of the shared rules.
    let model = generated_models::by_id("runware_flux_1_schnell").unwrap();
    let params = json!({"width": 7, "number_results": 99, "bogus": true});
    let expected = model.validate(&params).unwrap_err();
    assert!(expected.0.len() >= 3, "{expected:?}");
    let r = h.create(ALICE, model.id, params).await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (422, "invalid_params", "params")
    );
    let got = r.body["error"]["violations"].as_array().unwrap();
    assert_eq!(got.len(), expected.0.len(), "{}", r.text);
    for (g, e) in got.iter().zip(&expected.0) {
        assert_eq!(g["param"], e.param);
        assert_eq!(g["code"], serde_json::to_value(e.code).unwrap());
        assert_eq!(g["message"], e.message);
    }
    assert!(
        got.iter()
            .any(|v| v["code"] == "unknown_param" && v["param"] == "bogus")
    );
    assert!(
        got.iter()
            .any(|v| v["code"] == "required" && v["param"] == "prompt")
    );

    // Not JSON, too large, no credits.
    let r = h
        .send(
            h.client
                .post(format!("{}/v1/generations", h.url))
                .header("authorization", format!("Bearer {ALICE}"))
                .header("content-type", "text/plain")
                .body("model=nano_banana"),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (415, "unsupported_media_type", "Content-Type")
    );
    let huge = json!({"model": "nano_banana", "params": {"prompt": "x".repeat(300 * 1024)}});
    let r = h
        .post("/v1/generations", Some(ALICE), &huge.to_string(), &[])
        .await;
    assert_eq!((r.status, r.code()), (413, "body_too_large"), "{}", r.text);
    let r = h.create(CAROL, "nano_banana", json!({"prompt": "x"})).await;
    assert_eq!(
        (r.status, r.code()),
        (402, "insufficient_credits"),
        "{}",
        r.text
    );

    // The list's query.
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=many", "limit"),
        ("status=done", "status"),
        ("cursor=zzz", "cursor"),
        ("sort=asc", "sort"),
    ] {
        let r = h.get(&format!("/v1/generations?{q}"), Some(ALICE)).await;
        assert_eq!(
            (r.status, r.code(), r.field()),
            (400, "invalid_query", field),
            "{q}"
        );
    }

    // Routes and methods that do not exist.
    let r = h.get("/v1/nothing", Some(ALICE)).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = h
        .send(
            h.client
                .delete(format!("{}/v1/models", h.url))
                .header("authorization", format!("Bearer {ALICE}")),
        )
        .await;
    assert_eq!((r.status, r.code()), (405, "method_not_allowed"));
    assert_eq!(
        h.get("/v1/generations", Some(ALICE)).await.body["data"],
        json!([])
    );
    assert_eq!(h.credits(ALICE).await.0, "1000", "nothing charged");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_refuse_forgeries_ignore_duplicates_and_bound_bodies() {
    let h = Harness::start().await;
    let r = h
        .create(
            ALICE,
            "seedance_v1_lite",
            json!({"prompt": "waves", "resolution": "480p"}),
        )
        .await;
    let kie_id = id_of(&r);
    let hook = |provider: &str, id: &str| format!("{}/v1/webhooks/{provider}/{id}", h.url);

    // Forged: a signature made with another key, or none at all.
    let body = json!({"code": 200, "data": {"taskId": "t", "state": "success"}}).to_string();
    let ts = runtime::webhook::now_secs();
    let forged = h
        .send(
            h.client
                .post(hook("kie_ai", &kie_id))
                .header("content-type", "application/json")
                .header("x-webhook-timestamp", ts.to_string())
                .header(
                    "x-webhook-signature",
                    runtime::webhook::sign_kie("not-the-key", "t", ts),
                )
                .body(body.clone()),
        )
        .await;
    assert_eq!(
        (forged.status, forged.code()),
        (401, "invalid_signature"),
        "{}",
        forged.text
    );
    let unsigned = h
        .send(h.client.post(hook("kie_ai", &kie_id)).body(body.clone()))
        .await;
    assert_eq!(unsigned.status, 401);
    assert_eq!(h.running().stats().webhooks_forged(), 2);
    let g = h.until_done(ALICE, &kie_id).await;
    assert_eq!(
        g["status"], "completed",
        "the forgeries changed nothing: {g}"
    );

    // Unknown generation.
    let r = h
        .send(
            h.client
                .post(hook("kie_ai", "00000000-0000-4000-8000-00000000dead"))
                .body(body.clone()),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));

    // A body over the webhook limit (1 MiB).
    let before = h.running().stats().bodies_too_large();
    let r = h
        .send(
            h.client
                .post(hook("kie_ai", &kie_id))
                // Just over the limit: the server refuses on the length without reading the
                // body, and a body far larger than the socket buffers would meet a closed
                // connection before its sender reads the 413.
                .body(vec![b'x'; 1024 * 1024 + 1]),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "body_too_large"), "{}", r.text);
    assert_eq!(h.running().stats().bodies_too_large(), before + 1);

    // Duplicates: the mock delivers Replicate's webhook twice; then the same signed message is
    // sent twice more by hand. The generation is completed and charged once.
    h.mock.provider().inject(Fault::WebhookTwice);
    let r = h
        .create(ALICE, "replicate_flux_dev", json!({"prompt": "a"}))
        .await;
    let rep_id = id_of(&r);
    let done = h.until_done(ALICE, &rep_id).await;
    assert_eq!(done["status"], "completed");
    // Both deliveries reach the server (bounded wait), and both are taken.
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = h
            .mock
            .provider()
            .webhooks()
            .into_iter()
            .filter(|w| w.url.contains(&rep_id))
            .collect();
        if sent.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|w| w.status == 200), "{sent:?}");
    let secret = h
        .mock
        .secret("REPLICATE_WEBHOOK_SECRET")
        .unwrap()
        .to_owned();
    let bytes = serde_json::to_vec(&sent[0].body).unwrap();
    let ts = runtime::webhook::now_secs();
    let sig = runtime::webhook::sign_standard_webhooks(&secret, "msg_repeat", ts, &bytes).unwrap();
    let mut acks = Vec::new();
    for _ in 0..2 {
        let r = h
            .send(
                h.client
                    .post(&sent[0].url)
                    .header("webhook-id", "msg_repeat")
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", sig.clone())
                    .body(bytes.clone()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        acks.push(r.body["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(acks, ["already_finished", "duplicate"]);
    let after = h
        .get(&format!("/v1/generations/{rep_id}"), Some(ALICE))
        .await;
    assert_eq!(after.body, done, "unchanged");
    assert_eq!(h.credits(ALICE).await.0, "989", "8 + 3, each charged once");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_generation_and_says_why_it_cannot() {
    let h = Harness::start().await;
    let cancel = |id: &str| format!("/v1/generations/{id}/cancel");

    // A model without a cancel request.
    let r = h.create(ALICE, "nano_banana", json!({"prompt": "x"})).await;
    let id = id_of(&r);
    h.until_done(ALICE, &id).await;
    let r = h.post(&cancel(&id), Some(ALICE), "", &[]).await;
    assert_eq!((r.status, r.code()), (409, "not_cancellable"), "{}", r.text);

    // A finished generation of a model that can be cancelled.
    let r = h
        .create(ALICE, "replicate_flux_dev", json!({"prompt": "x"}))
        .await;
    let id = id_of(&r);
    assert_eq!(h.until_done(ALICE, &id).await["status"], "completed");
    let r = h.post(&cancel(&id), Some(ALICE), "", &[]).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "already_finished"),
        "{}",
        r.text
    );
    assert!(r.text.contains("finished"));
    assert_eq!(h.credits(ALICE).await.0, "995");

    // A running one (its submit held by the provider): cancelled and refunded.
    h.mock.provider().inject(Fault::Slow {
        delay: Duration::from_secs(2),
        target: Target::Submit,
    });
    let r = h
        .create(ALICE, "replicate_flux_dev", json!({"prompt": "x"}))
        .await;
    let id = id_of(&r);
    assert_eq!(h.credits(ALICE).await.1, "992", "3 held");
    let r = h.post(&cancel(&id), Some(ALICE), "", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "failed");
    assert_eq!(r.body["error"]["kind"], "cancelled");
    assert_eq!(r.body["charged"], "0");
    assert_eq!(h.credits(ALICE).await, ("995".to_owned(), "995".to_owned()));
    let r = h.post(&cancel(&id), Some(ALICE), "", &[]).await;
    assert_eq!((r.status, r.code()), (409, "already_finished"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_a_missing_secret_and_runs_nothing_without_it() {
    let h = Harness::start().await;
    let r = h.get("/healthz", None).await;
    assert_eq!((r.status, &r.body), (200, &json!({"status": "ok"})));
    let r = h.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["missing_secrets"], json!([]));
    h.stop().await;

    let h = Harness::with(Setup {
        without_secret: Some("LOVABLE_API_KEY"),
        ..Setup::default()
    })
    .await;
    let r = h.get("/readyz", None).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body,
        json!({"status": "not_ready", "store": "ok", "missing_secrets": ["LOVABLE_API_KEY"]})
    );
    // A generation of a model whose key is missing: refused, nothing charged, no secret named.
    let r = h.create(ALICE, "nano_banana", json!({"prompt": "x"})).await;
    assert_eq!(
        (r.status, r.code()),
        (503, "provider_unavailable"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("LOVABLE_API_KEY"), "{}", r.text);
    let list = h.get("/v1/generations", Some(ALICE)).await;
    let rows = list.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "recorded as failed, for monitoring");
    assert_eq!(rows[0]["error"]["kind"], "missing_key");
    assert!(!list.text.contains("LOVABLE_API_KEY"), "{}", list.text);
    assert_eq!(h.credits(ALICE).await.0, "1000");
    h.stop().await;
}

/// KIE's spec opens its circuit breaker when half of 20 or more requests in a minute failed:
/// new generations are then refused at once, with a `Retry-After` a client can wait for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_circuit_breaker_refuses_at_once_with_retry_after() {
    let h = Harness::start().await;
    for _ in 0..40 {
        h.mock.provider().inject(Fault::Status {
            code: 503,
            target: Target::Submit,
        });
    }
    let mut refused = None;
    for _ in 0..40 {
        let r = h
            .create(ALICE, "kie_nano_banana", json!({"prompt": "x"}))
            .await;
        if r.status == 503 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(h.until_done(ALICE, &id).await["status"], "failed");
    }
    let r = refused.expect("the breaker opened within 40 failed submits");
    assert_eq!(r.code(), "provider_unavailable", "{}", r.text);
    let secs: u64 = r
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "Retry-After: {secs}");
    assert!(
        r.text.contains(&format!("try again in {secs}s")),
        "{}",
        r.text
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_newest_first_with_filters() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for (model, prompt) in [
        ("nano_banana", "a"),
        ("openrouter_gemini_image", "b"),
        ("nano_banana", "c"),
    ] {
        let r = h.create(ALICE, model, json!({"prompt": prompt})).await;
        ids.push(id_of(&r));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for id in &ids {
        h.until_done(ALICE, id).await;
    }
    let page = h.get("/v1/generations?limit=2", Some(ALICE)).await;
    let got: Vec<&str> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = h
        .get(
            &format!("/v1/generations?limit=2&cursor={cursor}"),
            Some(ALICE),
        )
        .await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["data"][0]["id"], ids[0]);
    assert!(rest.body.get("next_cursor").is_none());
    let only = h
        .get(
            "/v1/generations?model=nano_banana&status=completed",
            Some(ALICE),
        )
        .await;
    let got: Vec<&Value> = only.body["data"].as_array().unwrap().iter().collect();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|g| g["model"] == "nano_banana"));
    let none = h
        .get("/v1/generations?status=processing", Some(ALICE))
        .await;
    assert_eq!(none.body["data"], json!([]));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_models_and_the_openapi_document() {
    let h = Harness::start().await;
    let r = h.get("/v1/models", Some(ALICE)).await;
    let models = r.body.as_array().unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"seedance_v1_lite"));
    assert!(
        !ids.contains(&"kling_v2_master_text_to_video"),
        "disabled: not offered"
    );
    let seedance = models
        .iter()
        .find(|m| m["id"] == "seedance_v1_lite")
        .unwrap();
    assert_eq!(
        seedance["provider"],
        json!({"id": "kie_ai", "display_name": "KIE AI"})
    );
    assert_eq!(seedance["mode"], "webhook");
    assert_eq!(seedance["content_type"], "video");
    assert_eq!(seedance["cost"]["base"], "8");
    assert_eq!(seedance["cost"]["multipliers"][0]["kind"], "table");
    assert_eq!(seedance["params"][0]["name"], "prompt");
    assert_eq!(seedance["params"][0]["required"], true);
    assert!(seedance["expected_latency_ms"].as_u64().unwrap() > 0);

    let doc = h.get("/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let paths = doc.body["paths"].as_object().unwrap();
    for p in [
        "/v1/generations",
        "/v1/generations/{id}",
        "/v1/generations/{id}/cancel",
        "/v1/models",
        "/v1/account",
        "/v1/webhooks/{provider}/{generation_id}",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(p), "{p} missing from {:?}", paths.keys());
    }
    assert!(paths["/v1/generations"].get("post").is_some());
    assert!(paths["/v1/generations"].get("get").is_some());
    assert_eq!(
        doc.body["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    h.stop().await;
}
