//! S3 buckets with versioning, lifecycle rules, default encryption, public access
//! block, bucket policy, object lock and replication.

use super::closed_set;
use super::is_false;
use crate::input::Input;
use crate::kind::{ChangeRule, FieldValues};
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

closed_set! {
    /// The storage classes a lifecycle transition may move objects to.
    TransitionStorageClass, "transition storage class" {
        /// Standard-Infrequent Access (at least 30 days after creation).
        StandardIa = "STANDARD_IA",
        /// One Zone-Infrequent Access (at least 30 days after creation).
        OnezoneIa = "ONEZONE_IA",
        /// Intelligent-Tiering.
        IntelligentTiering = "INTELLIGENT_TIERING",
        /// Glacier Instant Retrieval.
        GlacierIr = "GLACIER_IR",
        /// Glacier Flexible Retrieval.
        Glacier = "GLACIER",
        /// Glacier Deep Archive.
        DeepArchive = "DEEP_ARCHIVE",
    }
}

impl TransitionStorageClass {
    /// The fewest days after creation S3 accepts for a transition to this class,
    /// when S3 sets a minimum beyond a positive number.
    pub fn min_days(self) -> Option<i32> {
        match self {
            TransitionStorageClass::StandardIa | TransitionStorageClass::OnezoneIa => Some(30),
            _ => None,
        }
    }
}

closed_set! {
    /// The storage classes replicas may be stored in.
    ReplicaStorageClass, "replica storage class" {
        /// Standard.
        Standard = "STANDARD",
        /// Reduced redundancy.
        ReducedRedundancy = "REDUCED_REDUNDANCY",
        /// Standard-Infrequent Access.
        StandardIa = "STANDARD_IA",
        /// One Zone-Infrequent Access.
        OnezoneIa = "ONEZONE_IA",
        /// Intelligent-Tiering.
        IntelligentTiering = "INTELLIGENT_TIERING",
        /// Glacier Instant Retrieval.
        GlacierIr = "GLACIER_IR",
        /// Glacier Flexible Retrieval.
        Glacier = "GLACIER",
        /// Glacier Deep Archive.
        DeepArchive = "DEEP_ARCHIVE",
    }
}

closed_set! {
    /// How object-lock retention protects object versions.
    ObjectLockMode, "object lock mode" {
        /// No user, the root user included, can delete or overwrite a locked version.
        Compliance = "COMPLIANCE",
        /// Users with `s3:BypassGovernanceRetention` can delete locked versions.
        Governance = "GOVERNANCE",
    }
}

/// A lifecycle transition: after `days`, move current versions to `storage_class`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Days after creation.
    pub days: i32,
    /// Target storage class (`STANDARD_IA`, `GLACIER`, ...).
    pub storage_class: TransitionStorageClass,
}

/// One lifecycle rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// Rule id, unique within the bucket.
    pub id: String,
    /// Key prefix the rule applies to ("" for every object).
    #[serde(default)]
    pub prefix: String,
    /// Transitions, in increasing days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
    /// Days after creation when current versions expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    /// Days after becoming noncurrent when old versions are removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration_days: Option<i32>,
}

/// Default encryption with KMS (`aws:kms`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketEncryption {
    /// The KMS key; `None` uses the AWS-managed `aws/s3` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<Input<String>>,
    /// Whether S3 Bucket Keys reduce KMS calls.
    pub bucket_key_enabled: bool,
}

/// Default object-lock retention applied to new objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLockRetention {
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub mode: ObjectLockMode,
    /// Retention period in days.
    pub days: i32,
}

/// Replication of a bucket's objects to other buckets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    /// IAM role S3 assumes to replicate.
    pub role_arn: Input<String>,
    /// Rules, each with its own destination.
    pub rules: Vec<ReplicationRule>,
}

