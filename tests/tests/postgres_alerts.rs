//! Every alert of the deployment plan in a real Postgres: seeded generations just past the
//! threshold make it fire with the right severity, subject and numbers; just inside, it stays
//! quiet. Each scenario runs in a transaction that is rolled back, so `now()` is one instant
//! and window edges are exact.

use registry_tests::pg::Pg;
use registry_tests::{bundled, root};

/// One row of `monitoring_alerts`.
#[derive(Debug, Clone, PartialEq)]
struct Alert {
    severity: String,
    rule: String,
    subject: String,
    observed: String,
    threshold: String,
    window: String,
    sample: String,
    action: String,
}

fn ready() -> Pg {
    let pg = Pg::start();
    pg.apply_generated();
    pg
}

/// Seed with `sql`, read `monitoring_alerts`, roll back.
fn alerts(pg: &Pg, sql: &str) -> Vec<Alert> {
    let out = pg.query(&format!(
        "begin;\n{sql}\nselect severity, rule, subject, observed, threshold, time_window, sample, action \
         from monitoring_alerts;\nrollback;\n"
    ));
    out.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            assert_eq!(f.len(), 8, "unexpected alert row {line:?}");
            Alert {
                severity: f[0].into(),
                rule: f[1].into(),
                subject: f[2].into(),
                observed: f[3].into(),
                threshold: f[4].into(),
                window: f[5].into(),
                sample: f[6].into(),
                action: f[7].into(),
            }
        })
        .collect()
}

/// The rows of `rule`.
fn of<'a>(all: &'a [Alert], rule: &str) -> Vec<&'a Alert> {
    all.iter().filter(|a| a.rule == rule).collect()
}

/// The single row of `rule`, or a failure listing what fired.
fn one<'a>(all: &'a [Alert], rule: &str) -> &'a Alert {
    let rows = of(all, rule);
    assert_eq!(rows.len(), 1, "expected one {rule} alert, got {all:#?}");
    rows[0]
}

fn quiet(all: &[Alert], rule: &str) {
    assert!(of(all, rule).is_empty(), "{rule} fired: {all:#?}");
}

/// `n` generations of `model` in `status`, created `age` ago, finished after `latency`, charged
/// the formula's cost of `{}` when completed.
fn gens(model: &str, status: &str, n: u32, age: &str, latency: &str) -> String {
    format!(
        "insert into generations (model_id, provider, content_type, status, params, tokens_used, \
           provider_response, created_at, updated_at, completed_at)\n\
         select r.model_id, r.provider, r.content_type, '{status}', '{{}}',\n\
           case when '{status}' = 'completed' then expected_credit_cost(r.model_id, '{{}}') end,\n\
           case when '{status}' = 'failed' then '{{\"error\": \"boom\"}}'::jsonb end,\n\
           now() - interval '{age}', now() - interval '{age}' + interval '{latency}',\n\
           case when '{status}' in ('completed', 'failed') then now() - interval '{age}' + interval '{latency}' end\n\
         from model_registry r cross join generate_series(1, {n})\n\
         where r.model_id = '{model}';"
    )
}

/// Completed and failed generations of one model, `age` ago, finished in one second.
fn mix(model: &str, completed: u32, failed: u32, age: &str) -> String {
    format!(
        "{}\n{}",
        gens(model, "completed", completed, age, "1 second"),
        gens(model, "failed", failed, age, "1 second")
    )
}

fn key_event(secret: &str, success: bool, age: &str) -> String {
    format!(
        "insert into api_key_events (occurred_at, provider, model_id, key_scope, secret_name, success, error) \
         values (now() - interval '{age}', 'kie_ai', 'seedance_v1_lite', 'prompt_to_video', '{secret}', {success}, \
         {});",
        if success {
            "null"
        } else {
            "'secret not configured'"
        }
    )
}

