//! Changes AWS makes in place are planned as updates, changes it cannot make at all
//! are refused in the plan (naming the file, resource and field), and only the rest
//! replaces: each kind's value-dependent rules, declared with its fields.

use glinfra_core::plan::plan;
use glinfra_core::safety::{message, refusals};
use glinfra_core::spec::ec2::*;
use glinfra_core::spec::eks::*;
use glinfra_core::spec::elasticache::*;
use glinfra_core::spec::msk::*;
use glinfra_core::spec::rds::*;
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::{
    Action, ChangeRule, Declared, Input, Kind, Plan, ResourceSpec, Stack, UpdateBehavior,
};
use std::collections::BTreeMap;

mod common;
use common::{applied, graph};

const ORIGIN: &str = "environments/prod-us-east-1.toml";

fn stack() -> Stack {
    let mut stack = Stack::new("inplace", "us-east-1");
    stack.set_origin(Some(ORIGIN.into()));
    stack
}

/// The plan that takes `before` (applied) to `after`, both built by `build`.
fn replan(build: impl Fn(&mut Stack, bool)) -> Plan {
    let mut before = stack();
    build(&mut before, false);
    let state = applied(&before);
    let mut after = stack();
    build(&mut after, true);
    plan(&graph(&after), &state)
}

/// The plan of one resource `r` changed by `edit`.
fn change<S: ResourceSpec>(base: S, edit: impl Fn(&mut S)) -> Plan {
    replan(|stack, changed| {
        let mut spec = base.clone();
        if changed {
            edit(&mut spec);
        }
        stack.add("r", spec);
    })
}

fn action(p: &Plan, id: &str) -> Option<Action> {
    p.step(id).map(|s| s.action)
}

fn primary(identifier: &str) -> DbInstanceSpec {
    common::postgres_primary(identifier, Input::from("inplace-db"))
}

fn replica_of(source: Input<String>) -> DbInstanceSpec {
    DbInstanceSpec {
        master_username: None,
        backup_retention_days: 0,
        replicate_from: Some(source),
        ..primary("inplace-db-replica")
    }
}

#[test]
fn a_replica_promoted_is_updated_in_place() {
    let p = replan(|stack, promoted| {
        let db = stack.add("db", primary("inplace-db"));
        let mut replica = replica_of(db.arn());
        if promoted {
            replica.replicate_from = None;
            replica.master_username = Some("greenlang".into());
            replica.backup_retention_days = 7;
        }
        stack.add("replica", replica);
    });
    assert_eq!(action(&p, "replica"), Some(Action::Update), "{p:#?}");
    assert_eq!(action(&p, "db"), None);
    let fields: Vec<String> = p.step("replica").unwrap().changed_fields();
    assert_eq!(
        fields,
        ["backup_retention_days", "master_username", "replicate_from"]
    );
    assert!(refusals(&p).is_empty());
}

#[test]
fn a_primary_made_a_replica_is_refused_naming_file_resource_and_field() {
    let p = replan(|stack, demoted| {
        let db = stack.add("db", primary("inplace-db"));
        let mut other = primary("inplace-db-2");
        if demoted {
            other = DbInstanceSpec {
                master_username: Some("greenlang".into()),
                ..replica_of(db.arn())
            };
            other.identifier = "inplace-db-2".into();
        }
        stack.add("db-2", other);
    });
    assert_ne!(action(&p, "db-2"), Some(Action::Replace));
    let refused = refusals(&p);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let text = refused[0].to_string();
    assert!(
        text.starts_with(&format!(
            "{ORIGIN}: `db-2` field `replicate_from`: a primary cannot become a read replica"
        )),
        "{text}"
    );
    assert!(message(&refused).contains("changes AWS cannot make"));
}

#[test]
fn a_replica_given_another_source_is_replaced() {
    let p = replan(|stack, moved| {
        let a = stack.add("db", primary("inplace-db"));
        let b = stack.add("db-b", primary("inplace-db-b"));
        stack.add("replica", replica_of(if moved { b.arn() } else { a.arn() }));
    });
    assert_eq!(action(&p, "replica"), Some(Action::Replace));
}

