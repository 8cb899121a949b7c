//! Lifecycle options and the protected-resource refusal, without a cloud.

use glinfra_core::plan::{plan, plan_destroy, plan_replacing, restrict};
use glinfra_core::safety::refusals;
use glinfra_core::spec::ec2::*;
use glinfra_core::spec::rds::*;
use glinfra_core::{Action, Reason, ResourceGraph, ResourceOptions, Stack};
use std::collections::BTreeSet;

mod common;
use common::{applied, graph};

/// VPC → two subnets → DB subnet group → a protected database.
fn data_stack(cidr: &str) -> Stack {
    data_stack_with(cidr, "db", false, true)
}

fn data_stack_with(cidr: &str, description: &str, public0: bool, with_db: bool) -> Stack {
    let mut stack = Stack::new("safe", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new(cidr));
    let net: ipnet::Ipv4Net = cidr.parse().unwrap();
    let subnets: Vec<_> = net
        .subnets(24)
        .unwrap()
        .take(2)
        .enumerate()
        .map(|(i, s)| {
            let mut spec =
                SubnetSpec::new(vpc.id(), s.to_string(), ["us-east-1a", "us-east-1b"][i]);
            spec.map_public_ip_on_launch = public0 && i == 0;
            stack.add(format!("subnet-data-{i}"), spec)
        })
        .collect();
    let group = stack.add(
        "db-subnet-group",
        DbSubnetGroupSpec {
            vpc_id: Some(vpc.id()),
            name: "safe-db".into(),
            description: description.into(),
            subnet_ids: subnets.iter().map(|s| s.id()).collect(),
        },
    );
    let mut db: DbInstanceSpec = serde_json::from_value(serde_json::json!({
        "identifier": "safe-db", "engine": "postgres", "engine_version": "15.12",
        "instance_class": "db.r6g.large", "allocated_storage": 100, "storage_type": "gp3",
        "storage_encrypted": true, "multi_az": true, "backup_retention_days": 7,
        "maintenance_window": "sun:05:00-sun:06:00", "deletion_protection": true,
        "vpc_security_group_ids": [], "manage_master_user_password": true,
        "master_username": "glinfra"
    }))
    .unwrap();
    db.db_subnet_group_name = Some(group.name());
    if with_db {
        stack.add_with("db-primary", db, ResourceOptions::protected());
    }
    stack
}

#[test]
fn a_vpc_change_that_reaches_a_protected_database_is_refused_naming_the_chain() {
    let state = applied(&data_stack("10.0.0.0/16"));
    let p = plan(&graph(&data_stack("10.9.0.0/16")), &state);
    assert_eq!(p.step("db-primary").unwrap().action, Action::Replace);
    let refused = refusals(&p);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        refused[0].to_string(),
        "`vpc` replace → `subnet-data-0` replace → `db-subnet-group` replace → `db-primary` replace: `db-primary` is protected"
    );
}

#[test]
fn removing_a_protected_resource_from_the_program_is_refused_too() {
    let state = applied(&data_stack("10.0.0.0/16"));
    let smaller = data_stack_with("10.0.0.0/16", "db", false, false);
    let p = plan(&graph(&smaller), &state);
    let refused = refusals(&p);
    assert!(refused
        .iter()
        .any(|r| r.resource == "db-primary" && r.action == Action::Delete));
    // And a destroy.
    let d = plan_destroy(&state);
    assert_eq!(refusals(&d).len(), 1);
    assert_eq!(
        refusals(&d)[0].to_string(),
        "`db-primary` delete: `db-primary` is protected"
    );
}

#[test]
fn unprotected_the_same_plan_passes() {
    let state = applied(&data_stack("10.0.0.0/16"));
    let mut moved = data_stack("10.9.0.0/16");
    moved.lifecycle_mut("db-primary").unwrap().protect = false;
    assert!(refusals(&plan(&graph(&moved), &state)).is_empty());
}