#[test]
fn nothing_fires_on_an_empty_or_healthy_platform() {
    let pg = ready();
    assert!(alerts(&pg, "").is_empty());
    let healthy = [
        mix("seedance_v1_lite", 60, 0, "10 minutes"),
        mix("gpt_image_1", 60, 1, "20 minutes"),
        key_event("KIE_AI_API_KEY_PROMPT_TO_VIDEO", true, "1 minute"),
        gens("kling_v2_pro", "processing", 30, "2 minutes", "0 seconds"),
    ]
    .join("\n");
    assert_eq!(alerts(&pg, &healthy), vec![]);
}

#[test]
fn missing_api_key_fires_on_any_failed_retrieval_in_the_window() {
    let pg = ready();
    let secret = "KIE_AI_API_KEY_PROMPT_TO_VIDEO";
    let successes: String = (0..5)
        .map(|_| key_event(secret, true, "10 minutes"))
        .collect::<Vec<_>>()
        .join("\n");

    let all = alerts(
        &pg,
        &format!(
            "{successes}\n{}",
            key_event(secret, false, "59 minutes 59 seconds")
        ),
    );
    let a = one(&all, "missing_api_key");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str()
        ),
        ("critical", secret, "1", "0")
    );
    assert_eq!((a.window.as_str(), a.sample.as_str()), ("01:00:00", "6"));
    assert_eq!(a.action, "Add the missing key to the secrets; no rollback.");

    // A failure just outside the window, or none at all: quiet.
    quiet(
        &alerts(
            &pg,
            &format!("{successes}\n{}", key_event(secret, false, "1 hour")),
        ),
        "missing_api_key",
    );
    quiet(&alerts(&pg, &successes), "missing_api_key");
}

#[test]
fn high_error_rate_fires_over_20_percent_in_15_minutes() {
    let pg = ready();
    // Spread over two models so that no single model is the story.
    let past = format!(
        "{}\n{}",
        mix("seedance_v1_lite", 40, 11, "14 minutes"),
        mix("gpt_image_1", 39, 10, "14 minutes")
    );
    let all = alerts(&pg, &past);
    let a = one(&all, "high_error_rate");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("critical", "all models", "21.00", "20", "00:15:00", "100")
    );
    assert_eq!(
        a.action,
        "Check provider status and investigate the logs; no rollback yet."
    );

    // Exactly 20%: quiet.
    let inside = format!(
        "{}\n{}",
        mix("seedance_v1_lite", 40, 10, "14 minutes"),
        mix("gpt_image_1", 40, 10, "14 minutes")
    );
    quiet(&alerts(&pg, &inside), "high_error_rate");
    // The same failures just outside the window: quiet.
    let outside = format!(
        "{}\n{}",
        mix("seedance_v1_lite", 79, 0, "14 minutes"),
        mix("gpt_image_1", 0, 21, "15 minutes")
    );
    quiet(&alerts(&pg, &outside), "high_error_rate");
}

#[test]
fn all_generations_failing_fires_at_100_percent_over_5_minutes_and_means_rollback() {
    let pg = ready();
    let all = alerts(&pg, &mix("seedance_v1_lite", 0, 10, "4 minutes 59 seconds"));
    let a = one(&all, "all_generations_failing");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("critical", "all models", "100.00", "100", "00:05:00", "10")
    );
    assert_eq!(a.action, "Roll back the deployment immediately.");
    // The wider high-error alert fires too, as it should.
    one(&all, "high_error_rate");

    // One success among them: quiet.
    quiet(
        &alerts(&pg, &mix("seedance_v1_lite", 1, 9, "4 minutes")),
        "all_generations_failing",
    );
    // Fewer than min_sample (10) finished generations: too few to judge.
    quiet(
        &alerts(&pg, &mix("seedance_v1_lite", 0, 9, "4 minutes")),
        "all_generations_failing",
    );
    // In-progress generations do not count toward the sample.
    let progress = format!(
        "{}\n{}",
        mix("seedance_v1_lite", 0, 9, "4 minutes"),
        gens("seedance_v1_lite", "processing", 5, "1 minute", "0 seconds")
    );
    quiet(&alerts(&pg, &progress), "all_generations_failing");
    // Failures just outside the window: quiet.
    quiet(
        &alerts(&pg, &mix("seedance_v1_lite", 0, 10, "5 minutes")),
        "all_generations_failing",
    );
}

