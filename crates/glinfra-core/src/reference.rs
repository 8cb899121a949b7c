//! Stack references: one stack reading the outputs another stack recorded.
//!
//! `stack.reference("prod-us-east-1")` names the stack read (the dependency between
//! the two stacks, explicit); its `output::<String>("db_primary_arn")` is an input
//! like any other, marked `{"$stack": {...}}`. Before a plan, the session reads the
//! referenced stacks' recorded outputs (without their locks) and
//! [`Stack::resolve_references`] puts the values in: the plan sees known values,
//! and an output that changed is a field that changed.

use crate::input::{Input, STACK_KEY};
use crate::props::Props;
use crate::stack::Stack;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A named output of another stack.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StackOutputRef {
    /// The stack that exports it.
    pub stack: String,
    /// The export's name.
    pub output: String,
}

/// Another stack, whose recorded outputs this stack reads ([`Stack::reference`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackReference {
    stack: String,
}

impl StackReference {
    /// The referenced stack's name.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// Its output `name`, typed as the field it goes into: read from the state
    /// backend when this stack is planned.
    pub fn output<T>(&self, name: impl Into<String>) -> Input<T> {
        Input::Stack {
            reference: StackOutputRef {
                stack: self.stack.clone(),
                output: name.into(),
            },
        }
    }
}

/// What a referenced stack has recorded: its outputs, or `None` when it has no
/// state at all (never applied).
pub type RecordedOutputs = BTreeMap<String, Option<BTreeMap<String, Value>>>;

/// A stack reference that cannot be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The referenced stack has no recorded state.
    #[error("stack `{stack}` reads output `{output}` of stack `{referenced}`, which has no recorded state: apply `{referenced}` first")]
    NotApplied {
        /// The stack reading.
        stack: String,
        /// The stack read.
        referenced: String,
        /// The output read.
        output: String,
    },
    /// The referenced stack has not recorded the output (or recorded it unknown).
    #[error("stack `{stack}` reads output `{output}` of stack `{referenced}`, which `{referenced}` has not recorded (it records: {}): apply `{referenced}` first, exporting `{output}`", if recorded.is_empty() { "nothing".to_string() } else { recorded.join(", ") })]
    MissingOutput {
        /// The stack reading.
        stack: String,
        /// The stack read.
        referenced: String,
        /// The output read.
        output: String,
        /// The outputs it has recorded with a value.
        recorded: Vec<String>,
    },
    /// A stack reads its own outputs.
    #[error("stack `{0}` references itself: a stack reads its own resources' outputs directly")]
    SelfReference(String),
}

impl Stack {
    /// Declares that this stack reads `stack`'s outputs, and returns the handle to
    /// read them with.
    pub fn reference(&mut self, stack: impl Into<String>) -> StackReference {
        let stack = stack.into();
        self.references.insert(stack.clone());
        StackReference { stack }
    }

    /// The stacks this one references, by name.
    pub fn referenced_stacks(&self) -> &BTreeSet<String> {
        &self.references
    }

    /// This stack with every referenced output replaced by the value `recorded`
    /// holds for it. Fails on the first output not recorded (naming both stacks).
    pub fn resolve_references(&self, recorded: &RecordedOutputs) -> Result<Stack, ReferenceError> {
        if self.references.contains(self.name()) {
            return Err(ReferenceError::SelfReference(self.name().to_string()));
        }
        let mut resolved = self.clone();
        if self.references.is_empty() {
            return Ok(resolved);
        }
        let lookup = |r: &StackOutputRef| -> Result<Value, ReferenceError> {
            let outputs = recorded
                .get(&r.stack)
                .and_then(Option::as_ref)
                .ok_or_else(|| ReferenceError::NotApplied {
                    stack: self.name().to_string(),
                    referenced: r.stack.clone(),
                    output: r.output.clone(),
                })?;
            match outputs.get(&r.output) {
                Some(v) if !v.is_null() => Ok(v.clone()),
                _ => Err(ReferenceError::MissingOutput {
                    stack: self.name().to_string(),
                    referenced: r.stack.clone(),
                    output: r.output.clone(),
                    recorded: outputs
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, _)| k.clone())
                        .collect(),
                }),
            }
        };
        let declarations = Arc::make_mut(&mut resolved.declarations);
        for decl in declarations.iter_mut() {
            // The text tells which specs may hold one; only those are parsed.
            if !decl.props.json().contains("\"$stack\"") {
                continue;
            }
            let value = decl.props.value();
            if contains_stack_ref(&value) {
                let props = substitute(&value, &lookup)?;
                Arc::make_mut(decl).props = Props::of(&props);
            }
        }
        for (_, input) in resolved.exports.iter_mut() {
            let json = input.to_json();
            if contains_stack_ref(&json) {
                let value = substitute(&json, &lookup)?;
                *input = serde_json::from_value(value.clone()).unwrap_or(Input::Value(
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string),
                ));
            }
        }
        Ok(resolved)
    }
}

/// The stack output an `{"$stack": {...}}` marker names.
pub fn as_stack_ref(value: &Value) -> Option<StackOutputRef> {
    let obj = value.as_object().filter(|m| m.len() == 1)?;
    serde_json::from_value(obj.get(STACK_KEY)?.clone()).ok()
}

