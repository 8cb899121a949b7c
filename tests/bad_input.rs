//! Bad input: every problem in an environment file is reported at once, naming the
//! file, the resource and the field, with exit code 2 and no AWS call.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::example;

fn prod() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/prod-us-east-1.toml"),
    )
    .unwrap()
}

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the example on `env_file` with state in `state`, its endpoint a closed port
/// (so any AWS call would fail differently: exit 1, not 2).
fn run_example(env_file: &Path, state: &Path) -> std::process::Output {
    run_example_with(env_file, state, &[])
}

/// [`run_example`] with the verb and flags in `args`.
fn run_example_with(env_file: &Path, state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(example())
        .args(args)
        .args([
            "--env",
            env_file.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap()
}

fn errors(text: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, text);
    let err = greenlang_agent_factory::load_stack(&path)
        .map(|_| ())
        .unwrap_err();
    (err.to_string(), path.display().to_string())
}

#[test]
fn the_shipped_environment_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (env, stack, graph) = greenlang_agent_factory::load_stack(&write(&dir, &prod())).unwrap();
    assert_eq!(env.network.vpc_cidr, "10.0.0.0/16");
    assert_eq!(graph.len(), stack.declarations().len());
}

#[test]
fn network_mistakes_are_all_reported_naming_file_resource_and_field() {
    let text = prod()
        .replace(
            "\"10.0.16.0/20\", \"10.0.32.0/20\"]",
            "\"10.0.16.0/20\", \"10.0.32.0/33\"]",
        )
        .replace("\"10.0.64.0/19\"", "\"10.9.64.0/19\"")
        .replace("\"10.0.176.0/20\"", "\"10.0.160.0/21\"")
        .replace("\"us-east-1c\"]", "\"us-east-1q\"]");
    let (err, file) = errors(&text);
    for needle in [
        format!("error in {file}: resource `subnet-public-q`, field `cidr_block`: `10.0.32.0/33` is not a valid IPv4 CIDR block"),
        format!("error in {file}: resource `subnet-app-a`, field `cidr_block`: subnet 10.9.64.0/19 is outside its VPC `vpc` (10.0.0.0/16)"),
        format!("error in {file}: resource `subnet-data-b`, field `cidr_block`: subnet 10.0.160.0/21 overlaps subnet `subnet-data-a` (10.0.160.0/20) in the same VPC"),
        format!("error in {file}: resource `subnet-app-q`, field `availability_zone`: unknown availability zone `us-east-1q`"),
    ] {
        assert!(err.contains(&needle), "missing:\n{needle}\nin:\n{err}");
    }
    assert!(err.ends_with("nothing was sent to AWS"), "{err}");
}

#[test]
fn missing_unknown_and_mistyped_keys_name_the_file_and_key() {
    let (err, file) = errors(&prod().replace("nat_gateways = 3\n", ""));
    assert!(
        err.contains(&file) && err.contains("missing field `nat_gateways`"),
        "{err}"
    );
    let (err, _) = errors(&prod().replace("nat_gateways = 3", "nat_gateways = 3\nnat_gatways = 3"));
    assert!(
        err.contains("unknown field `nat_gatways`") && err.contains("line 21"),
        "{err}"
    );
    let (err, _) = errors(&prod().replace("nat_gateways = 3", "nat_gateways = \"three\""));
    assert!(
        err.contains("invalid type") && err.contains("nat_gateways"),
        "{err}"
    );
}

#[test]
fn bucket_and_duplicate_mistakes_are_reported() {
    let text = prod()
        .replace(
            "{ days = 365, storage_class = \"GLACIER\" }",
            "{ days = 60, storage_class = \"GLACIER\" }",
        )
        .replace("purpose = \"reports\"", "purpose = \"agent-packs\"");
    let (err, file) = errors(&text);
    assert!(err.contains(&file), "{err}");
    assert!(
        err.contains("field `storage.buckets.purpose`: bucket purpose `agent-packs` appears twice"),
        "{err}"
    );
}

/// The example binary itself: bad input exits 2 before any AWS client exists. The
/// endpoint points at a closed port, so any call would fail differently (exit 1).
#[test]
fn the_example_exits_2_on_bad_input_without_calling_aws() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, &prod().replace("\"10.0.0.0/16\"", "\"10.0.0.0/99\""));
    let out = run_example(&path, &dir.path().join("state"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error in {}: resource `vpc`, field `cidr_block`",
            path.display()
        )),
        "{stderr}"
    );
    assert!(
        !dir.path().join("state").exists(),
        "not even the state store was touched"
    );
}

/// Mistakes AWS would refuse mid-apply, after other resources were made, are
/// refused by validation instead: each names the file, resource and field.
#[test]
fn aws_rules_known_before_a_call_are_checked_before_the_first_call() {
    let text = prod()
        .replace("storage_type = \"io2\"", "storage_type = \"gp3\"")
        .replace("allocated_storage_gb = 1000", "allocated_storage_gb = 200")
        .replace("version = \"1.29\"", "version = \"1.19\"")
        .replace("version = \"3.5.1\"", "version = \"3.5.9\"");
    let (err, file) = errors(&text);
    for needle in [
        format!("error in {file}: resource `db-primary`, field `iops`: gp3 under 400 GiB runs at its baseline of 3000 IOPS"),
        format!("error in {file}: resource `eks`, field `version`: Kubernetes version `1.19` is not one AWS offers"),
        format!("error in {file}: resource `kafka`, field `kafka_version`: Kafka version `3.5.9` is not one AWS offers"),
    ] {
        assert!(err.contains(&needle), "missing:\n{needle}\nin:\n{err}");
    }
}

