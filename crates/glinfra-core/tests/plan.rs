//! Pure-core tests: validation, planning, ordering and rendering. No IO, no AWS.

use expect_test::{expect, Expect};
use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::spec::ec2::*;
use glinfra_core::spec::s3::{BucketSpec, LifecycleRule, Transition, TransitionStorageClass};
use glinfra_core::state::State;
use glinfra_core::{
    render, Action, OpPhase, Plan, ResourceGraph, ResourceOptions, Schedule, Stack,
};
use proptest::prelude::*;

mod common;
use common::{applied, graph, simulate_apply};
use serde_json::Value;
use std::collections::BTreeMap;

/// A small network: VPC, subnets, gateway, route table, route, associations, a bucket.
fn network(vpc_cidr: &str, subnet_cidrs: &[&str], public: bool, expiry: i32) -> Stack {
    network_with(vpc_cidr, subnet_cidrs, public, expiry, false)
}

/// [`network`], optionally with a `team` tag on every resource and no bucket.
fn network_with(
    vpc_cidr: &str,
    subnet_cidrs: &[&str],
    public: bool,
    expiry: i32,
    team: bool,
) -> Stack {
    let mut stack = Stack::new("test", "us-east-1");
    stack.tag("environment", "test");
    if team {
        stack.tag("team", "x");
    }
    let vpc = stack.add("vpc", VpcSpec::new(vpc_cidr));
    let igw = stack.add("igw", InternetGatewaySpec { vpc_id: vpc.id() });
    let rt = stack.add("rt", RouteTableSpec { vpc_id: vpc.id() });
    stack.add(
        "route",
        RouteSpec::to_gateway(rt.id(), "0.0.0.0/0", igw.id()),
    );
    for (i, cidr) in subnet_cidrs.iter().enumerate() {
        let zone = format!("us-east-1{}", ['a', 'b', 'c'][i % 3]);
        let mut spec = SubnetSpec::new(vpc.id(), *cidr, zone);
        spec.map_public_ip_on_launch = public;
        let subnet = stack.add(format!("subnet-{i}"), spec);
        stack.add(
            format!("rta-{i}"),
            RouteTableAssociationSpec {
                route_table_id: rt.id(),
                subnet_id: subnet.id(),
            },
        );
    }
    let mut bucket = BucketSpec::new("test-bucket");
    bucket.versioning = true;
    bucket.lifecycle_rules = vec![LifecycleRule {
        id: "expire".into(),
        prefix: String::new(),
        transitions: vec![Transition {
            days: 30,
            storage_class: TransitionStorageClass::StandardIa,
        }],
        expiration_days: Some(expiry),
        noncurrent_version_expiration_days: None,
    }];
    if !team {
        stack.add("bucket", bucket);
    }
    stack
}