#[test]
fn low_success_rate_fires_under_90_percent_over_an_hour() {
    let pg = ready();
    // Older than the 15-minute window, inside the hour.
    let all = alerts(
        &pg,
        &format!(
            "{}\n{}",
            mix("gpt_image_1", 45, 5, "30 minutes"),
            mix("fal_flux_schnell", 44, 6, "50 minutes")
        ),
    );
    let a = one(&all, "low_success_rate");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("warning", "all models", "89.00", "90", "01:00:00", "100")
    );
    quiet(&all, "high_error_rate");

    // Exactly 90%: quiet.
    quiet(
        &alerts(
            &pg,
            &format!(
                "{}\n{}",
                mix("gpt_image_1", 45, 5, "30 minutes"),
                mix("fal_flux_schnell", 45, 5, "50 minutes")
            ),
        ),
        "low_success_rate",
    );
    // Under min_sample: quiet however bad.
    quiet(
        &alerts(&pg, &mix("gpt_image_1", 5, 4, "30 minutes")),
        "low_success_rate",
    );
    // The failures an hour old or more: quiet.
    quiet(
        &alerts(
            &pg,
            &format!(
                "{}\n{}",
                mix("gpt_image_1", 89, 0, "30 minutes"),
                mix("fal_flux_schnell", 0, 11, "1 hour")
            ),
        ),
        "low_success_rate",
    );
}

#[test]
fn high_latency_fires_over_twice_the_expected_latency() {
    let pg = ready();
    // seedance_v1_lite expects 4 minutes: the threshold is 480 seconds.
    let slow = gens(
        "seedance_v1_lite",
        "completed",
        10,
        "30 minutes",
        "481 seconds",
    );
    let all = alerts(&pg, &slow);
    let a = one(&all, "high_latency");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        (
            "warning",
            "seedance_v1_lite",
            "481.000",
            "480",
            "01:00:00",
            "10"
        )
    );
    assert_eq!(a.action, "Investigate the provider's status; no rollback.");
    // It is the average that counts: nine at the limit and one slower still fire.
    let avg = format!(
        "{}\n{}",
        gens(
            "seedance_v1_lite",
            "completed",
            9,
            "30 minutes",
            "480 seconds"
        ),
        gens(
            "seedance_v1_lite",
            "completed",
            1,
            "30 minutes",
            "490 seconds"
        )
    );
    assert_eq!(one(&alerts(&pg, &avg), "high_latency").observed, "481.000");

    // Exactly twice: quiet.
    quiet(
        &alerts(
            &pg,
            &gens(
                "seedance_v1_lite",
                "completed",
                10,
                "30 minutes",
                "480 seconds",
            ),
        ),
        "high_latency",
    );
    // Too few to judge.
    quiet(
        &alerts(
            &pg,
            &gens(
                "seedance_v1_lite",
                "completed",
                9,
                "30 minutes",
                "20 minutes",
            ),
        ),
        "high_latency",
    );
    // Slow ones created before the window.
    quiet(
        &alerts(
            &pg,
            &gens("seedance_v1_lite", "completed", 10, "1 hour", "20 minutes"),
        ),
        "high_latency",
    );
    // Another model with the same latency is within its own expectation (kling: 5 minutes).
    quiet(
        &alerts(
            &pg,
            &gens("kling_v2_pro", "completed", 10, "30 minutes", "481 seconds"),
        ),
        "high_latency",
    );
}

