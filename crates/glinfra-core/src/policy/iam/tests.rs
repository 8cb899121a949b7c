use super::super::tests::findings_with;
use super::super::{AuditLog, Baseline, Rule};
use super::*;
use crate::spec::iam::IamRoleSpec;
use crate::spec::s3::BucketSpec;
use crate::Stack;
use serde_json::json;

fn rules(doc: Value, kind: DocumentKind) -> Vec<(usize, Rule)> {
    check_document(&doc, kind)
        .into_iter()
        .map(|f| (f.index, f.rule))
        .collect()
}

#[test]
fn wildcards_on_data_services_are_refused_scoped_actions_pass() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:us-east-1:1:key/k"},
        {"Effect": "Allow", "Action": ["kafka-cluster:*"], "Resource": "arn:aws:kafka:us-east-1:1:cluster/c/*"},
        {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:us-east-1:1:log-group:g"},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}
    ]});
    assert_eq!(
        rules(doc, DocumentKind::Identity),
        vec![
            (0, Rule::IamDataWildcard),
            (1, Rule::IamDataWildcard),
            (2, Rule::IamDataWildcard),
            (6, Rule::IamDataWildcard)
        ]
    );
}

#[test]
fn writes_on_every_resource_are_refused_reads_pass() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": ["ec2:DescribeInstances", "s3:Get*", "logs:List*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": ["*"]},
        {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": "arn:aws:kms:us-east-1:1:key/k"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": {"$output": {"resource": "b", "output": "arn"}}}
    ]});
    assert_eq!(
        rules(doc, DocumentKind::Identity),
        vec![
            (1, Rule::IamWriteAnyResource),
            (2, Rule::IamWriteAnyResource)
        ]
    );
    assert!(is_write("s3:*") && is_write("*") && !is_write("s3:GetObject*"));
}

#[test]
fn trust_open_to_anyone_is_refused_unless_a_condition_restricts_it() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
        {"Sid": "AnyAws", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    ]});
    let found = check_document(&doc, DocumentKind::Trust);
    let got: Vec<(usize, Rule)> = found.iter().map(|f| (f.index, f.rule)).collect();
    assert_eq!(
        got,
        vec![
            (0, Rule::IamAnyPrincipal),
            (1, Rule::IamAnyPrincipal),
            (4, Rule::IamAnyPrincipal)
        ]
    );
    assert_eq!(found[1].sid.as_deref(), Some("AnyAws"));
}

#[test]
fn the_ssl_only_bucket_policy_passes_every_document_rule() {
    let doc = BucketSpec::ssl_only_policy("b");
    assert!(check_document(&doc, DocumentKind::Resource).is_empty());
}

#[test]
fn documents_are_found_in_every_kind_and_named_by_role_and_statement() {
    let mut stack = Stack::new("t", "us-east-1");
    let mut role = IamRoleSpec::for_service("r", "ec2.amazonaws.com");
    role.inline_policies.insert(
        "wide".into(),
        json!({"Statement": [{"Sid": "Ok", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                             {"Sid": "All", "Effect": "Allow", "Action": "secretsmanager:*", "Resource": "arn:aws:secretsmanager:us-east-1:1:secret:s"}]}),
    );
    stack.add("iam-app", role);
    let found = findings_with(&stack, Rule::IamDataWildcard, &Baseline::strict());
    assert_eq!(
        found,
        vec![("iam-app".into(), "inline_policies.wide.Statement[1]".into())]
    );
    let kinds: Vec<(String, DocumentKind)> = documents(stack.declarations())
        .iter()
        .map(|d| (d.field.clone(), d.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("assume_role_policy".into(), DocumentKind::Trust),
            ("inline_policies.wide".into(), DocumentKind::Identity)
        ]
    );
}

#[test]
fn only_the_named_writers_may_write_the_audit_log_bucket() {
    let mut stack = Stack::new("t", "us-east-1");
    let bucket = stack.add("bucket-audit", BucketSpec::new("acme-audit-logs"));
    let writes = |resource: Value| json!({"Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": resource}]});
    let role = |stack: &mut Stack, id: &str, doc: Value| {
        let mut r = IamRoleSpec::for_service(id, "ec2.amazonaws.com");
        r.inline_policies.insert("p".into(), doc);
        stack.add(id, r)
    };
    role(
        &mut stack,
        "iam-auditor",
        writes(json!("arn:aws:s3:::acme-audit-logs/*")),
    );
    role(
        &mut stack,
        "iam-by-ref",
        writes(bucket.arn().format("{}/*").to_json()),
    );
    role(
        &mut stack,
        "iam-by-glob",
        writes(json!("arn:aws:s3:::acme-*")),
    );
    role(
        &mut stack,
        "iam-reader",
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-audit-logs/*"}]}),
    );
    role(
        &mut stack,
        "iam-other",
        writes(json!("arn:aws:s3:::acme-reports/*")),
    );
    let mut params = Baseline::strict();
    params.audit_log = Some(AuditLog {
        bucket: "bucket-audit".into(),
        writers: ["iam-auditor".to_string()].into(),
    });
    let found = findings_with(&stack, Rule::AuditLogWriters, &params);
    assert_eq!(
        found,
        vec![
            (
                "iam-by-glob".into(),
                "inline_policies.p.Statement[0]".into()
            ),
            ("iam-by-ref".into(), "inline_policies.p.Statement[0]".into()),
        ]
    );
}

#[test]
fn a_bucket_policy_granting_writes_to_others_is_refused() {
    let mut stack = Stack::new("t", "us-east-1");
    let mut b = BucketSpec::new("acme-audit-logs");
    b.policy = Some(json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/auditor"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::acme-audit-logs/*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/intruder"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::acme-audit-logs/*"}
    ]}));
    stack.add("bucket-audit", b);
    let mut params = Baseline::strict();
    params.audit_log = Some(AuditLog {
        bucket: "bucket-audit".into(),
        writers: ["arn:aws:iam::1:role/auditor".to_string()].into(),
    });
    assert_eq!(
        findings_with(&stack, Rule::AuditLogWriters, &params),
        vec![("bucket-audit".into(), "policy.Statement[1]".into())]
    );
}

#[test]
fn glob_matches_like_iam() {
    assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/key"));
    assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
    assert!(glob("*", ""));
    assert!(glob("s?", "s3"));
    assert!(!glob("kms", "s3"));
}