fn eks() -> EksClusterSpec {
    EksClusterSpec {
        name: "inplace".into(),
        version: "1.29".into(),
        role_arn: Input::from("arn:aws:iam::111122223333:role/eks"),
        subnet_ids: vec![Input::from("subnet-a"), Input::from("subnet-b")],
        security_group_ids: Vec::new(),
        endpoint_private_access: true,
        endpoint_public_access: false,
        enabled_log_types: Vec::new(),
        secrets_kms_key_arn: None,
    }
}

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/a";
const OTHER_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/b";

#[test]
fn eks_networking_and_added_secrets_encryption_change_in_place() {
    let update = |edit: fn(&mut EksClusterSpec)| action(&change(eks(), edit), "r");
    assert_eq!(
        update(|s| s.subnet_ids.push(Input::from("subnet-c"))),
        Some(Action::Update)
    );
    // All of them changed: perhaps another VPC, which EKS cannot move a cluster to.
    assert_eq!(
        update(|s| s.subnet_ids = vec![Input::from("subnet-x"), Input::from("subnet-y")]),
        Some(Action::Replace)
    );
    assert_eq!(
        update(|s| s.security_group_ids = vec![Input::from("sg-1")]),
        Some(Action::Update)
    );
    assert_eq!(
        update(|s| s.secrets_kms_key_arn = Some(Input::from(KEY))),
        Some(Action::Update)
    );
    let encrypted = EksClusterSpec {
        secrets_kms_key_arn: Some(Input::from(KEY)),
        ..eks()
    };
    let p = change(encrypted.clone(), |s| s.secrets_kms_key_arn = None);
    assert_eq!(action(&p, "r"), Some(Action::Replace), "removed");
    let p = change(encrypted, |s| {
        s.secrets_kms_key_arn = Some(Input::from(OTHER_KEY))
    });
    assert_eq!(action(&p, "r"), Some(Action::Replace), "another key");
    assert_eq!(
        EksClusterSpec::KIND.field_behavior("secrets_kms_key_arn"),
        UpdateBehavior::DependsOnValues
    );
}

fn kafka(security_groups: Vec<Input<String>>) -> MskClusterSpec {
    MskClusterSpec {
        name: "inplace".into(),
        kafka_version: "3.6.0".into(),
        broker_count: 3,
        instance_type: "kafka.m5.large".into(),
        client_subnets: ["subnet-a", "subnet-b", "subnet-c"]
            .map(Input::from)
            .to_vec(),
        security_groups,
        volume_size_gb: 100,
        configuration_arn: Input::from("arn:aws:kafka:us-east-1:111122223333:configuration/c"),
        configuration_revision: Input::Value(1),
        kms_key_arn: Input::from(KEY),
        client_broker_encryption: ClientBrokerEncryption::Tls,
    }
}

#[test]
fn msk_client_broker_encryption_changes_in_place_and_its_key_replaces() {
    let p = change(kafka(Vec::new()), |s| {
        s.client_broker_encryption = ClientBrokerEncryption::TlsPlaintext
    });
    assert_eq!(action(&p, "r"), Some(Action::Update));
    let p = change(kafka(Vec::new()), |s| {
        s.kms_key_arn = Input::from(OTHER_KEY)
    });
    assert_eq!(action(&p, "r"), Some(Action::Replace));
}

fn security_group(name: &str, description: &str) -> SecurityGroupSpec {
    SecurityGroupSpec {
        vpc_id: Input::from("vpc-1"),
        name: name.into(),
        description: description.into(),
        ingress: Vec::new(),
        egress: Vec::new(),
    }
}

/// A security group used by an EKS cluster and an MSK cluster.
fn users_of_a_group(stack: &mut Stack, group: SecurityGroupSpec) {
    let sg = stack.add("sg", group);
    stack.add(
        "eks",
        EksClusterSpec {
            security_group_ids: vec![sg.id()],
            ..eks()
        },
    );
    stack.add("kafka", kafka(vec![sg.id()]));
}

#[test]
fn a_security_group_description_edit_is_refused_and_replaces_nothing() {
    let p = replan(|stack, edited| {
        let description = if edited {
            "Kafka and EKS"
        } else {
            "cluster access"
        };
        users_of_a_group(stack, security_group("inplace-sg", description));
    });
    assert_eq!(action(&p, "eks"), None);
    assert_eq!(action(&p, "kafka"), None);
    let refused = refusals(&p);
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].to_string().starts_with(&format!(
            "{ORIGIN}: `sg` field `description`: EC2 cannot change"
        )),
        "{}",
        refused[0]
    );
}

