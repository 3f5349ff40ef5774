//! `GET /metrics` after a known set of generations, webhooks and key retrievals: every counter
//! has exactly the expected value, the text parses as the Prometheus text exposition format
//! (a strict line parser below), and no label carries a user id, a prompt or a generation id.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use runtime::mock::{Fault, Target};
use serde_json::json;

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The exposition, parsed strictly: every line is `# HELP`, `# TYPE` or a sample; every sample
/// belongs to a family declared by a `# TYPE` line before it (a histogram's `_bucket`, `_sum`
/// and `_count`); names and label names are valid; label values are quoted with the format's
/// escapes; values are floats. Returns the samples and each family's type.
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    fn valid_name(s: &str) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    assert!(text.ends_with('\n'), "the text ends with a newline");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(valid_name(name), "{at}");
            assert!(helps.insert(name.to_owned()), "{at}: a second HELP");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let parts: Vec<&str> = rest.split(' ').collect();
            assert_eq!(parts.len(), 2, "{at}");
            assert!(valid_name(parts[0]), "{at}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&parts[1]),
                "{at}"
            );
            assert!(
                types
                    .insert(parts[0].to_owned(), parts[1].to_owned())
                    .is_none(),
                "{at}: a second TYPE"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "{at}: an unknown comment");
        assert!(!line.is_empty(), "{at}: an empty line");
        // name, then optional {labels}, then a space and the value.
        let name_end = line.find(['{', ' ']).expect("a sample has a value");
        let name = &line[..name_end];
        assert!(valid_name(name), "{at}");
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end;
            loop {
                let (i, c) = chars.next().expect("labels end with }");
                if c == '}' {
                    end = i;
                    break;
                }
                // label name
                let start = i;
                let mut eq = None;
                for (j, c) in chars.by_ref() {
                    if c == '=' {
                        eq = Some(j);
                        break;
                    }
                }
                let eq = eq.expect("label=value");
                let key = &body[start..eq];
                assert!(
                    valid_name(key) && !key.starts_with("__"),
                    "{at}: label {key}"
                );
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{at}");
                let mut value = String::new();
                loop {
                    let (_, c) = chars.next().expect("a closing quote");
                    match c {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("{at}: bad escape {other:?}"),
                        },
                        '\n' => panic!("{at}: a raw newline"),
                        c => value.push(c),
                    }
                }
                assert!(
                    labels.insert(key.to_owned(), value).is_none(),
                    "{at}: label {key} twice"
                );
                match chars.peek() {
                    Some((_, ',')) => {
                        chars.next();
                    }
                    Some((_, '}')) => {}
                    other => panic!("{at}: after a label: {other:?}"),
                }
            }
            rest = &body[end + 1..];
        }
        let value = rest.strip_prefix(' ').expect("a space before the value");
        assert!(!value.contains(' '), "{at}: no timestamp is sent");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("{at}: value {v}")),
        };
        let family = types
            .iter()
            .find(|(f, t)| {
                name == f.as_str()
                    || (t.as_str() == "histogram"
                        && ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|s| name.strip_suffix(s) == Some(f.as_str())))
            })
            .map(|(f, _)| f.clone());
        let family = family.unwrap_or_else(|| panic!("{at}: no # TYPE for {name}"));
        assert!(helps.contains(&family), "{at}: no # HELP for {family}");
        if name.ends_with("_bucket") {
            assert!(labels.contains_key("le"), "{at}");
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    (samples, types)
}

/// The value of the sample `name` with exactly `labels`; 0 when there is none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name && s.labels == want)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} twice");
    found.first().map_or(0.0, |s| s.value)
}

/// Every sample of `name`, as `labels -> value`.
/// The series of `name` that are not 0 (the generation and key-retrieval series of every model
/// exist from the start at 0).
fn all(samples: &[Sample], name: &str) -> BTreeMap<String, f64> {
    samples
        .iter()
        .filter(|s| s.name == name && s.value != 0.0)
        .map(|s| {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (labels.join(","), s.value)
        })
        .collect()
}

fn id_of(r: &Resp) -> String {
    r.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", r.text))
        .to_owned()
}

