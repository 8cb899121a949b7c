//! Policies: rules over what a program declares (and, once there is one, its
//! plan), checked before any AWS call.
//!
//! A [`Policy`] is any function from a [`Subject`] to [`Finding`]s; registered on a
//! [`Stack`](crate::Stack) under a rule name and a [`Severity`], each finding
//! becomes a [`Violation`]. [`ResourceGraph::build`](crate::ResourceGraph::build)
//! runs the stack's policies over its declarations: a mandatory violation is an
//! error like any bad input (no graph, so no plan and no call); advisory ones are
//! kept. Planning runs them again with the plan and carries every violation in
//! [`Plan::policy`](crate::Plan::policy); the engine refuses to apply a plan with a
//! mandatory one.
//!
//! ```
//! use glinfra_core::policy::{Finding, Severity, Subject};
//! use glinfra_core::spec::kms::KmsKeySpec;
//! use glinfra_core::{ResourceGraph, Stack};
//!
//! /// Our own rule: every KMS key says what it is for.
//! fn described_keys(subject: &Subject<'_>) -> Vec<Finding> {
//!     subject
//!         .specs::<KmsKeySpec>()
//!         .filter(|(_, key)| key.description.is_empty())
//!         .map(|(decl, _)| Finding::new(&decl.id, "description", "say what the key protects"))
//!         .collect()
//! }
//!
//! let mut stack = Stack::new("demo", "us-east-1");
//! stack.add_policy("described-keys", Severity::Mandatory, described_keys);
//! stack.add("key", KmsKeySpec::new("demo", ""));
//! let err = ResourceGraph::build(&stack).unwrap_err();
//! assert!(err.to_string().contains("policy `described-keys`: say what the key protects"));
//! ```

mod baseline;
mod capacity;
mod database;
mod encryption;
pub mod iam;
mod network;

pub use baseline::{baseline, AuditLog, Baseline, Rule};

use crate::diagnostics::Diagnostic;
use crate::plan::Plan;
use crate::spec::closed_set;
use crate::stack::{Declaration, ResourceId, ResourceSpec};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

closed_set! {
    /// What a violation does: stop the plan, or be shown in it.
    Severity, "severity" {
        /// Stops `plan` and `apply` before any AWS call.
        Mandatory = "mandatory",
        /// Printed in the plan text and carried in its JSON.
        Advisory = "advisory",
    }
}

/// What a policy found: a resource, the field concerned, and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The logical id of the resource concerned.
    pub resource: ResourceId,
    /// The field concerned, as a dotted path (empty for the resource as a whole).
    pub field: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl Finding {
    /// A finding about `field` of `resource`.
    pub fn new(
        resource: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            resource: resource.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A finding of a registered policy, with its rule name and severity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Violation {
    /// Mandatory or advisory.
    pub severity: Severity,
    /// The rule's name (`encryption-at-rest`, or a user policy's own).
    pub rule: String,
    /// The logical id of the resource concerned.
    pub resource: ResourceId,
    /// The field concerned, as a dotted path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// What is wrong and what to do about it.
    pub message: String,
    /// The file the resource's values came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Violation {
    /// True when it stops the plan.
    pub fn is_mandatory(&self) -> bool {
        self.severity == Severity::Mandatory
    }

    /// The violation as an input error (file, resource, field, rule).
    pub fn diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::new(format!("policy `{}`: {}", self.rule, self.message))
            .resource(self.resource.clone());
        if !self.field.is_empty() {
            d = d.field(self.field.clone());
        }
        d.file = self.file.clone();
        d
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.severity)?;
        if let Some(file) = &self.file {
            write!(f, " in {file}")?;
        }
        write!(f, ": resource `{}`", self.resource)?;
        if !self.field.is_empty() {
            write!(f, ", field `{}`", self.field)?;
        }
        write!(f, ": policy `{}`: {}", self.rule, self.message)
    }
}

/// What a policy looks at: the declarations (specs as declared; outputs of other
/// resources appear as references) and, once planned, the plan.
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    declarations: &'a [Arc<Declaration>],
    index: &'a HashMap<&'a str, &'a Declaration>,
    plan: Option<&'a Plan>,
}