#[test]
fn a_replaced_security_group_updates_the_eks_cluster_in_place() {
    // A new name is a new group; the cluster takes it with UpdateClusterConfig, while
    // MSK, which takes its groups only at creation, is replaced.
    let p = replan(|stack, renamed| {
        let name = if renamed {
            "inplace-sg-2"
        } else {
            "inplace-sg"
        };
        users_of_a_group(stack, security_group(name, "cluster access"));
    });
    assert_eq!(action(&p, "sg"), Some(Action::Replace));
    assert_eq!(action(&p, "eks"), Some(Action::Update));
    assert_eq!(action(&p, "kafka"), Some(Action::Replace));
}

fn bucket(lock: bool) -> BucketSpec {
    BucketSpec {
        versioning: true,
        object_lock_enabled: lock,
        ..BucketSpec::new("inplace-audit-bucket")
    }
}

#[test]
fn object_lock_turns_on_in_place_and_off_is_refused() {
    let p = change(bucket(false), |s| s.object_lock_enabled = true);
    assert_eq!(action(&p, "r"), Some(Action::Update));
    assert!(refusals(&p).is_empty());
    let p = change(bucket(true), |s| s.object_lock_enabled = false);
    assert_ne!(action(&p, "r"), Some(Action::Replace));
    assert_ne!(action(&p, "r"), Some(Action::Delete));
    let refused = refusals(&p);
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0]
            .to_string()
            .contains("`r` field `object_lock_enabled`: S3 cannot turn object lock off"),
        "{}",
        refused[0]
    );
}

fn redis(version: &str) -> ReplicationGroupSpec {
    ReplicationGroupSpec {
        id: "inplace".into(),
        description: "cache".into(),
        engine_version: version.into(),
        node_type: "cache.r6g.large".into(),
        num_node_groups: 3,
        replicas_per_node_group: 1,
        cache_subnet_group_name: Input::from("inplace-cache"),
        cache_parameter_group_name: Input::from("inplace-redis7"),
        security_group_ids: Vec::new(),
        at_rest_encryption: true,
        kms_key_id: None,
        transit_encryption: true,
        transit_encryption_mode: None,
        automatic_failover: true,
        multi_az: true,
        snapshot_retention_days: 7,
        port: 6379,
    }
}

#[test]
fn engine_downgrades_are_refused_in_the_plan_and_upgrades_are_updates() {
    let refused_field = |p: &Plan| {
        let r = refusals(p);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].to_string().contains("never downgrades"), "{}", r[0]);
        r[0].impossible.as_ref().unwrap().field.clone()
    };
    let p = change(redis("7.1"), |s| s.engine_version = "7.0".into());
    assert_eq!(refused_field(&p), "engine_version");
    let p = change(redis("7.0"), |s| s.engine_version = "7.1".into());
    assert_eq!(action(&p, "r"), Some(Action::Update));
    assert!(refusals(&p).is_empty());

    let p = change(kafka(Vec::new()), |s| s.kafka_version = "3.5.1".into());
    assert_eq!(refused_field(&p), "kafka_version");
    let p = change(kafka(Vec::new()), |s| s.kafka_version = "3.7.x".into());
    assert!(refusals(&p).is_empty());

    let p = change(primary("inplace-db"), |s| s.engine_version = "14".into());
    assert_eq!(refused_field(&p), "engine_version");
}

#[test]
fn a_refused_change_survives_the_plan_json() {
    let p = change(bucket(true), |s| s.object_lock_enabled = false);
    let json = serde_json::to_value(&p).unwrap();
    let change = &json["steps"][0]["changes"][0];
    assert_eq!(change["field"], "object_lock_enabled");
    assert!(change["refused"].as_str().unwrap().contains("S3 cannot"));
    let back: Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back, p);
    assert!(glinfra_core::render::text(&p).contains("# refused"));
}

