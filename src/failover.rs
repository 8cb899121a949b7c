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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confirm::{check, Consent};
    use glinfra_core::plan::plan;
    use glinfra_core::spec::rds::{DbEngine, StorageType};
    use glinfra_core::spec::route53::RecordType;
    use glinfra_core::{Input, ResourceState, Stack, State};

    const STACK: &str = "prod-us-west-2";

    /// The standby and its writer record: replicating the primary, or promoted.
    fn layout(promoted: bool, extra: bool) -> Stack {
        let mut s = Stack::new(STACK, "us-west-2");
        s.tag("environment", "prod-dr");
        let db = s.add(
            "db-standby",
            DbInstanceSpec {
                identifier: "greenlang-prod-dr-standby".into(),
                engine: DbEngine::Postgres,
                engine_version: "15".into(),
                instance_class: "db.r6g.large".into(),
                allocated_storage: 100,
                storage_type: StorageType::Gp3,
                iops: None,
                storage_encrypted: false,
                kms_key_id: None,
                multi_az: false,
                availability_zone: None,
                backup_retention_days: if promoted { 30 } else { 0 },
                maintenance_window: "sun:03:00-sun:04:00".into(),
                deletion_protection: true,
                vpc_id: None,
                db_subnet_group_name: Some(Input::Value("dr-data".into())),
                parameter_group_name: None,
                vpc_security_group_ids: Vec::new(),
                master_username: promoted.then(|| "greenlang".into()),
                manage_master_user_password: false,
                replicate_from: (!promoted)
                    .then(|| Input::Value("arn:aws:rds:us-east-1:1:db:primary".into())),
            },
        );
        s.add(
            "record-db",
            RecordSetSpec {
                zone_id: Input::Value("Z1".into()),
                name: "db.greenlang.ai".into(),
                record_type: RecordType::Cname,
                ttl: 60,
                records: vec![if promoted {
                    db.endpoint()
                } else {
                    Input::Value("primary.us-east-1.rds.amazonaws.com".into())
                }],
                set_identifier: None,
                latency_region: None,
                health_check_id: None,
            },
        );
        if extra {
            s.add("vpc", glinfra_core::spec::ec2::VpcSpec::new("10.3.0.0/16"));
        }
        s
    }

    /// `s` as recorded after an apply (the standby's endpoint known).
    fn recorded(s: &Stack) -> State {
        let p = plan(&ResourceGraph::build(s).unwrap(), &State::empty(s.name()));
        let mut state = State::empty(s.name());
        for step in p.steps {
            let d = step.desired.unwrap();
            let outputs = [
                (
                    "endpoint".to_string(),
                    "standby.us-west-2.rds.amazonaws.com".into(),
                ),
                (
                    "arn".to_string(),
                    "arn:aws:rds:us-west-2:1:db:standby".into(),
                ),
            ]
            .into_iter()
            .collect();
            state.resources.insert(
                d.id.clone(),
                ResourceState {
                    kind: d.kind,
                    region: d.region.clone(),
                    props: d.props.value(),
                    tags: d.tags.clone(),
                    outputs,
                    dependencies: Default::default(),
                    pending: None,
                    lifecycle: d.lifecycle.clone(),
                },
            );
        }
        state
    }

    fn failover_plan(extra: bool) -> Plan {
        let before = recorded(&layout(false, false));
        plan(
            &ResourceGraph::build(&layout(true, extra)).unwrap(),
            &before,
        )
    }

    #[test]
    fn a_failover_promotes_the_standby_and_moves_the_record() {
        let f = review(failover_plan(false)).unwrap();
        assert_eq!(f.promotions, ["db-standby"]);
        assert_eq!(
            f.records,
            [(
                "record-db".to_string(),
                vec!["standby.us-west-2.rds.amazonaws.com".to_string()]
            )]
        );
        let summary = f.summary();
        assert!(
            summary.contains("promote db-standby (us-west-2)"),
            "{summary}"
        );
        assert!(summary.contains("cannot be undone"), "{summary}");
    }

    #[test]
    fn a_promotion_needs_the_stack_name_and_nothing_else_confirms_it() {
        let f = review(failover_plan(false)).unwrap();
        for wrong in [None, Some(""), Some("prod-us-east-1"), Some("all")] {
            let err = confirmed(&f, wrong).unwrap_err();
            assert!(matches!(err, FailoverError::NotConfirmed { .. }));
            assert!(
                err.to_string().contains("--confirm prod-us-west-2"),
                "{err}"
            );
        }
        assert!(confirmed(&f, Some(STACK)).is_ok());
        // An ordinary apply of the same plan asks as for a delete.
        let stack = layout(true, false);
        let no_terminal = |_: &str| None;
        let err = check(&f.plan, &stack, false, &Consent::default(), no_terminal).unwrap_err();
        assert!(err.contains("promotes 1 read replicas"), "{err}");
        let answered_no = check(&f.plan, &stack, false, &Consent::default(), |_| Some(false));
        assert!(answered_no.is_err());
        let named = Consent {
            yes: false,
            confirm: Some(STACK.into()),
        };
        assert!(check(&f.plan, &stack, false, &named, no_terminal).is_ok());
    }

    #[test]
    fn a_failover_with_other_changes_or_nothing_to_promote_is_refused() {
        let err = review(failover_plan(true)).unwrap_err();
        assert!(
            matches!(&err, FailoverError::Unrelated { resource, .. } if resource == "vpc"),
            "{err}"
        );
        let promoted = layout(true, false);
        let done = recorded(&promoted);
        let again = plan(&ResourceGraph::build(&promoted).unwrap(), &done);
        assert!(matches!(
            review(again).unwrap_err(),
            FailoverError::NothingToPromote
        ));
    }
}
