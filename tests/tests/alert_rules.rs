//! The alert rules on SQLite are those of `monitoring_alerts` on Postgres: the same rows go
//! into a `SqliteStore` and a `PgStore` (through the `Store` trait, with the generated
//! migrations applied), and `Store::firing_alerts` must answer exactly the same alerts on both:
//! severity, rule, subject, observed value and threshold to the last digit and scale, window,
//! sample and action. The scenarios are the boundary cases of `postgres_alerts.rs` (just past
//! each threshold, just inside it, outside the window, under the minimum sample) and seeded
//! random mixes of models, statuses, ages, latencies, charges and output counts.
//!
//! The rows are placed relative to now; no row lies within 2 seconds of a window's edge, so the
//! few milliseconds between the two evaluations cannot move one across.

use std::sync::Arc;

use registry_tests::pg::Pg;
use registry_tests::root;
use runtime::cost::Credits;
use runtime::model::ModelInfo;
use runtime::store::{
    Alert, AlertRules, Generation, KeyEvent, PgStore, SqliteStore, Status, Store, Thresholds,
    now_ms,
};
use serde_json::{Value, json};

const USER: &str = "3b6f0c2e-9d41-4e7a-8c55-0a1b2c3d4e5f";
const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;

fn model(id: &str) -> &'static ModelInfo {
    generated_models::by_id(id).unwrap_or_else(|| panic!("no model {id}"))
}

/// The model's smoke params, validated (defaults filled in), as the engine stores params.
fn params_of(m: &ModelInfo) -> Value {
    let smoke = m.smoke.map_or("{}", |s| s.params);
    let given: Value = serde_json::from_str(smoke).unwrap();
    Value::Object(
        m.validate(&given)
            .unwrap_or_else(|v| panic!("{}: {v}", m.id)),
    )
}

fn cost_of(m: &ModelInfo, params: &Value) -> Credits {
    runtime::cost::compute(&m.cost, params.as_object().unwrap()).unwrap()
}

/// The rows of one scenario.
#[derive(Default)]
struct Rows {
    generations: Vec<Generation>,
    keys: Vec<KeyEvent>,
    next: u64,
}

impl Rows {
    /// `n` generations of `model` in `status`, created `age_ms` ago, finished `latency_ms`
    /// later, charged the formula's cost when completed.
    fn gens(
        &mut self,
        id: &str,
        status: Status,
        n: u32,
        age_ms: i64,
        latency_ms: i64,
    ) -> &mut Self {
        let m = model(id);
        let params = params_of(m);
        let cost = cost_of(m, &params);
        for _ in 0..n {
            self.push(
                m.id,
                m.provider.id,
                status,
                age_ms,
                latency_ms,
                params.clone(),
                cost,
            );
        }
        self
    }

    /// Completed and failed generations of one model, finished in a second.
    fn mix(&mut self, id: &str, completed: u32, failed: u32, age_ms: i64) -> &mut Self {
        self.gens(id, Status::Completed, completed, age_ms, SEC)
            .gens(id, Status::Failed, failed, age_ms, SEC)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        model: &str,
        provider: &str,
        status: Status,
        age_ms: i64,
        latency_ms: i64,
        params: Value,
        cost: Credits,
    ) -> &mut Generation {
        self.next += 1;
        let created = now_ms() - age_ms;
        let finished = matches!(status, Status::Completed | Status::Failed);
        self.generations.push(Generation {
            id: format!("00000000-0000-4000-8000-{:012x}", self.next),
            user_id: USER.to_owned(),
            model_id: model.to_owned(),
            provider: provider.to_owned(),
            content_type: "image".to_owned(),
            status,
            params,
            provider_response: match status {
                Status::Failed => json!({"error": {"kind": "provider", "message": "boom"}}),
                _ => json!({}),
            },
            tokens_used: match status {
                Status::Completed => Some(cost),
                Status::Failed => Some(Credits::ZERO),
                _ => None,
            },
            provider_cost: None,
            created_at: created,
            updated_at: created + latency_ms,
            completed_at: finished.then_some(created + latency_ms),
            outputs_expected: None,
            outputs_received: None,
            credits_refunded: None,
        });
        self.generations.last_mut().unwrap()
    }