#[test]
fn every_change_rule_is_declared_on_a_field_and_decides_something() {
    let mut ruled = BTreeMap::new();
    for kind in Kind::all() {
        for (field, _) in kind.change_rules() {
            ruled.insert(format!("{kind}.{field}"), kind.field_behavior(field));
        }
    }
    assert!(ruled
        .values()
        .all(|b| *b == UpdateBehavior::DependsOnValues));
    for name in [
        "aws:rds/db-instance.replicate_from",
        "aws:eks/cluster.secrets_kms_key_arn",
        "aws:s3/bucket.object_lock_enabled",
        "aws:elasticache/replication-group.engine_version",
        "aws:msk/cluster.kafka_version",
        "aws:ec2/security-group.description",
        "aws:rds/db-instance.db_subnet_group_name",
        "aws:rds/db-instance.availability_zone",
        "aws:elasticache/replication-group.transit_encryption",
        "aws:ec2/internet-gateway.vpc_id",
        "aws:ec2/route-table-association.route_table_id",
        "aws:eks/cluster.version",
        "aws:eks/node-group.version",
        "aws:eks/node-group.ami_type",
    ] {
        assert!(ruled.contains_key(name), "{name} has no change rule");
    }
    let _ = ChangeRule::InPlace;
}

/// A VPC `v` with two subnets and a DB subnet group; the group's handle and the VPC id.
fn db_network(stack: &mut Stack, v: &str, cidr16: u8) -> (Input<String>, Input<String>) {
    let vpc = stack.add(v, VpcSpec::new(format!("10.{cidr16}.0.0/16")));
    let subnets = ["us-east-1a", "us-east-1b"]
        .iter()
        .enumerate()
        .map(|(i, zone)| {
            stack
                .add(
                    format!("{v}-subnet-{i}"),
                    SubnetSpec::new(vpc.id(), format!("10.{cidr16}.{i}.0/24"), *zone),
                )
                .id()
        })
        .collect();
    let group = stack.add(
        format!("{v}-db"),
        DbSubnetGroupSpec {
            vpc_id: Some(vpc.id()),
            name: format!("inplace-{v}"),
            description: "databases".into(),
            subnet_ids: subnets,
        },
    );
    (group.name(), vpc.id())
}

/// The primary in `group` of `vpc`.
fn placed(group: Input<String>, vpc: Input<String>) -> DbInstanceSpec {
    DbInstanceSpec {
        vpc_id: Some(vpc),
        db_subnet_group_name: Some(group),
        ..primary("inplace-db")
    }
}

#[test]
fn an_instance_moves_in_place_to_a_subnet_group_in_another_existing_vpc() {
    // Both networks exist; the instance moves from the first to the second.
    let p = replan(|stack, moved| {
        let a = db_network(stack, "vpc-a", 1);
        let b = db_network(stack, "vpc-b", 2);
        let (group, vpc) = if moved { b } else { a };
        stack.add("db", placed(group, vpc));
    });
    assert_eq!(action(&p, "db"), Some(Action::Update), "{p:#?}");
    assert_eq!(
        p.step("db").unwrap().changed_fields(),
        ["db_subnet_group_name", "vpc_id"]
    );
    assert!(refusals(&p).is_empty());

    // The VPC exists, its DB subnet group is made by this plan: still in place.
    let p = replan(|stack, moved| {
        db_network(stack, "vpc-a", 1);
        let vpc_b = stack.add("vpc-b", VpcSpec::new("10.2.0.0/16"));
        let subnets: Vec<Input<String>> = ["us-east-1a", "us-east-1b"]
            .iter()
            .enumerate()
            .map(|(i, zone)| {
                stack
                    .add(
                        format!("b-{i}"),
                        SubnetSpec::new(vpc_b.id(), format!("10.2.{i}.0/24"), *zone),
                    )
                    .id()
            })
            .collect();
        let spec = if moved {
            let group = stack.add(
                "vpc-b-db",
                DbSubnetGroupSpec {
                    vpc_id: Some(vpc_b.id()),
                    name: "inplace-vpc-b".into(),
                    description: "databases".into(),
                    subnet_ids: subnets,
                },
            );
            placed(group.name(), vpc_b.id())
        } else {
            placed(
                Input::output("vpc-a-db", "name"),
                Input::output("vpc-a", "id"),
            )
        };
        stack.add("db", spec);
    });
    assert_eq!(action(&p, "vpc-b-db"), Some(Action::Create));
    assert_eq!(action(&p, "db"), Some(Action::Update), "{p:#?}");
}

