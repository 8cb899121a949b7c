//! Policy checks (seed 8.1, 6.2; IAM least privilege): a violating environment
//! file is refused by the example binary with exit 2, naming file, resource, field
//! and rule, before any AWS call or state file; rules no environment value can
//! break are shown refusing a program changed in code, before any graph (and so
//! any session call) exists. The five shipped environments pass.

mod common;
use common::{run_example_offline, shipped};
use glinfra::core::policy::Severity;
use glinfra::spec::iam::IamRoleSpec;
use glinfra::{ResourceGraph, Stack};
use serde_json::json;

fn prod() -> String {
    shipped("prod-us-east-1")
}

/// The example refuses `text` with exit 2, touching nothing, and says `needles`.
fn refused(text: &str, needles: &[&str]) {
    let out = run_example_offline(text, &[]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.untouched, "the state directory was created");
    for needle in needles {
        let needle = needle.replace("{file}", &out.file);
        assert!(
            out.stderr.contains(&needle),
            "missing:\n{needle}\nin:\n{}",
            out.stderr
        );
    }
}

#[test]
fn tls_in_transit_is_mandatory() {
    refused(
        &prod()
            .replace("require_ssl = true", "require_ssl = false")
            .replace("client_broker_encryption = \"TLS\"", "client_broker_encryption = \"TLS_PLAINTEXT\""),
        &[
            "error in {file}: resource `bucket-audit-logs`, field `policy`: policy `tls-in-transit`: the bucket policy does not deny requests without TLS",
            "error in {file}: resource `kafka`, field `client_broker_encryption`: policy `tls-in-transit`: clients may reach the brokers without TLS (TLS_PLAINTEXT)",
        ],
    );
}

#[test]
fn public_access_must_be_blocked_on_every_bucket() {
    refused(
        &prod().replace("block_public_access = true", "block_public_access = false"),
        &["error in {file}: resource `bucket-reports`, field `block_public_access`: policy `bucket-public-access`"],
    );
}

#[test]
fn kms_keys_must_rotate() {
    refused(
        &prod().replace("kms_key_rotation = true", "kms_key_rotation = false"),
        &["error in {file}: resource `kms-s3`, field `enable_key_rotation`: policy `kms-rotation`"],
    );
}

#[test]
fn prod_databases_need_deletion_protection_and_30_days_of_backups() {
    refused(
        &prod()
            .replace("deletion_protection = true", "deletion_protection = false")
            .replace("backup_retention_days = 30", "backup_retention_days = 7"),
        &[
            "error in {file}: resource `db-primary`, field `deletion_protection`: policy `database-deletion-protection`",
            "error in {file}: resource `db-primary`, field `backup_retention_days`: policy `database-backups`: the database keeps 7 days of backups; this environment requires at least 30",
        ],
    );
}

#[test]
fn every_vpc_needs_flow_logs() {
    refused(
        &prod().replace("vpc_flow_logs = true", "vpc_flow_logs = false"),
        &["error in {file}: resource `vpc`: policy `vpc-flow-logs`: the VPC has no flow log"],
    );
}

#[test]
fn spot_only_in_the_pools_the_environment_allows() {
    refused(
        // The first pool is `system`.
        &prod().replacen("spot_percentage = 0", "spot_percentage = 50", 1),
        &["error in {file}: resource `ng-system-spot`, field `capacity_type`: policy `spot-capacity`"],
    );
}

#[test]
fn a_workload_given_write_access_to_the_audit_logs_in_the_access_matrix_is_refused() {
    refused(
        &prod().replacen(
            "writes = [\"kafka:agent_lifecycle\", \"kafka:audit_log\"]",
            "writes = [\"kafka:agent_lifecycle\", \"kafka:audit_log\", \"s3:audit-logs\"]",
            1,
        ),
        &[
            "resource `iam-workload-api-gateway`",
            "policy `audit-log-writers`",
        ],
    );
}

