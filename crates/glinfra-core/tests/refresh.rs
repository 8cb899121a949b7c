//! Refresh reconciled with recorded state: drift, and the plan that repairs it.

use glinfra_core::plan::plan;
use glinfra_core::refresh::{annotate, reconcile, Scope};
use glinfra_core::spec::ec2::*;
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::state::{Mutation, PendingOperation, State};
use glinfra_core::{Action, Declared, DriftKind, Fate, Observed, Reason, Stack};
use serde_json::json;
use std::collections::BTreeSet;

mod common;
use common::{applied, graph};

/// A VPC, a subnet in it, and a versioned bucket.
fn stack() -> Stack {
    let mut stack = Stack::new("test", "us-east-1");
    stack.tag("environment", "test");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    stack.add(
        "subnet",
        SubnetSpec::new(vpc.id(), "10.0.0.0/24", "us-east-1a"),
    );
    let mut bucket = BucketSpec::new("test-bucket");
    bucket.versioning = true;
    stack.add("bucket", bucket);
    stack
}

/// What a refresh of `state` reads when nothing changed outside glinfra.
fn as_recorded(state: &State) -> Vec<Observed> {
    state
        .resources
        .iter()
        .map(|(id, r)| Observed {
            id: id.clone(),
            kind: r.kind,
            region: r.region.clone(),
            props: Some(r.props.clone()),
            tags: r.tags.clone(),
            outputs: r.outputs.clone(),
        })
        .collect()
}

fn every_scope(state: &State) -> BTreeSet<Scope> {
    state
        .resources
        .values()
        .map(|r| (r.kind, r.region.clone()))
        .collect()
}

fn declared(stack: &Stack) -> BTreeSet<String> {
    graph(stack).in_order().map(|d| d.id.clone()).collect()
}

fn observed_mut<'a>(seen: &'a mut [Observed], id: &str) -> &'a mut Observed {
    seen.iter_mut().find(|o| o.id == id).unwrap()
}

#[test]
fn nothing_changed_is_no_drift_and_no_new_serial() {
    let stack = stack();
    let state = applied(&stack);
    let r = reconcile(
        &state,
        &declared(&stack),
        &every_scope(&state),
        as_recorded(&state),
    );
    assert!(r.drift.is_empty(), "{:?}", r.drift);
    assert_eq!(r.state, state);
    assert!(plan(&graph(&stack), &r.state).is_empty());
}

#[test]
fn a_changed_field_is_drift_and_the_plan_puts_it_back() {
    let stack = stack();
    let state = applied(&stack);
    let mut seen = as_recorded(&state);
    observed_mut(&mut seen, "bucket").props.as_mut().unwrap()["versioning"] = json!(false);
    let r = reconcile(&state, &declared(&stack), &every_scope(&state), seen);
    assert_eq!(r.drift.len(), 1);
    let DriftKind::Changed { changes } = &r.drift[0].what else {
        panic!("{:?}", r.drift)
    };
    assert_eq!(changes[0].field, "versioning");
    assert_eq!(changes[0].before, Some(json!(true)));
    assert_eq!(changes[0].after, Some(json!(false)));
    assert_eq!(r.state.serial, state.serial + 1);
    let mut p = plan(&graph(&stack), &r.state);
    annotate(&mut p, &r.drift);
    let step = p.step("bucket").unwrap();
    assert_eq!(step.action, Action::Update);
    assert_eq!(step.changed_fields(), vec!["versioning".to_string()]);
    assert_eq!(step.reason, Some(Reason::ChangedOutside));
    assert_eq!(p.drift, r.drift);
}

