//! Least privilege per workload (seed 8.1: `iam_roles: least-privilege`,
//! `service_accounts: per-workload`): the EKS add-ons that give pods identities,
//! and one IAM role per workload of `[[workloads]]`, bound to its namespace and
//! service account by an EKS Pod Identity association, with an inline policy
//! naming exactly the resources of the access matrix by the stack's outputs.
//!
//! The VPC CNI gets its own role through its add-on's Pod Identity association, so
//! the node role no longer carries `AmazonEKS_CNI_Policy` and no pod can act with
//! the CNI's permissions through the node.

use crate::config::{Access, Environment, WorkloadConfig};
use crate::topology::stack_origin;
use glinfra_core::spec::eks::{
    AddonPodIdentity, EksAddonSpec, EksPodIdentityAssociationSpec, ResolveConflicts,
};
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::{Diagnostic, Input, Resource, Stack};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The service principal of EKS Pod Identity.
pub const POD_IDENTITY_PRINCIPAL: &str = "pods.eks.amazonaws.com";

/// The logical id of the EKS cluster (declared by the topology).
const CLUSTER: &str = "eks";

/// The trust policy of a role EKS Pod Identity hands to pods (EKS User Guide,
/// "Create a Pod Identity association": `sts:AssumeRole` and `sts:TagSession`).
pub fn pod_identity_trust() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
            "Action": ["sts:AssumeRole", "sts:TagSession"]
        }]
    })
}

/// A role for pods named `name`, described by `what`.
fn pod_role(name: String, what: String) -> IamRoleSpec {
    let mut role = IamRoleSpec::for_service(name, POD_IDENTITY_PRINCIPAL);
    role.assume_role_policy = pod_identity_trust();
    role.description = what;
    role
}

/// The logical id of workload `name`'s role.
pub fn role_id(name: &str) -> String {
    format!("iam-workload-{name}")
}

/// The logical id of workload `name`'s Pod Identity association.
pub fn association_id(name: &str) -> String {
    format!("pod-identity-{name}")
}

/// Checks the access matrix against the environment: every bucket named exists,
/// the database secret is there to read and is never written, names and service
/// accounts appear once.
fn check(env: &Environment, file: Option<String>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |w: &WorkloadConfig, field: &str, message: String| {
        let mut d = Diagnostic::new(format!("workload `{}`: {message}", w.name))
            .field(format!("workloads.{field}"));
        d.file = file.clone();
        out.push(d);
    };
    let purposes: BTreeSet<&str> = env
        .storage
        .buckets
        .iter()
        .map(|b| b.purpose.as_str())
        .collect();
    let (mut names, mut accounts) = (BTreeSet::new(), BTreeSet::new());
    for w in &env.workloads {
        if !names.insert(&w.name) {
            err(w, "name", "appears twice".into());
        }
        if !accounts.insert((&w.namespace, &w.service_account)) {
            err(
                w,
                "service_account",
                format!(
                    "`{}/{}` belongs to another workload too: EKS binds one role per service account",
                    w.namespace, w.service_account
                ),
            );
        }
        for (field, list) in [("reads", &w.reads), ("writes", &w.writes)] {
            for a in list {
                match a {
                    Access::Bucket { purpose, .. } if !purposes.contains(purpose.as_str()) => err(
                        w,
                        field,
                        format!("no bucket of purpose `{purpose}` in [storage]"),
                    ),
                    Access::Topic(t)
                        if t.len() > 249
                            || !t
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
                    {
                        err(
                            w,
                            field,
                            format!("`{t}` is not a Kafka topic name (letters, digits, `.`, `_`, `-`, at most 249)"),
                        )
                    }
                    Access::DatabaseSecret if field == "writes" => err(
                        w,
                        field,
                        "the database secret is RDS's to write (it rotates it); list it in `reads`"
                            .into(),
                    ),
                    Access::DatabaseSecret if env.database.is_none() => err(
                        w,
                        field,
                        "this environment has no [database], so no database secret".into(),
                    ),
                    _ => {}
                }
            }
        }
    }
    out
}

/// A statement allowing `actions` on `resources`, named `sid`.
fn allow(sid: &str, actions: &[&str], resources: Vec<Value>) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

