//! A declared spec in its compact form: its JSON text.
//!
//! A stack holds every declaration for the whole run, so how a spec is kept
//! decides the memory of a large plan. As a `serde_json::Value` every small map
//! (each output reference is two) is a hash table of its own: about 3.6 KB a
//! resource. As text it is the size of its JSON, read into a `Value` only where
//! one is needed (the diff of a changed resource, a driver's call).

use crate::input::output_ref_parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt;

/// A declared spec as compact JSON text; outputs of other resources appear in it
/// as `{"$output": {"resource": ..., "output": ...}}`.
///
/// Two `Props` are equal when their texts are: specs serialise their fields in
/// one order, so the same spec always has the same text.
#[derive(Clone)]
pub struct Props(Box<RawValue>);

impl Props {
    /// The props of a spec (or of any serialisable value).
    pub fn of<T: Serialize + ?Sized>(spec: &T) -> Props {
        Props(serde_json::value::to_raw_value(spec).expect("specs always serialise to JSON"))
    }

    /// The spec as a JSON value (parsed from the text: a new value each call).
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).expect("props hold the JSON they were made from")
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// One top-level field's value, if present.
    pub fn get(&self, field: &str) -> Option<Value> {
        match self.value() {
            Value::Object(mut fields) => fields.remove(field),
            _ => None,
        }
    }

    /// The spec, typed.
    pub fn spec<S: DeserializeOwned>(&self) -> Result<S, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// True when the spec refers to another resource's output.
    pub fn has_output_refs(&self) -> bool {
        self.json().contains(MARKER)
    }

    /// Calls `f` with the resource and output of every output reference in the
    /// spec (once per reference), in document order.
    ///
    /// References written as specs serialise them are read straight from the
    /// text; any other shape (keys reordered, escapes) is read from the parsed
    /// value, so the answer is always the one a walk of [`Props::value`] gives.
    pub fn for_each_output_ref(&self, f: &mut impl FnMut(&str, &str)) {
        let text = self.json();
        if !text.contains(MARKER) {
            return;
        }
        match refs_as_written(text) {
            Some(refs) => refs.into_iter().for_each(|(r, o)| f(r, o)),
            None => walk(&self.value(), f),
        }
    }
}

/// How an output reference starts in compact JSON.
const MARKER: &str = "{\"$output\":";

/// Every output reference of `text` when each one is in the exact form specs
/// serialise (`{"$output":{"resource":"ID","output":"NAME"}}`, no escapes);
/// `None` when any is not.
fn refs_as_written(text: &str) -> Option<Vec<(&str, &str)>> {
    let mut refs = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARKER) {
        let after = &rest[at + MARKER.len()..];
        let (resource, after) = string_after(after, "{\"resource\":\"")?;
        let (output, after) = string_after(after, ",\"output\":\"")?;
        rest = after.strip_prefix("}}")?;
        refs.push((resource, output));
    }
    Some(refs)
}

/// The plain string (no escapes) that follows `prefix` at the start of `text`,
/// and what follows its closing quote.
fn string_after<'t>(text: &'t str, prefix: &str) -> Option<(&'t str, &'t str)> {
    let body = text.strip_prefix(prefix)?;
    let end = body.find('"')?;
    let value = &body[..end];
    (!value.contains('\\')).then_some((value, &body[end + 1..]))
}

fn walk(value: &Value, f: &mut impl FnMut(&str, &str)) {
    if let Some((resource, output)) = output_ref_parts(value) {
        f(resource, output);
        return;
    }
    match value {
        Value::Object(m) => m.values().for_each(|v| walk(v, f)),
        Value::Array(a) => a.iter().for_each(|v| walk(v, f)),
        _ => {}
    }
}

impl From<&Value> for Props {
    fn from(value: &Value) -> Props {
        Props::of(value)
    }
}

impl PartialEq for Props {
    fn eq(&self, other: &Props) -> bool {
        self.json() == other.json()
    }
}

impl fmt::Debug for Props {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl Serialize for Props {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Props, D::Error> {
        Value::deserialize(deserializer).map(|v| Props::of(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Input, OUTPUT_KEY};
    use proptest::prelude::*;
    use serde_json::json;

    fn refs(props: &Props) -> Vec<(String, String)> {
        let mut out = Vec::new();
        props.for_each_output_ref(&mut |r, o| out.push((r.to_string(), o.to_string())));
        out
    }

    #[test]
    fn references_are_read_from_the_text_as_specs_write_them() {
        let vpc: Input<String> = Input::output("vpc", "id");
        let subnet: Input<String> = Input::output("subnet-a", "id");
        let props = Props::of(&json!({
            "vpc_id": vpc,
            "subnets": [subnet, "subnet-123"],
            "name": {"$format": [Input::<String>::output("bucket", "arn"), "/*"]},
        }));
        assert!(refs_as_written(props.json()).is_some());
        let expected = [("vpc", "id"), ("subnet-a", "id"), ("bucket", "arn")];
        assert_eq!(
            refs(&props),
            expected.map(|(r, o)| (r.to_string(), o.to_string()))
        );
    }

    #[test]
    fn references_in_any_other_shape_are_read_from_the_value() {
        // Keys reordered, an escaped quote in an id, a marker with another key.
        let text = r#"{"a":{"$output":{"output":"id","resource":"vpc"}},
            "b":{"$output":{"resource":"we\"ird","output":"arn"}},
            "c":{"$output":{"resource":"x","output":"id"},"other":1}}"#;
        let props = Props::of(&serde_json::from_str::<Value>(text).unwrap());
        assert!(refs_as_written(props.json()).is_none());
        assert_eq!(
            refs(&props),
            vec![
                ("vpc".to_string(), "id".to_string()),
                ("we\"ird".to_string(), "arn".to_string())
            ]
        );
    }

    #[test]
    fn text_round_trips_through_serde_and_equals_the_value() {
        let value = json!({"b": 1, "a": [true, null, {"c": "d"}]});
        let props = Props::of(&value);
        assert_eq!(props.json(), r#"{"b":1,"a":[true,null,{"c":"d"}]}"#);
        assert_eq!(props.value(), value);
        assert_eq!(props.get("b"), Some(json!(1)));
        assert_eq!(props.get("z"), None);
        let back: Props = serde_json::from_str(&serde_json::to_string(&props).unwrap()).unwrap();
        assert_eq!(back, props);
        let via_value: Props =
            serde_json::from_value(serde_json::to_value(&props).unwrap()).unwrap();
        assert_eq!(via_value, props);
    }

    fn json_strategy() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "[a-z\"\\\\ ${}:,]{0,8}".prop_map(Value::String),
            ("[a-z\"\\\\-]{1,6}", "[a-z]{1,4}")
                .prop_map(|(r, o)| { json!({ OUTPUT_KEY: {"resource": r, "output": o} }) }),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z$]{1,5}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_text_scan_finds_exactly_what_a_walk_of_the_value_finds(value in json_strategy()) {
            let props = Props::of(&value);
            let mut walked = Vec::new();
            walk(&value, &mut |r, o| walked.push((r.to_string(), o.to_string())));
            prop_assert_eq!(refs(&props), walked);
        }
    }
}