#[test]
fn a_changed_replace_field_plans_a_replacement() {
    let stack = stack();
    let state = applied(&stack);
    let mut seen = as_recorded(&state);
    observed_mut(&mut seen, "subnet").props.as_mut().unwrap()["availability_zone"] =
        json!("us-east-1b");
    let r = reconcile(&state, &declared(&stack), &every_scope(&state), seen);
    let DriftKind::Changed { changes } = &r.drift[0].what else {
        panic!()
    };
    assert!(changes[0].forces_replacement);
    let p = plan(&graph(&stack), &r.state);
    assert_eq!(p.step("subnet").unwrap().action, Action::Replace);
}

#[test]
fn fields_the_program_left_to_aws_and_aws_tags_are_not_drift() {
    let stack = stack();
    let state = applied(&stack);
    // The program left `encryption` unset: AWS's default encryption is not drift.
    assert!(state.resources["bucket"].props.get("encryption").is_none());
    let mut seen = as_recorded(&state);
    let b = observed_mut(&mut seen, "bucket");
    b.props.as_mut().unwrap()["encryption"] =
        json!({"kms_key_arn": "arn:aws:kms:us-east-1:1:key/default"});
    b.tags
        .insert("aws:cloudformation:stack-name".into(), "x".into());
    let r = reconcile(&state, &declared(&stack), &every_scope(&state), seen);
    assert!(r.drift.is_empty(), "{:?}", r.drift);
}

#[test]
fn a_removed_tag_is_drift() {
    let stack = stack();
    let state = applied(&stack);
    let mut seen = as_recorded(&state);
    observed_mut(&mut seen, "vpc").tags.remove("environment");
    let r = reconcile(&state, &declared(&stack), &every_scope(&state), seen);
    let DriftKind::Changed { changes } = &r.drift[0].what else {
        panic!()
    };
    assert_eq!(changes[0].field, "tags");
    let p = plan(&graph(&stack), &r.state);
    assert_eq!(p.step("vpc").unwrap().action, Action::Update);
}

#[test]
fn a_deleted_resource_is_created_again_and_its_dependents_follow() {
    let stack = stack();
    let state = applied(&stack);
    let seen: Vec<Observed> = as_recorded(&state)
        .into_iter()
        .filter(|o| o.id != "vpc")
        .collect();
    let r = reconcile(&state, &declared(&stack), &every_scope(&state), seen);
    assert_eq!(r.drift.len(), 1);
    assert_eq!(r.drift[0].what, DriftKind::Deleted);
    assert!(!r.state.resources.contains_key("vpc"));
    let mut p = plan(&graph(&stack), &r.state);
    annotate(&mut p, &r.drift);
    let vpc = p.step("vpc").unwrap();
    assert_eq!(vpc.action, Action::Create);
    assert_eq!(vpc.reason, Some(Reason::DeletedOutside));
    // The subnet's VPC is a new one: a subnet cannot move, so it is replaced.
    assert_eq!(p.step("subnet").unwrap().action, Action::Replace);
}

#[test]
fn a_scope_not_read_leaves_its_resources_as_recorded() {
    let stack = stack();
    let state = applied(&stack);
    let mut scopes = every_scope(&state);
    scopes.remove(&(<BucketSpec as Declared>::KIND, "us-east-1".to_string()));
    let seen = as_recorded(&state)
        .into_iter()
        .filter(|o| o.id != "bucket")
        .collect();
    let r = reconcile(&state, &declared(&stack), &scopes, seen);
    assert!(r.drift.is_empty());
    assert_eq!(r.unread, vec!["bucket".to_string()]);
    assert_eq!(r.state, state);
}

#[test]
fn a_resource_with_a_pending_operation_is_left_to_the_plan_that_resumes_it() {
    let stack = stack();
    let mut state = applied(&stack);
    state.resources.get_mut("vpc").unwrap().pending = Some(PendingOperation {
        operation: Mutation::Update,
        run_id: "r".into(),
        started_at: "t".into(),
        since_serial: None,
    });
    let seen = as_recorded(&state)
        .into_iter()
        .filter(|o| o.id != "vpc")
        .collect();
    let r = reconcile(&state, &declared(&stack), &every_scope(&state), seen);
    assert!(r.drift.is_empty());
    assert_eq!(r.unread, vec!["vpc".to_string()]);
}