#[test]
fn model_failing_fires_over_50_percent_for_one_model() {
    let pg = ready();
    let healthy = mix("gpt_image_1", 90, 0, "20 minutes");
    let all = alerts(
        &pg,
        &format!("{healthy}\n{}", mix("kling_v2_pro", 4, 6, "40 minutes")),
    );
    let a = one(&all, "model_failing");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("warning", "kling_v2_pro", "60.00", "50", "01:00:00", "10")
    );
    assert_eq!(
        a.action,
        "Disable the model in the registry (enabled: false in its spec); no rollback."
    );

    // Exactly half: quiet.
    quiet(
        &alerts(
            &pg,
            &format!("{healthy}\n{}", mix("kling_v2_pro", 5, 5, "40 minutes")),
        ),
        "model_failing",
    );
    // Too few to judge.
    quiet(
        &alerts(
            &pg,
            &format!("{healthy}\n{}", mix("kling_v2_pro", 3, 6, "40 minutes")),
        ),
        "model_failing",
    );
}

#[test]
fn provider_errors_fire_over_10_percent_for_one_provider() {
    let pg = ready();
    // fal's two models together: 11 of 100 failed.
    let past = format!(
        "{}\n{}",
        mix("fal_flux_schnell", 50, 6, "45 minutes"),
        mix("fal_flux_dev_image_to_image", 39, 5, "45 minutes")
    );
    let all = alerts(&pg, &past);
    let a = one(&all, "provider_errors");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("warning", "fal", "11.00", "10", "01:00:00", "100")
    );
    assert_eq!(
        a.action,
        "Disable the provider's models in the registry until it recovers; no rollback."
    );

    // Exactly 10%: quiet.
    let inside = format!(
        "{}\n{}",
        mix("fal_flux_schnell", 50, 5, "45 minutes"),
        mix("fal_flux_dev_image_to_image", 40, 5, "45 minutes")
    );
    quiet(&alerts(&pg, &inside), "provider_errors");
}

#[test]
fn unexpected_token_cost_fires_for_any_charge_off_the_formula() {
    let pg = ready();
    let charge = |model: &str, tokens: &str, provider_cost: &str, age: &str| {
        format!(
            "insert into generations (model_id, provider, content_type, status, params, tokens_used, provider_cost, \
               created_at, updated_at, completed_at) \
             values ('{model}', 'kie_ai', 'video', 'completed', '{{\"resolution\": \"1080p\", \"duration\": 10}}', \
               {tokens}, {provider_cost}, now() - interval '{age}', now(), now());"
        )
    };
    // 8 x 2.5 x 10/5 = 40 credits.
    let all = alerts(&pg, &charge("seedance_v1_lite", "41", "null", "59 minutes"));
    let a = one(&all, "unexpected_token_cost");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("warning", "seedance_v1_lite", "1", "0", "01:00:00", "1")
    );
    assert_eq!(a.action, "Fix the cost formula and redeploy; no rollback.");
    // A missing charge on a completed generation is off the formula too.
    one(
        &alerts(
            &pg,
            &charge("seedance_v1_lite", "null", "null", "5 minutes"),
        ),
        "unexpected_token_cost",
    );
    // A model the registry does not know: its cost cannot be computed, which is unexpected,
    // and the view still answers.
    assert_eq!(
        one(
            &alerts(&pg, &charge("ghost_model", "5", "null", "5 minutes")),
            "unexpected_token_cost"
        )
        .subject,
        "ghost_model"
    );

    // The right charge: quiet. 40.0 is the same amount as 40.
    quiet(
        &alerts(&pg, &charge("seedance_v1_lite", "40", "null", "5 minutes")),
        "unexpected_token_cost",
    );
    quiet(
        &alerts(
            &pg,
            &charge("seedance_v1_lite", "40.0", "null", "5 minutes"),
        ),
        "unexpected_token_cost",
    );
    // A wrong charge before the window: quiet.
    quiet(
        &alerts(&pg, &charge("seedance_v1_lite", "41", "null", "1 hour")),
        "unexpected_token_cost",
    );
    // The provider reporting another amount is listed in the metric, not alerted on.
    let out = pg.query(&format!(
        "begin;\n{}\nselect charged, expected, provider_cost, differs_from_formula, differs_from_provider, problem \
         from monitoring_cost_mismatches;\nselect count(*) from monitoring_alerts;\nrollback;",
        charge("seedance_v1_lite", "40", "38.5", "5 minutes")
    ));
    assert_eq!(out, "40|40|38.5|f|t|\n0\n");
}