#[test]
fn a_subnet_group_swap_within_one_vpc_is_refused() {
    let p = replan(|stack, swapped| {
        let (group, vpc) = db_network(stack, "vpc-a", 1);
        let other = stack.add(
            "other-db",
            DbSubnetGroupSpec {
                vpc_id: Some(vpc.clone()),
                name: "inplace-other".into(),
                description: "databases".into(),
                subnet_ids: vec![
                    Input::output("vpc-a-subnet-0", "id"),
                    Input::output("vpc-a-subnet-1", "id"),
                ],
            },
        );
        stack.add(
            "db",
            placed(if swapped { other.name() } else { group }, vpc),
        );
    });
    assert_ne!(action(&p, "db"), Some(Action::Replace));
    let refused = refusals(&p);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let text = refused[0].to_string();
    assert!(
        text.contains("`db` field `db_subnet_group_name`: the new DB subnet group is in the instance's own VPC"),
        "{text}"
    );
    assert!(text.contains("InvalidVPCNetworkStateFault"), "{text}");
}

#[test]
fn a_multi_az_instance_is_not_moved_and_a_vpc_made_by_the_plan_replaces() {
    let p = replan(|stack, moved| {
        let a = db_network(stack, "vpc-a", 1);
        let b = db_network(stack, "vpc-b", 2);
        let (group, vpc) = if moved { b } else { a };
        stack.add(
            "db",
            DbInstanceSpec {
                multi_az: true,
                ..placed(group, vpc)
            },
        );
    });
    let refused = refusals(&p);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]
            .to_string()
            .contains("RDS moves only a Single-AZ instance to another VPC"),
        "{}",
        refused[0]
    );

    // The new VPC is made by this plan: the plan cannot tell it from a replacement
    // of the current one, around which the instance cannot stay.
    let p = replan(|stack, moved| {
        let a = db_network(stack, "vpc-a", 1);
        let (group, vpc) = if moved {
            db_network(stack, "vpc-b", 2)
        } else {
            a
        };
        stack.add("db", placed(group, vpc));
    });
    assert_eq!(action(&p, "vpc-b"), Some(Action::Create));
    assert_eq!(action(&p, "db"), Some(Action::Replace));
    assert!(refusals(&p).is_empty());
    // And so does the cascade of a replaced VPC (a new CIDR block), as before.
    let p = replan(|stack, renumbered| {
        let (group, vpc) = db_network(stack, "vpc-a", if renumbered { 3 } else { 1 });
        stack.add("db", placed(group, vpc));
    });
    assert_eq!(action(&p, "vpc-a"), Some(Action::Replace));
    assert_eq!(action(&p, "db"), Some(Action::Replace));
}

#[test]
fn an_instance_zone_is_checked_against_its_group_and_another_zone_replaces() {
    let mut stack = stack();
    let (group, vpc) = db_network(&mut stack, "vpc-a", 1);
    stack.add(
        "db",
        DbInstanceSpec {
            availability_zone: Some("us-east-1c".into()),
            ..placed(group.clone(), Input::from("vpc-0other"))
        },
    );
    stack.add(
        "db-multi",
        DbInstanceSpec {
            identifier: "inplace-db-multi".into(),
            availability_zone: Some("us-east-1a".into()),
            multi_az: true,
            ..placed(group, vpc)
        },
    );
    let errors = glinfra_core::ResourceGraph::build(&stack).unwrap_err();
    let text: Vec<String> = errors.0.iter().map(|d| d.to_string()).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(
        text.iter().any(|t| t.contains(
            "resource `db`, field `vpc_id`: must be the VPC of its DB subnet group `vpc-a-db`"
        )),
        "{text:#?}"
    );
    assert!(text.iter().any(|t| t.contains("resource `db`, field `availability_zone`: `us-east-1c` has no subnet in the DB subnet group `vpc-a-db` (its zones: us-east-1a, us-east-1b)")), "{text:#?}");
    assert!(text.iter().any(|t| t.contains("resource `db-multi`, field `availability_zone`: a Multi-AZ instance takes no availability zone")), "{text:#?}");

    let zoned = DbInstanceSpec {
        availability_zone: Some("us-east-1a".into()),
        ..primary("inplace-db")
    };
    let p = change(zoned.clone(), |s| {
        s.availability_zone = Some("us-east-1b".into())
    });
    assert_eq!(action(&p, "r"), Some(Action::Replace));
    let p = change(zoned, |s| s.availability_zone = None);
    assert_eq!(action(&p, "r"), Some(Action::Update));
    let p = change(primary("inplace-db"), |s| {
        s.availability_zone = Some("us-east-1a".into())
    });
    assert_eq!(action(&p, "r"), Some(Action::Update));
}