#[test]
fn a_public_ingress_exception_must_name_a_declared_group() {
    refused(
        &prod().replace("public_ingress = []", "public_ingress = [\"sg-gone\"]"),
        &["resource `sg-gone`: policy `open-ingress`: the policy parameter `public_ingress` names `sg-gone`"],
    );
}

#[test]
fn an_environment_may_make_an_advisory_rule_mandatory() {
    refused(
        &prod().replace("log-encryption = \"advisory\"", "log-encryption = \"mandatory\""),
        &["error in {file}: resource `logs-vpc-flow`, field `kms_key_arn`: policy `log-encryption`"],
    );
}

#[test]
fn the_policy_section_is_strict() {
    let out = run_example_offline(
        &prod().replace(
            "kms-rotation = \"mandatory\"",
            "kms-rotaton = \"mandatory\"",
        ),
        &[],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown policy rule `kms-rotaton`")
            || out.stderr.contains("kms-rotaton"),
        "{}",
        out.stderr
    );
    let out = run_example_offline(&prod().replace("kms-rotation = \"mandatory\"\n", ""), &[]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("field `policy.rules`: every rule needs a severity (mandatory or advisory); missing: kms-rotation"), "{}", out.stderr);
    let out = run_example_offline(
        &prod().replace(
            "spot_pools = [\"agent_runtime\", \"worker\"]",
            "spot_pools = [\"workers\"]",
        ),
        &[],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("field `policy.spot_pools`: `workers` is not a node pool of [kubernetes]"),
        "{}",
        out.stderr
    );
}