#[test]
fn unmanaged_resources_are_adopted_when_declared_and_deleted_when_not() {
    let stack = stack();
    let state = applied(&stack);
    let mut seen = as_recorded(&state);
    // State lost the subnet; AWS still has it, tagged.
    let mut lost = state.clone();
    lost.resources.remove("subnet");
    // An old security group of this stack that the program no longer declares.
    seen.push(Observed {
        id: "old-sg".into(),
        kind: <SecurityGroupSpec as Declared>::KIND,
        region: "us-east-1".into(),
        props: Some(json!({"vpc_id": "vpc-1", "name": "old", "description": "old", "ingress": [], "egress": []})),
        tags: Default::default(),
        outputs: [("id".to_string(), json!("sg-1"))].into_iter().collect(),
    });
    // One that cannot be read whole.
    seen.push(Observed {
        id: "odd".into(),
        kind: <SecurityGroupSpec as Declared>::KIND,
        region: "us-east-1".into(),
        props: None,
        tags: Default::default(),
        outputs: [("id".to_string(), json!("sg-2"))].into_iter().collect(),
    });
    let r = reconcile(&lost, &declared(&stack), &every_scope(&state), seen);
    let fates: Vec<(String, Fate)> = r
        .drift
        .iter()
        .map(|d| match &d.what {
            DriftKind::Unmanaged { fate, .. } => (d.resource.clone(), *fate),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        fates,
        vec![
            ("odd".to_string(), Fate::LeftAlone),
            ("old-sg".to_string(), Fate::Delete),
            ("subnet".to_string(), Fate::Adopt),
        ]
    );
    let mut p = plan(&graph(&stack), &r.state);
    annotate(&mut p, &r.drift);
    assert_eq!(p.step("subnet").unwrap().action, Action::Create);
    assert_eq!(p.step("subnet").unwrap().reason, Some(Reason::Unmanaged));
    assert_eq!(p.step("old-sg").unwrap().action, Action::Delete);
    assert_eq!(
        p.step("old-sg").unwrap().reason,
        Some(Reason::UnmanagedUndeclared)
    );
    assert!(p.step("odd").is_none());
    // The text plan shows the drift before the steps.
    let text = glinfra_core::render::text(&p);
    assert!(text.starts_with("Changed outside glinfra"), "{text}");
    assert!(text.contains("left alone"), "{text}");
}

#[test]
fn plan_json_v1_reads_as_v2_without_drift() {
    let stack = stack();
    let p = plan(&graph(&stack), &State::empty("test"));
    let mut v = serde_json::to_value(&p).unwrap();
    v.as_object_mut().unwrap().remove("drift");
    v["schema"] = json!("glinfra.plan/v1");
    let back: glinfra_core::Plan = serde_json::from_value(v).unwrap();
    assert!(back.drift.is_empty());
}

#[test]
fn a_global_resource_seen_from_two_regions_is_the_recorded_one() {
    let stack = stack();
    let state = applied(&stack);
    let mut seen = as_recorded(&state);
    let mut elsewhere = seen.iter().find(|o| o.id == "bucket").unwrap().clone();
    elsewhere.region = "eu-west-1".into();
    seen.insert(0, elsewhere);
    let mut scopes = every_scope(&state);
    scopes.insert((<BucketSpec as Declared>::KIND, "eu-west-1".to_string()));
    let r = reconcile(&state, &declared(&stack), &scopes, seen);
    assert!(r.drift.is_empty(), "{:?}", r.drift);
}

/// State after a create-first replacement of the VPC was interrupted between its
/// create and the old VPC's delete: the new VPC recorded, the old one superseded.
fn interrupted_replacement(stack: &Stack) -> State {
    let mut state = applied(stack);
    let mut old = state.resources["vpc"].clone();
    old.outputs.insert("id".into(), json!("vpc-old"));
    old.outputs.insert("arn".into(), json!("arn:vpc-old"));
    old.lifecycle.protect = true;
    state.superseded.insert("vpc".into(), vec![old]);
    state
}

#[test]
fn an_old_resource_left_by_an_interrupted_replacement_is_deleted_next() {
    let stack = stack();
    let state = interrupted_replacement(&stack);
    let p = plan(&graph(&stack), &state);
    assert_eq!(p.steps.len(), 1, "{}", glinfra_core::render::text(&p));
    let step = &p.steps[0];
    assert_eq!(
        (step.action, step.reason),
        (Action::Delete, Some(Reason::Superseded))
    );
    assert_eq!(step.prior.as_ref().unwrap().outputs["id"], json!("vpc-old"));
    // The old resource is not what `protect` guards: its replacement was allowed.
    assert!(glinfra_core::safety::refusals(&p).is_empty());
    let s = glinfra_core::Schedule::from_plan(&p);
    assert_eq!(s.ops[0].phase, glinfra_core::OpPhase::DeleteReplaced);
    // A destroy deletes it too.
    let d = glinfra_core::plan::plan_destroy(&state);
    assert_eq!(
        d.steps.iter().filter(|s| s.is_superseded_delete()).count(),
        1
    );
}

#[test]
fn a_refresh_keeps_an_old_resource_that_is_live_and_drops_one_that_is_gone() {
    let stack = stack();
    let state = interrupted_replacement(&stack);
    let mut seen = as_recorded(&state);
    // Both VPCs carry the logical id `vpc`: the old one is told apart by its id.
    let mut old = observed_mut(&mut seen, "vpc").clone();
    old.outputs = state.superseded["vpc"][0].outputs.clone();
    seen.push(old);
    let r = reconcile(
        &state,
        &declared(&stack),
        &every_scope(&state),
        seen.clone(),
    );
    assert!(r.drift.is_empty(), "{:?}", r.drift);
    assert_eq!(r.state.superseded, state.superseded);
    assert_eq!(r.state.resources["vpc"], state.resources["vpc"]);
    // Deleted meanwhile (by hand): nothing left to delete, and no drift either.
    seen.pop();
    let r = reconcile(&state, &declared(&stack), &every_scope(&state), seen);
    assert!(r.drift.is_empty(), "{:?}", r.drift);
    assert!(r.state.superseded.is_empty());
    assert!(r.state.serial > state.serial);
}

#[test]
fn drift_of_a_nested_value_is_diffed_line_by_line() {
    let policy = |effect: &str| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": effect, "Action": "s3:*", "Principal": "*",
             "Resource": "arn:aws:s3:::test-bucket/*"}
        ]})
    };
    let drift = [glinfra_core::refresh::Drift {
        resource: "bucket".into(),
        kind: <BucketSpec as Declared>::KIND,
        region: "us-east-1".into(),
        what: DriftKind::Changed {
            changes: vec![glinfra_core::plan::FieldChange {
                field: "policy".into(),
                before: Some(policy("Deny")),
                after: Some(policy("Allow")),
                after_unknown: false,
                forces_replacement: false,
                refused: None,
            }],
        },
    }];
    let text = glinfra_core::render::drift_text(&drift);
    expect_test::expect![[r#"
        Changed outside glinfra since the last run:

          aws:s3/bucket `bucket` (us-east-1): changed
                policy: recorded → live
                    {
                      "Version": "2012-10-17",
                      "Statement": [
                        {
                  -       "Effect": "Deny",
                  +       "Effect": "Allow",
                          "Action": "s3:*",
                          "Principal": "*",
                          "Resource": "arn:aws:s3:::test-bucket/*"
                        }
                      ]
                    }

    "#]]
    .assert_eq(&text);
}
