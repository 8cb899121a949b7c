//! The built-in pack: the security and cost rules of the infrastructure
//! requirements (seed 8.1 and 6.2), each rule its own function, parameterised by
//! [`Baseline`].

use super::{capacity, database, encryption, iam, network, Finding, Policies, Severity, Subject};
use crate::spec::closed_set;
use crate::stack::ResourceId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

closed_set! {
    /// A built-in rule.
    Rule, "policy rule" {
        /// Buckets (SSE), RDS storage, ElastiCache at rest and EKS secrets encrypted.
        EncryptionAtRest = "encryption-at-rest",
        /// Buckets deny plain HTTP, ElastiCache and MSK speak TLS, PostgreSQL forces SSL.
        TlsInTransit = "tls-in-transit",
        /// Log groups encrypted with a KMS key of ours.
        LogEncryption = "log-encryption",
        /// Every bucket blocks public access.
        BucketPublicAccess = "bucket-public-access",
        /// No security-group ingress from 0.0.0.0/0 or ::/0, except where allowed.
        OpenIngress = "open-ingress",
        /// Databases (primaries) protected from deletion.
        DatabaseDeletionProtection = "database-deletion-protection",
        /// Databases (primaries) keep at least the minimum days of backups.
        DatabaseBackups = "database-backups",
        /// Every VPC has a flow log.
        VpcFlowLogs = "vpc-flow-logs",
        /// Every KMS key rotates.
        KmsRotation = "kms-rotation",
        /// Spot capacity only in the node groups allowed it.
        SpotCapacity = "spot-capacity",
        /// No `*` or `service:*` action on a data service.
        IamDataWildcard = "iam-data-wildcard",
        /// No write action on resource `*`.
        IamWriteAnyResource = "iam-write-any-resource",
        /// No statement that lets any principal in any account in.
        IamAnyPrincipal = "iam-any-principal",
        /// The audit-log bucket writable only by the named principals.
        AuditLogWriters = "audit-log-writers",
    }
}

/// The audit-log bucket and who may write to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditLog {
    /// The bucket's logical id.
    pub bucket: ResourceId,
    /// Who may write: logical ids of roles, or principal ARNs.
    pub writers: BTreeSet<String>,
}

/// The parameters of the built-in pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Baseline {
    /// Each rule's severity; a rule not listed is not checked.
    pub severity: BTreeMap<Rule, Severity>,
    /// Days of backups a database keeps at least.
    pub min_backup_days: i32,
    /// Logical ids of the node groups that may run on spot capacity.
    pub spot_allowed: BTreeSet<ResourceId>,
    /// Logical ids of the security groups that may take ingress from anywhere: a
    /// policy parameter, not a flag on the resource, so the exception is reviewed
    /// with the policy (one list per environment) and a program cannot exempt
    /// itself; an id that names no declared resource is itself a violation.
    pub public_ingress: BTreeSet<ResourceId>,
    /// The audit-log bucket and its writers, when the stack has one.
    pub audit_log: Option<AuditLog>,
    /// The longest rotation period a KMS key may have, in days (seed 8.1,
    /// `automatic-90-days`); `None`: any period.
    pub max_key_rotation_days: Option<i32>,
}

impl Baseline {
    /// Every rule mandatory, 30 days of backups, no spot, no public ingress, no
    /// audit-log rule, keys rotated every 90 days at most: production's settings of
    /// the requirements.
    pub fn strict() -> Self {
        Baseline {
            severity: Rule::ALL
                .iter()
                .map(|&r| (r, Severity::Mandatory))
                .collect(),
            min_backup_days: 30,
            spot_allowed: BTreeSet::new(),
            public_ingress: BTreeSet::new(),
            audit_log: None,
            max_key_rotation_days: Some(90),
        }
    }
}

type RuleFn = fn(&Subject<'_>, &Baseline) -> Vec<Finding>;

fn rule_fn(rule: Rule) -> RuleFn {
    match rule {
        Rule::EncryptionAtRest => encryption::at_rest,
        Rule::TlsInTransit => encryption::in_transit,
        Rule::LogEncryption => encryption::log_groups,
        Rule::KmsRotation => encryption::key_rotation,
        Rule::BucketPublicAccess => network::bucket_public_access,
        Rule::OpenIngress => network::open_ingress,
        Rule::VpcFlowLogs => network::flow_logs,
        Rule::DatabaseDeletionProtection => database::deletion_protection,
        Rule::DatabaseBackups => database::backups,
        Rule::SpotCapacity => capacity::spot,
        Rule::IamDataWildcard => |s, _| iam::rule(s, Rule::IamDataWildcard),
        Rule::IamWriteAnyResource => |s, _| iam::rule(s, Rule::IamWriteAnyResource),
        Rule::IamAnyPrincipal => |s, _| iam::rule(s, Rule::IamAnyPrincipal),
        Rule::AuditLogWriters => iam::audit_log_writers,
    }
}

/// The built-in pack with `params`: one policy per rule `params.severity` lists.
pub fn baseline(params: &Baseline) -> Policies {
    let shared = Arc::new(params.clone());
    let mut policies = Policies::new();
    for (&rule, &severity) in &params.severity {
        let params = shared.clone();
        let check = rule_fn(rule);
        policies.add(rule.as_str(), severity, move |s: &Subject<'_>| {
            check(s, &params)
        });
    }
    policies
}

/// Findings for the ids a parameter names that the program does not declare (a
/// stale exception must not outlive what it excepted).
pub(super) fn undeclared<'a>(
    subject: &Subject<'_>,
    ids: impl IntoIterator<Item = &'a String>,
    parameter: &str,
) -> Vec<Finding> {
    ids.into_iter()
        .filter(|id| subject.get(id).is_none())
        .map(|id| {
            Finding::new(
                id.as_str(),
                "",
                format!("the policy parameter `{parameter}` names `{id}`, which the program does not declare: remove it or fix the name"),
            )
        })
        .collect()
}