/// The inline policy of workload `w`: its buckets (and the S3 key they are
/// encrypted with), its topics on the Kafka cluster, the database secret.
pub fn policy(w: &WorkloadConfig) -> Value {
    let mut statements = Vec::new();
    let bucket_arn = |purpose: &str| Input::<String>::output(format!("bucket-{purpose}"), "arn");
    let objects =
        |purpose: &str, prefix: &str| bucket_arn(purpose).format(&format!("{{}}/{prefix}*"));
    let buckets = |list: &[Access]| -> Vec<(String, String)> {
        list.iter()
            .filter_map(|a| match a {
                Access::Bucket { purpose, prefix } => Some((purpose.clone(), prefix.clone())),
                _ => None,
            })
            .collect()
    };
    let (reads, writes) = (buckets(&w.reads), buckets(&w.writes));
    if !reads.is_empty() {
        let listed: BTreeSet<&str> = reads.iter().map(|(p, _)| p.as_str()).collect();
        statements.push(allow(
            "ListBuckets",
            &["s3:ListBucket"],
            listed.iter().map(|p| bucket_arn(p).to_json()).collect(),
        ));
        statements.push(allow(
            "ReadObjects",
            &["s3:GetObject"],
            reads.iter().map(|(b, p)| objects(b, p).to_json()).collect(),
        ));
    }
    if !writes.is_empty() {
        statements.push(allow(
            "WriteObjects",
            &["s3:PutObject", "s3:AbortMultipartUpload"],
            writes
                .iter()
                .map(|(b, p)| objects(b, p).to_json())
                .collect(),
        ));
    }
    // Every bucket is encrypted with the S3 key: reading decrypts, writing makes a
    // data key (and a multipart upload decrypts it again).
    let key = Input::<String>::output("kms-s3", "arn").to_json();
    match (reads.is_empty(), writes.is_empty()) {
        (true, true) => {}
        (false, true) => statements.push(allow("UseS3Key", &["kms:Decrypt"], vec![key])),
        _ => statements.push(allow(
            "UseS3Key",
            &["kms:Decrypt", "kms:GenerateDataKey"],
            vec![key],
        )),
    }
    let topics = |list: &[Access]| -> Vec<String> {
        list.iter()
            .filter_map(|a| match a {
                Access::Topic(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    };
    let (consumes, produces) = (topics(&w.reads), topics(&w.writes));
    if !consumes.is_empty() || !produces.is_empty() {
        let topic = |t: &str| {
            Input::<String>::output("kafka", "topic_arn_prefix")
                .format(&format!("{{}}/{t}"))
                .to_json()
        };
        statements.push(allow(
            "ConnectKafka",
            &["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
            vec![Input::<String>::output("kafka", "arn").to_json()],
        ));
        if !consumes.is_empty() {
            statements.push(allow(
                "ConsumeTopics",
                &["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                consumes.iter().map(|t| topic(t)).collect(),
            ));
            // Its consumer groups: named after the workload.
            let groups = Input::<String>::output("kafka", "group_arn_prefix")
                .format(&format!("{{}}/{}*", w.name));
            statements.push(allow(
                "UseConsumerGroups",
                &["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
                vec![groups.to_json()],
            ));
        }
        if !produces.is_empty() {
            statements.push(allow(
                "ProduceTopics",
                &["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
                produces.iter().map(|t| topic(t)).collect(),
            ));
        }
    }
    if w.reads.contains(&Access::DatabaseSecret) {
        statements.push(allow(
            "ReadDatabaseSecret",
            &["secretsmanager:GetSecretValue"],
            vec![Input::<String>::output("db-primary", "master_user_secret_arn").to_json()],
        ));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Declares the identity add-ons, the VPC CNI's role, and each workload's role and
/// Pod Identity association. Returns the add-ons nodes need before they start (the
/// Pod Identity agent, and the VPC CNI with its association for `aws-node`).
pub fn declare(
    env: &Environment,
    stack: &mut Stack,
) -> Result<Vec<Resource<EksAddonSpec>>, Vec<Diagnostic>> {
    let problems = check(env, stack_origin(stack));
    if !problems.is_empty() {
        return Err(problems);
    }
    let envname = &env.stack.environment;
    let cluster = Input::<String>::output(CLUSTER, "name");
    let agent = stack.add(
        "addon-eks-pod-identity-agent",
        EksAddonSpec {
            cluster_name: cluster.clone(),
            addon_name: "eks-pod-identity-agent".into(),
            addon_version: None,
            service_account_role_arn: None,
            pod_identity_associations: Vec::new(),
            resolve_conflicts: ResolveConflicts::Overwrite,
        },
    );
    let mut cni = pod_role(
        format!("greenlang-{envname}-vpc-cni"),
        format!("GreenLang {envname}: the VPC CNI (aws-node), through EKS Pod Identity"),
    );
    cni.managed_policy_arns = vec!["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy".into()];
    let cni = stack.add("iam-vpc-cni", cni);
    let vpc_cni = stack.add(
        "addon-vpc-cni",
        EksAddonSpec {
            cluster_name: cluster.clone(),
            addon_name: "vpc-cni".into(),
            addon_version: None,
            service_account_role_arn: None,
            pod_identity_associations: vec![AddonPodIdentity {
                service_account: "aws-node".into(),
                role_arn: cni.arn(),
            }],
            resolve_conflicts: ResolveConflicts::Overwrite,
        },
    );
    for w in &env.workloads {
        let mut role = pod_role(
            format!("greenlang-{envname}-{}", w.name),
            format!(
                "GreenLang {envname}: workload {} ({}/{})",
                w.name, w.namespace, w.service_account
            ),
        );
        let access = policy(w);
        // A workload that touches nothing gets no policy (IAM refuses an empty one).
        if access["Statement"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
        {
            role.inline_policies.insert("access".into(), access);
        }
        let role = stack.add(role_id(&w.name), role);
        stack.export(format!("{}_role_arn", w.name), role.arn());
        stack.add(
            association_id(&w.name),
            EksPodIdentityAssociationSpec {
                cluster_name: cluster.clone(),
                namespace: w.namespace.clone(),
                service_account: w.service_account.clone(),
                role_arn: role.arn(),
            },
        );
    }
    Ok(vec![agent, vpc_cni])
}