    fn key(&mut self, secret: &str, success: bool, age_ms: i64) -> &mut Self {
        self.keys.push(KeyEvent {
            time: now_ms() - age_ms,
            provider: "kie_ai".to_owned(),
            model: "seedance_v1_lite".to_owned(),
            scope: "prompt_to_video".to_owned(),
            secret_name: secret.to_owned(),
            success,
            error: (!success).then(|| "secret not configured".to_owned()),
        });
        self
    }
}

/// Both stores, the Postgres one migrated, and the rules the SQLite one judges by.
struct Stores {
    pg: Arc<PgStore>,
    rules: AlertRules,
    server: Pg,
}

async fn stores() -> Stores {
    let server = tokio::task::spawn_blocking(Pg::start).await.unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port());
    let pg = PgStore::connect(&url, 4).await.expect("connect");
    pg.migrate(generated_models::MIGRATIONS)
        .await
        .expect("apply generated/sql");
    let text = std::fs::read_to_string(root().join("generated/registry.json")).unwrap();
    let thresholds = Thresholds::from_registry_json(&text).unwrap();
    let rules = AlertRules::new(thresholds, generated_models::MODELS);
    Stores {
        pg: Arc::new(pg),
        rules,
        server,
    }
}

/// An alert as text, so that scales count too (`21.00` is not `21`).
fn shown(alerts: &[Alert]) -> Vec<[String; 8]> {
    alerts
        .iter()
        .map(|a| {
            [
                a.severity.clone(),
                a.rule.clone(),
                a.subject.clone(),
                a.observed.to_string(),
                a.threshold.to_string(),
                a.window_s.to_string(),
                a.sample.to_string(),
                a.action.clone(),
            ]
        })
        .collect()
}

/// Load `rows` into a fresh SQLite store and into the emptied Postgres one; the alerts of both,
/// asserted equal, as text.
async fn both(s: &Stores, rows: &Rows, what: &str) -> Vec<[String; 8]> {
    s.server
        .query("delete from credit_holds; delete from generations; delete from api_key_events;");
    let sqlite = SqliteStore::in_memory().unwrap();
    for g in &rows.generations {
        Store::insert(&sqlite, g).await.unwrap();
        s.pg.insert(g).await.unwrap();
    }
    for k in &rows.keys {
        Store::log_key_event(&sqlite, k).await.unwrap();
        s.pg.log_key_event(k).await.unwrap();
    }
    let on_sqlite = shown(&Store::firing_alerts(&sqlite, &s.rules).await.unwrap());
    let on_pg = shown(&s.pg.firing_alerts(&s.rules).await.unwrap());
    assert_eq!(
        on_sqlite, on_pg,
        "{what}: SQLite (left) and Postgres (right) differ"
    );
    on_sqlite
}

