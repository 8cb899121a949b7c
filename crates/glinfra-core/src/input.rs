//! Inputs: a spec field is either a literal value or another resource's output.
//!
//! Passing an output into a spec is what creates a dependency edge.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The JSON key that marks a reference to another resource's output.
pub const OUTPUT_KEY: &str = "$output";
/// The JSON key that marks a string formatted from literal parts and outputs.
pub const FORMAT_KEY: &str = "$format";
/// The JSON key that marks a value not known until apply.
pub const UNKNOWN_KEY: &str = "$unknown";
/// The JSON key that marks another stack's output, read at plan time
/// ([`crate::reference`]).
pub const STACK_KEY: &str = "$stack";

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
    /// An output another stack recorded, read from the state backend when the
    /// stack is planned ([`crate::reference::StackReference::output`]).
    Stack {
        /// The referenced stack output.
        #[serde(rename = "$stack")]
        reference: crate::reference::StackOutputRef,
    },
    /// A string made at apply time from literal text and outputs, in order
    /// ([`Input::format`]).
    Format {
        /// The parts: literal strings and output references.
        #[serde(rename = "$format")]
        parts: Vec<FormatPart>,
    },
    /// A value known now.
    Value(T),
}

/// One part of a formatted input: literal text or an output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FormatPart {
    /// An output, as its value.
    Output {
        /// The referenced output.
        #[serde(rename = "$output")]
        reference: OutputRef,
    },
    /// Another stack's output, read at plan time.
    Stack {
        /// The referenced stack output.
        #[serde(rename = "$stack")]
        reference: crate::reference::StackOutputRef,
    },
    /// Literal text.
    Text(String),
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
            Input::Output { .. } | Input::Stack { .. } | Input::Format { .. } => None,
        }
    }

    /// The referenced output, if this input is exactly one.
    pub fn reference(&self) -> Option<&OutputRef> {
        match self {
            Input::Output { reference } => Some(reference),
            Input::Value(_) | Input::Stack { .. } | Input::Format { .. } => None,
        }
    }
}

impl<T: Serialize> Input<T> {
    /// This input as a JSON value, to place inside a JSON document such as an IAM
    /// policy: the engine resolves it there at apply time like any spec field.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("inputs serialise")
    }
}

impl Input<String> {
    /// A string made from `template` with each `{}` replaced by this input's value
    /// at apply time: `bucket.arn().format("{}/*")`. Literal values are formatted
    /// at once.
    pub fn format(&self, template: &str) -> Input<String> {
        Input::concat(
            template
                .split("{}")
                .enumerate()
                .flat_map(|(i, text)| {
                    let value = (i > 0).then(|| self.clone());
                    value
                        .into_iter()
                        .chain(std::iter::once(Input::Value(text.to_string())))
                })
                .collect::<Vec<_>>(),
        )
    }

    /// The concatenation of `parts`, resolved at apply time.
    pub fn concat(parts: impl IntoIterator<Item = Input<String>>) -> Input<String> {
        let mut out: Vec<FormatPart> = Vec::new();
        let push_text = |out: &mut Vec<FormatPart>, text: &str| match out.last_mut() {
            Some(FormatPart::Text(prev)) => prev.push_str(text),
            _ if text.is_empty() => {}
            _ => out.push(FormatPart::Text(text.to_string())),
        };
        for part in parts {
            match part {
                Input::Value(text) => push_text(&mut out, &text),
                Input::Output { reference } => out.push(FormatPart::Output { reference }),
                Input::Stack { reference } => out.push(FormatPart::Stack { reference }),
                Input::Format { parts } => {
                    for p in parts {
                        match p {
                            FormatPart::Text(text) => push_text(&mut out, &text),
                            other => out.push(other),
                        }
                    }
                }
            }
        }
        match out.as_slice() {
            [] => Input::Value(String::new()),
            [FormatPart::Text(text)] => Input::Value(text.clone()),
            [FormatPart::Output { reference }] => Input::Output {
                reference: reference.clone(),
            },
            [FormatPart::Stack { reference }] => Input::Stack {
                reference: reference.clone(),
            },
            _ => Input::Format { parts: out },
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
    output_ref_parts(value).map(|(resource, output)| OutputRef {
        resource: resource.to_string(),
        output: output.to_string(),
    })
}

/// The resource and output an `{"$output": {...}}` marker names, borrowed (read
/// as [`OutputRef`] deserialises: other keys of the marker are ignored).
pub fn output_ref_parts(value: &Value) -> Option<(&str, &str)> {
    let obj = value.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    let inner = obj.get(OUTPUT_KEY)?.as_object()?;
    Some((
        inner.get("resource")?.as_str()?,
        inner.get("output")?.as_str()?,
    ))
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

/// Replaces every output reference with what `lookup` returns for it, and every
/// formatted string with its parts joined (unknown if any part is).
pub fn resolve_refs(value: &Value, lookup: &mut impl FnMut(&OutputRef) -> Value) -> Value {
    if let Some(r) = as_output_ref(value) {
        return lookup(&r);
    }
    if let Some(Value::Array(parts)) = value
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.get(FORMAT_KEY))
    {
        let mut joined = String::new();
        for part in parts {
            match resolve_refs(part, lookup) {
                Value::String(text) => joined.push_str(&text),
                v if contains_unknown(&v) => return unknown(),
                other => joined.push_str(&other.to_string()),
            }
        }
        return Value::String(joined);
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
    fn format_resolves_at_apply_time_and_literals_at_once() {
        let arn: Input<String> = Input::output("bucket", "arn");
        let objects = arn.format("{}/*");
        let json = objects.to_json();
        assert_eq!(
            json,
            json!({"$format": [{"$output": {"resource": "bucket", "output": "arn"}}, "/*"]})
        );
        let mut refs = BTreeSet::new();
        collect_refs(&json!({"Resource": [json.clone()]}), &mut refs);
        assert_eq!(refs.len(), 1);
        let resolved = resolve_refs(&json, &mut |_| json!("arn:aws:s3:::b"));
        assert_eq!(resolved, json!("arn:aws:s3:::b/*"));
        assert!(contains_unknown(&resolve_refs(&json, &mut |_| unknown())));
        assert_eq!(
            Input::Value("a".to_string()).format("{}-b"),
            Input::Value("a-b".into())
        );
        assert_eq!(arn.format("{}"), arn);
        let back: Input<String> = serde_json::from_value(json).unwrap();
        assert_eq!(back, objects);
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