/// Advisory violations do not stop the plan: it runs offline (no refresh, no
/// call) and carries them in its text and JSON.
#[test]
fn advisories_are_printed_and_carried_in_the_plan_json() {
    let out = run_example_offline(&prod(), &["plan", "--refresh=false", "--json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["schema"], "glinfra.plan/v3");
    let policy = plan["policy"].as_array().unwrap();
    assert!(!policy.is_empty());
    for v in policy {
        assert_eq!(v["severity"], "advisory", "{v}");
        assert_eq!(v["rule"], "log-encryption", "{v}");
        assert_eq!(v["field"], "kms_key_arn", "{v}");
    }
    let out = run_example_offline(&prod(), &["plan", "--refresh=false"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains(&format!("advisory in {}: resource `logs-vpc-flow`, field `kms_key_arn`: policy `log-encryption`", out.file)), "{}", out.stdout);
}

#[test]
fn the_five_shipped_environments_pass_their_policies() {
    for name in greenlang_agent_factory::ENVIRONMENTS {
        let env = greenlang_agent_factory::parse(&shipped(name)).unwrap();
        let (stack, graph) =
            greenlang_agent_factory::stack_for(&env).unwrap_or_else(|e| panic!("{name}:\n{e}"));
        assert_eq!(stack.policies().rules().count(), 14, "{name}");
        assert!(
            graph.violations().iter().all(|v| !v.is_mandatory()),
            "{name}"
        );
    }
}

/// The prod stack with `change` made to it in code: its graph's errors.
fn prod_changed(change: impl FnOnce(&mut Stack)) -> String {
    let env = greenlang_agent_factory::parse(&prod()).unwrap();
    let mut stack = greenlang_agent_factory::build(&env, Some("prod.toml")).unwrap();
    change(&mut stack);
    ResourceGraph::build(&stack).unwrap_err().to_string()
}

fn role_with(policy: serde_json::Value) -> IamRoleSpec {
    let mut role = IamRoleSpec::for_service("greenlang-prod-workload", "pods.eks.amazonaws.com");
    role.inline_policies.insert("access".into(), policy);
    role
}

#[test]
fn iam_documents_in_the_plan_are_checked() {
    let err = prod_changed(|stack| {
        stack.add(
            "iam-workload",
            role_with(json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:*", "Resource": "arn:aws:secretsmanager:us-east-1:1:secret:db"},
                {"Effect": "Allow", "Action": "kafka-cluster:WriteData", "Resource": "*"},
                {"Sid": "Audit", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::greenlang-audit-logs-prod/*"}
            ]})),
        );
        let mut open = IamRoleSpec::for_service("greenlang-prod-open", "ec2.amazonaws.com");
        open.assume_role_policy = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
        stack.add("iam-open", open);
    });
    for needle in [
        "resource `iam-workload`, field `inline_policies.access.Statement[0]`: policy `iam-data-wildcard`: statement `Secrets` (#0): allows `secretsmanager:*`",
        "resource `iam-workload`, field `inline_policies.access.Statement[1]`: policy `iam-write-any-resource`: statement #1: allows the write action `kafka-cluster:WriteData` on every resource",
        "resource `iam-workload`, field `inline_policies.access.Statement[2]`: policy `audit-log-writers`: statement `Audit` (#2): lets `iam-workload` write (`s3:PutObject`) to the audit-log bucket `greenlang-audit-logs-prod`, which only `iam-workload-workers` may write",
        "resource `iam-open`, field `assume_role_policy.Statement[0]`: policy `iam-any-principal`",
        "nothing was sent to AWS",
    ] {
        assert!(err.contains(needle), "missing:\n{needle}\nin:\n{err}");
    }
}

#[test]
fn the_named_audit_log_writer_may_write() {
    let mut env = greenlang_agent_factory::parse(&prod()).unwrap();
    env.policy.audit_log_writers = vec!["iam-workload-workers".into(), "iam-audit-shipper".into()];
    let mut stack = greenlang_agent_factory::build(&env, None).unwrap();
    stack.add(
        "iam-audit-shipper",
        role_with(json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::greenlang-audit-logs-prod/*"}
        ]})),
    );
    ResourceGraph::build(&stack).unwrap();
}

#[test]
fn what_no_environment_value_breaks_is_still_refused() {
    use glinfra::spec::ec2::{IpProtocol, SecurityGroupRule, SecurityGroupSpec};
    use glinfra::spec::s3::BucketSpec;
    let err = prod_changed(|stack| {
        let mut bucket = BucketSpec::new("greenlang-prod-scratch");
        bucket.block_public_access = true;
        bucket.policy = Some(BucketSpec::ssl_only_policy("greenlang-prod-scratch"));
        stack.add("bucket-scratch", bucket);
        stack.add(
            "sg-open",
            SecurityGroupSpec {
                vpc_id: glinfra::Input::output("vpc", "id"),
                name: "greenlang-prod-open".into(),
                description: "open".into(),
                ingress: vec![SecurityGroupRule {
                    protocol: IpProtocol::Tcp,
                    from_port: 22,
                    to_port: 22,
                    cidr_blocks: vec!["0.0.0.0/0".into()],
                    description: "ssh".into(),
                }],
                egress: Vec::new(),
            },
        );
    });
    for needle in [
        "resource `bucket-scratch`, field `encryption`: policy `encryption-at-rest`",
        "resource `sg-open`, field `ingress[0].cidr_blocks`: policy `open-ingress`: ports 22-22 are open to 0.0.0.0/0",
    ] {
        assert!(err.contains(needle), "missing:\n{needle}\nin:\n{err}");
    }
}

/// A user's own policy, added through the Stack API, stops the library's plan.
#[test]
fn a_user_policy_is_enforced_through_the_library() {
    let err = prod_changed(|stack| {
        stack.add_policy(
            "max-nodes",
            Severity::Mandatory,
            |s: &glinfra::core::policy::Subject<'_>| {
                s.specs::<glinfra::spec::eks::EksNodeGroupSpec>()
                    .filter(|(_, ng)| ng.max_size > 40)
                    .map(|(d, ng)| {
                        glinfra::core::Finding::new(
                            &d.id,
                            "max_size",
                            format!("{} nodes: ask the platform team", ng.max_size),
                        )
                    })
                    .collect()
            },
        );
    });
    assert!(err.contains("error in prod.toml: resource `ng-agent-runtime-spot`, field `max_size`: policy `max-nodes`: 60 nodes: ask the platform team"), "{err}");
}
