//! Least privilege per workload: every environment's access matrix becomes one Pod
//! Identity role per workload, bound to its service account, naming only the stack's
//! outputs; the matrix is checked before any call.

use glinfra_core::input::collect_refs;
use glinfra_core::spec::eks::{EksAddonSpec, EksPodIdentityAssociationSpec};
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::{Input, OutputRef, Stack};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

use greenlang_agent_factory::ENVIRONMENTS;
const WORKLOADS: [&str; 5] = [
    "api-gateway",
    "agent-factory",
    "agent-runtime",
    "agent-registry",
    "workers",
];

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../environments")
        .join(format!("{name}.toml"))
}

fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap()
}

fn stack(name: &str) -> Stack {
    greenlang_agent_factory::load_stack(&path(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .1
}

/// The stack of an environment file's text, or every problem found in it.
fn stack_of(text: &str) -> Result<Stack, String> {
    let env = greenlang_agent_factory::parse(text).map_err(|d| d.to_string())?;
    greenlang_agent_factory::stack_for(&env)
        .map(|(stack, _)| stack)
        .map_err(|d| d.to_string())
}

fn spec<S: glinfra_core::ResourceSpec>(stack: &Stack, id: &str) -> S {
    stack
        .get(id)
        .unwrap_or_else(|| panic!("no `{id}`"))
        .spec()
        .unwrap()
}

/// The statements of a role's inline policy `access`.
fn statements(role: &IamRoleSpec) -> Vec<Value> {
    role.inline_policies["access"]["Statement"]
        .as_array()
        .unwrap()
        .clone()
}

/// The statements of `role` whose actions include `action`.
fn allowing<'a>(all: &'a [Value], action: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|s| s["Action"].as_array().unwrap().contains(&json!(action)))
        .collect()
}

fn refs(v: &Value) -> BTreeSet<OutputRef> {
    let mut out = BTreeSet::new();
    collect_refs(v, &mut out);
    out
}

#[test]
fn every_workload_has_a_pod_identity_role_bound_to_its_service_account() {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]
        }]
    });
    for name in ENVIRONMENTS {
        let s = stack(name);
        let env = greenlang_agent_factory::load(&path(name)).unwrap();
        let envname = &env.stack.environment;
        let names: Vec<&str> = env.workloads.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, WORKLOADS, "{name}");
        for w in &env.workloads {
            let role: IamRoleSpec = spec(&s, &format!("iam-workload-{}", w.name));
            assert_eq!(role.name, format!("greenlang-{envname}-{}", w.name));
            assert_eq!(role.assume_role_policy, trust, "{name}/{}", w.name);
            assert!(role.managed_policy_arns.is_empty(), "no managed policy");
            let a: EksPodIdentityAssociationSpec = spec(&s, &format!("pod-identity-{}", w.name));
            assert_eq!(
                (a.namespace.as_str(), a.service_account.as_str()),
                ("greenlang", w.name.as_str())
            );
            assert_eq!(
                a.role_arn,
                Input::output(format!("iam-workload-{}", w.name), "arn")
            );
            assert_eq!(a.cluster_name, Input::output("eks", "name"));
            // Every resource is an output of this stack, never a wildcard alone.
            for st in statements(&role) {
                for r in st["Resource"].as_array().unwrap() {
                    assert!(
                        !refs(r).is_empty(),
                        "{name}/{}: {r} names no output",
                        w.name
                    );
                    assert_ne!(r, &json!("*"));
                }
                for a in st["Action"].as_array().unwrap() {
                    assert!(!a.as_str().unwrap().contains('*'), "{name}/{}: {a}", w.name);
                }
            }
        }
    }
}

#[test]
fn the_policies_follow_the_matrix() {
    let s = stack("prod-us-east-1");
    let role = |w: &str| statements(&spec::<IamRoleSpec>(&s, &format!("iam-workload-{w}")));
    let out = |id: &str, o: &str| OutputRef {
        resource: id.into(),
        output: o.into(),
    };
    // Only the workers write the audit-logs bucket.
    for w in WORKLOADS {
        let writes = allowing(&role(w), "s3:PutObject")
            .iter()
            .flat_map(|st| refs(&st["Resource"]))
            .any(|r| r == out("bucket-audit-logs", "arn"));
        assert_eq!(writes, w == "workers", "{w} writes audit logs");
    }
    // The runtime writes reports under its prefix only.
    let runtime = role("agent-runtime");
    let put = allowing(&runtime, "s3:PutObject");
    assert_eq!(put.len(), 1);
    assert_eq!(
        put[0]["Resource"],
        json!([Input::<String>::output("bucket-reports", "arn")
            .format("{}/runtime/*")
            .to_json()])
    );
    // The database secret, by the primary's output, to those that read it.
    let secret = allowing(&runtime, "secretsmanager:GetSecretValue");
    assert_eq!(
        secret[0]["Resource"],
        json!([Input::<String>::output("db-primary", "master_user_secret_arn").to_json()])
    );
    assert!(allowing(&role("api-gateway"), "secretsmanager:GetSecretValue").is_empty());
    // Kafka: the cluster, then topics by the cluster's topic prefix.
    let connect = allowing(&runtime, "kafka-cluster:Connect");
    assert_eq!(
        connect[0]["Resource"],
        json!([Input::<String>::output("kafka", "arn").to_json()])
    );
    let read = allowing(&runtime, "kafka-cluster:ReadData");
    assert_eq!(
        read[0]["Resource"],
        json!([Input::<String>::output("kafka", "topic_arn_prefix")
            .format("{}/agent_lifecycle")
            .to_json()])
    );
    // KMS: the S3 key only, to decrypt for readers and make data keys for writers.
    let key = json!([Input::<String>::output("kms-s3", "arn").to_json()]);
    let gateway = role("api-gateway");
    assert_eq!(allowing(&gateway, "kms:Decrypt")[0]["Resource"], key);
    assert!(allowing(&gateway, "kms:GenerateDataKey").is_empty());
    assert_eq!(
        allowing(&runtime, "kms:GenerateDataKey")[0]["Resource"],
        key
    );
    // Regions without the primary read no secret.
    let eu = stack("prod-eu-west-1");
    for w in WORKLOADS {
        let r: IamRoleSpec = spec(&eu, &format!("iam-workload-{w}"));
        assert!(allowing(&statements(&r), "secretsmanager:GetSecretValue").is_empty());
    }
}