fn rules_of(alerts: &[[String; 8]]) -> Vec<(&str, &str)> {
    alerts
        .iter()
        .map(|a| (a[1].as_str(), a[2].as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_fire_the_same_alerts_at_every_boundary() {
    let s = stores().await;
    let secret = "KIE_AI_API_KEY_PROMPT_TO_VIDEO";

    assert!(both(&s, &Rows::default(), "empty").await.is_empty());
    let mut healthy = Rows::default();
    healthy
        .mix("seedance_v1_lite", 60, 0, 10 * MIN)
        .mix("gpt_image_1", 60, 1, 20 * MIN)
        .key(secret, true, MIN)
        .gens("kling_v2_pro", Status::Processing, 30, 2 * MIN, 0);
    assert!(both(&s, &healthy, "healthy").await.is_empty());

    // missing_api_key: inside the window, and outside it.
    let mut r = Rows::default();
    for _ in 0..5 {
        r.key(secret, true, 10 * MIN);
    }
    r.key(secret, false, 59 * MIN + 50 * SEC);
    let a = both(&s, &r, "missing key inside").await;
    assert_eq!(
        a,
        vec![
            [
                "critical",
                "missing_api_key",
                secret,
                "1",
                "0",
                "3600",
                "6",
                "Add the missing key to the secrets; no rollback."
            ]
            .map(str::to_owned)
        ]
    );
    let mut r = Rows::default();
    r.key(secret, true, 10 * MIN)
        .key(secret, false, 60 * MIN + 5 * SEC);
    assert!(both(&s, &r, "missing key outside").await.is_empty());

    // high_error_rate: 21% fires, 20% does not, outside the window does not.
    let mut r = Rows::default();
    r.mix("seedance_v1_lite", 40, 11, 14 * MIN)
        .mix("gpt_image_1", 39, 10, 14 * MIN);
    let a = both(&s, &r, "high error 21%").await;
    let high = a.iter().find(|a| a[1] == "high_error_rate").unwrap();
    assert_eq!(&high[3..7], ["21.00", "20", "900", "100"]);
    let mut r = Rows::default();
    r.mix("seedance_v1_lite", 40, 10, 14 * MIN)
        .mix("gpt_image_1", 40, 10, 14 * MIN);
    assert!(
        !rules_of(&both(&s, &r, "high error 20%").await)
            .contains(&("high_error_rate", "all models"))
    );
    let mut r = Rows::default();
    r.mix("seedance_v1_lite", 79, 0, 14 * MIN)
        .mix("gpt_image_1", 0, 21, 15 * MIN + 5 * SEC);
    both(&s, &r, "high error outside").await;

    // all_generations_failing: 100% of 10; one success; 9 only; in progress; outside.
    for (what, completed, failed, age) in [
        ("all failing", 0, 10, 4 * MIN + 50 * SEC),
        ("one success", 1, 9, 4 * MIN),
        ("under min sample", 0, 9, 4 * MIN),
        ("outside", 0, 10, 5 * MIN + 5 * SEC),
    ] {
        let mut r = Rows::default();
        r.mix("seedance_v1_lite", completed, failed, age);
        both(&s, &r, what).await;
    }
    let mut r = Rows::default();
    r.mix("seedance_v1_lite", 0, 9, 4 * MIN).gens(
        "seedance_v1_lite",
        Status::Processing,
        5,
        MIN,
        0,
    );
    both(&s, &r, "in progress does not count").await;

    // low_success_rate: 89%, exactly 90%, under min sample, failures outside the hour.
    let mut r = Rows::default();
    r.mix("gpt_image_1", 45, 5, 30 * MIN)
        .mix("fal_flux_schnell", 44, 6, 50 * MIN);
    let a = both(&s, &r, "low success 89%").await;
    assert!(
        rules_of(&a).contains(&("low_success_rate", "all models")),
        "{a:?}"
    );
    let mut r = Rows::default();
    r.mix("gpt_image_1", 45, 5, 30 * MIN)
        .mix("fal_flux_schnell", 45, 5, 50 * MIN);
    both(&s, &r, "low success 90%").await;
    let mut r = Rows::default();
    r.mix("gpt_image_1", 89, 0, 30 * MIN)
        .mix("fal_flux_schnell", 0, 11, 60 * MIN + 5 * SEC);
    both(&s, &r, "low success outside").await;

    // high_latency: over twice, by the average, exactly twice, too few, another model.
    let mut r = Rows::default();
    r.gens(
        "seedance_v1_lite",
        Status::Completed,
        10,
        30 * MIN,
        481 * SEC,
    );
    let a = both(&s, &r, "slow").await;
    let slow = a.iter().find(|a| a[1] == "high_latency").unwrap();
    assert_eq!(
        &slow[2..7],
        ["seedance_v1_lite", "481.000", "480", "3600", "10"]
    );
    let mut r = Rows::default();
    r.gens(
        "seedance_v1_lite",
        Status::Completed,
        9,
        30 * MIN,
        480 * SEC,
    )
    .gens(
        "seedance_v1_lite",
        Status::Completed,
        1,
        30 * MIN,
        490 * SEC,
    );
    both(&s, &r, "slow on average").await;
    let mut r = Rows::default();
    r.gens(
        "seedance_v1_lite",
        Status::Completed,
        10,
        30 * MIN,
        480 * SEC,
    )
    .gens("kling_v2_pro", Status::Completed, 10, 30 * MIN, 481 * SEC)
    .gens("gpt_image_1", Status::Completed, 9, 30 * MIN, 20 * MIN);
    both(&s, &r, "not slow").await;
    // An average that is not a whole millisecond, for a model that expects 8 s.
    let mut r = Rows::default();
    for ms in [
        16_001, 16_001, 16_002, 16_001, 16_001, 16_002, 16_001, 16_001, 16_002, 16_001, 16_001,
    ] {
        r.gens("nano_banana", Status::Completed, 1, 20 * MIN, ms);
    }
    let a = both(&s, &r, "an average rounded").await;
    assert!(
        rules_of(&a).contains(&("high_latency", "nano_banana")),
        "{a:?}"
    );

    // model_failing and provider_errors.
    let mut r = Rows::default();
    r.mix("gpt_image_1", 90, 0, 20 * MIN)
        .mix("kling_v2_pro", 4, 6, 40 * MIN);
    let a = both(&s, &r, "model failing 60%").await;
    assert!(
        rules_of(&a).contains(&("model_failing", "kling_v2_pro")),
        "{a:?}"
    );
    let mut r = Rows::default();
    r.mix("gpt_image_1", 90, 0, 20 * MIN)
        .mix("kling_v2_pro", 5, 5, 40 * MIN)
        .mix("seedance_v1_lite", 0, 9, 40 * MIN);
    both(&s, &r, "model failing 50%, and too few").await;
    let mut r = Rows::default();
    r.mix("gpt_image_1", 89, 11, 20 * MIN)
        .mix("seedance_v1_lite", 90, 10, 40 * MIN)
        .mix("kling_v2_pro", 90, 10, 70 * MIN);
    let a = both(&s, &r, "provider errors").await;
    assert!(
        rules_of(&a).contains(&("provider_errors", "openai")),
        "{a:?}"
    );

    // unexpected_token_cost: a wrong charge, a refund added back, an unknown model.
    let mut r = Rows::default();
    r.gens("seedance_v1_lite", Status::Completed, 3, 10 * MIN, SEC);
    r.generations[0].tokens_used = Some("999".parse().unwrap());
    let right = r.generations[1].tokens_used.unwrap();
    r.generations[1].tokens_used = Some(Credits::from_decimal(
        right.as_decimal() - rust_decimal::Decimal::ONE,
    ));
    r.generations[1].credits_refunded = Some("1".parse().unwrap());
    let m = model("gpt_image_1");
    r.push(
        "no_such_model",
        "openai",
        Status::Completed,
        5 * MIN,
        SEC,
        params_of(m),
        "1".parse().unwrap(),
    );
    r.push(
        "seedance_v1_lite",
        "kie_ai",
        Status::Completed,
        70 * MIN,
        SEC,
        json!({}),
        "5".parse().unwrap(),
    );
    let a = both(&s, &r, "cost").await;
    assert_eq!(
        rules_of(&a),
        [
            ("unexpected_token_cost", "no_such_model"),
            ("unexpected_token_cost", "seedance_v1_lite")
        ]
    );
    assert_eq!(&a[1][3..7], ["1", "0", "3600", "1"]);

    // output_shortfall: 1 short of 10 counted (10% > 5%), 1 of 20 (5%: quiet).
    for (what, n, short) in [
        ("shortfall 10%", 10, 1),
        ("shortfall 5%", 20, 1),
        ("too few", 9, 9),
    ] {
        let mut r = Rows::default();
        r.gens(
            "runware_flux_1_schnell",
            Status::Completed,
            n,
            10 * MIN,
            SEC,
        );
        for (i, g) in r.generations.iter_mut().enumerate() {
            g.outputs_expected = Some(4);
            g.outputs_received = Some(if i < short { 3 } else { 4 });
        }
        both(&s, &r, what).await;
    }
}

/// A small deterministic generator (xorshift), so that a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Completed generations of `id` whose provider reported `charge x (1 + drift_pct / 100)`.
fn drifted(r: &mut Rows, id: &str, n: u32, drift_pct: &str, age_ms: i64) {
    let m = model(id);
    let params = params_of(m);
    let cost = cost_of(m, &params);
    use rust_decimal::Decimal;
    let factor = Decimal::ONE + drift_pct.parse::<Decimal>().unwrap() / Decimal::ONE_HUNDRED;
    for _ in 0..n {
        let g = r.push(
            m.id,
            m.provider.id,
            Status::Completed,
            age_ms,
            SEC,
            params.clone(),
            cost,
        );
        g.provider_cost = Some(cost.as_decimal() * factor);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_agree_on_provider_cost_drift() {
    let s = stores().await;
    let id = "runware_flux_1_schnell";
    let mut fired = 0;
    for (what, n, pct, age) in [
        ("at the tolerance", 10, "5", MIN),
        ("just over", 10, "5.01", MIN),
        ("under it, negative", 12, "-4.99", MIN),
        ("over it, negative", 12, "-7.5", MIN),
        ("under min_sample", 9, "40", MIN),
        ("outside the window", 10, "40", 24 * 60 * MIN + 10 * SEC),
    ] {
        let mut r = Rows::default();
        drifted(&mut r, id, n, pct, age);
        // Completions without a provider cost neither fill the sample nor dilute the mean.
        r.mix(id, 20, 0, MIN);
        let a = both(&s, &r, &format!("cost drift {what}")).await;
        let drift: Vec<_> = a.iter().filter(|a| a[1] == "provider_cost_drift").collect();
        let expected = matches!(what, "just over" | "over it, negative");
        assert_eq!(drift.len(), usize::from(expected), "{what}: {a:?}");
        if let Some(d) = drift.first() {
            assert_eq!(d[2], id);
            fired += 1;
        }
    }
    assert_eq!(fired, 2);
    // A mean over mixed drifts: 10 at +2% and 10 at +9% average 5.5%.
    let mut r = Rows::default();
    drifted(&mut r, id, 10, "2", MIN);
    drifted(&mut r, id, 10, "9", MIN);
    let a = both(&s, &r, "cost drift mean").await;
    let d = a
        .iter()
        .find(|a| a[1] == "provider_cost_drift")
        .expect("fires");
    assert_eq!((d[3].as_str(), d[6].as_str()), ("5.50", "20"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_agree_on_random_mixes() {
    let s = stores().await;
    let models = [
        "nano_banana",
        "gpt_image_1",
        "seedance_v1_lite",
        "runware_flux_1_schnell",
        "fal_flux_schnell",
    ];
    let edges = [5 * MIN, 15 * MIN, 60 * MIN];
    let mut fired = std::collections::BTreeSet::new();
    for seed in 1..=12u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1000_0000_01B3));
        let mut r = Rows::default();
        // Few models per seed, so that per-model samples reach the minimum.
        let used: Vec<&str> = (0..2)
            .map(|_| models[rng.below(models.len() as u64) as usize])
            .collect();
        let failure_pct = rng.below(60);
        let n = 20 + rng.below(120);
        for _ in 0..n {
            let id = used[rng.below(used.len() as u64) as usize];
            let m = model(id);
            let age = loop {
                let age = rng.below(70 * MIN as u64) as i64;
                if edges.iter().all(|e| (age - e).abs() > 2 * SEC) {
                    break age;
                }
            };
            let status = match rng.below(100) {
                p if p < failure_pct => Status::Failed,
                p if p < failure_pct + 5 => Status::Processing,
                _ => Status::Completed,
            };
            let expected = m.expected_latency.as_millis() as i64;
            let latency = rng.below((expected * 3) as u64) as i64 + rng.below(1000) as i64;
            let params = params_of(m);
            let cost = cost_of(m, &params);
            let wrong = rng.below(40) == 0;
            let counted = id == "runware_flux_1_schnell";
            let short = rng.below(8) == 0;
            let g = r.push(id, m.provider.id, status, age, latency, params, cost);
            if status == Status::Completed {
                if wrong {
                    g.tokens_used = Some("123.45".parse().unwrap());
                }
                if counted {
                    g.outputs_expected = Some(2);
                    g.outputs_received = Some(if short { 1 } else { 2 });
                }
            }
        }
        for _ in 0..rng.below(6) {
            let secret =
                ["KIE_AI_API_KEY_PROMPT_TO_VIDEO", "OPENAI_API_KEY"][rng.below(2) as usize];
            let age = rng.below(70 * MIN as u64) as i64;
            if (age - 60 * MIN).abs() > 2 * SEC {
                r.key(secret, rng.below(3) != 0, age);
            }
        }
        let a = both(&s, &r, &format!("seed {seed}")).await;
        fired.extend(a.iter().map(|a| a[1].clone()));
    }
    // The mixes reach most rules (so the comparison compared something).
    assert!(fired.len() >= 5, "only {fired:?} fired");
}
