//! The role refresh: two account-wide reads (GetAccountAuthorizationDetails and
//! ListRoles, every page), whatever the number of roles, mapped to logical ids.
//!
//! The reads run at once, so rules match by request (`MatchAny`); every rule
//! answers one call, and a call no rule answers panics: the calls counted are
//! all the calls made.

use super::*;
use crate::driver::Driver;
use crate::iam::IamRoleDriver;
use crate::kit::live::Live;
use crate::kit::Recorded;
use crate::test_support::{meta, recorded, recorder, scope};
use aws_sdk_iam::operation::get_account_authorization_details::{
    GetAccountAuthorizationDetailsError, GetAccountAuthorizationDetailsInput,
    GetAccountAuthorizationDetailsOutput,
};
use aws_sdk_iam::operation::list_roles::{ListRolesInput, ListRolesOutput};
use aws_sdk_iam::types::{AttachedPolicy, EntityType, PolicyDetail, RoleDetail};
use aws_sdk_iam::Client;
use aws_smithy_mocks::mock;
use glinfra_core::{TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::ErrorClass;
use serde_json::Value;

fn mock_any(rules: &[&Rule]) -> Clients {
    mock_clients!(aws_sdk_iam, "iam", "us-east-1", RuleMode::MatchAny, rules)
}

/// `doc` as IAM returns it: URL-encoded.
fn encoded(doc: &Value) -> String {
    doc.to_string()
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn arn_of(name: &str) -> String {
    format!("arn:aws:iam::111122223333:role/service/{name}")
}

/// The trust policy of `spec()` as IAM may rewrite it (lists for single values).
fn rewritten_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["s3.amazonaws.com"]}, "Action": ["sts:AssumeRole"]
    }]})
}

/// What a role is in IAM: the listing's view of it.
#[derive(Clone)]
struct InIam {
    name: String,
    tags: Vec<(String, String)>,
    trust: Value,
    attached: Vec<String>,
    inline: Vec<(String, Value)>,
    description: String,
}

impl InIam {
    /// Role `name` as `spec()` makes it, tagged as resource `id` of `stack`, its
    /// trust policy rewritten and its managed policies in another order.
    fn made(name: &str, stack: &str, id: &str) -> InIam {
        let spec = spec();
        InIam {
            name: name.into(),
            tags: vec![
                (TAG_STACK.into(), stack.into()),
                (TAG_LOGICAL_ID.into(), id.into()),
                ("team".into(), "platform".into()),
            ],
            trust: rewritten_trust(),
            attached: spec.managed_policy_arns.iter().rev().cloned().collect(),
            inline: spec.inline_policies.into_iter().collect(),
            description: spec.description,
        }
    }

