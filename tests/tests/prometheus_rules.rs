//! The Prometheus alerting rules of `generated/prometheus/alerts.yml`: fresh, of the shape
//! Prometheus and Alertmanager expect (every alert with an expression, a `for`, a severity of
//! the plan and its annotations), reading only the server's metrics, with the thresholds,
//! windows and `min_sample` of `models/monitoring.yaml` and each model's expected latency.
//! `promtool check rules` accepts them, and `promtool test rules` runs
//! `tests/prometheus/alerts.test.yml`: each alert just past and just inside its threshold.
//!
//! promtool missing is a test failure with the command that installs it, never a skip.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use codegen::ir::Registry;
use registry_tests::{bundled, root};
use serde_json::Value;

/// The metrics the server exposes (and `registry:expected_latency_seconds`, recorded by the
/// rules file itself).
const SERVER_METRICS: &[&str] = &[
    "registry_generations_total",
    "registry_generation_duration_seconds_bucket",
    "registry_generation_duration_seconds_sum",
    "registry_generation_duration_seconds_count",
    "registry_provider_errors_total",
    "registry_key_retrievals_total",
    "registry_credits_charged_total",
    "registry_credits_refunded_total",
    "registry_webhooks_total",
    "registry_generations_in_flight",
    "registry_provider_cost_credits_total",
    "registry_charged_credits_total",
];

const RECORDED: &str = "registry:expected_latency_seconds";

/// Every SQL alert, its severity, and whether Prometheus can judge it.
const ALERTS: &[(&str, &str, bool)] = &[
    ("missing_api_key", "critical", true),
    ("high_error_rate", "critical", true),
    ("all_generations_failing", "critical", true),
    ("low_success_rate", "warning", true),
    ("high_latency", "warning", true),
    ("model_failing", "warning", true),
    ("provider_errors", "warning", true),
    ("unexpected_token_cost", "warning", false),
    ("output_shortfall", "warning", false),
    ("provider_cost_drift", "warning", true),
];

const INSTALL: &str =
    "scripts/install-test-deps.sh (it takes promtool from Debian's prometheus package)";

fn promtool() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("promtool"))
            .find(|p| p.is_file())
    });
    found
        .unwrap_or_else(|| panic!("promtool is not installed: run {INSTALL}, then the tests again"))
}

fn run_promtool(args: &[&str], dir: &Path) -> String {
    let out = Command::new(promtool())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

/// The rules file the emitters produce for `ir`.
fn emitted(ir: &Registry) -> String {
    codegen::emit::emit_all(ir).expect("the emitters succeed")["prometheus/alerts.yml"].clone()
}

fn parse(text: &str) -> Value {
    codegen::spec::yaml::parse(text)
        .unwrap_or_else(|e| panic!("the rules file is not YAML: {e:?}"))
        .0
}

/// The rules of the group named `name`.
fn group<'a>(doc: &'a Value, name: &str) -> &'a [Value] {
    doc["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no group {name}"))["rules"]
        .as_array()
        .expect("rules")
}

/// The alerting rule of the SQL rule `rule` (label `rule`).
fn alert<'a>(doc: &'a Value, rule: &str) -> &'a Value {
    group(doc, "registry-alerts")
        .iter()
        .find(|r| r["labels"]["rule"] == rule)
        .unwrap_or_else(|| panic!("no alert for {rule}"))
}

fn text<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| panic!("{what} is missing or empty: {v}"))
}

/// The metric names an expression reads: identifiers that start with `registry`.
fn metrics(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut word = String::new();
    for c in expr.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            if word.starts_with("registry") {
                out.insert(word.clone());
            }
            word.clear();
        }
    }
    out
}

/// Every range of an expression: `1h` of `[1h]`.
fn ranges(expr: &str) -> BTreeSet<&str> {
    expr.split('[')
        .skip(1)
        .map(|rest| rest.split(']').next().expect("a closed range"))
        .collect()
}