/// One replication rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicationRule {
    /// Rule id.
    pub id: String,
    /// Priority among rules (higher wins).
    pub priority: i32,
    /// Key prefix replicated ("" for every object).
    #[serde(default)]
    pub prefix: String,
    /// The destination bucket's ARN.
    pub destination_bucket_arn: Input<String>,
    /// Storage class of replicas, if not the source's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<ReplicaStorageClass>,
    /// KMS key in the destination region used to encrypt replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_kms_key_arn: Option<Input<String>>,
}

/// An S3 bucket and its configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:s3/bucket", outputs(name: String, arn: String, region: String))]
pub struct BucketSpec {
    #[resource(replace, unique)]
    /// Globally unique bucket name. Forces replacement.
    pub bucket: String,
    /// Whether versioning is enabled.
    pub versioning: bool,
    #[resource(change_rule = object_lock_change)]
    /// Whether object lock is enabled. Turned on in place on a versioned bucket
    /// (PutObjectLockConfiguration); turned off, refused (AWS cannot).
    #[serde(default, skip_serializing_if = "is_false")]
    pub object_lock_enabled: bool,
    /// Default object-lock retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock_retention: Option<ObjectLockRetention>,
    /// Lifecycle rules (changed in place with PutBucketLifecycleConfiguration).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// Default encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<BucketEncryption>,
    /// Whether all four public-access-block settings are on.
    pub block_public_access: bool,
    /// The bucket policy document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    /// Replication configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
    /// On delete, remove every object version first (otherwise a non-empty bucket fails to delete).
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_destroy: bool,
}

/// `object_lock_enabled`: false to true, in place (PutObjectLockConfiguration with
/// `ObjectLockEnabled=Enabled`, on a versioned bucket); true to false, refused: S3
/// cannot turn object lock off, and deleting the bucket would take its locked objects.
pub fn object_lock_change(c: &FieldValues<'_>) -> ChangeRule {
    let on = |v: Option<&Value>| v.and_then(Value::as_bool).unwrap_or(false);
    if on(c.before) && !on(c.after) {
        ChangeRule::Refuse(
            "S3 cannot turn object lock off once a bucket has it, and a replacement would delete the bucket with its locked objects. Keep `object_lock_enabled = true`; to stop retaining new objects by default, remove `object_lock_retention`".into(),
        )
    } else {
        ChangeRule::InPlace
    }
}

impl BucketSpec {
    /// A private, unversioned bucket.
    pub fn new(bucket: impl Into<String>) -> Self {
        BucketSpec {
            bucket: bucket.into(),
            versioning: false,
            object_lock_enabled: false,
            object_lock_retention: None,
            lifecycle_rules: Vec::new(),
            encryption: None,
            block_public_access: true,
            policy: None,
            replication: None,
            force_destroy: false,
        }
    }

    /// The ARN of a bucket named `bucket` (bucket ARNs carry no region or account).
    pub fn arn_of(bucket: &str) -> String {
        format!("arn:aws:s3:::{bucket}")
    }

    /// A policy that denies every request not made over TLS.
    pub fn ssl_only_policy(bucket: &str) -> Value {
        let arn = Self::arn_of(bucket);
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn.clone(), format!("{arn}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }]
        })
    }
}

/// Checks a bucket name against the S3 naming rules.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    if !(3..=63).contains(&name.len()) {
        return Some(format!(
            "`{name}` must be 3 to 63 characters long (it has {})",
            name.len()
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Some(format!(
            "`{name}` may contain only lowercase letters, digits, dots and hyphens"
        ));
    }
    let first = name.chars().next().unwrap_or('-');
    let last = name.chars().last().unwrap_or('-');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Some(format!(
            "`{name}` must begin and end with a letter or digit"
        ));
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Some(format!("`{name}` must not contain `..`, `.-` or `-.`"));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(format!("`{name}` must not look like an IP address"));
    }
    if name.starts_with("xn--") || name.ends_with("-s3alias") {
        return Some(format!("`{name}` uses a prefix or suffix S3 reserves"));
    }
    None
}