    fn detail(&self) -> RoleDetail {
        RoleDetail::builder()
            .path("/service/")
            .role_name(&self.name)
            .role_id(format!("AROA{}", self.name.len()))
            .arn(arn_of(&self.name))
            .create_date(DateTime::from_secs(0))
            .assume_role_policy_document(encoded(&self.trust))
            .set_tags(Some(
                self.tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
                    .collect(),
            ))
            .set_attached_managed_policies(Some(
                self.attached
                    .iter()
                    .map(|a| AttachedPolicy::builder().policy_arn(a).build())
                    .collect(),
            ))
            .set_role_policy_list(Some(
                self.inline
                    .iter()
                    .map(|(n, d)| {
                        PolicyDetail::builder()
                            .policy_name(n)
                            .policy_document(encoded(d))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    /// As ListRoles has it: no tags, no policies, the description.
    fn listed(&self) -> Role {
        let mut r = role(&[]);
        r.role_name = self.name.clone();
        r.arn = arn_of(&self.name);
        r.description = Some(self.description.clone());
        r
    }
}

/// A page of GetAccountAuthorizationDetails asked with `marker`, answering
/// `roles`, truncated with marker `next` when given.
fn details_page(
    marker: Option<&'static str>,
    roles: &[InIam],
    next: Option<&'static str>,
) -> (
    Rule,
    crate::test_support::Seen<GetAccountAuthorizationDetailsInput>,
) {
    let details: Vec<RoleDetail> = roles.iter().map(InIam::detail).collect();
    let (seen, see) = recorder::<GetAccountAuthorizationDetailsInput>();
    let rule = mock!(Client::get_account_authorization_details)
        .match_requests(move |r| r.marker() == marker && see(r))
        .then_output(move || {
            GetAccountAuthorizationDetailsOutput::builder()
                .set_role_detail_list(Some(details.clone()))
                .is_truncated(next.is_some())
                .set_marker(next.map(String::from))
                .build()
        });
    (rule, seen)
}

/// A page of ListRoles asked with `marker`, answering `roles`.
fn roles_page(
    marker: Option<&'static str>,
    roles: &[InIam],
    next: Option<&'static str>,
) -> (Rule, crate::test_support::Seen<ListRolesInput>) {
    let listed: Vec<Role> = roles.iter().map(InIam::listed).collect();
    let (seen, see) = recorder::<ListRolesInput>();
    let rule = mock!(Client::list_roles)
        .match_requests(move |r| r.marker() == marker && see(r))
        .then_output(move || {
            ListRolesOutput::builder()
                .set_roles(Some(listed.clone()))
                .is_truncated(next.is_some())
                .set_marker(next.map(String::from))
                .build()
                .unwrap()
        });
    (rule, seen)
}

fn recorded_role(id: &str, name: &str) -> Recorded<IamRoleSpec> {
    let mut spec = spec();
    spec.name = name.into();
    let out = IamRoleOutputs {
        arn: arn_of(name),
        name: name.into(),
    };
    recorded(&desired("prod", id, "us-east-1", spec), out)
}

async fn observe(c: &Clients, recorded: Vec<Recorded<IamRoleSpec>>) -> Vec<Live<IamRoleSpec>> {
    IamRoleDriver
        .observe(c, &scope("prod", "us-east-1", recorded))
        .await
        .unwrap()
        .unwrap()
}

/// The spec fields whose JSON differs between `a` and `b`.
fn differing(a: &IamRoleSpec, b: &IamRoleSpec) -> Vec<String> {
    let (Value::Object(a), Value::Object(b)) = (
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
    ) else {
        unreachable!("specs are objects")
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn used_once(rules: &[&Rule]) {
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(rule.num_calls(), 1, "rule #{i}");
    }
}

#[tokio::test]
async fn thirteen_roles_are_two_calls_and_read_exactly_as_recorded() {
    let ids: Vec<String> = (0..13).map(|i| format!("role-{i:02}")).collect();
    let mut in_iam: Vec<InIam> = ids
        .iter()
        .map(|id| InIam::made(&format!("gl-{id}"), "prod", id))
        .collect();
    // The account's other roles: untagged (service-linked) and another stack's.
    let mut linked = InIam::made("AWSServiceRoleForSupport", "x", "x");
    linked.tags.clear();
    in_iam.push(linked);
    in_iam.push(InIam::made("gl-staging-role", "staging", "role-00"));
    let (details, asked) = details_page(None, &in_iam, None);
    let (roles, listed) = roles_page(None, &in_iam, None);
    let c = mock_any(&[&details, &roles]);
    let recorded: Vec<_> = ids
        .iter()
        .map(|id| recorded_role(id, &format!("gl-{id}")))
        .collect();

    let live = observe(&c, recorded.clone()).await;

    used_once(&[&details, &roles]);
    let asked = asked.lock().unwrap();
    assert_eq!(asked[0].filter(), [EntityType::Role]);
    assert_eq!(asked[0].max_items(), Some(1000));
    assert_eq!(listed.lock().unwrap()[0].max_items(), Some(1000));
    assert_eq!(live.len(), 13);
    for (l, r) in live.iter().zip(&recorded) {
        assert_eq!(l.id, r.id);
        assert_eq!(l.outputs, r.outputs);
        assert_eq!(l.tags, owner_tags_of(&r.id));
        assert_eq!(
            differing(l.spec.as_ref().unwrap(), &r.spec),
            Vec::<String>::new()
        );
    }
}

fn owner_tags_of(id: &str) -> BTreeMap<String, String> {
    crate::test_support::owner_tags("prod", id)
}

#[tokio::test]
async fn every_page_of_both_listings_is_read() {
    let a = InIam::made("gl-a", "prod", "a");
    let b = InIam::made("gl-b", "prod", "b");
    let (first, _) = details_page(None, std::slice::from_ref(&a), Some("m-1"));
    let (second, asked_second) = details_page(Some("m-1"), std::slice::from_ref(&b), None);
    let (roles_1, _) = roles_page(None, std::slice::from_ref(&a), Some("r-1"));
    let (roles_2, _) = roles_page(Some("r-1"), std::slice::from_ref(&b), None);
    let c = mock_any(&[&first, &second, &roles_1, &roles_2]);

    let live = observe(
        &c,
        vec![recorded_role("a", "gl-a"), recorded_role("b", "gl-b")],
    )
    .await;

    used_once(&[&first, &second, &roles_1, &roles_2]);
    assert_eq!(asked_second.lock().unwrap()[0].filter(), [EntityType::Role]);
    let ids: Vec<&str> = live.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    let b_read = live[1].spec.as_ref().unwrap();
    assert_eq!(
        b_read.description, "S3 replication",
        "from ListRoles' second page"
    );
}

#[tokio::test]
async fn changes_made_outside_are_read_live() {
    let mut changed = InIam::made("gl-changed", "prod", "changed");
    let edited = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    changed.inline = vec![("replicate".into(), edited.clone())];
    changed.attached.clear(); // the managed policy detached
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"
    }]});
    changed.trust = trust.clone();
    let mut described = InIam::made("gl-described", "prod", "described");
    described.description = "changed by hand".into();
    let in_iam = [changed, described];
    let (details, _) = details_page(None, &in_iam, None);
    let (roles, _) = roles_page(None, &in_iam, None);
    let c = mock_any(&[&details, &roles]);
    let recorded = vec![
        recorded_role("changed", "gl-changed"),
        recorded_role("described", "gl-described"),
    ];

    let live = observe(&c, recorded.clone()).await;

    used_once(&[&details, &roles]);
    let read = live[0].spec.as_ref().unwrap();
    assert_eq!(
        differing(read, &recorded[0].spec),
        [
            "assume_role_policy",
            "inline_policies",
            "managed_policy_arns"
        ]
    );
    assert_eq!(read.inline_policies["replicate"], edited);
    assert!(read.managed_policy_arns.is_empty());
    assert_eq!(read.assume_role_policy, trust);
    let read = live[1].spec.as_ref().unwrap();
    assert_eq!(differing(read, &recorded[1].spec), ["description"]);
    assert_eq!(read.description, "changed by hand");
}

#[tokio::test]
async fn deleted_roles_are_absent_unknown_ones_of_the_stack_found_others_ignored() {
    let stray = InIam::made("gl-stray", "prod", "stray");
    // Recorded here, now tagged as another stack's: not ours.
    let taken = InIam::made("gl-taken", "staging", "taken");
    // Another stack's role, and an untagged one: not ours either.
    let foreign = InIam::made("gl-foreign", "staging", "kept");
    let mut untagged = InIam::made("gl-untagged", "x", "x");
    untagged.tags.clear();
    // Recorded, its tags removed by hand: still ours (its tags show the drift).
    let mut stripped = InIam::made("gl-stripped", "x", "x");
    stripped.tags.clear();
    let in_iam = [stray, taken, foreign, untagged, stripped];
    let (details, _) = details_page(None, &in_iam, None);
    let (roles, _) = roles_page(None, &in_iam, None);
    let c = mock_any(&[&details, &roles]);
    let recorded = vec![
        recorded_role("deleted", "gl-deleted"),
        recorded_role("taken", "gl-taken"),
        recorded_role("stripped", "gl-stripped"),
    ];

    let live = observe(&c, recorded).await;

    used_once(&[&details, &roles]);
    let ids: Vec<&str> = live.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["stray", "stripped"]);
    let stray = &live[0];
    assert_eq!(stray.outputs.name, "gl-stray");
    assert_eq!(stray.tags, owner_tags_of("stray"));
    let read = stray.spec.as_ref().unwrap();
    assert_eq!(
        read.assume_role_policy,
        rewritten_trust(),
        "nothing recorded: as read"
    );
    assert_eq!(read.inline_policies, spec().inline_policies);
    assert_eq!(read.description, "S3 replication");
    assert!(live[1].tags.is_empty());
}

#[tokio::test]
async fn a_role_found_by_its_tags_under_a_recorded_id_that_is_gone_replaces_it() {
    // The recorded role was deleted and another made with its tags: that one is live.
    let again = InIam::made("gl-again", "prod", "replicator");
    let in_iam = [again];
    let (details, _) = details_page(None, &in_iam, None);
    let (roles, _) = roles_page(None, &in_iam, None);
    let c = mock_any(&[&details, &roles]);

    let live = observe(&c, vec![recorded_role("replicator", "gl-first")]).await;

    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, "replicator");
    assert_eq!(live[0].outputs.name, "gl-again");
    assert_eq!(live[0].spec.as_ref().unwrap().name, "gl-again");
}

#[tokio::test]
async fn a_listing_that_fails_fails_the_read() {
    let details = mock!(Client::get_account_authorization_details)
        .then_error(|| GetAccountAuthorizationDetailsError::generic(meta("AccessDenied")));
    let (roles, _) = roles_page(None, &[], None);
    let c = mock_any(&[&details, &roles]);
    let err = IamRoleDriver
        .observe(
            &c,
            &scope("prod", "us-east-1", vec![recorded_role("a", "gl-a")]),
        )
        .await
        .err()
        .expect("a failed listing concludes nothing");
    assert!(
        err.message.contains("GetAccountAuthorizationDetails"),
        "{err}"
    );
    assert_ne!(err.class, ErrorClass::NotFound);
}