fn promql_duration(seconds: u64) -> String {
    if seconds % 3600 == 0 {
        format!("{}h", seconds / 3600)
    } else if seconds % 60 == 0 {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// Checks the shape, the metrics, the thresholds and the expected latencies of `text` against
/// the registry it was made from.
fn check(ir: &Registry, file: &str) {
    let doc = parse(file);
    let m = &ir.monitoring;
    let alerts = group(&doc, "registry-alerts");
    let mut seen = Vec::new();
    for rule in alerts {
        let name = text(&rule["alert"], "alert");
        let expr = text(&rule["expr"], "expr");
        text(&rule["for"], "for");
        let severity = text(&rule["labels"]["severity"], "labels.severity");
        assert!(
            ["critical", "warning"].contains(&severity),
            "{name}: severity {severity}"
        );
        let sql_rule = text(&rule["labels"]["rule"], "labels.rule");
        let (_, expected, _) = ALERTS
            .iter()
            .find(|(r, _, _)| *r == sql_rule)
            .unwrap_or_else(|| panic!("{name}: unknown rule {sql_rule}"));
        assert_eq!(severity, *expected, "{name}: the SQL alert's severity");
        for key in ["summary", "description", "action"] {
            text(
                &rule["annotations"][key],
                &format!("{name}: annotations.{key}"),
            );
        }
        for metric in metrics(expr) {
            assert!(
                SERVER_METRICS.contains(&metric.as_str()) || metric == RECORDED,
                "{name} reads {metric}, which the server does not expose"
            );
        }
        seen.push(sql_rule.to_owned());
    }
    let expressible: Vec<String> = ALERTS
        .iter()
        .filter(|(_, _, p)| *p)
        .map(|(r, _, _)| (*r).to_owned())
        .collect();
    assert_eq!(
        seen, expressible,
        "one Prometheus alert per SQL alert it can judge"
    );
    for (rule, _, expressible) in ALERTS {
        if !expressible {
            assert!(
                file.contains(&format!("#   {rule}: ")),
                "the header says why {rule} is not here"
            );
        }
    }
    for codegen_metric in codegen::emit::prometheus::METRICS {
        assert!(
            SERVER_METRICS.contains(codegen_metric),
            "{codegen_metric} is not a server metric"
        );
    }

    // Thresholds, windows and min_sample are monitoring.yaml's.
    let n = format!(">= {}", m.min_sample);
    let expect = |rule: &str, window_s: u64, needles: &[String]| {
        let expr = alert(&doc, rule)["expr"].as_str().unwrap();
        assert_eq!(
            ranges(expr),
            BTreeSet::from([promql_duration(window_s).as_str()]),
            "{rule}: every range is its window"
        );
        for needle in needles {
            assert!(
                expr.contains(needle.as_str()),
                "{rule}: {needle:?} in {expr}"
            );
        }
    };
    expect("missing_api_key", m.missing_key_window_s, &["> 0".into()]);
    expect(
        "high_error_rate",
        m.high_error_window_s,
        &[format!("> {}", m.high_error_rate_above), n.clone()],
    );
    expect(
        "all_generations_failing",
        m.all_failing_window_s,
        std::slice::from_ref(&n),
    );
    expect(
        "low_success_rate",
        m.success_rate_window_s,
        &[format!("< {}", m.success_rate_alert_below), n.clone()],
    );
    expect(
        "high_latency",
        m.latency_window_s,
        &[
            format!("> on (model) {} * {RECORDED}", m.latency_factor),
            n.clone(),
        ],
    );
    expect(
        "model_failing",
        m.model_failure_window_s,
        &[format!("> {}", m.model_failure_rate_above), n.clone()],
    );
    expect(
        "provider_errors",
        m.provider_error_window_s,
        &[format!("> {}", m.provider_error_rate_above), n.clone()],
    );
    expect(
        "provider_cost_drift",
        m.cost_drift_window_s,
        &[format!("> {}", m.cost_drift_tolerance_percent), n.clone()],
    );

    // One expected latency per model, in seconds.
    let recorded: Vec<(String, String)> = group(&doc, "registry-expected-latency")
        .iter()
        .map(|r| {
            assert_eq!(r["record"], RECORDED);
            (
                text(&r["labels"]["model"], "labels.model").to_owned(),
                text(&r["expr"], "expr").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = ir
        .models
        .values()
        .map(|model| {
            let ms = model.execution.expected_latency_ms;
            let s = if ms % 1000 == 0 {
                (ms / 1000).to_string()
            } else {
                format!("{}", ms as f64 / 1000.0)
            };
            (model.id.clone(), format!("vector({s})"))
        })
        .collect();
    assert_eq!(recorded, expected);
}

#[test]
fn bundled_rules_are_fresh() {
    let path = root().join("generated/prometheus/alerts.yml");
    let on_disk = std::fs::read_to_string(&path).expect("generated/prometheus/alerts.yml");
    assert!(
        on_disk == emitted(&bundled()),
        "generated/prometheus/alerts.yml is stale: run `cargo run -p codegen`"
    );
    assert!(on_disk.starts_with(&format!("# {}\n", codegen::emit::HEADER)));
}

#[test]
fn bundled_rules_have_the_shape_metrics_and_thresholds_of_monitoring_yaml() {
    let ir = bundled();
    check(&ir, &emitted(&ir));
}

#[test]
fn the_rules_follow_other_thresholds() {
    let mut ir = bundled();
    let m = &mut ir.monitoring;
    m.min_sample = 3;
    m.high_error_rate_above = "12.5".into();
    m.high_error_window_s = 600;
    m.latency_factor = "3".into();
    m.latency_window_s = 5400;
    m.cost_drift_tolerance_percent = "0.5".into();
    m.cost_drift_window_s = 90;
    let rules = emitted(&ir);
    check(&ir, &rules);
    assert!(rules.contains("> 12.5\n"));
    assert!(rules.contains("[10m]") && rules.contains("[90m]") && rules.contains("[90s]"));
    let dir = std::env::temp_dir().join(format!("registry-prometheus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("alerts.yml"), &rules).unwrap();
    let out = run_promtool(&["check", "rules", "alerts.yml"], &dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn promtool_accepts_the_generated_rules() {
    let out = run_promtool(
        &["check", "rules", "generated/prometheus/alerts.yml"],
        &root(),
    );
    let recording = bundled().models.len();
    let alerting = ALERTS.iter().filter(|(_, _, p)| *p).count();
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", recording + alerting)),
        "{out}"
    );
}

#[test]
fn promtool_unit_tests_pass() {
    let out = run_promtool(
        &["test", "rules", "alerts.test.yml"],
        &root().join("tests/prometheus"),
    );
    assert!(out.contains("SUCCESS"), "{out}");
}