#[test]
fn transit_encryption_changes_in_place_from_redis_7_0_5_and_earlier_replaces() {
    let plain = |v: &str| ReplicationGroupSpec {
        transit_encryption: false,
        ..redis(v)
    };
    for v in ["7.0", "7.1"] {
        let on = change(plain(v), |s| s.transit_encryption = true);
        assert_eq!(action(&on, "r"), Some(Action::Update), "{v} on");
        let off = change(redis(v), |s| s.transit_encryption = false);
        assert_eq!(action(&off, "r"), Some(Action::Update), "{v} off");
        let preferred = change(redis(v), |s| {
            s.transit_encryption_mode = Some(TransitEncryptionMode::Preferred)
        });
        assert_eq!(action(&preferred, "r"), Some(Action::Update), "{v} mode");
    }
    let p = change(plain("6.2"), |s| s.transit_encryption = true);
    assert_eq!(action(&p, "r"), Some(Action::Replace));
    let p = change(redis("6.2"), |s| s.transit_encryption = false);
    assert_eq!(action(&p, "r"), Some(Action::Replace));
    // Upgraded to 7.1 by the same plan: the driver upgrades first, then encrypts.
    let p = change(plain("6.2"), |s| {
        s.engine_version = "7.1".into();
        s.transit_encryption = true;
    });
    assert_eq!(action(&p, "r"), Some(Action::Update));
    assert_eq!(
        ReplicationGroupSpec::KIND.field_behavior("transit_encryption"),
        UpdateBehavior::DependsOnValues
    );

    // A mode exists only with encryption on, from Redis 7.0.5.
    let mut stack = stack();
    stack.add(
        "old",
        ReplicationGroupSpec {
            transit_encryption_mode: Some(TransitEncryptionMode::Preferred),
            ..redis("6.2")
        },
    );
    stack.add(
        "plain",
        ReplicationGroupSpec {
            id: "inplace-plain".into(),
            transit_encryption_mode: Some(TransitEncryptionMode::Required),
            ..plain("7.1")
        },
    );
    let errors = glinfra_core::ResourceGraph::build(&stack).unwrap_err();
    let text: Vec<String> = errors.0.iter().map(|d| d.to_string()).collect();
    assert_eq!(text.len(), 2, "{text:#?}");
    assert!(text[0].contains("resource `old`, field `transit_encryption_mode`: Redis 6.2 has no transit encryption mode"), "{text:#?}");
    assert!(text[1].contains("resource `plain`, field `transit_encryption_mode`: `required` needs `transit_encryption = true`"), "{text:#?}");
}

#[test]
fn a_record_sets_type_or_set_identifier_changes_in_place_and_its_name_replaces() {
    use glinfra_core::spec::route53::{RecordSetSpec, RecordType};
    let record = RecordSetSpec {
        zone_id: Input::from("Z111"),
        name: "api.inplace.example".into(),
        record_type: RecordType::A,
        ttl: 60,
        records: vec![Input::from("192.0.2.10")],
        set_identifier: Some("use1".into()),
        latency_region: Some("us-east-1".into()),
        health_check_id: None,
    };
    let p = change(record.clone(), |s| {
        s.record_type = RecordType::Aaaa;
        s.records = vec![Input::from("2001:db8::10")];
    });
    assert_eq!(action(&p, "r"), Some(Action::Update));
    let p = change(record.clone(), |s| s.set_identifier = Some("use1-b".into()));
    assert_eq!(action(&p, "r"), Some(Action::Update));
    let p = change(record, |s| s.name = "www.inplace.example".into());
    assert_eq!(action(&p, "r"), Some(Action::Replace));
}