/// `n` completed generations of `model`, `age` ago, that asked for `expected` outputs and got
/// `received`: charged their share of the formula's cost, the rest refunded (as the runtime
/// records a shortfall).
fn counted(model: &str, n: u32, expected: u32, received: u32, age: &str) -> String {
    format!(
        "insert into generations (model_id, provider, content_type, status, params, tokens_used, credits_refunded, \
           outputs_expected, outputs_received, created_at, updated_at, completed_at)\n\
         select r.model_id, r.provider, r.content_type, 'completed', '{{}}',\n\
           expected_credit_cost(r.model_id, '{{}}') * {received} / {expected},\n\
           expected_credit_cost(r.model_id, '{{}}') - expected_credit_cost(r.model_id, '{{}}') * {received} / {expected},\n\
           {expected}, {received}, now() - interval '{age}', now() - interval '{age}' + interval '1 second',\n\
           now() - interval '{age}' + interval '1 second'\n\
         from model_registry r cross join generate_series(1, {n})\n\
         where r.model_id = '{model}';"
    )
}

#[test]
fn output_shortfall_fires_over_5_percent_of_a_models_counted_completions() {
    let pg = ready();
    // Completions whose outputs were not counted are not judged.
    let healthy = format!(
        "{}\n{}",
        counted("gpt_image_1", 50, 2, 2, "10 minutes"),
        mix("fal_flux_schnell", 40, 0, "10 minutes")
    );
    let past = format!(
        "{healthy}\n{}\n{}",
        counted("fal_flux_schnell", 94, 4, 4, "59 minutes 59 seconds"),
        counted("fal_flux_schnell", 6, 4, 1, "30 minutes")
    );
    let all = alerts(&pg, &past);
    let a = one(&all, "output_shortfall");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        (
            "warning",
            "fal_flux_schnell",
            "6.00",
            "5",
            "01:00:00",
            "100"
        )
    );
    assert_eq!(
        a.action,
        "Check the provider's output count; the charge was refunded pro rata."
    );
    // A charge refunded pro rata is not a charge off the formula.
    quiet(&all, "unexpected_token_cost");

    // Exactly 5%: quiet.
    let inside = format!(
        "{healthy}\n{}\n{}",
        counted("fal_flux_schnell", 95, 4, 4, "30 minutes"),
        counted("fal_flux_schnell", 5, 4, 1, "30 minutes")
    );
    quiet(&alerts(&pg, &inside), "output_shortfall");
    // Too few counted to judge: 1 short of 9.
    let few = format!(
        "{healthy}\n{}\n{}",
        counted("fal_flux_schnell", 8, 4, 4, "30 minutes"),
        counted("fal_flux_schnell", 1, 4, 1, "30 minutes")
    );
    quiet(&alerts(&pg, &few), "output_shortfall");
    // The shortfalls were an hour ago, outside the window: quiet.
    let before = format!(
        "{healthy}\n{}\n{}",
        counted("fal_flux_schnell", 94, 4, 4, "30 minutes"),
        counted("fal_flux_schnell", 6, 4, 1, "1 hour")
    );
    quiet(&alerts(&pg, &before), "output_shortfall");

    // The metric: per model, counted, short, rate, outputs missing, and the credits refunded
    // (three quarters of the cost of each of the 6 short ones, exactly).
    let out = pg.query(&format!(
        "begin;\n{past}\n\
         select model_id, provider, counted, short, shortfall_rate_pct, outputs_missing, \
                credits_refunded = 6 * expected_credit_cost(model_id, '{{}}') * 3 / 4 \
           from monitoring_output_shortfalls order by model_id;\n\
         rollback;"
    ));
    assert_eq!(
        out,
        "fal_flux_schnell|fal|100|6|6.00|18|t\ngpt_image_1|openai|50|0|0.00|0|f\n"
    );
}

