//! IAM document checks, over every policy document a plan holds (trust policies,
//! inline policies, bucket policies, and any document a kind adds later: a
//! document is any JSON object with a `Statement`, wherever a spec carries it),
//! and as a library function over any document: [`check_document`].
//!
//! ```
//! use glinfra_core::policy::iam::{check_document, DocumentKind};
//! use glinfra_core::policy::Rule;
//! let doc = serde_json::json!({"Statement": [
//!     {"Sid": "Everything", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
//! ]});
//! let found = check_document(&doc, DocumentKind::Identity);
//! assert_eq!(found[0].rule, Rule::IamDataWildcard);
//! assert_eq!(found[0].sid.as_deref(), Some("Everything"));
//! assert_eq!(found[1].rule, Rule::IamWriteAnyResource);
//! ```

use super::baseline::undeclared;
use super::{Baseline, Finding, Rule, Subject};
use crate::spec::s3::BucketSpec;
use crate::stack::Declaration;
use serde_json::{Map, Value};

/// The services that hold data: `*` or `service:*` on them is never least privilege.
pub const DATA_SERVICES: &[&str] = &["s3", "kms", "secretsmanager", "rds-db", "kafka-cluster"];

/// The verbs of AWS's Read and List access levels: any other action is a write.
const READ_VERBS: &[&str] = &[
    "get", "list", "describe", "head", "batchget", "lookup", "search", "view",
];

/// Condition keys that restrict who the principal can be.
const PRINCIPAL_KEYS: &[&str] = &[
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceowner",
];

/// What a document is attached to, which decides what its statements mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// A role's or user's own permissions (inline or managed policy).
    Identity,
    /// A role's trust policy: who may assume it.
    Trust,
    /// A resource's policy (a bucket's, a key's): who may act on it.
    Resource,
}

/// A statement that breaks an IAM rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementFinding {
    /// The statement's index in `Statement`.
    pub index: usize,
    /// Its `Sid`, if it has one.
    pub sid: Option<String>,
    /// The rule it breaks.
    pub rule: Rule,
    /// What is wrong and what to do.
    pub message: String,
}

/// The statements of `doc`, with their indices (`Statement` may be one object).
pub fn statements(doc: &Value) -> impl Iterator<Item = (usize, &Map<String, Value>)> {
    values(doc.get("Statement"))
        .enumerate()
        .filter_map(|(i, s)| s.as_object().map(|s| (i, s)))
}

/// A field that may be one value or a list of them, as a list.
pub fn values(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let list: Vec<&Value> = match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
    };
    list.into_iter()
}

fn allows(st: &Map<String, Value>) -> bool {
    st.get("Effect").and_then(Value::as_str) == Some("Allow")
}

fn strings<'a>(st: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = &'a str> {
    values(st.get(key)).filter_map(Value::as_str)
}

/// `*`-and-`?` matching, as IAM matches actions and ARNs.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// True when the action (or action pattern) can be a write: anything outside the
/// Read and List access levels, judged by its verb.
pub fn is_write(action: &str) -> bool {
    let name = action
        .split_once(':')
        .map_or(action, |(_, n)| n)
        .to_ascii_lowercase();
    let literal = name.split(['*', '?']).next().unwrap_or("");
    !READ_VERBS.iter().any(|v| literal.starts_with(v))
}

/// The service an action pattern names, lowercased (`*` for `*`).
fn service(action: &str) -> String {
    action
        .split_once(':')
        .map_or(action, |(s, _)| s)
        .to_ascii_lowercase()
}

fn data_wildcard(action: &str) -> bool {
    let (svc, name) = action.split_once(':').unwrap_or((action, "*"));
    name == "*"
        && (svc == "*"
            || DATA_SERVICES
                .iter()
                .any(|d| glob(&svc.to_ascii_lowercase(), d)))
}

