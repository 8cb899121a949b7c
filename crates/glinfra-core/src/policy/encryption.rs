//! Encryption rules: at rest, in transit, log groups, key rotation.

use super::{Baseline, Finding, Subject};
use crate::spec::eks::EksClusterSpec;
use crate::spec::elasticache::{ReplicationGroupSpec, TransitEncryptionMode};
use crate::spec::kms::KmsKeySpec;
use crate::spec::logs::LogGroupSpec;
use crate::spec::msk::{ClientBrokerEncryption, MskClusterSpec};
use crate::spec::rds::{DbEngine, DbInstanceSpec, DbParameterGroupSpec};
use crate::spec::s3::BucketSpec;
use serde_json::Value;

/// Everything that stores data is encrypted at rest: buckets (default SSE with
/// KMS), RDS storage, ElastiCache, EKS secrets. MSK always encrypts at rest (its
/// spec requires the key), so it cannot break this rule.
pub(super) fn at_rest(s: &Subject<'_>, _: &Baseline) -> Vec<Finding> {
    let mut out = Vec::new();
    for (d, b) in s.specs::<BucketSpec>() {
        if b.encryption.is_none() {
            out.push(Finding::new(
                &d.id,
                "encryption",
                "the bucket has no default encryption: set `encryption` (SSE-KMS)",
            ));
        }
    }
    for (d, db) in s.specs::<DbInstanceSpec>() {
        if !db.storage_encrypted {
            out.push(Finding::new(
                &d.id,
                "storage_encrypted",
                "the database's storage is not encrypted: set `storage_encrypted` (it can only be set at creation)",
            ));
        }
    }
    for (d, rg) in s.specs::<ReplicationGroupSpec>() {
        if !rg.at_rest_encryption {
            out.push(Finding::new(
                &d.id,
                "at_rest_encryption",
                "the cache is not encrypted at rest: set `at_rest_encryption`",
            ));
        }
    }
    for (d, eks) in s.specs::<EksClusterSpec>() {
        if eks.secrets_kms_key_arn.is_none() {
            out.push(Finding::new(
                &d.id,
                "secrets_kms_key_arn",
                "Kubernetes secrets are not envelope-encrypted: set `secrets_kms_key_arn` to a KMS key",
            ));
        }
    }
    out
}

/// The ports data crosses are TLS only: buckets deny `aws:SecureTransport` false,
/// ElastiCache requires TLS, MSK clients speak TLS only, PostgreSQL and MySQL
/// force SSL (their parameter group, or the family's default).
pub(super) fn in_transit(s: &Subject<'_>, _: &Baseline) -> Vec<Finding> {
    let mut out = Vec::new();
    for (d, b) in s.specs::<BucketSpec>() {
        if !b.policy.as_ref().is_some_and(denies_insecure_transport) {
            out.push(Finding::new(
                &d.id,
                "policy",
                "the bucket policy does not deny requests without TLS: add a Deny of `s3:*` when `aws:SecureTransport` is false (`BucketSpec::ssl_only_policy`)",
            ));
        }
    }
    for (d, rg) in s.specs::<ReplicationGroupSpec>() {
        if !rg.transit_encryption {
            out.push(Finding::new(
                &d.id,
                "transit_encryption",
                "the cache accepts plain connections: set `transit_encryption`",
            ));
        } else if rg.transit_encryption_mode == Some(TransitEncryptionMode::Preferred) {
            out.push(Finding::new(
                &d.id,
                "transit_encryption_mode",
                "`preferred` still accepts plain connections: use `required` once clients use TLS",
            ));
        }
    }
    for (d, msk) in s.specs::<MskClusterSpec>() {
        if msk.client_broker_encryption != ClientBrokerEncryption::Tls {
            out.push(Finding::new(
                &d.id,
                "client_broker_encryption",
                format!(
                    "clients may reach the brokers without TLS ({}): use `TLS`",
                    msk.client_broker_encryption
                ),
            ));
        }
    }
    for (d, db) in s.specs::<DbInstanceSpec>() {
        if let Some(problem) = ssl_not_forced(s, &db) {
            out.push(Finding::new(&d.id, "parameter_group_name", problem));
        }
    }
    out
}

/// Why `db` accepts connections without SSL, if it does. Checked for the engines
/// whose parameter says so (PostgreSQL `rds.force_ssl`, MySQL and MariaDB
/// `require_secure_transport`); others are not judged.
fn ssl_not_forced(s: &Subject<'_>, db: &DbInstanceSpec) -> Option<String> {
    let (parameter, default_on) = match db.engine {
        // On by default from RDS for PostgreSQL 15.
        DbEngine::Postgres => (
            "rds.force_ssl",
            major(&db.engine_version).is_some_and(|m| m >= 15),
        ),
        DbEngine::Mysql | DbEngine::Mariadb => ("require_secure_transport", false),
        _ => return None,
    };
    let group = db
        .parameter_group_name
        .as_ref()
        .and_then(|g| s.referenced(g))
        .and_then(|d| d.spec::<DbParameterGroupSpec>().ok());
    let set = group
        .as_ref()
        .and_then(|g| g.parameters.get(parameter))
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "on" | "true"));
    match set {
        Some(true) => None,
        Some(false) => Some(format!(
            "its parameter group sets `{parameter}` off: set it to 1"
        )),
        None if default_on => None,
        None => Some(format!(
            "{} {} does not force SSL by default: set `{parameter}` to 1 in its parameter group",
            db.engine, db.engine_version
        )),
    }
}