/// `n` completed generations of `model`, `age` ago, charged the formula's cost of `{}` and
/// reported by the provider at `factor` times that (`null`: no cost reported).
fn costed(model: &str, n: u32, factor: &str, age: &str) -> String {
    format!(
        "insert into generations (model_id, provider, content_type, status, params, tokens_used, provider_cost, \
           created_at, updated_at, completed_at)\n\
         select r.model_id, r.provider, r.content_type, 'completed', '{{}}',\n\
           expected_credit_cost(r.model_id, '{{}}'), expected_credit_cost(r.model_id, '{{}}') * {factor},\n\
           now() - interval '{age}', now() - interval '{age}' + interval '1 second',\n\
           now() - interval '{age}' + interval '1 second'\n\
         from model_registry r cross join generate_series(1, {n})\n\
         where r.model_id = '{model}';"
    )
}

#[test]
fn provider_cost_drift_fires_when_a_models_reported_costs_drift_over_5_percent_in_24_hours() {
    let pg = ready();
    // Ten generations whose provider charged 5.01% more than the users paid.
    let all = alerts(
        &pg,
        &costed(
            "seedance_v1_lite",
            10,
            "1.0501",
            "23 hours 59 minutes 59 seconds",
        ),
    );
    let a = one(&all, "provider_cost_drift");
    assert_eq!(
        (
            a.severity.as_str(),
            a.subject.as_str(),
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("warning", "seedance_v1_lite", "5.01", "5", "24:00:00", "10")
    );
    assert_eq!(
        a.action,
        "Compare the provider's current price with the model's cost formula and update the spec; no rollback."
    );
    // The charges follow the formula: only the drift fires.
    assert_eq!(all.len(), 1, "{all:#?}");

    // It is the mean that counts: five 10% over and five 0.02% over.
    let mean = format!(
        "{}\n{}",
        costed("seedance_v1_lite", 5, "1.10", "2 hours"),
        costed("seedance_v1_lite", 5, "1.0002", "3 hours")
    );
    assert_eq!(
        one(&alerts(&pg, &mean), "provider_cost_drift").observed,
        "5.01"
    );
    // A provider charging less drifts too; the observed mean is negative.
    assert_eq!(
        one(
            &alerts(&pg, &costed("seedance_v1_lite", 10, "0.9499", "1 hour")),
            "provider_cost_drift"
        )
        .observed,
        "-5.01"
    );
    // Per model: one model's rise does not hide behind another's fall.
    let both = format!(
        "{}\n{}",
        costed("seedance_v1_lite", 10, "1.2", "1 hour"),
        costed("gpt_image_1", 10, "0.8", "1 hour")
    );
    let fired: Vec<(String, String)> = of(&alerts(&pg, &both), "provider_cost_drift")
        .iter()
        .map(|a| (a.subject.clone(), a.observed.clone()))
        .collect();
    assert_eq!(
        fired,
        [
            ("gpt_image_1".to_owned(), "-20.00".to_owned()),
            ("seedance_v1_lite".to_owned(), "20.00".to_owned())
        ]
    );

    // Exactly 5%, and just under: quiet.
    for factor in ["1.05", "1.0499", "0.95"] {
        quiet(
            &alerts(&pg, &costed("seedance_v1_lite", 10, factor, "1 hour")),
            "provider_cost_drift",
        );
    }
    // Fewer than min_sample (10) generations with a reported cost: too few to judge.
    quiet(
        &alerts(&pg, &costed("seedance_v1_lite", 9, "1.5", "1 hour")),
        "provider_cost_drift",
    );
    // The drifting ones 24 hours old, outside the window: quiet.
    let before = format!(
        "{}\n{}",
        costed("seedance_v1_lite", 10, "1", "1 hour"),
        costed("seedance_v1_lite", 10, "1.5", "24 hours")
    );
    quiet(&alerts(&pg, &before), "provider_cost_drift");
    // Generations without a reported cost are not judged: they neither fill the sample...
    let unreported = format!(
        "{}\n{}",
        costed("seedance_v1_lite", 9, "1.5", "1 hour"),
        costed("seedance_v1_lite", 30, "null", "1 hour")
    );
    quiet(&alerts(&pg, &unreported), "provider_cost_drift");
    // ...nor dilute the mean.
    let diluted = format!(
        "{}\n{}",
        costed("seedance_v1_lite", 10, "1.06", "1 hour"),
        costed("seedance_v1_lite", 30, "null", "1 hour")
    );
    let a = one(&alerts(&pg, &diluted), "provider_cost_drift").clone();
    assert_eq!((a.observed.as_str(), a.sample.as_str()), ("6.00", "10"));
    // Failed generations are not judged, whatever the provider reported.
    let failed = format!(
        "{}\nupdate generations set status = 'failed' where model_id = 'seedance_v1_lite';",
        costed("seedance_v1_lite", 10, "1.5", "1 hour")
    );
    quiet(&alerts(&pg, &failed), "provider_cost_drift");

    // The metric: sample, how many differ, both sums and the mean (seedance_v1_lite costs 12
    // credits by default: 8 x 1.5 for 720p x 5/5).
    let out = pg.query(&format!(
        "begin;\n{}\n{}\n\
         select model_id, provider, sample, differing, charged, provider_cost, mean_drift, mean_drift_pct \
           from monitoring_cost_drift order by model_id;\n\
         rollback;",
        costed("seedance_v1_lite", 2, "1.25", "1 hour"),
        costed("seedance_v1_lite", 2, "1", "1 hour")
    ));
    assert_eq!(
        out,
        "seedance_v1_lite|kie_ai|4|2|48|54.00|0.12500000000000000000|12.50\n"
    );
}

#[test]
fn metric_views_report_the_seeded_numbers() {
    let pg = ready();
    let seed = [
        mix("seedance_v1_lite", 8, 2, "10 minutes"),
        mix("gpt_image_1", 5, 0, "40 minutes"),
        mix("gpt_image_1", 7, 7, "2 hours"),
        gens("kling_v2_pro", "processing", 3, "1 minute", "0 seconds"),
        key_event("KIE_AI_API_KEY_PROMPT_TO_VIDEO", true, "3 minutes"),
        key_event("KIE_AI_API_KEY_PROMPT_TO_VIDEO", false, "2 minutes"),
    ]
    .join("\n");
    let out = pg.query(&format!(
        "begin;\n{seed}\n\
         select 'recent', model_id, status, count, round(avg_duration_seconds, 1) from monitoring_recent_generations;\n\
         select 'failed', model_id, provider, error_message from monitoring_failed_generations limit 1;\n\
         select 'failed_count', count(*) from monitoring_failed_generations;\n\
         select 'rate', rule, finished, completed, failed, in_progress, success_rate_pct, failure_rate_pct, goal_pct, meets_goal \
           from monitoring_success_rate order by rule;\n\
         select 'model', model_id, finished, failed, failure_rate_pct from monitoring_model_failure_rate order by model_id;\n\
         select 'provider', provider, finished, failed, error_rate_pct from monitoring_provider_error_rate order by provider;\n\
         select 'errors', provider, error, count from monitoring_provider_errors;\n\
         select 'latency', model_id, completed, avg_latency_seconds, expected_latency_seconds, latency_ratio \
           from monitoring_latency order by model_id;\n\
         select 'keys', secret_name, attempts, succeeded, failed, success_rate_pct, last_error from monitoring_key_retrieval;\n\
         rollback;"
    ));
    let expected = "\
recent|seedance_v1_lite|completed|8|1.0
recent|gpt_image_1|completed|5|1.0
recent|kling_v2_pro|processing|3|0.0
recent|seedance_v1_lite|failed|2|1.0
failed|seedance_v1_lite|kie_ai|\"boom\"
failed_count|2
rate|all_generations_failing|0|0|0|3|||95|
rate|high_error_rate|10|8|2|3|80.00|20.00|95|f
rate|low_success_rate|15|13|2|3|86.67|13.33|95|f
model|gpt_image_1|5|0|0.00
model|seedance_v1_lite|10|2|20.00
provider|kie_ai|10|2|20.00
provider|openai|5|0|0.00
errors|kie_ai|boom|2
latency|gpt_image_1|5|1.000000|30|0.03
latency|seedance_v1_lite|8|1.000000|240|0.00
keys|KIE_AI_API_KEY_PROMPT_TO_VIDEO|2|1|1|50.00|secret not configured
";
    assert_eq!(out, expected);
}

#[test]
fn thresholds_and_windows_follow_monitoring_yaml() {
    // The same registry with other thresholds: the generated SQL must move with them.
    let mut ir = bundled();
    ir.monitoring.min_sample = 3;
    ir.monitoring.high_error_rate_above = "50".into();
    ir.monitoring.high_error_window_s = 600;
    ir.monitoring.output_shortfall_rate_above = "50".into();
    ir.monitoring.output_shortfall_window_s = 600;
    ir.monitoring.cost_drift_tolerance_percent = "50".into();
    ir.monitoring.cost_drift_window_s = 600;
    let files = codegen::emit::emit_all(&ir).expect("emit");
    let dir = std::env::temp_dir().join(format!("registry-sql-thresholds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pg = Pg::start();
    for (name, text) in files.iter().filter(|(name, _)| name.starts_with("sql/")) {
        let path = dir.join(name.trim_start_matches("sql/"));
        std::fs::write(&path, text).unwrap();
        let out = pg.psql_file("postgres", &path);
        assert!(out.ok && out.stderr.is_empty(), "{name}: {}", out.stderr);
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // Sanity: the bundled files differ from these.
    let bundled_alerts =
        std::fs::read_to_string(root().join("generated/sql/005_alerts.sql")).unwrap();
    assert_ne!(Some(&bundled_alerts), files.get("sql/005_alerts.sql"));

    let all = alerts(&pg, &mix("seedance_v1_lite", 2, 3, "9 minutes"));
    let a = one(&all, "high_error_rate");
    assert_eq!(
        (
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("60.00", "50", "00:10:00", "5")
    );
    quiet(
        &alerts(&pg, &mix("seedance_v1_lite", 3, 3, "9 minutes")),
        "high_error_rate",
    );
    quiet(
        &alerts(&pg, &mix("seedance_v1_lite", 2, 3, "10 minutes")),
        "high_error_rate",
    );

    let short = |age: &str| {
        format!(
            "{}\n{}",
            counted("gpt_image_1", 1, 2, 2, age),
            counted("gpt_image_1", 2, 2, 1, age)
        )
    };
    let all = alerts(&pg, &short("9 minutes"));
    let a = one(&all, "output_shortfall");
    assert_eq!(
        (
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("66.67", "50", "00:10:00", "3")
    );
    quiet(&alerts(&pg, &short("10 minutes")), "output_shortfall");

    let all = alerts(&pg, &costed("gpt_image_1", 3, "1.5001", "9 minutes"));
    let a = one(&all, "provider_cost_drift");
    assert_eq!(
        (
            a.observed.as_str(),
            a.threshold.as_str(),
            a.window.as_str(),
            a.sample.as_str()
        ),
        ("50.01", "50", "00:10:00", "3")
    );
    quiet(
        &alerts(&pg, &costed("gpt_image_1", 3, "1.5", "9 minutes")),
        "provider_cost_drift",
    );
    quiet(
        &alerts(&pg, &costed("gpt_image_1", 3, "1.5001", "10 minutes")),
        "provider_cost_drift",
    );
}