#[test]
fn the_vpc_cni_has_its_own_role_and_the_node_role_lacks_the_cni_policy() {
    for name in ENVIRONMENTS {
        let s = stack(name);
        let node: IamRoleSpec = spec(&s, "iam-eks-node");
        assert!(
            node.managed_policy_arns
                .iter()
                .all(|p| !p.ends_with("/AmazonEKS_CNI_Policy")),
            "{name}"
        );
        let cni: IamRoleSpec = spec(&s, "iam-vpc-cni");
        assert_eq!(
            cni.managed_policy_arns,
            ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]
        );
        let addon: EksAddonSpec = spec(&s, "addon-vpc-cni");
        assert_eq!(addon.pod_identity_associations.len(), 1);
        assert_eq!(
            addon.pod_identity_associations[0].service_account,
            "aws-node"
        );
        assert_eq!(
            addon.pod_identity_associations[0].role_arn,
            Input::output("iam-vpc-cni", "arn")
        );
        let agent: EksAddonSpec = spec(&s, "addon-eks-pod-identity-agent");
        assert_eq!(agent.addon_name, "eks-pod-identity-agent");
        // Nodes start after both add-ons: aws-node's permissions come through the
        // CNI add-on's association, which the agent serves (the node role has none).
        let groups: Vec<_> = s
            .declarations()
            .iter()
            .filter(|d| d.kind.type_name() == "aws:eks/node-group")
            .collect();
        assert!(!groups.is_empty(), "{name}");
        for group in groups {
            let deps = group.dependencies();
            assert!(
                deps.contains("addon-vpc-cni") && deps.contains("addon-eks-pod-identity-agent"),
                "{name}: {} waits for {deps:?}",
                group.id
            );
        }
    }
}

#[test]
fn the_matrix_is_checked_before_any_call() {
    let prod = text("prod-us-east-1");
    let cases = [
        // A wildcard in the matrix.
        (
            r#"reads = ["s3:reports"]"#,
            r#"reads = ["s3:*"]"#,
            "without wildcards",
        ),
        (
            r#"reads = ["s3:reports"]"#,
            r#"reads = ["s3:nope"]"#,
            "no bucket of purpose `nope`",
        ),
        (
            r#"reads = ["s3:reports"]"#,
            r#"reads = ["dynamodb:table"]"#,
            "unknown kind",
        ),
        (
            r#"writes = ["s3:reports", "s3:audit-logs"]"#,
            r#"writes = ["s3:reports", "secret:database"]"#,
            "list it in `reads`",
        ),
        (
            r#"service_account = "workers""#,
            r#"service_account = "agent-runtime""#,
            "belongs to another workload",
        ),
        (
            r#"writes = ["s3:reports", "s3:audit-logs"]"#,
            r#"writes = ["kafka:agent lifecycle"]"#,
            "not a Kafka topic name",
        ),
        (
            r#"service_account = "workers""#,
            r#"service_account = "Workers""#,
            "not a Kubernetes service account name",
        ),
        (
            r#"namespace = "greenlang"
service_account = "workers""#,
            r#"namespace = "greenlang"
service_account = "workers"
role = "admin""#,
            "unknown field `role`",
        ),
    ];
    for (from, to, expect) in cases {
        assert!(prod.contains(from), "{from}");
        let changed = prod.replacen(from, to, 1);
        let err = stack_of(&changed).expect_err(to);
        assert!(err.contains(expect), "{to}: {err}");
    }
    // A database secret where there is no database.
    let eu = text("prod-eu-west-1");
    let changed = eu.replacen(
        r#"reads = ["s3:reports"]"#,
        r#"reads = ["s3:reports", "secret:database"]"#,
        1,
    );
    let err = stack_of(&changed).unwrap_err();
    assert!(err.contains("no [database]"), "{err}");
    // The section is required: the file without its [[workloads]] tables.
    let mut in_workloads = false;
    let cut: String = prod
        .lines()
        .filter(|line| {
            if line.starts_with('[') {
                in_workloads = line.starts_with("[[workloads") || line.starts_with("[workloads");
            }
            !in_workloads
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(cut.contains("\n[security_services]\n") && !cut.contains("\n[[workloads]]\n"));
    let err = stack_of(&cut).unwrap_err();
    assert!(err.contains("missing field `workloads`"), "{err}");
}
