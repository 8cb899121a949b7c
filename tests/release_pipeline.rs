//! The embedding example on the emulator: `examples/release-pipeline` plans and
//! applies staging through `glinfra::embed`, checks its outputs, plans prod and
//! stops for approval. Nothing here skips: without an emulator
//! (`AWS_ENDPOINT_URL`), this fails.

mod common;

use std::process::Command;

#[test]
fn the_release_pipeline_applies_staging_and_stops_before_prod() {
    common::require_emulator();
    let state = tempfile::tempdir().unwrap();
    // Staging stays applied (its GuardDuty detector, Security Hub and Inspector are
    // one per account and region): an account of its own keeps it from every other
    // test's.
    let account = common::own_account();
    let out = Command::new(common::example_binary("release-pipeline"))
        .args(["--state-dir", state.path().to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "info")
        .env("AWS_ACCESS_KEY_ID", &account)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Every event went through tracing; staging was applied and checked.
    assert!(
        stderr.contains("succeeded stack=\"staging-us-east-1\""),
        "{stderr}"
    );
    assert!(stderr.contains("staging checked"), "{stderr}");
    assert!(
        stderr.contains("planned stack=\"prod-us-east-1\""),
        "{stderr}"
    );
    // Prod was planned, shown, and not applied.
    assert!(stdout.contains("waits for approval"), "{stdout}");
    assert!(
        !stderr.contains("succeeded stack=\"prod-us-east-1\""),
        "{stderr}"
    );
    // A second run finds staging applied: nothing to change there.
    let again = Command::new(common::example_binary("release-pipeline"))
        .args(["--state-dir", state.path().to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "info")
        .env("AWS_ACCESS_KEY_ID", &account)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        stderr.contains("planned stack=\"staging-us-east-1\" add=0 change=0 replace=0 destroy=0"),
        "{stderr}"
    );
}