impl<'a> Subject<'a> {
    /// Every declaration, in the order declared.
    pub fn declarations(&self) -> &'a [Arc<Declaration>] {
        self.declarations
    }

    /// The declaration `id`.
    pub fn get(&self, id: &str) -> Option<&'a Declaration> {
        self.index.get(id).copied()
    }

    /// The plan, when the policies run on one (`None` while the graph is built).
    pub fn plan(&self) -> Option<&'a Plan> {
        self.plan
    }

    /// Every declaration of `S`'s kind with its typed spec (malformed specs,
    /// already reported by validation, are skipped).
    pub fn specs<S: ResourceSpec>(&self) -> impl Iterator<Item = (&'a Declaration, S)> + 'a {
        self.declarations
            .iter()
            .filter(|d| d.kind == S::KIND)
            .filter_map(|d| d.spec::<S>().ok().map(|s| (&**d, s)))
    }

    /// The declaration an input refers to, when it refers to a declared resource.
    pub fn referenced<T>(&self, input: &crate::Input<T>) -> Option<&'a Declaration> {
        input.reference().and_then(|r| self.get(&r.resource))
    }
}

/// A rule over a [`Subject`]. Any `Fn(&Subject) -> Vec<Finding>` is one.
pub trait Policy: Send + Sync {
    /// Everything the rule finds wrong. Pure: no IO.
    fn check(&self, subject: &Subject<'_>) -> Vec<Finding>;
}

impl<F> Policy for F
where
    F: Fn(&Subject<'_>) -> Vec<Finding> + Send + Sync,
{
    fn check(&self, subject: &Subject<'_>) -> Vec<Finding> {
        self(subject)
    }
}

#[derive(Clone)]
struct Entry {
    rule: String,
    severity: Severity,
    policy: Arc<dyn Policy>,
}

/// The policies of a stack, each under its rule name and severity.
#[derive(Clone, Default)]
pub struct Policies {
    entries: Vec<Entry>,
}

impl fmt::Debug for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| (&e.rule, e.severity)))
            .finish()
    }
}

impl Policies {
    /// No policies.
    pub fn new() -> Self {
        Policies::default()
    }

    /// Adds `policy` under `rule` with `severity`.
    pub fn add(
        &mut self,
        rule: impl Into<String>,
        severity: Severity,
        policy: impl Policy + 'static,
    ) -> &mut Self {
        self.entries.push(Entry {
            rule: rule.into(),
            severity,
            policy: Arc::new(policy),
        });
        self
    }

    /// Adds every policy of `other`.
    pub fn extend(&mut self, other: &Policies) -> &mut Self {
        self.entries.extend(other.entries.iter().cloned());
        self
    }

    /// The rules, with their severities, in the order added.
    pub fn rules(&self) -> impl Iterator<Item = (&str, Severity)> {
        self.entries.iter().map(|e| (e.rule.as_str(), e.severity))
    }

