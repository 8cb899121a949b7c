//! Policy documents as AWS returns them, read back for a refresh.
//!
//! IAM returns documents URL-encoded; S3 and KMS return them as JSON text. AWS
//! also rewrites a document in ways that mean the same thing: a one-element list
//! becomes a string (or the reverse), an account id principal becomes its root
//! ARN, condition values become strings, statements and lists come in another
//! order. [`like`] keeps the recorded document when the live one means the same,
//! so none of that shows as drift.

use serde_json::{Map, Value};

/// The document of `text`: JSON, or URL-encoded JSON (IAM). Text that is neither
/// is returned as a JSON string, so that it shows as drift rather than failing the read.
pub(crate) fn parse(text: &str) -> Value {
    serde_json::from_str(text)
        .or_else(|_| {
            serde_json::from_str(&percent_encoding::percent_decode_str(text).decode_utf8_lossy())
        })
        .unwrap_or_else(|_| Value::String(text.to_string()))
}

/// The recorded document when `live` means the same, else `live`.
pub(crate) fn like(live: Value, recorded: Option<&Value>) -> Value {
    match recorded {
        Some(r) if equivalent(&live, r) => r.clone(),
        _ => live,
    }
}

/// True when two policy documents mean the same (see the module's notes).
pub(crate) fn equivalent(a: &Value, b: &Value) -> bool {
    a == b || canonical(a) == canonical(b)
}

/// A document in one spelling of the many AWS accepts for it.
fn canonical(doc: &Value) -> Value {
    let Value::Object(doc) = doc else {
        return doc.clone();
    };
    let mut out = doc.clone();
    if let Some(statements) = doc.get("Statement") {
        let mut list: Vec<Value> = as_list(statements).iter().map(statement).collect();
        list.sort_by_cached_key(|s| sorted(s).to_string());
        out.insert("Statement".into(), Value::Array(list));
    }
    Value::Object(out)
}

/// `v` with the keys of every object in order, so that its text is one for one
/// meaning (objects compare equal in any order; their text does not).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn statement(s: &Value) -> Value {
    let Value::Object(s) = s else {
        return s.clone();
    };
    let fields = s.iter().map(|(k, v)| {
        let v = match k.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => strings(v, |s| s),
            "Principal" | "NotPrincipal" => principal(v),
            "Condition" => condition(v),
            _ => v.clone(),
        };
        (k.clone(), v)
    });
    Value::Object(fields.collect())
}

/// `"*"` and `{"AWS": "*"}` are the same principal; an account id and its root
/// ARN too.
fn principal(p: &Value) -> Value {
    let Value::Object(p) = p else {
        let mut all = Map::new();
        all.insert("AWS".into(), strings(p, |s| s));
        return Value::Object(all);
    };
    let fields = p.iter().map(|(k, v)| {
        let v = if k == "AWS" {
            strings(v, account_of_root)
        } else {
            strings(v, |s| s)
        };
        (k.clone(), v)
    });
    Value::Object(fields.collect())
}

/// `arn:<partition>:iam::<account>:root` → `<account>`.
fn account_of_root(s: String) -> String {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, "root"] => account.to_string(),
        _ => s,
    }
}

fn condition(c: &Value) -> Value {
    let Value::Object(ops) = c else {
        return c.clone();
    };
    let ops = ops.iter().map(|(op, keys)| {
        let keys = match keys {
            Value::Object(keys) => Value::Object(
                keys.iter()
                    .map(|(k, v)| (k.clone(), strings(v, |s| s)))
                    .collect(),
            ),
            other => other.clone(),
        };
        (op.clone(), keys)
    });
    Value::Object(ops.collect())
}

/// A value or list of values as a sorted set of strings, each passed through `f`.
fn strings(v: &Value, f: impl Fn(String) -> String) -> Value {
    let mut list: Vec<String> = as_list(v)
        .iter()
        .map(|x| match x {
            Value::String(s) => f(s.clone()),
            other => f(other.to_string()),
        })
        .collect();
    list.sort();
    list.dedup();
    Value::Array(list.into_iter().map(Value::String).collect())
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_and_plain_documents_parse_alike() {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get Object"}]});
        assert_eq!(parse(&doc.to_string()), doc);
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%20Object%22%7D%5D%7D";
        assert_eq!(parse(encoded), doc);
        assert_eq!(parse("not json"), json!("not json"));
    }

    #[test]
    fn what_aws_rewrites_keeps_the_recorded_document() {
        let recorded = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:*", "Resource": "*"},
                {"Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
                 "Condition": {"Bool": {"aws:SecureTransport": false}}}
            ]
        });
        let live = json!({
            "Statement": [
                {"Condition": {"Bool": {"aws:SecureTransport": ["false"]}}, "Action": "s3:*",
                 "Principal": {"AWS": "*"}, "Effect": "Deny"},
                {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]},
                 "Action": ["kms:*"], "Resource": ["*"]}
            ],
            "Version": "2012-10-17"
        });
        assert_eq!(like(live, Some(&recorded)), recorded);
    }

    #[test]
    fn a_real_change_is_the_live_document() {
        let recorded = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]});
        let live =
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"]}]});
        assert_eq!(like(live.clone(), Some(&recorded)), live);
        assert_eq!(like(live.clone(), None), live);
    }
}