fn actions(p: &Plan) -> String {
    p.steps
        .iter()
        .map(|s| format!("{} {}", s.symbol(), s.resource))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_errors(stack: &Stack, expect: Expect) {
    let err = ResourceGraph::build(stack).expect_err("invalid stack");
    expect.assert_eq(&err.to_string());
}

#[test]
fn first_plan_creates_everything_in_dependency_order() {
    let stack = network("10.0.0.0/16", &["10.0.0.0/20"], false, 365);
    let p = plan(&graph(&stack), &State::empty("test"));
    expect![[r#"
        + vpc
        + igw
        + rt
        + route
        + subnet-0
        + rta-0
        + bucket"#]]
    .assert_eq(&actions(&p));
    assert_eq!(p.summary.create, 7);
}

#[test]
fn text_rendering_shows_fields_and_unknowns() {
    let mut stack = Stack::new("test", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    stack.add(
        "subnet",
        SubnetSpec::new(vpc.id(), "10.0.0.0/20", "us-east-1a"),
    );
    let p = plan(&graph(&stack), &State::empty("test"));
    expect![[r#"
        Plan for stack `test` (state serial 0, 0 resources unchanged):

          +   aws:ec2/vpc `vpc` (us-east-1)
                cidr_block = "10.0.0.0/16"
                enable_dns_support = true
                enable_dns_hostnames = true
          +   aws:ec2/subnet `subnet` (us-east-1)
                vpc_id = (known after apply)
                cidr_block = "10.0.0.0/20"
                availability_zone = "us-east-1a"
                map_public_ip_on_launch = false

        Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy.
    "#]]
    .assert_eq(&render::text(&p));
}

#[test]
fn replan_after_apply_is_empty() {
    let stack = network("10.0.0.0/16", &["10.0.0.0/20", "10.0.16.0/20"], false, 365);
    let state = applied(&stack);
    let again = plan(&graph(&stack), &state);
    assert!(again.is_empty(), "{}", render::text(&again));
    assert_eq!(again.summary.unchanged, 9);
    assert!(render::text(&again).starts_with("No changes."));
}

#[test]
fn lifecycle_rule_and_subnet_attribute_change_in_place() {
    let state = applied(&network("10.0.0.0/16", &["10.0.0.0/20"], false, 365));
    let changed = network("10.0.0.0/16", &["10.0.0.0/20"], true, 400);
    let p = plan(&graph(&changed), &state);
    expect![[r#"
        ~ subnet-0
        ~ bucket"#]]
    .assert_eq(&actions(&p));
    // The reviewer's text: the stack-wide tags once, a nested value diffed line
    // by line, and the closing summary.
    expect![[r#"
        Plan for stack `test` (state serial 7, 5 resources unchanged):
        Tags on every resource: environment = "test"

          ~   aws:ec2/subnet `subnet-0` (us-east-1)
                map_public_ip_on_launch: false -> true
          ~   aws:s3/bucket `bucket` (us-east-1)
                lifecycle_rules:
                    [
                      {
                        "id": "expire",
                        "prefix": "",
                        "transitions": [
                          {
                            "days": 30,
                            "storage_class": "STANDARD_IA"
                          }
                        ],
                  -     "expiration_days": 365
                  +     "expiration_days": 400
                      }
                    ]

        Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy.
    "#]]
    .assert_eq(&render::text(&p));
    // On a terminal, the symbols and the changed lines are coloured.
    let coloured = render::text_styled(&p, render::Style { color: true });
    assert!(
        coloured.contains("\x1b[33m~\x1b[0m   aws:ec2/subnet"),
        "{coloured}"
    );
    assert!(coloured.contains("\x1b[31m          -     \"expiration_days\": 365\x1b[0m"));
}

#[test]
fn subnet_cidr_change_replaces_the_subnet_and_its_association() {
    let state = applied(&network("10.0.0.0/16", &["10.0.0.0/20"], false, 365));
    let changed = network("10.0.0.0/16", &["10.0.32.0/20"], false, 365);
    let p = plan(&graph(&changed), &state);
    expect![[r#"
        -/+ subnet-0
        -/+ rta-0"#]]
    .assert_eq(&actions(&p));
    let text = render::text(&p);
    assert!(
        text.contains(r#"cidr_block: "10.0.0.0/20" -> "10.0.32.0/20"   # forces replacement"#),
        "{text}"
    );
    assert!(
        text.contains("subnet_id: \"subnet-0-id-5\" -> (known after apply)   # forces replacement"),
        "{text}"
    );
}

#[test]
fn vpc_cidr_change_replaces_everything_inside_it_creating_first_where_aws_allows() {
    let state = applied(&network("10.0.0.0/16", &["10.0.0.0/20"], false, 365));
    let changed = network("10.1.0.0/16", &["10.1.0.0/20"], false, 365);
    let p = plan(&graph(&changed), &state);
    // Tagged kinds whose unique fields change (a new VPC id) are created first; the
    // route and the association take no tags, so they are deleted first.
    expect![[r#"
        +/- vpc
        +/- igw
        +/- rt
        -/+ route
        +/- subnet-0
        -/+ rta-0"#]]
    .assert_eq(&actions(&p));
    let text = render::text(&p);
    assert!(
        text.contains("# the old one is deleted first: its kind takes no tags"),
        "{text}"
    );
    let s = Schedule::from_plan(&p);
    let op = |id: &str, phase| {
        s.ops
            .iter()
            .position(|o| p.steps[o.step].resource == id && o.phase == phase)
            .unwrap_or_else(|| panic!("no {phase:?} of {id}"))
    };
    // The new VPC comes first, with nothing to wait for; the old one goes last,
    // after every old resource inside it and every new one that replaced them.
    assert!(s.waits_for[op("vpc", OpPhase::ReplaceCreate)].is_empty());
    let old_vpc = op("vpc", OpPhase::DeleteReplaced);
    assert!(s.waits_for[old_vpc].contains(&op("vpc", OpPhase::ReplaceCreate)));
    for inner in ["igw", "rt", "subnet-0"] {
        assert!(
            s.waits_for[old_vpc].contains(&op(inner, OpPhase::DeleteReplaced)),
            "the old vpc must wait for the old {inner}"
        );
        assert!(s.waits_for[op(inner, OpPhase::ReplaceCreate)]
            .contains(&op("vpc", OpPhase::ReplaceCreate)));
    }
    // A delete-first dependent (the association) goes before the old subnet, and its
    // new one waits for the new subnet.
    assert!(s.waits_for[op("subnet-0", OpPhase::DeleteReplaced)]
        .contains(&op("rta-0", OpPhase::ReplaceDelete)));
    assert!(s.waits_for[op("rta-0", OpPhase::ReplaceCreate)]
        .contains(&op("subnet-0", OpPhase::ReplaceCreate)));
    assert!(s.waits_for[op("rta-0", OpPhase::ReplaceCreate)]
        .contains(&op("rta-0", OpPhase::ReplaceDelete)));
}

#[test]
fn delete_before_replace_is_asked_for_and_followed_by_what_depends_on_it() {
    let state = applied(&network("10.0.0.0/16", &["10.0.0.0/20"], false, 365));
    let mut changed = network("10.1.0.0/16", &["10.1.0.0/20"], false, 365);
    changed.lifecycle_mut("vpc").unwrap().delete_before_replace = true;
    let p = plan(&graph(&changed), &state);
    // The old VPC must go first, so everything in it must go before: delete-first too.
    expect![[r#"
        -/+ vpc
        -/+ igw
        -/+ rt
        -/+ route
        -/+ subnet-0
        -/+ rta-0"#]]
    .assert_eq(&actions(&p));
    use glinfra_core::{DeleteFirst, ReplaceOrder};
    assert_eq!(
        p.step("vpc").unwrap().replace_order,
        Some(ReplaceOrder::DeleteFirst(DeleteFirst::Asked))
    );
    assert_eq!(
        p.step("subnet-0").unwrap().replace_order,
        Some(ReplaceOrder::DeleteFirst(DeleteFirst::Follows {
            resource: "vpc".into()
        }))
    );
    let json = render::json(&p);
    assert!(json.contains(r#""order": "delete_first""#), "{json}");
    assert!(json.contains(r#""because": "follows""#), "{json}");
    let s = Schedule::from_plan(&p);
    let op = |id: &str, phase| {
        s.ops
            .iter()
            .position(|o| p.steps[o.step].resource == id && o.phase == phase)
            .unwrap()
    };
    let vpc_delete = op("vpc", OpPhase::ReplaceDelete);
    for inner in ["igw", "rt", "subnet-0"] {
        assert!(s.waits_for[vpc_delete].contains(&op(inner, OpPhase::ReplaceDelete)));
    }
    assert!(s.waits_for[op("vpc", OpPhase::ReplaceCreate)].contains(&vpc_delete));
}

#[test]
fn a_replacement_that_keeps_a_unique_value_deletes_first() {
    use glinfra_core::spec::s3::BucketSpec;
    use glinfra_core::{DeleteFirst, ReplaceOrder};
    // A new block for a subnet in the same VPC: blocks in one VPC cannot overlap.
    let state = applied(&network("10.0.0.0/16", &["10.0.0.0/20"], false, 365));
    let p = plan(
        &graph(&network("10.0.0.0/16", &["10.0.32.0/20"], false, 365)),
        &state,
    );
    assert_eq!(
        p.step("subnet-0").unwrap().replace_order,
        Some(ReplaceOrder::DeleteFirst(DeleteFirst::Unique {
            fields: vec!["vpc_id".into()]
        }))
    );
    assert!(
        render::text(&p)
            .contains("# the old one is deleted first: AWS allows one with the same `vpc_id`"),
        "{}",
        render::text(&p)
    );
    // A bucket renamed: both names can exist at once, so the new one comes first.
    let bucket = |name: &str| {
        let mut stack = Stack::new("test", "us-east-1");
        stack.add("logs", BucketSpec::new(name));
        stack
    };
    let p = plan(
        &graph(&bucket("glinfra-logs-v2")),
        &applied(&bucket("glinfra-logs")),
    );
    assert_eq!(
        p.step("logs").unwrap().replace_order,
        Some(ReplaceOrder::CreateFirst)
    );
    assert!(render::text(&p).contains("+/- aws:s3/bucket `logs`"));
}

#[test]
fn removed_resources_are_deleted_dependents_first() {
    let state = applied(&network(
        "10.0.0.0/16",
        &["10.0.0.0/20", "10.0.16.0/20"],
        false,
        365,
    ));
    let p = plan_destroy(&state);
    let order: Vec<&str> = p.steps.iter().map(|s| s.resource.as_str()).collect();
    let pos = |id| order.iter().position(|x| *x == id).unwrap();
    assert!(p.steps.iter().all(|s| s.action == Action::Delete));
    assert!(pos("rta-0") < pos("subnet-0") && pos("rta-1") < pos("subnet-1"));
    assert!(pos("route") < pos("igw") && pos("route") < pos("rt"));
    for inner in ["subnet-0", "subnet-1", "igw", "rt"] {
        assert!(
            pos(inner) < pos("vpc"),
            "{inner} must go before the vpc: {order:?}"
        );
    }
    // The schedule encodes the same: the VPC's delete waits for the subnets'.
    let s = Schedule::from_plan(&p);
    assert_eq!(
        s.waits_for[pos("vpc")].len(),
        4,
        "{:?}",
        s.waits_for[pos("vpc")]
    );
    // Dropping one subnet from the program deletes it and its association only.
    let smaller = network("10.0.0.0/16", &["10.0.0.0/20"], false, 365);
    expect![[r#"
        - rta-1
        - subnet-1"#]]
    .assert_eq(&actions(&plan(&graph(&smaller), &state)));
}

#[test]
fn interrupted_create_is_planned_as_a_create_that_adopts() {
    let stack = network("10.0.0.0/16", &["10.0.0.0/20"], false, 365);
    let mut state = applied(&stack);
    let vpc = state.resources.get_mut("vpc").unwrap();
    vpc.outputs.clear();
    vpc.pending = Some(glinfra_core::PendingOperation {
        operation: glinfra_core::Mutation::Create,
        run_id: "r1".into(),
        started_at: "t".into(),
        since_serial: Some(3),
    });
    let p = plan(&graph(&stack), &state);
    let step = p.step("vpc").unwrap();
    assert_eq!(step.action, Action::Create);
    assert_eq!(step.reason, Some(glinfra_core::plan::Reason::ResumeCreate));
    assert!(step.reason.unwrap().describe().contains("adopted"));
}

#[test]
fn bad_network_input_reports_every_problem_at_once() {
    let mut stack = Stack::new("test", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    stack.add(
        "bad-cidr",
        SubnetSpec::new(vpc.id(), "10.0.300.0/20", "us-east-1a"),
    );
    stack.add(
        "outside",
        SubnetSpec::new(vpc.id(), "10.1.0.0/20", "us-east-1a"),
    );
    stack.add(
        "first",
        SubnetSpec::new(vpc.id(), "10.0.0.0/20", "us-east-1a"),
    );
    stack.add(
        "overlap",
        SubnetSpec::new(vpc.id(), "10.0.8.0/21", "us-east-1b"),
    );
    stack.add(
        "bad-zone",
        SubnetSpec::new(vpc.id(), "10.0.32.0/20", "us-east-1z"),
    );
    stack.add(
        "first",
        SubnetSpec::new(vpc.id(), "10.0.48.0/20", "us-east-1a"),
    );
    check_errors(
        &stack,
        expect![[r#"
            error: resource `bad-cidr`, field `cidr_block`: `10.0.300.0/20` is not a valid IPv4 CIDR block
            error: resource `bad-zone`, field `availability_zone`: unknown availability zone `us-east-1z` for region us-east-1 (known: us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f)
            error: resource `first`: duplicate resource name `first`: it is declared more than once
            error: resource `outside`, field `cidr_block`: subnet 10.1.0.0/20 is outside its VPC `vpc` (10.0.0.0/16)
            error: resource `overlap`, field `cidr_block`: subnet 10.0.8.0/21 overlaps subnet `first` (10.0.0.0/20) in the same VPC
            5 errors found; nothing was sent to AWS"#]],
    );
}

#[test]
fn cycles_name_every_resource_on_them_and_dangling_references_are_reported() {
    let mut stack = Stack::new("test", "us-east-1");
    let a = stack.add("a", VpcSpec::new("10.0.0.0/16"));
    let b = stack.add("b", RouteTableSpec { vpc_id: a.id() });
    let c = stack.add(
        "c",
        InternetGatewaySpec {
            vpc_id: glinfra_core::Input::output("b", "id"),
        },
    );
    stack.depends_on(&a, &c);
    let _ = b;
    stack.add(
        "d",
        RouteTableSpec {
            vpc_id: glinfra_core::Input::output("nowhere", "id"),
        },
    );
    stack.add(
        "e",
        RouteTableSpec {
            vpc_id: glinfra_core::Input::output("a", "arn2"),
        },
    );
    stack.add_with(
        "f",
        VpcSpec::new("10.9.0.0/16"),
        ResourceOptions {
            depends_on: vec!["ghost".into()],
            ..Default::default()
        },
    );
    check_errors(
        &stack,
        expect![[r#"
            error: resource `a`: dependency cycle between `a`, `b`, `c`
            error: resource `d`: refers to `nowhere.id`, but no resource `nowhere` is declared
            error: resource `e`: refers to output `arn2` of `a`, but a aws:ec2/vpc has only: id, arn
            error: resource `f`, field `depends_on`: depends on `ghost`, but no such resource is declared
            4 errors found; nothing was sent to AWS"#]],
    );
}

#[test]
fn bucket_rules_are_checked() {
    let mut stack = Stack::new("test", "us-east-1");
    let mut b = BucketSpec::new("Bad_Name");
    b.lifecycle_rules = vec![LifecycleRule {
        id: "r".into(),
        prefix: String::new(),
        transitions: vec![
            Transition {
                days: 90,
                storage_class: TransitionStorageClass::Glacier,
            },
            Transition {
                days: 0,
                storage_class: TransitionStorageClass::StandardIa,
            },
        ],
        expiration_days: Some(30),
        noncurrent_version_expiration_days: None,
    }];
    stack.add("bucket", b);
    let err = ResourceGraph::build(&stack).unwrap_err().to_string();
    for needle in [
        "field `bucket`: `Bad_Name` may contain only lowercase",
        "field `lifecycle_rules[0].transitions[1].days`: must be positive, got 0",
        "transitions must be in increasing days",
        "field `lifecycle_rules[0].expiration_days`: expiration (30 days) must come after the last transition (90 days)",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
}

#[test]
fn json_and_dot_renderings() {
    let stack = network("10.0.0.0/16", &["10.0.0.0/20"], false, 365);
    let p = plan(&graph(&stack), &State::empty("test"));
    let json: Value = serde_json::from_str(&render::json(&p)).unwrap();
    assert_eq!(json["schema"], "glinfra.plan/v3");
    assert_eq!(json["steps"][1]["action"], "create");
    assert_eq!(json["steps"][1]["changes"][0]["field"], "vpc_id");
    assert_eq!(json["steps"][1]["changes"][0]["after_unknown"], true);
    let back: Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back, p);
    let dot = render::dot(&p);
    assert!(dot.starts_with("digraph plan {"));
    assert!(dot.contains("op0 -> op1;"), "{dot}"); // vpc before igw
}

#[test]
fn a_create_keeps_its_fields_as_its_declaration_and_resolves_what_already_exists() {
    // Planned from nothing: a create holds no copy of its fields; they are derived
    // from the declaration, references unknown until apply.
    let small = network("10.0.0.0/16", &[], false, 365);
    let first = plan(&graph(&small), &State::empty("test"));
    let igw = first.step("igw").unwrap();
    assert!(igw.changes.is_empty() && igw.resolved.is_none());
    let vpc_id = igw.field_changes().into_owned().remove(0);
    assert_eq!(
        (vpc_id.field.as_str(), vpc_id.after_unknown),
        ("vpc_id", true)
    );

    // The VPC exists: a new subnet in it shows the recorded VPC id, keeps its
    // resolved spec, and reads back from JSON as the same step.
    let state = applied(&small);
    let recorded = state.resources["vpc"].outputs["id"].clone();
    let grown = network("10.0.0.0/16", &["10.0.0.0/20"], false, 365);
    let next = plan(&graph(&grown), &state);
    let subnet = next.step("subnet-0").unwrap();
    assert!(subnet.changes.is_empty() && subnet.resolved.is_some());
    let fields = subnet.field_changes();
    let vpc_id = fields.iter().find(|c| c.field == "vpc_id").unwrap();
    assert_eq!(
        (vpc_id.after.as_ref(), vpc_id.after_unknown),
        (Some(&recorded), false)
    );
    // The association refers to the new subnet too: that part stays unknown.
    let rta = next.step("rta-0").unwrap().field_changes().into_owned();
    let by_field = |f: &str| rta.iter().find(|c| c.field == f).unwrap().clone();
    assert!(by_field("subnet_id").after_unknown);
    assert_eq!(
        by_field("route_table_id").after,
        Some(state.resources["rt"].outputs["id"].clone())
    );
    let back: Plan = serde_json::from_str(&render::json(&next)).unwrap();
    assert!(!back.step("subnet-0").unwrap().changes.is_empty());
    assert_eq!(back, next);
    assert!(render::text(&next).contains(recorded.as_str().unwrap()));
}

fn arb_stack() -> impl Strategy<Value = Stack> {
    (
        prop::sample::select(vec!["10.0.0.0/16", "10.1.0.0/16"]),
        prop::collection::btree_set(0usize..4, 0..4),
        any::<bool>(),
        31i32..400,
        any::<bool>(),
    )
        .prop_map(|(vpc, subnets, public, expiry, team)| {
            let prefix = &vpc[..4];
            let cidrs: Vec<String> = subnets
                .iter()
                .map(|i| format!("{prefix}.{}.0/20", i * 16))
                .collect();
            let refs: Vec<&str> = cidrs.iter().map(String::as_str).collect();
            network_with(vpc, &refs, public, expiry, team)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Planning again after applying a plan yields no steps, from any prior state.
    #[test]
    fn plan_apply_plan_is_empty(before in arb_stack(), after in arb_stack()) {
        let state = applied(&before);
        let p = plan(&graph(&after), &state);
        let state = simulate_apply(&p, state);
        let again = plan(&graph(&after), &state);
        prop_assert!(again.is_empty(), "{}", render::text(&again));
        // And the state holds exactly the declared resources.
        let declared: Vec<&String> = after.declarations().iter().map(|d| &d.id).collect();
        let recorded: Vec<&String> = state.resources.keys().collect();
        let mut declared_sorted = declared.clone();
        declared_sorted.sort();
        prop_assert_eq!(declared_sorted, recorded);
    }

    /// Every operation of every plan waits only for operations that exist, and
    /// never (transitively) for itself.
    #[test]
    fn schedules_are_acyclic(before in arb_stack(), after in arb_stack()) {
        let p = plan(&graph(&after), &applied(&before));
        let s = Schedule::from_plan(&p);
        let mut indegree: Vec<usize> = s.waits_for.iter().map(Vec::len).collect();
        let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (o, w) in s.waits_for.iter().enumerate() {
            for &x in w { prop_assert!(x < s.len()); dependents.entry(x).or_default().push(o); }
        }
        let mut ready: Vec<usize> = (0..s.len()).filter(|&o| indegree[o] == 0).collect();
        let mut done = 0;
        while let Some(o) = ready.pop() {
            done += 1;
            for &d in dependents.get(&o).map(Vec::as_slice).unwrap_or(&[]) {
                indegree[d] -= 1;
                if indegree[d] == 0 { ready.push(d); }
            }
        }
        prop_assert_eq!(done, s.len());
    }
}

#[test]
fn a_stack_name_that_is_not_an_identifier_is_refused_before_anything_else() {
    let mut stack = Stack::new("../../evil", "us-east-1");
    stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    let err = ResourceGraph::build(&stack).unwrap_err().to_string();
    assert!(err.contains("stack name `../../evil`"), "{err}");
    assert!(err.contains("letters, digits and hyphens"), "{err}");
}