#[test]
fn ignored_fields_are_not_changed_and_replace_on_changes_replaces() {
    let state = applied(&data_stack("10.0.0.0/16"));
    let mut g = data_stack_with("10.0.0.0/16", "changed", true, true);
    g.lifecycle_mut("db-subnet-group").unwrap().ignore_changes = vec!["description".into()];
    g.lifecycle_mut("subnet-data-0").unwrap().replace_on_changes =
        vec!["map_public_ip_on_launch".into()];
    let p = plan(&graph(&g), &state);
    // The group follows the replaced subnet, but its description change is ignored.
    let group = p.step("db-subnet-group").unwrap();
    assert_eq!(group.changed_fields(), vec!["subnet_ids"]);
    let s = p.step("subnet-data-0").unwrap();
    assert_eq!(s.action, Action::Replace);
    assert!(s.changes[0].forces_replacement);
}

#[test]
fn a_retained_resource_is_forgotten_not_deleted() {
    let mut stack = Stack::new("safe", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    stack.add(
        "subnet",
        SubnetSpec::new(vpc.id(), "10.0.0.0/24", "us-east-1a"),
    );
    stack.lifecycle_mut("subnet").unwrap().retain_on_delete = true;
    let state = applied(&stack);
    let p = plan_destroy(&state);
    assert!(p.step("subnet").unwrap().retain);
    assert!(!p.step("vpc").unwrap().retain);
}

#[test]
fn lifecycle_fields_are_checked_against_the_kind() {
    let mut stack = data_stack("10.0.0.0/16");
    stack.lifecycle_mut("vpc").unwrap().ignore_changes = vec!["cidr".into()];
    stack.lifecycle_mut("vpc").unwrap().timeouts.create = Some(0);
    let err = ResourceGraph::build(&stack).unwrap_err().to_string();
    assert!(err.contains("lifecycle.ignore_changes"), "{err}");
    assert!(
        err.contains("`cidr` is not a field of aws:ec2/vpc (fields: cidr_block"),
        "{err}"
    );
    assert!(err.contains("lifecycle.timeouts.create"), "{err}");
}

#[test]
fn replace_on_request_and_targets() {
    let stack = data_stack("10.0.0.0/16");
    let state = applied(&stack);
    let p = plan_replacing(
        &graph(&stack),
        &state,
        &BTreeSet::from(["subnet-data-1".to_string()]),
    );
    let s = p.step("subnet-data-1").unwrap();
    assert_eq!(
        (s.action, s.reason),
        (Action::Replace, Some(Reason::ReplaceRequested))
    );
    // The group names the new subnet (known after apply): it is updated.
    assert_eq!(p.step("db-subnet-group").unwrap().action, Action::Update);

    let moved = data_stack("10.9.0.0/16");
    let mut p = plan(&graph(&moved), &state);
    restrict(
        &mut p,
        &graph(&moved),
        &state,
        &["subnet-data-0".into()],
        &[],
    )
    .unwrap();
    let ids: Vec<&str> = p.steps.iter().map(|s| s.resource.as_str()).collect();
    assert_eq!(
        ids,
        vec!["vpc", "subnet-data-0"],
        "the target and what it depends on"
    );

    let mut p = plan(&graph(&moved), &state);
    restrict(
        &mut p,
        &graph(&moved),
        &state,
        &[],
        &["subnet-data-1".into()],
    )
    .unwrap();
    let ids: BTreeSet<&str> = p.steps.iter().map(|s| s.resource.as_str()).collect();
    assert!(
        !ids.contains("subnet-data-1")
            && !ids.contains("db-subnet-group")
            && !ids.contains("db-primary"),
        "{ids:?}"
    );
    assert!(ids.contains("vpc"));
    let err = restrict(&mut p, &graph(&moved), &state, &["nope".into()], &[]).unwrap_err();
    assert!(err.to_string().contains("`nope`"));
}