const PROMPT: &str = "A red apple on a wooden table";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_exactly_what_happened() {
    let h = Harness::with(Setup {
        without_secret: Some("RUNWARE_API_KEY_TEXT_TO_IMAGE"),
        ..Setup::default()
    })
    .await;
    // Nothing has happened yet: the exposition parses, and every sample is 0.
    let r = h.get("/metrics", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let (samples, _) = parse(&r.text);
    assert_eq!(value(&samples, "registry_generations_in_flight", &[]), 0.0);
    // Every model's series exist from the start, at 0 (what `increase()` needs to see a first
    // event).
    let zero = samples.iter().find(|s| {
        s.name == "registry_generations_total"
            && s.labels.get("model").map(String::as_str) == Some("gpt_image_1")
            && s.labels.get("status").map(String::as_str) == Some("failed")
    });
    assert_eq!(zero.map(|s| s.value), Some(0.0), "{}", r.text);
    let missing = samples.iter().find(|s| {
        s.name == "registry_key_retrievals_total"
            && s.labels.get("secret_name").map(String::as_str)
                == Some("KIE_AI_API_KEY_PROMPT_TO_AUDIO")
            && s.labels.get("result").map(String::as_str) == Some("missing")
    });
    assert_eq!(missing.map(|s| s.value), Some(0.0), "{}", r.text);

    let mut ids = Vec::new();
    // 3 completed sync generations (2 credits each).
    for _ in 0..3 {
        let r = h
            .create(ALICE, "nano_banana", json!({ "prompt": PROMPT }))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(id_of(&r));
    }
    for id in &ids {
        assert_eq!(h.until_done(ALICE, id).await["status"], "completed");
    }
    // 1 failed by a 503 on the submit (not retried: the submit may have started a job).
    h.mock.provider().inject(Fault::Status {
        code: 503,
        target: Target::Submit,
    });
    let r = h
        .create(ALICE, "nano_banana", json!({ "prompt": PROMPT }))
        .await;
    let failed_503 = id_of(&r);
    assert_eq!(h.until_done(ALICE, &failed_503).await["status"], "failed");
    // 1 failed job: the provider's answer reports the failure.
    h.mock.provider().inject(Fault::JobFails);
    let r = h
        .create(ALICE, "nano_banana", json!({ "prompt": PROMPT }))
        .await;
    let failed_job = id_of(&r);
    let g = h.until_done(ALICE, &failed_job).await;
    assert_eq!(g["status"], "failed", "{g}");
    // 1 missing key: refused, recorded as failed (kind missing_key), its hold released.
    let r = h
        .create(ALICE, "runware_flux_1_schnell", json!({ "prompt": PROMPT }))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (503, "provider_unavailable"),
        "{}",
        r.text
    );
    // 1 webhook model completed by its polls (the provider sends no webhook), then webhooks by
    // hand: a signed message (the generation has finished: ignored), the same message again
    // (duplicate), a forged one, and one to a provider the server does not run.
    h.mock.provider().inject(Fault::NoWebhook);
    let r = h
        .create(ALICE, "replicate_flux_dev", json!({ "prompt": PROMPT }))
        .await;
    let rep = id_of(&r);
    assert_eq!(h.until_done(ALICE, &rep).await["status"], "completed");
    let task = h
        .store
        .get(&rep)
        .unwrap()
        .unwrap()
        .task_id()
        .map(str::to_owned);
    let body = serde_json::to_vec(&json!({
        "id": task,
        "status": "succeeded",
        "output": ["https://cdn.example/x.png"],
    }))
    .unwrap();
    let secret = h
        .mock
        .secret("REPLICATE_WEBHOOK_SECRET")
        .unwrap()
        .to_owned();
    let url = format!("{}/v1/webhooks/replicate/{rep}", h.url);
    let ts = runtime::webhook::now_secs();
    let sig = runtime::webhook::sign_standard_webhooks(&secret, "msg_1", ts, &body).unwrap();
    let mut acks = Vec::new();
    for _ in 0..2 {
        let r = h
            .send(
                h.client
                    .post(&url)
                    .header("webhook-id", "msg_1")
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", sig.clone())
                    .body(body.clone()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        acks.push(r.body["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(acks, ["already_finished", "duplicate"]);
    let forged_sig =
        runtime::webhook::sign_standard_webhooks("d2hzZWNfbm90LXRoZS1rZXk=", "msg_2", ts, &body)
            .unwrap();
    let r = h
        .send(
            h.client
                .post(&url)
                .header("webhook-id", "msg_2")
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", forged_sig)
                .body(body.clone()),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = h
        .send(
            h.client
                .post(format!(
                    "{}/v1/webhooks/no-such-provider-{PROMPT}/00000000-0000-4000-8000-00000000dead",
                    h.url
                ))
                .body("{}"),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);

    let r = h.get("/metrics", None).await;
    assert_eq!(r.status, 200);
    let text = r.text;
    let (samples, types) = parse(&text);

    // Families and their types.
    for (family, kind) in [
        ("registry_generations_total", "counter"),
        ("registry_generation_failures_total", "counter"),
        ("registry_generation_duration_seconds", "histogram"),
        ("registry_generations_in_flight", "gauge"),
        ("registry_provider_errors_total", "counter"),
        ("registry_key_retrievals_total", "counter"),
        ("registry_credits_charged_total", "counter"),
        ("registry_credits_refunded_total", "counter"),
        ("registry_webhooks_total", "counter"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}:\n{text}"
        );
    }

    // Generations.
    assert_eq!(
        all(&samples, "registry_generations_total"),
        BTreeMap::from([
            (
                "model=nano_banana,provider=lovable_ai,status=completed".to_owned(),
                3.0
            ),
            (
                "model=nano_banana,provider=lovable_ai,status=failed".to_owned(),
                2.0
            ),
            (
                "model=replicate_flux_dev,provider=replicate,status=completed".to_owned(),
                1.0
            ),
            (
                "model=runware_flux_1_schnell,provider=runware,status=failed".to_owned(),
                1.0
            ),
        ]),
        "{text}"
    );
    assert_eq!(
        all(&samples, "registry_generation_failures_total"),
        BTreeMap::from([
            (
                "kind=provider,model=nano_banana,provider=lovable_ai".to_owned(),
                2.0
            ),
            (
                "kind=missing_key,model=runware_flux_1_schnell,provider=runware".to_owned(),
                1.0
            ),
        ]),
        "{text}"
    );
    assert_eq!(value(&samples, "registry_generations_in_flight", &[]), 0.0);
    // Every model's series exist from the start, at 0 (what `increase()` needs to see a first
    // event).
    let zero = samples.iter().find(|s| {
        s.name == "registry_generations_total"
            && s.labels.get("model").map(String::as_str) == Some("gpt_image_1")
            && s.labels.get("status").map(String::as_str) == Some("failed")
    });
    assert_eq!(zero.map(|s| s.value), Some(0.0), "{text}");
    let missing = samples.iter().find(|s| {
        s.name == "registry_key_retrievals_total"
            && s.labels.get("secret_name").map(String::as_str)
                == Some("KIE_AI_API_KEY_PROMPT_TO_AUDIO")
            && s.labels.get("result").map(String::as_str) == Some("missing")
    });
    assert_eq!(missing.map(|s| s.value), Some(0.0), "{text}");

    // Durations: nano_banana expects 8 s, so its buckets are 2, 4, 8, 16, 32 and 64 s.
    let buckets: Vec<String> = samples
        .iter()
        .filter(|s| {
            s.name == "registry_generation_duration_seconds_bucket"
                && s.labels["model"] == "nano_banana"
                && s.labels["status"] == "completed"
        })
        .map(|s| s.labels["le"].clone())
        .collect();
    assert_eq!(buckets, ["2", "4", "8", "16", "32", "64", "+Inf"]);
    let count = |model: &str, status: &str| {
        value(
            &samples,
            "registry_generation_duration_seconds_count",
            &[("model", model), ("status", status)],
        )
    };
    assert_eq!(count("nano_banana", "completed"), 3.0);
    assert_eq!(count("nano_banana", "failed"), 2.0);
    assert_eq!(count("replicate_flux_dev", "completed"), 1.0);
    assert_eq!(count("runware_flux_1_schnell", "failed"), 1.0);
    let inf = value(
        &samples,
        "registry_generation_duration_seconds_bucket",
        &[
            ("model", "nano_banana"),
            ("status", "completed"),
            ("le", "+Inf"),
        ],
    );
    assert_eq!(inf, 3.0, "the +Inf bucket counts all");

    // Provider errors: the 503 alone (the failed job's answer was a 2xx that reports the
    // failure: read, and not an HTTP error).
    assert_eq!(
        all(&samples, "registry_provider_errors_total"),
        BTreeMap::from([("provider=lovable_ai,status=503".to_owned(), 1.0)]),
        "{text}"
    );

    // Key retrievals: 5 nano_banana runs, the replicate run, 3 webhook signature checks (the
    // ignored, duplicate and forged deliveries), and the missing runware key.
    assert_eq!(
        all(&samples, "registry_key_retrievals_total"),
        BTreeMap::from([
            ("result=success,secret_name=LOVABLE_API_KEY".to_owned(), 5.0),
            (
                "result=success,secret_name=REPLICATE_API_TOKEN_IMAGE".to_owned(),
                1.0
            ),
            (
                "result=success,secret_name=REPLICATE_WEBHOOK_SECRET".to_owned(),
                3.0
            ),
            (
                "result=missing,secret_name=RUNWARE_API_KEY_TEXT_TO_IMAGE".to_owned(),
                1.0
            ),
        ]),
        "{text}"
    );

    // Credits: 3 x 2 and 3 charged; 2 x 2 and runware's hold refunded.
    let runware = generated_models::by_id("runware_flux_1_schnell").unwrap();
    let params = runware.validate(&json!({ "prompt": PROMPT })).unwrap();
    let runware_cost = runtime::cost::compute(&runware.cost, &params).unwrap();
    let runware_cost: f64 = runware_cost.to_string().parse().unwrap();
    assert_eq!(
        all(&samples, "registry_credits_charged_total"),
        BTreeMap::from([
            ("model=nano_banana,provider=lovable_ai".to_owned(), 6.0),
            (
                "model=replicate_flux_dev,provider=replicate".to_owned(),
                3.0
            ),
        ]),
        "{text}"
    );
    assert_eq!(
        all(&samples, "registry_credits_refunded_total"),
        BTreeMap::from([
            ("model=nano_banana,provider=lovable_ai".to_owned(), 4.0),
            (
                "model=runware_flux_1_schnell,provider=runware".to_owned(),
                runware_cost
            ),
        ]),
        "{text}"
    );
    assert_eq!(h.credits(ALICE).await.0, "991", "1000 - 6 - 3");

    // Webhooks.
    assert_eq!(
        all(&samples, "registry_webhooks_total"),
        BTreeMap::from([
            ("outcome=duplicate,provider=replicate".to_owned(), 1.0),
            ("outcome=forged,provider=replicate".to_owned(), 1.0),
            ("outcome=ignored,provider=replicate".to_owned(), 1.0),
            ("outcome=refused,provider=unknown".to_owned(), 1.0),
        ]),
        "{text}"
    );

    // No label value is a user id, a prompt or a generation id, and neither is in the text.
    let mut private: Vec<String> = vec![ALICE_ID.to_owned(), PROMPT.to_owned(), rep.clone()];
    private.extend(ids.iter().cloned());
    private.extend([failed_503, failed_job]);
    for s in &samples {
        for (k, v) in &s.labels {
            assert!(
                !private.iter().any(|p| v.contains(p.as_str())),
                "{} {k}={v}",
                s.name
            );
        }
    }
    for p in &private {
        assert!(!text.contains(p.as_str()), "{p} in the metrics");
    }
    assert!(!text.contains("mock-key-"), "a key value in the metrics");
    assert!(!text.contains(&secret), "a signing secret in the metrics");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_a_token() {
    let h = Harness::with(Setup {
        metrics_token: Some("scrape-me"),
        ..Setup::default()
    })
    .await;
    let r = h.get("/metrics", None).await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"), "{}", r.text);
    let r = h.get("/metrics", Some("not-it")).await;
    assert_eq!(r.status, 401);
    let r = h.get("/metrics", Some(ALICE)).await;
    assert_eq!(r.status, 401, "a user's token is not the metrics token");
    let r = h.get("/metrics", Some("scrape-me")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    parse(&r.text);
    h.stop().await;
}
