//! Inputs: a spec field is either a literal value or another resource's output.
//!
//! Passing an output into a spec is what creates a dependency edge.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The JSON key that marks a reference to another resource's output.
pub const OUTPUT_KEY: &str = "$output";
/// The JSON key that marks a value not known until apply.
pub const UNKNOWN_KEY: &str = "$unknown";

/// A reference to a named output of another resource in the same stack.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OutputRef {
    /// Logical id of the resource that produces the output.
    pub resource: String,
    /// Name of the output (`id`, `arn`, ...).
    pub output: String,
}

/// A spec field: a literal value, or the output of another resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input<T> {
    /// Another resource's output, resolved at apply time.
    Output {
        /// The referenced output.
        #[serde(rename = "$output")]
        reference: OutputRef,
    },
    /// A value known now.
    Value(T),
}

impl<T> Input<T> {
    /// An input referring to `resource`'s output `output`.
    pub fn output(resource: impl Into<String>, output: impl Into<String>) -> Self {
        Input::Output {
            reference: OutputRef {
                resource: resource.into(),
                output: output.into(),
            },
        }
    }

    /// The literal value, if this input is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Input::Value(v) => Some(v),
            Input::Output { .. } => None,
        }
    }

    /// The referenced output, if this input is one.
    pub fn reference(&self) -> Option<&OutputRef> {
        match self {
            Input::Output { reference } => Some(reference),
            Input::Value(_) => None,
        }
    }
}

impl<T> From<T> for Input<T> {
    fn from(value: T) -> Self {
        Input::Value(value)
    }
}

impl From<&str> for Input<String> {
    fn from(value: &str) -> Self {
        Input::Value(value.to_string())
    }
}

/// Reads an `{"$output": {...}}` marker.
pub fn as_output_ref(value: &Value) -> Option<OutputRef> {
    let obj = value.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    serde_json::from_value(obj.get(OUTPUT_KEY)?.clone()).ok()
}

/// The marker for a value not known until apply.
pub fn unknown() -> Value {
    let mut m = Map::new();
    m.insert(UNKNOWN_KEY.to_string(), Value::Bool(true));
    Value::Object(m)
}

/// True when `value` is, or contains, a value not known until apply.
pub fn contains_unknown(value: &Value) -> bool {
    match value {
        Value::Object(m) => {
            (m.len() == 1 && m.contains_key(UNKNOWN_KEY)) || m.values().any(contains_unknown)
        }
        Value::Array(a) => a.iter().any(contains_unknown),
        _ => false,
    }
}

/// Every output reference inside a JSON document.
pub fn collect_refs(value: &Value, out: &mut BTreeSet<OutputRef>) {
    if let Some(r) = as_output_ref(value) {
        out.insert(r);
        return;
    }
    match value {
        Value::Object(m) => m.values().for_each(|v| collect_refs(v, out)),
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Replaces every output reference with what `lookup` returns for it.
pub fn resolve_refs(value: &Value, lookup: &mut impl FnMut(&OutputRef) -> Value) -> Value {
    if let Some(r) = as_output_ref(value) {
        return lookup(&r);
    }
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), resolve_refs(v, lookup)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve_refs(v, lookup)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_input_round_trips_through_json() {
        let input: Input<String> = Input::output("vpc", "id");
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(
            json,
            json!({"$output": {"resource": "vpc", "output": "id"}})
        );
        let back: Input<String> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, input);
        assert_eq!(as_output_ref(&json).unwrap().resource, "vpc");
        let literal: Input<String> = serde_json::from_value(json!("vpc-123")).unwrap();
        assert_eq!(literal.value().map(String::as_str), Some("vpc-123"));
    }

    #[test]
    fn resolve_replaces_nested_refs_and_unknown_is_detected() {
        let doc = json!({"a": [{"$output": {"resource": "x", "output": "id"}}], "b": 1});
        let resolved = resolve_refs(&doc, &mut |_| unknown());
        assert!(contains_unknown(&resolved));
        let resolved = resolve_refs(&doc, &mut |r| json!(format!("{}-1", r.resource)));
        assert_eq!(resolved, json!({"a": ["x-1"], "b": 1}));
    }
}