impl ResourceSpec for BucketSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if let Some(problem) = bucket_name_problem(&self.bucket) {
            cx.error("bucket", problem);
        }
        let mut rule_ids = std::collections::BTreeSet::new();
        for (i, rule) in self.lifecycle_rules.iter().enumerate() {
            let at = format!("lifecycle_rules[{i}]");
            if !rule_ids.insert(rule.id.as_str()) {
                cx.error(
                    &format!("{at}.id"),
                    format!("duplicate rule id `{}`", rule.id),
                );
            }
            if rule.transitions.is_empty()
                && rule.expiration_days.is_none()
                && rule.noncurrent_version_expiration_days.is_none()
            {
                cx.error(&at, "a lifecycle rule needs a transition or an expiration");
            }
            let mut previous: Option<i32> = None;
            let mut latest: Option<i32> = None;
            for (j, t) in rule.transitions.iter().enumerate() {
                let field = format!("{at}.transitions[{j}]");
                if t.days <= 0 {
                    cx.error(
                        &format!("{field}.days"),
                        format!("must be positive, got {}", t.days),
                    );
                }
                if let Some(min) = t.storage_class.min_days().filter(|min| t.days < *min) {
                    cx.error(
                        &format!("{field}.days"),
                        format!(
                            "S3 requires at least {min} days before {}, got {}",
                            t.storage_class, t.days
                        ),
                    );
                }
                if let Some(p) = previous {
                    if t.days <= p {
                        cx.error(
                            &format!("{field}.days"),
                            format!(
                                "transitions must be in increasing days: {} after {p}",
                                t.days
                            ),
                        );
                    }
                }
                previous = Some(t.days);
                latest = latest.max(Some(t.days));
            }
            if let Some(exp) = rule.expiration_days {
                if exp <= 0 {
                    cx.error(
                        &format!("{at}.expiration_days"),
                        format!("must be positive, got {exp}"),
                    );
                } else if let Some(last) = latest {
                    if exp <= last {
                        cx.error(
                            &format!("{at}.expiration_days"),
                            format!("expiration ({exp} days) must come after the last transition ({last} days)"),
                        );
                    }
                }
            }
            if let Some(days) = rule.noncurrent_version_expiration_days {
                if days <= 0 {
                    cx.error(
                        &format!("{at}.noncurrent_version_expiration_days"),
                        format!("must be positive, got {days}"),
                    );
                }
            }
        }
        if let Some(r) = &self.object_lock_retention {
            if !self.object_lock_enabled {
                cx.error(
                    "object_lock_retention",
                    "default retention needs object_lock_enabled = true",
                );
            }
            if r.days <= 0 {
                cx.error(
                    "object_lock_retention.days",
                    format!("must be positive, got {}", r.days),
                );
            }
        }
        if self.object_lock_enabled && !self.versioning {
            cx.error("versioning", "object lock requires versioning");
        }
        if let Some(rep) = &self.replication {
            if !self.versioning {
                cx.error("versioning", "replication requires versioning");
            }
            if rep.rules.is_empty() {
                cx.error("replication.rules", "replication needs at least one rule");
            }
            // Replication V2 (a filter on every rule): S3 refuses two rules with one
            // id or one priority (PutBucketReplication, InvalidRequest).
            let mut ids = std::collections::BTreeSet::new();
            let mut priorities = std::collections::BTreeSet::new();
            for rule in &rep.rules {
                if !ids.insert(rule.id.as_str()) {
                    cx.error(
                        "replication.rules.id",
                        format!("rule id `{}` appears twice", rule.id),
                    );
                }
                if !priorities.insert(rule.priority) {
                    cx.error(
                        "replication.rules.priority",
                        format!(
                            "priority {} is given to two rules: each rule needs its own",
                            rule.priority
                        ),
                    );
                }
            }
        }
    }
}
