//! `cost` through the example binary: the declared stack's estimate with no AWS
//! call and no state (the endpoint is a closed port, so a call would fail), the
//! plan's monthly difference in its text and JSON, and a saved plan's change.

use std::path::Path;
use std::process::Command;

mod common;
use common::example;

fn env_file() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("environments/prod-us-east-1.toml")
        .to_str()
        .unwrap()
        .to_string()
}

/// Runs the example with `args`, state in `state`, the endpoint a closed port.
fn run(state: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(example())
        .args(args)
        .args(["--env", &env_file(), "--state-dir", state.to_str().unwrap()])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cost_prints_the_declared_stack_with_no_aws_call_and_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (code, stdout, stderr) = run(&state, &["cost"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!state.exists(), "cost wrote state");
    expect_test::expect_file!["snapshots/cost-prod-us-east-1.txt"].assert_eq(&stdout);

    let (code, json, stderr) = run(&state, &["cost", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let e: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lines = e["lines"].as_array().unwrap();
    let sum: f64 = lines.iter().map(|l| l["on_demand"].as_f64().unwrap()).sum();
    assert!((sum - e["on_demand"].as_f64().unwrap()).abs() < 1e-6);
    assert!(e["optimised"].as_f64().unwrap() < sum);
    assert_eq!(e["stack"], "prod-us-east-1");
    assert!(lines.iter().any(|l| l["resource"] == "kafka"));
}

#[test]
fn a_plan_shows_its_monthly_difference_and_cost_reads_a_saved_plan() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let saved = dir.path().join("prod.plan.json");
    let saved = saved.to_str().unwrap();
    // Nothing recorded: the plan creates everything, so its difference is the
    // whole estimate.
    let (_, estimate, _) = run(&state, &["cost", "--json"]);
    let estimate: serde_json::Value = serde_json::from_str(&estimate).unwrap();
    let total = estimate["on_demand"].as_f64().unwrap();
    let (code, stdout, stderr) = run(&state, &["plan", "--refresh=false", "--out", saved]);
    assert_eq!(code, Some(0), "{stderr}");
    let plan_line = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Plan: "))
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let expected = format!(
        "Cost: +{}/month on-demand",
        glinfra_core::cost::money(total)
    );
    assert!(plan_line.starts_with(&expected), "{plan_line}\n{expected}");

    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(plan["schema"], glinfra_core::plan::PLAN_SCHEMA);
    assert!((plan["cost"]["on_demand"].as_f64().unwrap() - total).abs() < 1e-6);

    let (code, stdout, stderr) = run(&state, &["cost", saved]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("+  ng-system") && stdout.contains("-> $450.48"),
        "{stdout}"
    );
    assert!(stdout.contains(&expected), "{stdout}");
    let (code, json, stderr) = run(&state, &["cost", saved, "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let change: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!((change["on_demand"].as_f64().unwrap() - total).abs() < 1e-6);
    assert!(
        !state.exists(),
        "neither plan --refresh=false nor cost writes state"
    );
}