/// Every stack output referenced inside a JSON document.
pub fn collect_stack_refs(value: &Value, out: &mut BTreeSet<StackOutputRef>) {
    if let Some(r) = as_stack_ref(value) {
        out.insert(r);
        return;
    }
    match value {
        Value::Object(m) => m.values().for_each(|v| collect_stack_refs(v, out)),
        Value::Array(a) => a.iter().for_each(|v| collect_stack_refs(v, out)),
        _ => {}
    }
}

fn contains_stack_ref(value: &Value) -> bool {
    let mut refs = BTreeSet::new();
    collect_stack_refs(value, &mut refs);
    !refs.is_empty()
}

fn substitute<E>(
    value: &Value,
    lookup: &impl Fn(&StackOutputRef) -> Result<Value, E>,
) -> Result<Value, E> {
    if let Some(r) = as_stack_ref(value) {
        return lookup(&r);
    }
    Ok(match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, lookup)?)))
                .collect::<Result<_, E>>()?,
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| substitute(v, lookup))
                .collect::<Result<_, E>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ec2::VpcSpec;
    use crate::spec::rds::{DbEngine, DbInstanceSpec, StorageType};
    use crate::ResourceGraph;
    use serde_json::json;

    fn regional() -> Stack {
        let mut stack = Stack::new("prod-eu-west-1", "eu-west-1");
        let primary = stack.reference("prod-us-east-1");
        let vpc = stack.add("vpc", VpcSpec::new("10.1.0.0/16"));
        let replica = DbInstanceSpec {
            identifier: "replica".into(),
            engine: DbEngine::Postgres,
            engine_version: "15".into(),
            instance_class: "db.r6g.xlarge".into(),
            allocated_storage: 100,
            storage_type: StorageType::Gp3,
            iops: None,
            storage_encrypted: false,
            kms_key_id: None,
            multi_az: false,
            availability_zone: None,
            backup_retention_days: 0,
            maintenance_window: "sun:03:00-sun:04:00".into(),
            deletion_protection: false,
            vpc_id: Some(vpc.id()),
            db_subnet_group_name: None,
            parameter_group_name: None,
            vpc_security_group_ids: Vec::new(),
            master_username: None,
            manage_master_user_password: false,
            replicate_from: Some(primary.output("db_primary_arn")),
        };
        stack.add("db-replica", replica);
        stack.export("primary", primary.output("db_primary_arn"));
        stack
    }

    fn recorded(outputs: Value) -> RecordedOutputs {
        let map: BTreeMap<String, Value> = serde_json::from_value(outputs).unwrap();
        BTreeMap::from([("prod-us-east-1".to_string(), Some(map))])
    }

    #[test]
    fn a_reference_is_an_explicit_stack_dependency_and_a_marker_in_the_spec() {
        let stack = regional();
        assert_eq!(
            stack.referenced_stacks().iter().collect::<Vec<_>>(),
            ["prod-us-east-1"]
        );
        let props = stack.get("db-replica").unwrap().props.value();
        let mut refs = BTreeSet::new();
        collect_stack_refs(&props, &mut refs);
        assert_eq!(
            refs.into_iter().collect::<Vec<_>>(),
            [StackOutputRef {
                stack: "prod-us-east-1".into(),
                output: "db_primary_arn".into()
            }]
        );
        // The unresolved stack validates: the value is known at plan time.
        ResourceGraph::build(&stack).unwrap();
    }

    #[test]
    fn resolving_puts_the_recorded_value_in_and_leaves_the_original_alone() {
        let stack = regional();
        let arn = "arn:aws:rds:us-east-1:000000000000:db:greenlang-prod-primary";
        let resolved = stack
            .resolve_references(&recorded(json!({"db_primary_arn": arn})))
            .unwrap();
        let spec: DbInstanceSpec = resolved.get("db-replica").unwrap().spec().unwrap();
        assert_eq!(
            spec.replicate_from.unwrap().value().map(String::as_str),
            Some(arn)
        );
        assert_eq!(resolved.exports()[0].1, Input::Value(arn.to_string()));
        assert!(contains_stack_ref(
            &stack.get("db-replica").unwrap().props.value()
        ));
        ResourceGraph::build(&resolved).unwrap();
    }

    #[test]
    fn missing_stacks_and_outputs_name_both_stacks_and_the_output() {
        let stack = regional();
        let err = stack
            .resolve_references(&BTreeMap::from([("prod-us-east-1".to_string(), None)]))
            .unwrap_err();
        assert!(matches!(err, ReferenceError::NotApplied { .. }), "{err}");
        let text = err.to_string();
        for needle in [
            "prod-eu-west-1",
            "prod-us-east-1",
            "db_primary_arn",
            "apply `prod-us-east-1` first",
        ] {
            assert!(text.contains(needle), "{text}");
        }
        let err = stack
            .resolve_references(&recorded(
                json!({"vpc_id": "vpc-1", "db_primary_arn": null}),
            ))
            .unwrap_err();
        assert_eq!(
            err,
            ReferenceError::MissingOutput {
                stack: "prod-eu-west-1".into(),
                referenced: "prod-us-east-1".into(),
                output: "db_primary_arn".into(),
                recorded: vec!["vpc_id".into()],
            }
        );
        assert!(err.to_string().contains("it records: vpc_id"), "{err}");
        let mut selfish = Stack::new("a", "us-east-1");
        selfish.reference("a");
        assert_eq!(
            selfish.resolve_references(&BTreeMap::new()).unwrap_err(),
            ReferenceError::SelfReference("a".into())
        );
    }
}