fn major(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

/// True when `policy` denies every request made without TLS.
fn denies_insecure_transport(policy: &Value) -> bool {
    super::iam::statements(policy).any(|(_, st)| {
        st.get("Effect").and_then(Value::as_str) == Some("Deny")
            && st
                .get("Condition")
                .and_then(|c| c.pointer("/Bool/aws:SecureTransport"))
                .is_some_and(|v| v == "false" || v == &Value::Bool(false))
            && super::iam::values(st.get("Action"))
                .any(|a| a.as_str().is_some_and(|a| a == "s3:*" || a == "*"))
    })
}

/// Log groups use a KMS key of ours (CloudWatch Logs always encrypts; this asks
/// for a key the account controls and can audit).
pub(super) fn log_groups(s: &Subject<'_>, _: &Baseline) -> Vec<Finding> {
    s.specs::<LogGroupSpec>()
        .filter(|(_, g)| g.kms_key_arn.is_none())
        .map(|(d, _)| {
            Finding::new(
                &d.id,
                "kms_key_arn",
                "the log group is encrypted with CloudWatch's own key: set `kms_key_arn` to a KMS key of the stack",
            )
        })
        .collect()
}

/// Every KMS key rotates, at least as often as the baseline's period when it
/// has one (a key without `rotation_period_days` rotates every 365 days, AWS's default).
pub(super) fn key_rotation(s: &Subject<'_>, b: &Baseline) -> Vec<Finding> {
    s.specs::<KmsKeySpec>()
        .filter_map(|(d, k)| {
            if !k.enable_key_rotation {
                return Some(Finding::new(
                    &d.id,
                    "enable_key_rotation",
                    "the key does not rotate: set `enable_key_rotation`",
                ));
            }
            let max = b.max_key_rotation_days?;
            let days = k.rotation_period_days.unwrap_or(365);
            (days > max).then(|| {
                Finding::new(
                    &d.id,
                    "rotation_period_days",
                    format!(
                        "the key rotates every {days} days{}; the policy allows at most {max}: set `rotation_period_days`",
                        if k.rotation_period_days.is_none() { " (AWS's default)" } else { "" }
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{findings, stack_with};
    use super::super::Rule;
    use crate::spec::kms::KmsKeySpec;
    use crate::spec::rds::DbParameterGroupSpec;
    use crate::spec::s3::{BucketEncryption, BucketSpec};
    use crate::Stack;

    fn good_bucket(name: &str) -> BucketSpec {
        let mut b = BucketSpec::new(name);
        b.encryption = Some(BucketEncryption {
            kms_key_arn: None,
            bucket_key_enabled: true,
        });
        b.block_public_access = true;
        b.policy = Some(BucketSpec::ssl_only_policy(name));
        b
    }

    #[test]
    fn buckets_need_encryption_and_tls() {
        let stack = stack_with(|s| {
            s.add("good", good_bucket("good-bucket-1"));
            s.add("plain", BucketSpec::new("plain-bucket-1"));
        });
        let at_rest = findings(&stack, Rule::EncryptionAtRest);
        assert_eq!(at_rest, vec![("plain".into(), "encryption".into())]);
        let tls = findings(&stack, Rule::TlsInTransit);
        assert_eq!(tls, vec![("plain".into(), "policy".into())]);
    }

    #[test]
    fn an_allow_with_a_secure_transport_condition_is_not_a_deny() {
        let stack = stack_with(|s| {
            let mut b = good_bucket("allow-bucket-1");
            let mut policy = b.policy.take().unwrap();
            policy["Statement"][0]["Effect"] = "Allow".into();
            b.policy = Some(policy);
            s.add("allowing", b);
        });
        assert_eq!(findings(&stack, Rule::TlsInTransit).len(), 1);
    }

    #[test]
    fn postgres_force_ssl_follows_the_group_then_the_default() {
        use crate::spec::rds::DbInstanceSpec;
        let stack = stack_with(|s| {
            let mut params = DbParameterGroupSpec {
                name: "pg".into(),
                family: "postgres15".into(),
                description: "d".into(),
                parameters: Default::default(),
            };
            params.parameters.insert("rds.force_ssl".into(), "0".into());
            let group = s.add("params", params);
            let mut db = super::super::tests::database("db-a");
            db.parameter_group_name = Some(group.name());
            s.add("db-off", db);
            s.add("db-15", super::super::tests::database("db-b"));
            let mut old = super::super::tests::database("db-c");
            old.engine_version = "14.10".into();
            s.add("db-14", old);
            let _: Option<DbInstanceSpec> = None;
        });
        let tls = findings(&stack, Rule::TlsInTransit);
        assert_eq!(
            tls,
            vec![
                ("db-14".into(), "parameter_group_name".into()),
                ("db-off".into(), "parameter_group_name".into())
            ]
        );
    }

    #[test]
    fn keys_rotate_and_log_groups_use_keys() {
        let mut stack = Stack::new("t", "us-east-1");
        let mut k = KmsKeySpec::new("a", "b");
        k.enable_key_rotation = true;
        k.rotation_period_days = Some(90);
        stack.add("rotating", k);
        let mut still = KmsKeySpec::new("c", "d");
        still.enable_key_rotation = false;
        stack.add("still", still);
        let mut yearly = KmsKeySpec::new("e", "f");
        yearly.rotation_period_days = Some(180);
        stack.add("slow", yearly);
        stack.add("default", KmsKeySpec::new("g", "h"));
        stack.add("logs", crate::spec::logs::LogGroupSpec::new("/flow", 30));
        assert_eq!(
            findings(&stack, Rule::KmsRotation),
            vec![
                ("default".into(), "rotation_period_days".into()),
                ("slow".into(), "rotation_period_days".into()),
                ("still".into(), "enable_key_rotation".into()),
            ]
        );
        assert_eq!(
            findings(&stack, Rule::LogEncryption),
            vec![("logs".into(), "kms_key_arn".into())]
        );
    }
}