    /// True when there is no policy.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Runs every policy over `declarations` (and `plan`, if any): the violations,
    /// mandatory first, each naming the file its resource came from.
    pub fn evaluate(
        &self,
        declarations: &[Arc<Declaration>],
        plan: Option<&Plan>,
    ) -> Vec<Violation> {
        if self.entries.is_empty() {
            return Vec::new();
        }
        let by_id: HashMap<&str, &Declaration> =
            declarations.iter().map(|d| (d.id.as_str(), &**d)).collect();
        let subject = Subject {
            declarations,
            index: &by_id,
            plan,
        };
        let mut out: Vec<Violation> = self
            .entries
            .iter()
            .flat_map(|e| {
                e.policy.check(&subject).into_iter().map(|f| Violation {
                    severity: e.severity,
                    rule: e.rule.clone(),
                    file: subject.get(&f.resource).and_then(|d| d.origin.clone()),
                    resource: f.resource,
                    field: f.field,
                    message: f.message,
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The plan's mandatory violations as one message, or `None` when there is none.
pub fn refusal(violations: &[Violation]) -> Option<String> {
    let mandatory: Vec<String> = violations
        .iter()
        .filter(|v| v.is_mandatory())
        .map(|v| v.diagnostic().to_string())
        .collect();
    (!mandatory.is_empty()).then(|| {
        format!(
            "{}\n{} mandatory policy violation{}; nothing was sent to AWS",
            mandatory.join("\n"),
            mandatory.len(),
            if mandatory.len() == 1 { "" } else { "s" }
        )
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{baseline, Baseline, Finding, Rule, Severity, Subject};
    use crate::spec::rds::{DbEngine, DbInstanceSpec, StorageType};
    use crate::{ResourceGraph, Stack};

    /// A stack declared by `f`.
    pub(crate) fn stack_with(f: impl FnOnce(&mut Stack)) -> Stack {
        let mut stack = Stack::new("t", "us-east-1");
        f(&mut stack);
        stack
    }

    /// The (resource, field) of every violation of `rule` alone, as `params` sets it.
    pub(crate) fn findings_with(
        stack: &Stack,
        rule: Rule,
        params: &Baseline,
    ) -> Vec<(String, String)> {
        let mut only = params.clone();
        only.severity = [(rule, Severity::Mandatory)].into();
        baseline(&only)
            .evaluate(stack.declarations(), None)
            .into_iter()
            .inspect(|v| assert_eq!(v.rule, rule.as_str()))
            .map(|v| (v.resource, v.field))
            .collect()
    }

    /// [`findings_with`] with the strict parameters.
    pub(crate) fn findings(stack: &Stack, rule: Rule) -> Vec<(String, String)> {
        findings_with(stack, rule, &Baseline::strict())
    }

    /// An unprotected PostgreSQL 15 primary with a day of backups.
    pub(crate) fn database(identifier: &str) -> DbInstanceSpec {
        DbInstanceSpec {
            identifier: identifier.into(),
            engine: DbEngine::Postgres,
            engine_version: "15".into(),
            instance_class: "db.r6g.large".into(),
            allocated_storage: 100,
            storage_type: StorageType::Gp3,
            iops: None,
            storage_encrypted: true,
            kms_key_id: None,
            multi_az: false,
            availability_zone: None,
            backup_retention_days: 1,
            maintenance_window: "sun:03:00-sun:04:00".into(),
            deletion_protection: false,
            vpc_id: None,
            db_subnet_group_name: None,
            parameter_group_name: None,
            vpc_security_group_ids: Vec::new(),
            master_username: Some("admin".into()),
            manage_master_user_password: true,
            replicate_from: None,
        }
    }

    fn no_big_clusters(s: &Subject<'_>) -> Vec<Finding> {
        s.specs::<crate::spec::eks::EksNodeGroupSpec>()
            .filter(|(_, ng)| ng.max_size > 50)
            .map(|(d, ng)| {
                Finding::new(
                    &d.id,
                    "max_size",
                    format!("{} nodes is over our 50", ng.max_size),
                )
            })
            .collect()
    }

    #[test]
    fn a_user_policy_stops_the_graph_when_mandatory_and_is_kept_when_advisory() {
        let build = |severity| {
            let mut stack = stack_with(|s| {
                s.add("key", crate::spec::kms::KmsKeySpec::new("k", ""));
            });
            stack.add_policy("described-keys", severity, |s: &Subject<'_>| {
                s.specs::<crate::spec::kms::KmsKeySpec>()
                    .filter(|(_, k)| k.description.is_empty())
                    .map(|(d, _)| Finding::new(&d.id, "description", "describe it"))
                    .collect()
            });
            stack.add_policy("big", Severity::Advisory, no_big_clusters);
            ResourceGraph::build(&stack)
        };
        let err = build(Severity::Mandatory).unwrap_err();
        assert_eq!(
            err.0[0].to_string(),
            "error: resource `key`, field `description`: policy `described-keys`: describe it"
        );
        let graph = build(Severity::Advisory).unwrap();
        assert_eq!(graph.violations().len(), 1);
        assert_eq!(graph.violations()[0].rule, "described-keys");
        let plan = crate::plan::plan(&graph, &crate::State::empty("t"));
        assert_eq!(plan.policy, graph.violations());
        assert!(crate::render::text(&plan).contains(
            "advisory: resource `key`, field `description`: policy `described-keys`: describe it"
        ));
    }

    #[test]
    fn a_policy_sees_the_plan_once_there_is_one() {
        let mut stack = stack_with(|s| {
            s.add("key", crate::spec::kms::KmsKeySpec::new("k", "d"));
        });
        stack.add_policy("no-creates", Severity::Mandatory, |s: &Subject<'_>| {
            s.plan()
                .into_iter()
                .flat_map(|p| &p.steps)
                .filter(|st| st.action == crate::Action::Create)
                .map(|st| Finding::new(&st.resource, "", "nothing new today"))
                .collect()
        });
        let graph = ResourceGraph::build(&stack).expect("no plan yet: nothing found");
        let plan = crate::plan::plan(&graph, &crate::State::empty("t"));
        assert_eq!(plan.policy.len(), 1);
        assert!(super::refusal(&plan.policy)
            .unwrap()
            .contains("resource `key`: policy `no-creates`: nothing new today"));
    }

    #[test]
    fn strict_checks_every_rule_and_rule_names_round_trip() {
        let policies = baseline(&Baseline::strict());
        let names: Vec<&str> = policies.rules().map(|(r, _)| r).collect();
        assert_eq!(names.len(), Rule::ALL.len());
        for r in Rule::ALL {
            assert_eq!(r.as_str().parse::<Rule>().unwrap(), *r);
        }
    }
}