#[test]
fn a_gateway_or_an_association_moves_in_place_to_what_exists_and_is_replaced_to_what_is_made() {
    // Both VPCs and both tables exist: the gateway and the association move.
    let p = replan(|stack, moved| {
        let a = stack.add("vpc-a", VpcSpec::new("10.1.0.0/16"));
        let b = stack.add("vpc-b", VpcSpec::new("10.2.0.0/16"));
        let subnet = stack.add(
            "subnet",
            SubnetSpec::new(a.id(), "10.1.0.0/24", "us-east-1a"),
        );
        let t1 = stack.add("rt-1", RouteTableSpec { vpc_id: a.id() });
        let t2 = stack.add("rt-2", RouteTableSpec { vpc_id: a.id() });
        let target = if moved { b.id() } else { a.id() };
        stack.add("igw", InternetGatewaySpec { vpc_id: target });
        stack.add(
            "assoc",
            RouteTableAssociationSpec {
                route_table_id: if moved { t2.id() } else { t1.id() },
                subnet_id: subnet.id(),
            },
        );
    });
    assert_eq!(action(&p, "igw"), Some(Action::Update), "{p:#?}");
    assert_eq!(action(&p, "assoc"), Some(Action::Update));
    assert_eq!(p.steps.len(), 2);

    // The VPC and the table are replaced (a new CIDR block): delete-then-create
    // cannot move anything to their replacements, so the gateway and the
    // association are replaced with them, as before.
    let p = replan(|stack, renumbered| {
        let cidr = if renumbered {
            "10.3.0.0/16"
        } else {
            "10.1.0.0/16"
        };
        let vpc = stack.add("vpc", VpcSpec::new(cidr));
        let subnet_cidr = if renumbered {
            "10.3.0.0/24"
        } else {
            "10.1.0.0/24"
        };
        let subnet = stack.add(
            "subnet",
            SubnetSpec::new(vpc.id(), subnet_cidr, "us-east-1a"),
        );
        let table = stack.add("rt", RouteTableSpec { vpc_id: vpc.id() });
        stack.add("igw", InternetGatewaySpec { vpc_id: vpc.id() });
        stack.add(
            "assoc",
            RouteTableAssociationSpec {
                route_table_id: table.id(),
                subnet_id: subnet.id(),
            },
        );
    });
    assert_eq!(action(&p, "igw"), Some(Action::Replace));
    assert_eq!(action(&p, "assoc"), Some(Action::Replace));
    assert_eq!(
        RouteTableAssociationSpec::KIND.field_behavior("subnet_id"),
        UpdateBehavior::Replace
    );
}

fn node_group(cluster: Input<String>, version: &str) -> EksNodeGroupSpec {
    EksNodeGroupSpec {
        cluster_name: cluster,
        name: "workers".into(),
        node_role_arn: Input::from("arn:aws:iam::111122223333:role/node"),
        subnet_ids: vec![Input::from("subnet-a"), Input::from("subnet-b")],
        instance_types: vec!["m6i.large".into()],
        capacity_type: CapacityType::OnDemand,
        disk_size: 50,
        version: version.into(),
        ami_type: Some(AmiType::Al2023X86_64Standard),
        min_size: 1,
        max_size: 3,
        desired_size: 2,
        labels: BTreeMap::new(),
        taints: Vec::new(),
    }
}

/// A cluster at `cluster` with two node groups at `nodes`.
fn kubernetes(stack: &mut Stack, cluster: &str, nodes: &str) {
    let eks = stack.add(
        "eks",
        EksClusterSpec {
            version: cluster.into(),
            ..eks()
        },
    );
    for n in ["ng-a", "ng-b"] {
        stack.add(
            n,
            EksNodeGroupSpec {
                name: n.into(),
                ..node_group(eks.name(), nodes)
            },
        );
    }
}

#[test]
fn a_kubernetes_upgrade_plans_the_cluster_then_its_node_groups() {
    let p = replan(|stack, upgraded| {
        let v = if upgraded { "1.30" } else { "1.29" };
        kubernetes(stack, v, v);
    });
    let actions: Vec<(&str, Action)> = p
        .steps
        .iter()
        .map(|s| (s.resource.as_str(), s.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("eks", Action::Update),
            ("ng-a", Action::Update),
            ("ng-b", Action::Update)
        ]
    );
    for s in &p.steps {
        assert_eq!(s.changed_fields(), ["version"], "{}", s.resource);
    }
    assert!(refusals(&p).is_empty());
    // Each node group's UpdateNodegroupVersion waits for the cluster's
    // UpdateClusterVersion.
    let schedule = glinfra_core::schedule::Schedule::from_plan(&p);
    let cluster_op = schedule
        .ops
        .iter()
        .position(|o| p.steps[o.step].resource == "eks")
        .unwrap();
    for (i, op) in schedule.ops.iter().enumerate() {
        if p.steps[op.step].resource.starts_with("ng-") {
            assert_eq!(schedule.waits_for[i], [cluster_op]);
        }
    }

    // The cluster ahead, the node groups a minor version behind (allowed), then
    // brought along: only the node groups change.
    let p = replan(|stack, upgraded| {
        kubernetes(stack, "1.30", if upgraded { "1.30" } else { "1.29" });
    });
    assert_eq!(action(&p, "eks"), None);
    assert_eq!(action(&p, "ng-a"), Some(Action::Update));
}

