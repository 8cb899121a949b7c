//! The environment's `[policy]` section as the built-in policy pack: each rule's
//! severity, the backup days, the spot pools, the public-ingress exceptions and
//! the audit-log bucket's writers.

use crate::config::Environment;
use crate::topology::{node_group_id, split_pool};
use glinfra_core::policy::{baseline, AuditLog, Baseline, Policies, Rule};
use glinfra_core::Diagnostic;

/// The policies `env` asks for, or what is wrong with its `[policy]` section (a
/// rule not listed, a pool or bucket that does not exist).
pub fn policies(env: &Environment, file: Option<&str>) -> Result<Policies, Vec<Diagnostic>> {
    Ok(baseline(&params(env, file)?))
}

/// The pack's parameters from `env`.
pub fn params(env: &Environment, file: Option<&str>) -> Result<Baseline, Vec<Diagnostic>> {
    let p = &env.policy;
    let mut problems = Vec::new();
    let problem = |field: &str, message: String| {
        let d = Diagnostic::new(message).field(format!("policy.{field}"));
        match file {
            Some(f) => d.file(f),
            None => d,
        }
    };
    let missing: Vec<&str> = Rule::ALL
        .iter()
        .filter(|r| !p.rules.contains_key(r))
        .map(|r| r.as_str())
        .collect();
    if !missing.is_empty() {
        problems.push(problem(
            "rules",
            format!(
                "every rule needs a severity (mandatory or advisory); missing: {}",
                missing.join(", ")
            ),
        ));
    }
    let pools = &env.kubernetes.node_pools;
    let mut spot_allowed = std::collections::BTreeSet::new();
    for name in &p.spot_pools {
        match pools.iter().find(|pool| &pool.name == name) {
            Some(pool) => spot_allowed.extend(
                split_pool(pool)
                    .into_iter()
                    .map(|(suffix, ..)| node_group_id(pool, suffix)),
            ),
            None => problems.push(problem(
                "spot_pools",
                format!("`{name}` is not a node pool of [kubernetes]"),
            )),
        }
    }
    if !env
        .storage
        .buckets
        .iter()
        .any(|b| b.purpose == p.audit_log_bucket)
    {
        problems.push(problem(
            "audit_log_bucket",
            format!(
                "`{}` is not the purpose of a bucket of [storage]",
                p.audit_log_bucket
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Baseline {
        severity: p.rules.clone(),
        min_backup_days: p.min_backup_days,
        spot_allowed,
        public_ingress: p.public_ingress.iter().cloned().collect(),
        audit_log: Some(AuditLog {
            // The logical id the topology gives the bucket.
            bucket: format!("bucket-{}", p.audit_log_bucket),
            writers: p.audit_log_writers.iter().cloned().collect(),
        }),
        // Seed 8.1: "key_rotation: automatic-90-days".
        max_key_rotation_days: Some(crate::security::SEED_KEY_ROTATION_DAYS),
    })
}