fn any_principal(st: &Map<String, Value>) -> bool {
    if st.contains_key("NotPrincipal") {
        return true;
    }
    match st.get("Principal") {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(m)) => values(m.get("AWS")).any(|v| v == "*"),
        _ => false,
    }
}

fn restricted(st: &Map<String, Value>) -> bool {
    st.get("Condition")
        .and_then(Value::as_object)
        .is_some_and(|ops| {
            ops.values()
                .filter_map(Value::as_object)
                .flat_map(|m| m.keys())
                .any(|k| PRINCIPAL_KEYS.contains(&k.to_ascii_lowercase().as_str()))
        })
}

/// Every statement of `doc` that breaks `iam-data-wildcard`, `iam-write-any-resource`
/// or `iam-any-principal`, as a `kind` document.
pub fn check_document(doc: &Value, kind: DocumentKind) -> Vec<StatementFinding> {
    let mut out = Vec::new();
    for (index, st) in statements(doc).filter(|(_, st)| allows(st)) {
        let mut found = |rule: Rule, message: String| {
            out.push(StatementFinding {
                index,
                sid: st.get("Sid").and_then(Value::as_str).map(str::to_string),
                rule,
                message,
            })
        };
        let actions: Vec<&str> = strings(st, "Action").collect();
        if st.contains_key("NotAction") {
            found(
                Rule::IamDataWildcard,
                "`NotAction` in an Allow grants every action but those listed: list the actions instead".into(),
            );
        }
        if let Some(a) = actions.iter().find(|a| data_wildcard(a)) {
            found(
                Rule::IamDataWildcard,
                format!("allows `{a}` on a data service: list the actions the workload needs"),
            );
        }
        let anywhere = st.contains_key("NotResource") || strings(st, "Resource").any(|r| r == "*");
        if kind == DocumentKind::Identity && anywhere {
            if let Some(a) = actions.iter().find(|a| is_write(a)) {
                found(
                    Rule::IamWriteAnyResource,
                    format!("allows the write action `{a}` on every resource: name the resources by ARN"),
                );
            }
        }
        if kind != DocumentKind::Identity && any_principal(st) && !restricted(st) {
            found(
                Rule::IamAnyPrincipal,
                "any principal in any account is allowed: name the principals, or restrict them with a condition such as `aws:PrincipalOrgID` or `aws:SourceAccount`".into(),
            );
        }
    }
    out
}

/// One document a declaration carries.
pub struct Document<'a> {
    /// The declaration that carries it.
    pub owner: &'a Declaration,
    /// Where in its spec, as a dotted path (`inline_policies.deliver`).
    pub field: String,
    /// What it is attached to.
    pub kind: DocumentKind,
    /// The document (outputs of other resources appear as references).
    pub doc: Value,
}

/// Every IAM document the declarations carry: every object with a `Statement`.
pub fn documents<'a>(declarations: &'a [std::sync::Arc<Declaration>]) -> Vec<Document<'a>> {
    fn walk<'a>(owner: &'a Declaration, path: String, v: &Value, out: &mut Vec<Document<'a>>) {
        match v {
            Value::Object(m) if m.contains_key("Statement") => {
                let kind = if path == "assume_role_policy" {
                    DocumentKind::Trust
                } else if statements(v)
                    .any(|(_, s)| s.contains_key("Principal") || s.contains_key("NotPrincipal"))
                {
                    DocumentKind::Resource
                } else {
                    DocumentKind::Identity
                };
                out.push(Document {
                    owner,
                    field: path,
                    kind,
                    doc: v.clone(),
                });
            }
            Value::Object(m) => m.iter().for_each(|(k, v)| {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(owner, p, v, out)
            }),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk(owner, format!("{path}[{i}]"), v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    // Only specs whose text has a statement are read.
    for d in declarations
        .iter()
        .filter(|d| d.props.json().contains("\"Statement\""))
    {
        walk(d, String::new(), &d.props.value(), &mut out);
    }
    out
}

fn label(index: usize, sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("statement `{sid}` (#{index})"),
        None => format!("statement #{index}"),
    }
}