#[test]
fn kubernetes_downgrades_are_refused_and_node_groups_stay_within_a_minor_of_their_cluster() {
    let p = replan(|stack, lowered| {
        let v = if lowered { "1.29" } else { "1.30" };
        kubernetes(stack, v, v);
    });
    let refused = refusals(&p);
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused[0]
        .to_string()
        .contains("`eks` field `version`: Kubernetes 1.29 is older than the cluster's 1.30"));
    assert!(refused[1]
        .to_string()
        .contains("`ng-a` field `version`: Kubernetes 1.29 is older than the node group's 1.30"));

    let errors = |cluster: &str, nodes: &str| -> Vec<String> {
        let mut stack = stack();
        kubernetes(&mut stack, cluster, nodes);
        match glinfra_core::ResourceGraph::build(&stack) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(|d| d.to_string()).collect(),
        }
    };
    assert!(errors("1.30", "1.29").is_empty());
    let ahead = errors("1.29", "1.30");
    assert_eq!(ahead.len(), 2, "{ahead:#?}");
    assert!(ahead[0].contains("resource `ng-a`, field `version`: Kubernetes 1.30 is newer than its cluster `eks` (1.29)"), "{ahead:#?}");
    let behind = errors("1.31", "1.29");
    assert!(
        behind[0].contains("is more than one minor version behind its cluster `eks` (1.31)"),
        "{behind:#?}"
    );
    assert!(behind[0].contains("declare 1.31 (or 1.30)"), "{behind:#?}");
}

#[test]
fn a_node_groups_ami_type_is_checked_and_another_one_replaces_it() {
    let mut stack = stack();
    let eks = stack.add(
        "eks",
        EksClusterSpec {
            version: "1.33".into(),
            ..eks()
        },
    );
    stack.add(
        "al2",
        EksNodeGroupSpec {
            name: "al2".into(),
            ami_type: Some(AmiType::Al2X86_64),
            ..node_group(eks.name(), "1.33")
        },
    );
    stack.add(
        "arm",
        EksNodeGroupSpec {
            name: "arm".into(),
            instance_types: vec!["m7g.large".into()],
            ..node_group(eks.name(), "1.33")
        },
    );
    let errors = glinfra_core::ResourceGraph::build(&stack).unwrap_err();
    let text: Vec<String> = errors.0.iter().map(|d| d.to_string()).collect();
    assert_eq!(text.len(), 2, "{text:#?}");
    assert!(
        text[0].contains(
            "resource `al2`, field `ami_type`: EKS publishes no AL2_x86_64 AMI for Kubernetes 1.33"
        ),
        "{text:#?}"
    );
    assert!(text[1].contains("resource `arm`, field `ami_type`: AL2023_x86_64_STANDARD is for x86-64 instances, but `m7g.large` is Arm (Graviton)"), "{text:#?}");

    let unset = EksNodeGroupSpec {
        ami_type: None,
        ..node_group(Input::from("inplace"), "1.29")
    };
    let p = change(unset.clone(), |s| {
        s.ami_type = Some(AmiType::Al2023X86_64Standard)
    });
    assert_eq!(
        action(&p, "r"),
        Some(Action::Update),
        "set to what it is: checked, in place"
    );
    let p = change(node_group(Input::from("inplace"), "1.29"), |s| {
        s.ami_type = Some(AmiType::BottlerocketX86_64)
    });
    assert_eq!(action(&p, "r"), Some(Action::Replace));
}

#[test]
fn every_family_ending_in_g_but_the_gpu_ones_is_arm() {
    for family in INSTANCE_FAMILIES {
        let arm = family.ends_with('g') && !family.starts_with('g');
        assert_eq!(ARM_FAMILIES.contains(family), arm, "{family}");
    }
}
