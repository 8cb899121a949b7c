//! Reads the workload identities of an applied Agent Factory back through IAM and
//! EKS: each workload's role (its Pod Identity trust policy, its inline policy naming
//! exactly the stack's outputs), its association, and the identity add-ons.

use greenlang_agent_factory::config::{Access, Environment};
use greenlang_agent_factory::workloads;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn document(text: &str) -> Value {
    serde_json::from_str(text)
        .or_else(|_| {
            serde_json::from_str(&percent_encoding::percent_decode_str(text).decode_utf8_lossy())
        })
        .expect("a JSON policy document")
}

/// Every `Resource` of a policy, flattened.
fn resources(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Resource"] {
            Value::Array(list) => list
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect(),
            Value::String(r) => vec![r.clone()],
            other => panic!("Resource {other}"),
        })
        .collect()
}

/// Checks the roles, associations and add-ons of `env`'s workloads as applied, with
/// the stack's outputs `out` (`"<id>.<output>"`).
pub async fn check_workload_identity(
    env: &Environment,
    out: &BTreeMap<String, String>,
    config: &aws_config::SdkConfig,
) {
    let envname = &env.stack.environment;
    let iam = aws_sdk_iam::Client::new(config);
    let eks = aws_sdk_eks::Client::new(config);
    let cluster = format!("greenlang-{envname}");
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]
        }]
    });
    let listed = eks
        .list_pod_identity_associations()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    assert!(!env.workloads.is_empty());
    for w in &env.workloads {
        let name = format!("greenlang-{envname}-{}", w.name);
        let role = iam.get_role().role_name(&name).send().await.unwrap();
        let role = role.role().unwrap();
        assert_eq!(role.arn(), out[&format!("iam-workload-{}.arn", w.name)]);
        let got = document(role.assume_role_policy_document().unwrap());
        assert_eq!(got, trust, "{name}: Pod Identity trust");
        let inline = iam
            .get_role_policy()
            .role_name(&name)
            .policy_name("access")
            .send()
            .await
            .unwrap();
        let live = document(inline.policy_document());
        // The program's policy with every output reference replaced by the output
        // the stack recorded: the live one must be exactly that.
        let expected = glinfra::core::input::resolve_refs(&workloads::policy(w), &mut |r| {
            json!(out[&format!("{}.{}", r.resource, r.output)])
        });
        assert_eq!(live, expected, "{name}: inline policy");
        let named = resources(&live);
        assert!(
            named.iter().all(|r| r.starts_with("arn:aws:") && r != "*"),
            "{name}: {named:?}"
        );
        // Spot checks against the outputs themselves.
        for a in w.reads.iter().chain(&w.writes) {
            let want = match a {
                Access::Bucket { purpose, prefix } => {
                    format!("{}/{prefix}*", out[&format!("bucket-{purpose}.arn")])
                }
                Access::Topic(t) => format!("{}/{t}", out["kafka.topic_arn_prefix"]),
                Access::DatabaseSecret => out["db-primary.master_user_secret_arn"].clone(),
            };
            assert!(
                !want.is_empty() && named.contains(&want),
                "{name}: {want} in {named:?}"
            );
        }
        if w.reads.contains(&Access::DatabaseSecret) {
            assert!(out["db-primary.master_user_secret_arn"].starts_with("arn:aws:secretsmanager:"));
        }
        assert!(
            named.contains(&out["kms-s3.arn"])
                || !w
                    .reads
                    .iter()
                    .chain(&w.writes)
                    .any(|a| matches!(a, Access::Bucket { .. })),
            "{name}: the S3 key"
        );

        // The association binds the role to the namespace and service account.
        let summary = listed
            .associations()
            .iter()
            .find(|s| {
                s.namespace() == Some(w.namespace.as_str())
                    && s.service_account() == Some(w.service_account.as_str())
            })
            .unwrap_or_else(|| panic!("{name}: no association"));
        let id = summary.association_id().unwrap();
        assert_eq!(id, out[&format!("pod-identity-{}.association_id", w.name)]);
        let a = eks
            .describe_pod_identity_association()
            .cluster_name(&cluster)
            .association_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!(a.association().unwrap().role_arn(), Some(role.arn()));
    }

    // The add-ons: the Pod Identity agent, and the VPC CNI with its own role; the node
    // role no longer carries the CNI policy.
    let addons = eks
        .list_addons()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let mut names = addons.addons().to_vec();
    names.sort();
    assert_eq!(names, ["eks-pod-identity-agent", "vpc-cni"]);
    let cni = eks
        .describe_addon()
        .cluster_name(&cluster)
        .addon_name("vpc-cni")
        .send()
        .await
        .unwrap();
    let cni = cni.addon().unwrap();
    assert_eq!(cni.pod_identity_associations().len(), 1);
    let aid = cni.pod_identity_associations()[0]
        .rsplit('/')
        .next()
        .unwrap();
    let cni_assoc = eks
        .describe_pod_identity_association()
        .cluster_name(&cluster)
        .association_id(aid)
        .send()
        .await
        .unwrap();
    let cni_assoc = cni_assoc.association().unwrap();
    assert_eq!(cni_assoc.service_account(), Some("aws-node"));
    assert_eq!(cni_assoc.role_arn(), Some(out["iam-vpc-cni.arn"].as_str()));
    let attached = iam
        .list_attached_role_policies()
        .role_name(format!("greenlang-{envname}-eks-node"))
        .send()
        .await
        .unwrap();
    assert!(
        attached
            .attached_policies()
            .iter()
            .all(|p| p.policy_name() != Some("AmazonEKS_CNI_Policy")),
        "the node role carries no CNI policy"
    );
}