/// The findings of `rule` (one of the three document rules) over every document.
pub(super) fn rule(s: &Subject<'_>, rule: Rule) -> Vec<Finding> {
    documents(s.declarations())
        .iter()
        .flat_map(|d| {
            check_document(&d.doc, d.kind)
                .into_iter()
                .filter(|f| f.rule == rule)
                .map(|f| {
                    Finding::new(
                        &d.owner.id,
                        format!("{}.Statement[{}]", d.field, f.index),
                        format!("{}: {}", label(f.index, f.sid.as_deref()), f.message),
                    )
                })
        })
        .collect()
}

/// True when `v` refers to an output of `id`, anywhere inside it.
fn refers_to(v: &Value, id: &str) -> bool {
    if let Some((r, _)) = crate::input::output_ref_parts(v) {
        return r == id;
    }
    match v {
        Value::Object(m) => m.values().any(|v| refers_to(v, id)),
        Value::Array(a) => a.iter().any(|v| refers_to(v, id)),
        _ => false,
    }
}

/// The audit-log bucket is written by nobody but `audit_log.writers`: no Allow of
/// an S3 write on it (or on a pattern or `*` that covers it) in the documents of
/// anyone else, nor for any other principal in a resource policy.
pub(super) fn audit_log_writers(s: &Subject<'_>, p: &Baseline) -> Vec<Finding> {
    let Some(audit) = &p.audit_log else {
        return Vec::new();
    };
    let mut out = undeclared(s, [&audit.bucket], "audit_log.bucket");
    let Some(name) = s
        .get(&audit.bucket)
        .and_then(|d| d.spec::<BucketSpec>().ok())
        .map(|b| b.bucket)
    else {
        return out;
    };
    let arn = BucketSpec::arn_of(&name);
    let covers = |r: &Value| match r.as_str() {
        Some(pattern) => glob(pattern, &arn) || glob(pattern, &format!("{arn}/key")),
        None => refers_to(r, &audit.bucket),
    };
    let writer = |v: &Value| match v.as_str() {
        Some(s) => audit.writers.contains(s),
        None => audit.writers.iter().any(|w| refers_to(v, w)),
    };
    for d in documents(s.declarations()) {
        if d.kind == DocumentKind::Trust {
            continue;
        }
        for (i, st) in statements(&d.doc).filter(|(_, st)| allows(st)) {
            let writes = strings(st, "Action")
                .find(|a| is_write(a) && glob(&service(a), "s3"))
                .or(st.contains_key("NotAction").then_some("NotAction"));
            let on_bucket =
                st.contains_key("NotResource") || values(st.get("Resource")).any(covers);
            let (Some(action), true) = (writes, on_bucket) else {
                continue;
            };
            let outsider = match d.kind {
                DocumentKind::Identity => {
                    (!audit.writers.contains(&d.owner.id)).then(|| format!("`{}`", d.owner.id))
                }
                _ => {
                    let principals: Vec<&Value> = match st.get("Principal") {
                        Some(Value::Object(m)) => {
                            m.values().flat_map(|v| values(Some(v))).collect()
                        }
                        other => values(other).collect(),
                    };
                    principals
                        .into_iter()
                        .find(|v| !writer(v))
                        .map(|v| format!("principal {v}"))
                }
            };
            if let Some(who) = outsider {
                out.push(Finding::new(
                    &d.owner.id,
                    format!("{}.Statement[{i}]", d.field),
                    format!(
                        "{}: lets {who} write (`{action}`) to the audit-log bucket `{name}`, which only {} may write",
                        label(i, st.get("Sid").and_then(Value::as_str)),
                        if audit.writers.is_empty() {
                            "no one".to_string()
                        } else {
                            audit.writers.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
                        }
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
