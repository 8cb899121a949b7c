//! The disaster-recovery runbook as code (seed 5.3 `dr_runbook`: promote the standby,
//! update DNS): a failover is the plan from the recorded stack to the program in its
//! failed-over layout, reviewed so that it holds nothing but promotions of read
//! replicas and updates of DNS records, and applied only with the stack's name as
//! confirmation (a promotion cannot be undone: no call makes an instance a replica
//! again).
//!
//! The program says where the primary is (the Agent Factory: `[standby]
//! primary_region`); the failover applies the other layout, and the program is then
//! changed to match, so that the next plan is empty. Until it is, a plan of the old
//! layout is refused (`replicate_from` on a primary), never applied.

use crate::session::{Error, Session};
use glinfra_core::spec::rds::DbInstanceSpec;
use glinfra_core::spec::route53::RecordSetSpec;
use glinfra_core::{Action, Declared, Plan, ResourceGraph};
use glinfra_engine::{ApplyReport, Observer, StackLock};
use serde_json::Value;
use std::sync::Arc;

/// Why a failover was refused. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum FailoverError {
    /// The plan promotes nothing: no declared read replica loses its source.
    #[error("the failover plan promotes no read replica: the standby is already the primary, or the program does not declare one")]
    NothingToPromote,
    /// The plan does more than promote and move records.
    #[error("the failover plan would also {action} `{resource}`: a failover only promotes standbys and updates DNS records. Apply the program as it is first (its plan must be empty), then fail over")]
    Unrelated {
        /// The resource.
        resource: String,
        /// What the plan would do to it.
        action: String,
    },
    /// The stack's name was not given as confirmation.
    #[error("promoting a read replica cannot be undone: review the plan and confirm with the stack's name (--confirm {stack})")]
    NotConfirmed {
        /// The stack's name.
        stack: String,
    },
}

/// A reviewed failover: its plan, the instances it promotes and the records it moves.
#[derive(Clone, Debug)]
pub struct Failover {
    /// The plan (a plan like any other: text, JSON, saved).
    pub plan: Plan,
    /// Logical ids of the read replicas promoted to standalone primaries.
    pub promotions: Vec<String>,
    /// Logical ids of the DNS records updated, with their new values.
    pub records: Vec<(String, Vec<String>)>,
}

/// The read replicas `plan` promotes: DB instances updated in place whose
/// `replicate_from` is removed (PromoteReadReplica).
pub fn promotions(plan: &Plan) -> Vec<&str> {
    plan.steps
        .iter()
        .filter(|s| s.kind == DbInstanceSpec::KIND && s.action == Action::Update)
        .filter(|s| {
            s.changes.iter().any(|c| {
                c.field == "replicate_from"
                    && c.before.as_ref().is_some_and(|v| !v.is_null())
                    && c.after.as_ref().is_none_or(Value::is_null)
                    && !c.after_unknown
            })
        })
        .map(|s| s.resource.as_str())
        .collect()
}

/// Reviews `plan` as a failover: at least one promotion, and nothing but promotions
/// and record updates.
pub fn review(plan: Plan) -> Result<Failover, FailoverError> {
    let promoted: Vec<String> = promotions(&plan).into_iter().map(String::from).collect();
    if promoted.is_empty() {
        return Err(FailoverError::NothingToPromote);
    }
    let mut records = Vec::new();
    for step in &plan.steps {
        let promotion = promoted.iter().any(|p| p == &step.resource);
        let record = step.kind == RecordSetSpec::KIND && step.action == Action::Update;
        if !(promotion || record) {
            return Err(FailoverError::Unrelated {
                resource: step.resource.clone(),
                action: format!("{:?}", step.action).to_lowercase(),
            });
        }
        if record {
            let after = step
                .changes
                .iter()
                .find(|c| c.field == "records")
                .and_then(|c| c.after.as_ref())
                .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                .unwrap_or_default();
            records.push((step.resource.clone(), after));
        }
    }
    Ok(Failover {
        plan,
        promotions: promoted,
        records,
    })
}

impl Failover {
    /// The failover in a few lines: what it promotes, which records it moves.
    pub fn summary(&self) -> String {
        let mut out = format!("Failover of stack `{}`:\n", self.plan.stack);
        for id in &self.promotions {
            let region = self
                .plan
                .step(id)
                .map(|s| s.region.as_str())
                .unwrap_or_default();
            out.push_str(&format!(
                "  promote {id} ({region}): a standalone primary; cannot be undone\n"
            ));
        }
        for (id, to) in &self.records {
            let to = if to.is_empty() {
                "(known after the promotion)".to_string()
            } else {
                to.join(", ")
            };
            out.push_str(&format!("  update record {id} -> {to}\n"));
        }
        out
    }
}

/// Refuses unless `confirm` is the stack's name.
pub fn confirmed(failover: &Failover, confirm: Option<&str>) -> Result<(), FailoverError> {
    if confirm == Some(failover.plan.stack.as_str()) {
        Ok(())
    } else {
        Err(FailoverError::NotConfirmed {
            stack: failover.plan.stack.clone(),
        })
    }
}

impl Session {
    /// Reads the live cloud, records it, and plans the failover to `after` (the
    /// program in its failed-over layout), reviewed ([`review`]).
    pub async fn plan_failover(
        &self,
        lock: &StackLock,
        after: &ResourceGraph,
    ) -> Result<Failover, Error> {
        let plan = self.preview(lock, after).await?;
        Ok(review(plan)?)
    }

    /// Applies a reviewed failover, only when `confirm` is the stack's name
    /// (refused before any call otherwise). The engine's own refusals (a plan of
    /// another state serial, a protected resource) apply as to any plan.
    pub async fn failover(
        &self,
        lock: Arc<StackLock>,
        failover: &Failover,
        confirm: Option<&str>,
        observer: Arc<dyn Observer>,
    ) -> Result<ApplyReport, Error> {
        confirmed(failover, confirm)?;
        self.apply(lock, &failover.plan, observer).await
    }
}