/// A stack name that is a path never reaches the filesystem: the example exits 2
/// before its state directory exists.
#[test]
fn a_stack_name_that_is_a_path_is_refused_before_any_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        &prod().replace("name = \"prod-us-east-1\"", "name = \"../../evil\""),
    );
    let state = dir.path().join("state");
    let out = run_example(&path, &state);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stack name `../../evil`"), "{stderr}");
    assert!(!state.exists(), "the state directory was created");
    assert!(!dir.path().parent().unwrap().join("evil.lock").exists());
}

/// Runs the example on `text` as its environment file: its exit code and stderr,
/// the file's path, and whether the state directory was left untouched.
fn run_on(text: &str) -> (Option<i32>, String, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, text);
    let state = dir.path().join("state");
    let out = run_example(&path, &state);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        out.status.code(),
        stderr,
        path.display().to_string(),
        !state.exists(),
    )
}

/// Service names and quotas AWS would refuse mid-apply: the example exits 2 naming
/// each resource and field and quoting AWS, before any client or state exists.
#[test]
fn names_and_node_group_sizes_are_refused_before_any_call() {
    let text = prod()
        .replace("name = \"gpu\"", "name = \"gpu.accelerated\"")
        .replace(
            "min_size = 10\nmax_size = 100\n",
            "min_size = 10\nmax_size = 1000\n",
        );
    let (code, stderr, file, untouched) = run_on(&text);
    assert_eq!(code, Some(2), "{stderr}");
    for needle in [
        format!("error in {file}: resource `ng-gpu.accelerated`, field `name`: `gpu.accelerated` cannot be an EKS node group name: it has `.`. AWS (CreateNodegroup, nodegroupName): \"The node group name can't be longer than 63 characters."),
        format!("error in {file}: resource `ng-agent-runtime-spot`, field `max_size`: 600 nodes: a managed node group has at most 450 by default (Amazon EKS service quotas: \"Nodes per managed node group\", 450)"),
    ] {
        assert!(stderr.contains(&needle), "missing:\n{needle}\nin:\n{stderr}");
    }
    // The on-demand part of the same pool (400 of 1000) is within the quota.
    assert!(!stderr.contains("`ng-agent-runtime-ondemand`"), "{stderr}");
    assert!(untouched, "the state directory was created");
}

/// Cache and Kafka shapes AWS would refuse: too many nodes in one replication
/// group, no broker in a zone. Exit 2, the messages, no state, no call.
#[test]
fn cache_nodes_and_brokers_per_zone_are_refused_before_any_call() {
    let text = prod()
        .replace(
            "shards = 3\nreplicas_per_shard = 1",
            "shards = 126\nreplicas_per_shard = 3",
        )
        .replace("broker_count = 6", "broker_count = 0");
    let (code, stderr, file, untouched) = run_on(&text);
    assert_eq!(code, Some(2), "{stderr}");
    for needle in [
        format!("error in {file}: resource `redis`, field `num_node_groups`: 126 shards of 1 primary and 3 replicas make 504 nodes, more than 500"),
        format!("error in {file}: resource `kafka`, field `broker_count`: 0 brokers over 3 client subnets: the count must be a multiple of the 3 subnets, at least one broker in each"),
    ] {
        assert!(stderr.contains(&needle), "missing:\n{needle}\nin:\n{stderr}");
    }
    assert!(stderr.contains("nothing was sent to AWS"), "{stderr}");
    assert!(untouched, "the state directory was created");
}

/// A saved plan (`plan --out`) applies only to the program it was made from: an
/// environment file changed since is refused, saying why, before any AWS call.
/// `--detailed-exitcode` makes `plan` exit 2 when it has changes.
#[test]
fn a_saved_plan_for_another_program_is_refused_and_detailed_exit_codes_say_changes() {
    let dir = tempfile::tempdir().unwrap();
    let env = write(&dir, &prod());
    let state = dir.path().join("state");
    let saved = dir.path().join("prod.plan.json");
    let out = run_example_with(
        &env,
        &state,
        &[
            "plan",
            "--out",
            saved.to_str().unwrap(),
            "--refresh=false",
            "--detailed-exitcode",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("to add, 0 to change, 0 to replace, 0 to destroy."),
        "{stdout}"
    );
    assert!(stdout.contains("Tags on every resource: "), "{stdout}");
    assert!(saved.exists());
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(plan["schema"], "glinfra.plan/v3");

    // The program changes (one node group's desired size): applying the saved plan
    // is refused.
    std::fs::write(
        &env,
        prod().replacen("desired_size = 3", "desired_size = 4", 1),
    )
    .unwrap();
    let out = run_example_with(&env, &state, &["apply", saved.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the program changed since") && stderr.contains("plan again"),
        "{stderr}"
    );
}
