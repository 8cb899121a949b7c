//! Changes AWS makes in place, applied on the emulator: the resource keeps its
//! identity (ARN, endpoint, creation time). Nothing here skips: without an emulator
//! (`AWS_ENDPOINT_URL`), these fail.

mod common;

use common::{nonce, sdk, Run};
use glinfra::spec::ec2::{
    InternetGatewaySpec, RouteTableAssociationSpec, RouteTableSpec, SecurityGroupSpec, SubnetSpec,
    VpcSpec,
};
use glinfra::spec::eks::{AmiType, CapacityType, EksClusterSpec, EksNodeGroupSpec};
use glinfra::spec::elasticache::{CacheSubnetGroupSpec, ReplicationGroupSpec};
use glinfra::spec::msk::{ClientBrokerEncryption, MskClusterSpec, MskConfigurationSpec};
use glinfra::spec::rds::{DbEngine, DbInstanceSpec, DbSubnetGroupSpec, StorageType};
use glinfra::spec::route53::{HostedZoneSpec, RecordSetSpec, RecordType};
use glinfra::spec::s3::{BucketSpec, ObjectLockMode, ObjectLockRetention};
use glinfra::{Action, Input, Stack};
use std::collections::BTreeMap;

/// A VPC with two subnets in two zones, named for one test; the subnets' ids.
fn network(stack: &mut Stack, cidr16: u8) -> Vec<Input<String>> {
    network_of(stack, cidr16, 2)
}

/// A VPC with `n` subnets in as many zones; the subnets' ids.
fn network_of(stack: &mut Stack, cidr16: u8, n: usize) -> Vec<Input<String>> {
    let vpc = stack.add("vpc", VpcSpec::new(format!("10.{cidr16}.0.0/16")));
    ["us-east-1a", "us-east-1b", "us-east-1c"][..n]
        .iter()
        .enumerate()
        .map(|(i, zone)| {
            stack
                .add(
                    format!("subnet-{i}"),
                    SubnetSpec::new(vpc.id(), format!("10.{cidr16}.{i}.0/24"), *zone),
                )
                .id()
        })
        .collect()
}

fn db(identifier: &str, subnet_group: Input<String>) -> DbInstanceSpec {
    DbInstanceSpec {
        identifier: identifier.into(),
        engine: DbEngine::Postgres,
        engine_version: "15".into(),
        instance_class: "db.r6g.large".into(),
        allocated_storage: 200,
        storage_type: StorageType::Gp3,
        iops: None,
        storage_encrypted: false,
        kms_key_id: None,
        multi_az: false,
        availability_zone: None,
        backup_retention_days: 7,
        maintenance_window: "sun:03:00-sun:04:00".into(),
        deletion_protection: false,
        vpc_id: None,
        db_subnet_group_name: Some(subnet_group),
        parameter_group_name: None,
        vpc_security_group_ids: Vec::new(),
        master_username: Some("greenlang".into()),
        manage_master_user_password: true,
        replicate_from: None,
    }
}

/// A primary and its read replica; `promoted`: the replica promoted.
fn databases(name: &str, promoted: bool) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let subnets = network(&mut stack, 42);
    let group = stack.add(
        "db-subnets",
        DbSubnetGroupSpec {
            vpc_id: None,
            name: format!("{name}-db"),
            description: "databases".into(),
            subnet_ids: subnets,
        },
    );
    let primary = stack.add("db-primary", db(&format!("{name}-primary"), group.name()));
    let mut replica = db(&format!("{name}-replica"), group.name());
    if !promoted {
        replica.replicate_from = Some(primary.arn());
        replica.master_username = None;
        replica.backup_retention_days = 0;
    }
    stack.add("db-replica", replica);
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_replica_is_promoted_in_place() {
    let name = format!("promote-{}", nonce());
    let run = Run::new().await;
    run.up(&databases(&name, false)).await;
    let rds = aws_sdk_rds::Client::new(&sdk().await);
    let describe = |id: String| {
        let rds = rds.clone();
        async move {
            rds.describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .unwrap()
                .db_instances()[0]
                .clone()
        }
    };
    let replica_id = format!("{name}-replica");
    let before = describe(replica_id.clone()).await;
    assert!(before
        .read_replica_source_db_instance_identifier()
        .is_some());

    let promoted = databases(&name, true);
    let (plan, _) = run.up(&promoted).await;
    let actions: Vec<(String, Action)> = plan
        .steps
        .iter()
        .map(|s| (s.resource.clone(), s.action))
        .collect();
    assert_eq!(actions, [("db-replica".to_string(), Action::Update)]);
    let after = describe(replica_id).await;
    assert_eq!(after.read_replica_source_db_instance_identifier(), None);
    assert_eq!(after.backup_retention_period(), Some(7));
    assert_eq!(after.db_instance_arn(), before.db_instance_arn());
    assert_eq!(after.instance_create_time(), before.instance_create_time());
    assert_eq!(
        after.endpoint().and_then(|e| e.address()),
        before.endpoint().and_then(|e| e.address())
    );
    let source = describe(format!("{name}-primary")).await;
    assert!(source.read_replica_db_instance_identifiers().is_empty());
    assert!(run.plan(&promoted).is_empty());

    // And back: a primary is never made a replica; refused before any call.
    let (_, mutating) = run.calls();
    let err = run
        .attempt(&databases(&name, false), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`db-replica` field `replicate_from`: a primary cannot become a read replica"),
        "{err}"
    );
    assert_eq!(run.calls().1, mutating, "no mutating call");
    run.destroy(&promoted).await;
}

const SECRETS_KEY: &str =
    "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555";

/// An EKS cluster in a VPC; `changed`: a third subnet, a control-plane security
/// group and secrets encryption added; `description`: the group's description.
fn kubernetes(name: &str, changed: bool, description: &str) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let subnets = network_of(&mut stack, 43, 3);
    let vpc = glinfra::Input::output("vpc", "id");
    let sg = stack.add(
        "sg-control-plane",
        SecurityGroupSpec {
            vpc_id: vpc,
            name: format!("{name}-cp"),
            description: description.into(),
            ingress: Vec::new(),
            egress: Vec::new(),
        },
    );
    stack.add(
        "eks",
        EksClusterSpec {
            name: name.into(),
            version: "1.29".into(),
            role_arn: Input::from("arn:aws:iam::000000000000:role/glinfra-eks"),
            subnet_ids: if changed {
                subnets
            } else {
                subnets[..2].to_vec()
            },
            security_group_ids: if changed { vec![sg.id()] } else { Vec::new() },
            endpoint_private_access: true,
            endpoint_public_access: false,
            enabled_log_types: Vec::new(),
            secrets_kms_key_arn: changed.then(|| Input::from(SECRETS_KEY)),
        },
    );
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn eks_subnets_security_groups_and_secrets_encryption_change_in_place() {
    let name = format!("eks-inplace-{}", nonce());
    let run = Run::new().await;
    run.up(&kubernetes(&name, false, "control plane")).await;
    let eks = aws_sdk_eks::Client::new(&sdk().await);
    let describe = || async {
        eks.describe_cluster()
            .name(&name)
            .send()
            .await
            .unwrap()
            .cluster()
            .unwrap()
            .clone()
    };
    let before = describe().await;

    let changed = kubernetes(&name, true, "control plane");
    let (plan, _) = run.up(&changed).await;
    assert_eq!(
        plan.steps
            .iter()
            .map(|s| (s.resource.as_str(), s.action))
            .collect::<Vec<_>>(),
        [("eks", Action::Update)]
    );
    let after = describe().await;
    let outputs = run.outputs(&changed);
    let vpc = after.resources_vpc_config().unwrap();
    assert_eq!(vpc.subnet_ids().len(), 3);
    assert_eq!(
        vpc.security_group_ids(),
        [outputs["sg-control-plane.id"].clone()]
    );
    let key = after
        .encryption_config()
        .iter()
        .find_map(|e| e.provider()?.key_arn());
    assert_eq!(key, Some(SECRETS_KEY));
    assert_eq!(after.arn(), before.arn());
    assert_eq!(after.created_at(), before.created_at());
    assert_eq!(after.endpoint(), before.endpoint());
    assert!(run.plan(&changed).is_empty());

    // The group's description cannot change: refused with no mutating call, and
    // nothing that uses the group is replaced.
    let edited = kubernetes(&name, true, "EKS control plane");
    let plan = run.plan(&edited);
    assert!(plan.steps.iter().all(|s| s.action != Action::Replace));
    let (_, mutating) = run.calls();
    let err = run.attempt(&edited, false).await.unwrap_err().to_string();
    assert!(
        err.contains("`sg-control-plane` field `description`: EC2 cannot change"),
        "{err}"
    );
    assert_eq!(run.calls().1, mutating, "no mutating call");
    run.destroy(&changed).await;
}

/// An MSK cluster in a VPC of three subnets, with client-broker encryption `encryption`.
fn kafka(name: &str, encryption: ClientBrokerEncryption) -> Stack {
    kafka_at(name, encryption, "3.5.1")
}

/// [`kafka`] at Kafka `version`.
fn kafka_at(name: &str, encryption: ClientBrokerEncryption, version: &str) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let subnets = network_of(&mut stack, 44, 3);
    let sg = stack.add(
        "sg-kafka",
        SecurityGroupSpec {
            vpc_id: glinfra::Input::output("vpc", "id"),
            name: format!("{name}-kafka"),
            description: "kafka brokers".into(),
            ingress: Vec::new(),
            egress: Vec::new(),
        },
    );
    let configuration = stack.add(
        "kafka-config",
        MskConfigurationSpec {
            name: format!("{name}-config"),
            kafka_versions: vec!["3.4.0".into(), "3.5.1".into()],
            server_properties: [("auto.create.topics.enable".to_string(), "false".to_string())]
                .into(),
        },
    );
    stack.add(
        "kafka",
        MskClusterSpec {
            name: name.into(),
            kafka_version: version.into(),
            broker_count: 3,
            instance_type: "kafka.m5.large".into(),
            client_subnets: subnets,
            security_groups: vec![sg.id()],
            volume_size_gb: 100,
            configuration_arn: configuration.arn(),
            configuration_revision: configuration.latest_revision(),
            kms_key_arn: Input::from(SECRETS_KEY),
            client_broker_encryption: encryption,
        },
    );
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn msk_client_broker_encryption_changes_in_place() {
    let name = format!("msk-inplace-{}", nonce());
    let run = Run::new().await;
    run.up(&kafka(&name, ClientBrokerEncryption::Tls)).await;
    let msk = aws_sdk_kafka::Client::new(&sdk().await);
    let arn = run.outputs(&kafka(&name, ClientBrokerEncryption::Tls))["kafka.arn"].clone();
    let describe = || async {
        msk.describe_cluster_v2()
            .cluster_arn(&arn)
            .send()
            .await
            .unwrap()
            .cluster_info()
            .unwrap()
            .clone()
    };
    let before = describe().await;

    let changed = kafka(&name, ClientBrokerEncryption::TlsPlaintext);
    let (plan, _) = run.up(&changed).await;
    assert_eq!(
        plan.steps
            .iter()
            .map(|s| (s.resource.as_str(), s.action))
            .collect::<Vec<_>>(),
        [("kafka", Action::Update)]
    );
    let after = describe().await;
    let transit = after
        .provisioned()
        .and_then(|p| p.encryption_info())
        .and_then(|e| e.encryption_in_transit())
        .unwrap();
    assert_eq!(
        transit.client_broker(),
        Some(&aws_sdk_kafka::types::ClientBroker::TlsPlaintext)
    );
    assert_eq!(after.cluster_arn(), before.cluster_arn());
    assert_eq!(after.creation_time(), before.creation_time());
    assert_ne!(after.current_version(), before.current_version());
    assert!(run.plan(&changed).is_empty());

    // A downgrade of Kafka is refused in the plan, before any call.
    let older = kafka_at(&name, ClientBrokerEncryption::TlsPlaintext, "3.4.0");
    let (_, mutating) = run.calls();
    let err = run.attempt(&older, false).await.unwrap_err().to_string();
    assert!(
        err.contains("`kafka` field `kafka_version`: `3.4.0` is older than the running `3.5.1`"),
        "{err}"
    );
    assert_eq!(run.calls().1, mutating, "no mutating call");
    run.destroy(&changed).await;
}

/// A versioned bucket, with object lock (and a default retention) or without.
fn audit_bucket(name: &str, bucket: &str, lock: bool) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    stack.add(
        "audit",
        BucketSpec {
            versioning: true,
            object_lock_enabled: lock,
            object_lock_retention: lock.then_some(ObjectLockRetention {
                mode: ObjectLockMode::Governance,
                days: 30,
            }),
            force_destroy: true,
            ..BucketSpec::new(bucket)
        },
    );
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn object_lock_turns_on_in_place_and_never_off() {
    let nonce = nonce();
    let name = format!("lock-inplace-{nonce}");
    let bucket = format!("glinfra-lock-{nonce}");
    let run = Run::new().await;
    run.up(&audit_bucket(&name, &bucket, false)).await;
    let s3 = aws_sdk_s3::Client::new(&sdk().await);
    let created = || async {
        s3.list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .iter()
            .find(|b| b.name() == Some(bucket.as_str()))
            .and_then(|b| b.creation_date().cloned())
    };
    let before = created().await;
    assert!(before.is_some());

    let locked = audit_bucket(&name, &bucket, true);
    let (plan, _) = run.up(&locked).await;
    assert_eq!(
        plan.steps
            .iter()
            .map(|s| (s.resource.as_str(), s.action))
            .collect::<Vec<_>>(),
        [("audit", Action::Update)]
    );
    let conf = s3
        .get_object_lock_configuration()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let conf = conf.object_lock_configuration().unwrap();
    assert_eq!(
        conf.object_lock_enabled(),
        Some(&aws_sdk_s3::types::ObjectLockEnabled::Enabled)
    );
    assert_eq!(
        conf.rule()
            .and_then(|r| r.default_retention())
            .and_then(|d| d.days()),
        Some(30)
    );
    assert_eq!(created().await, before, "the same bucket");
    assert!(run.plan(&locked).is_empty());

    // Off again is refused before any call: S3 cannot, and a replacement would
    // delete the locked objects.
    let (_, mutating) = run.calls();
    let err = run
        .attempt(&audit_bucket(&name, &bucket, false), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`audit` field `object_lock_enabled`: S3 cannot turn object lock off"),
        "{err}"
    );
    assert_eq!(run.calls().1, mutating, "no mutating call");
    run.destroy(&locked).await;
}

/// Two VPCs (`a`, `b`), each with two subnets and a DB subnet group, and a third
/// group in `b`; a Single-AZ instance in the group `group` (`a`, `b` or `b2`).
fn two_networks(name: &str, group: &str) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let mut groups = BTreeMap::new();
    let mut vpcs = BTreeMap::new();
    for (v, cidr16) in [("a", 47u8), ("b", 48)] {
        let vpc = stack.add(
            format!("vpc-{v}"),
            VpcSpec::new(format!("10.{cidr16}.0.0/16")),
        );
        let subnets: Vec<Input<String>> = ["us-east-1a", "us-east-1b"]
            .iter()
            .enumerate()
            .map(|(i, zone)| {
                let cidr = format!("10.{cidr16}.{i}.0/24");
                let spec = SubnetSpec::new(vpc.id(), cidr, *zone);
                stack.add(format!("subnet-{v}{i}"), spec).id()
            })
            .collect();
        let groups_here: &[&str] = if v == "b" { &["b", "b2"] } else { &["a"] };
        for g in groups_here {
            let handle = stack.add(
                format!("db-subnets-{g}"),
                DbSubnetGroupSpec {
                    vpc_id: Some(vpc.id()),
                    name: format!("{name}-{g}"),
                    description: "databases".into(),
                    subnet_ids: subnets.clone(),
                },
            );
            groups.insert(g.to_string(), handle.name());
            vpcs.insert(g.to_string(), vpc.id());
        }
    }
    stack.add(
        "db",
        DbInstanceSpec {
            vpc_id: Some(vpcs[group].clone()),
            ..db(&format!("{name}-db"), groups[group].clone())
        },
    );
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_moves_to_another_vpc_in_place_and_a_swap_within_one_is_refused() {
    let name = format!("vpcmove-{}", nonce());
    let run = Run::new().await;
    run.up(&two_networks(&name, "a")).await;
    let rds = aws_sdk_rds::Client::new(&sdk().await);
    let describe = || async {
        rds.describe_db_instances()
            .db_instance_identifier(format!("{name}-db"))
            .send()
            .await
            .unwrap()
            .db_instances()[0]
            .clone()
    };
    let before = describe().await;

    let moved = two_networks(&name, "b");
    let (plan, _) = run.up(&moved).await;
    assert_eq!(
        plan.steps
            .iter()
            .map(|s| (s.resource.as_str(), s.action))
            .collect::<Vec<_>>(),
        [("db", Action::Update)]
    );
    let after = describe().await;
    let outputs = run.outputs(&moved);
    let group = after.db_subnet_group().unwrap();
    assert_eq!(
        group.db_subnet_group_name(),
        Some(format!("{name}-b").as_str())
    );
    assert_eq!(group.vpc_id(), Some(outputs["vpc-b.id"].as_str()));
    assert_eq!(after.db_instance_arn(), before.db_instance_arn());
    assert_eq!(after.instance_create_time(), before.instance_create_time());
    assert_eq!(
        after.endpoint().and_then(|e| e.address()),
        before.endpoint().and_then(|e| e.address())
    );
    assert!(run.plan(&moved).is_empty());

    // Another group of the same VPC: RDS refuses it, so the plan does, before any call.
    let (_, mutating) = run.calls();
    let err = run
        .attempt(&two_networks(&name, "b2"), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`db` field `db_subnet_group_name`: the new DB subnet group is in the instance's own VPC"),
        "{err}"
    );
    assert_eq!(run.calls().1, mutating, "no mutating call");
    run.destroy(&moved).await;
}

/// A Redis 7.1 replication group in cluster mode, with in-transit encryption `tls`.
fn cache(name: &str, tls: bool) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let subnets = network_of(&mut stack, 49, 2);
    let group = stack.add(
        "cache-subnets",
        CacheSubnetGroupSpec {
            vpc_id: Some(Input::output("vpc", "id")),
            name: format!("{name}-cache"),
            description: "caches".into(),
            subnet_ids: subnets,
        },
    );
    stack.add(
        "cache",
        ReplicationGroupSpec {
            id: name.into(),
            description: "sessions".into(),
            engine_version: "7.1".into(),
            node_type: "cache.r6g.large".into(),
            num_node_groups: 2,
            replicas_per_node_group: 1,
            cache_subnet_group_name: group.name(),
            cache_parameter_group_name: Input::from("default.redis7.cluster.on"),
            security_group_ids: Vec::new(),
            at_rest_encryption: true,
            kms_key_id: None,
            transit_encryption: tls,
            transit_encryption_mode: None,
            automatic_failover: true,
            multi_az: true,
            snapshot_retention_days: 0,
            port: 6379,
        },
    );
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn transit_encryption_turns_on_in_place_on_redis_7() {
    let name = format!("tls-{}", nonce());
    let run = Run::new().await;
    run.up(&cache(&name, false)).await;
    let ec = aws_sdk_elasticache::Client::new(&sdk().await);
    let describe = || async {
        ec.describe_replication_groups()
            .replication_group_id(&name)
            .send()
            .await
            .unwrap()
            .replication_groups()[0]
            .clone()
    };
    let before = describe().await;
    assert_eq!(before.transit_encryption_enabled(), Some(false));

    let tls = cache(&name, true);
    let (plan, _) = run.up(&tls).await;
    assert_eq!(
        plan.steps
            .iter()
            .map(|s| (s.resource.as_str(), s.action))
            .collect::<Vec<_>>(),
        [("cache", Action::Update)]
    );
    let after = describe().await;
    assert_eq!(after.transit_encryption_enabled(), Some(true));
    assert_eq!(
        after.transit_encryption_mode(),
        Some(&aws_sdk_elasticache::types::TransitEncryptionMode::Required)
    );
    assert_eq!(after.arn(), before.arn());
    assert_eq!(
        after.replication_group_create_time(),
        before.replication_group_create_time()
    );
    assert_eq!(
        after.configuration_endpoint(),
        before.configuration_endpoint()
    );
    assert!(run.plan(&tls).is_empty());

    // And off again, through `preferred`.
    let (plan, _) = run.up(&cache(&name, false)).await;
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].action, Action::Update);
    let off = describe().await;
    assert_eq!(off.transit_encryption_enabled(), Some(false));
    assert_eq!(off.arn(), before.arn());
    run.destroy(&cache(&name, false)).await;
}

/// A hosted zone with one record set `api` of `record_type` (a latency record with
/// `set_identifier`, or a simple one).
fn dns(name: &str, record_type: RecordType, set_identifier: Option<&str>) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let zone = stack.add(
        "zone",
        HostedZoneSpec {
            name: format!("{name}.example.com"),
            comment: String::new(),
        },
    );
    let records = match record_type {
        RecordType::Txt => vec![Input::from("\"v=glinfra\"")],
        _ => vec![Input::from("192.0.2.10")],
    };
    stack.add(
        "api",
        RecordSetSpec {
            zone_id: zone.zone_id(),
            name: format!("api.{name}.example.com"),
            record_type,
            ttl: 60,
            records,
            set_identifier: set_identifier.map(str::to_owned),
            latency_region: set_identifier.map(|_| common::REGION.to_string()),
            health_check_id: None,
        },
    );
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_sets_type_and_set_identifier_change_in_one_atomic_batch() {
    let name = format!("dns-{}", nonce());
    let run = Run::new().await;
    run.up(&dns(&name, RecordType::A, Some("use1"))).await;
    let r53 = aws_sdk_route53::Client::new(&sdk().await);
    let zone = run.outputs(&dns(&name, RecordType::A, Some("use1")))["zone.zone_id"].clone();
    let api = format!("api.{name}.example.com.");
    let records = || async {
        r53.list_resource_record_sets()
            .hosted_zone_id(&zone)
            .send()
            .await
            .unwrap()
            .resource_record_sets()
            .iter()
            .filter(|s| s.name() == api)
            .map(|s| {
                (
                    s.r#type().as_str().to_string(),
                    s.set_identifier().map(str::to_owned),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        records().await,
        [("A".to_string(), Some("use1".to_string()))]
    );

    for (record_type, id, listed) in [
        (RecordType::A, Some("use1-b"), ("A", Some("use1-b"))),
        (RecordType::Txt, None, ("TXT", None)),
    ] {
        let next = dns(&name, record_type, id);
        let (_, mutating) = run.calls();
        let (plan, _) = run.up(&next).await;
        assert_eq!(
            plan.steps
                .iter()
                .map(|s| (s.resource.as_str(), s.action))
                .collect::<Vec<_>>(),
            [("api", Action::Update)]
        );
        // One ChangeResourceRecordSets: DELETE and CREATE in one batch.
        assert_eq!(run.calls().1 - mutating, 1);
        assert_eq!(
            records().await,
            [(listed.0.to_string(), listed.1.map(str::to_owned))]
        );
        assert!(run.plan(&next).is_empty());
    }
    run.destroy(&dns(&name, RecordType::Txt, None)).await;
}

/// Two VPCs and, in the first, a subnet and two route tables; the internet gateway
/// in VPC `b` when `moved`, and the subnet associated with table 2.
fn attachments(name: &str, moved: bool) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let a = stack.add("vpc-a", VpcSpec::new("10.50.0.0/16"));
    let b = stack.add("vpc-b", VpcSpec::new("10.51.0.0/16"));
    let subnet = stack.add(
        "subnet",
        SubnetSpec::new(a.id(), "10.50.0.0/24", "us-east-1a"),
    );
    let t1 = stack.add("rt-1", RouteTableSpec { vpc_id: a.id() });
    let t2 = stack.add("rt-2", RouteTableSpec { vpc_id: a.id() });
    stack.add(
        "igw",
        InternetGatewaySpec {
            vpc_id: if moved { b.id() } else { a.id() },
        },
    );
    stack.add(
        "assoc",
        RouteTableAssociationSpec {
            route_table_id: if moved { t2.id() } else { t1.id() },
            subnet_id: subnet.id(),
        },
    );
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_and_a_subnets_route_table_move_in_place() {
    let name = format!("attach-{}", nonce());
    let run = Run::new().await;
    run.up(&attachments(&name, false)).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    let before = run.outputs(&attachments(&name, false));

    let moved = attachments(&name, true);
    let (_, mutating) = run.calls();
    let (plan, _) = run.up(&moved).await;
    let mut actions: Vec<(&str, Action)> = plan
        .steps
        .iter()
        .map(|s| (s.resource.as_str(), s.action))
        .collect();
    actions.sort_by_key(|(id, _)| *id);
    assert_eq!(
        actions,
        [("assoc", Action::Update), ("igw", Action::Update)]
    );
    // DetachInternetGateway, AttachInternetGateway, ReplaceRouteTableAssociation.
    assert_eq!(run.calls().1 - mutating, 3);
    let after = run.outputs(&moved);

    let igw = ec2
        .describe_internet_gateways()
        .internet_gateway_ids(&before["igw.id"])
        .send()
        .await
        .unwrap()
        .internet_gateways()[0]
        .clone();
    let vpcs: Vec<&str> = igw
        .attachments()
        .iter()
        .filter_map(|a| a.vpc_id())
        .collect();
    assert_eq!(vpcs, [after["vpc-b.id"].as_str()]);
    assert_eq!(after["igw.id"], before["igw.id"], "the same gateway");

    let table = |id: String| {
        let ec2 = ec2.clone();
        async move {
            ec2.describe_route_tables()
                .route_table_ids(id)
                .send()
                .await
                .unwrap()
                .route_tables()[0]
                .clone()
        }
    };
    let subnet = after["subnet.id"].as_str();
    let on = |t: &aws_sdk_ec2::types::RouteTable| {
        t.associations()
            .iter()
            .filter(|a| a.subnet_id() == Some(subnet))
            .filter_map(|a| a.route_table_association_id().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert!(on(&table(after["rt-1.id"].clone()).await).is_empty());
    // AWS gives a replaced association a new id, which state records.
    assert_eq!(
        on(&table(after["rt-2.id"].clone()).await),
        [after["assoc.id"].clone()]
    );
    assert!(run.plan(&moved).is_empty());
    run.destroy(&moved).await;
}

/// An EKS cluster and a managed node group, both at Kubernetes `version`.
fn upgradable(name: &str, version: &str) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let subnets = network_of(&mut stack, 52, 2);
    let cluster = stack.add(
        "eks",
        EksClusterSpec {
            name: name.into(),
            version: version.into(),
            role_arn: Input::from("arn:aws:iam::000000000000:role/glinfra-eks"),
            subnet_ids: subnets.clone(),
            security_group_ids: Vec::new(),
            endpoint_private_access: true,
            endpoint_public_access: false,
            enabled_log_types: Vec::new(),
            secrets_kms_key_arn: None,
        },
    );
    stack.add(
        "ng",
        EksNodeGroupSpec {
            cluster_name: cluster.name(),
            name: "workers".into(),
            node_role_arn: Input::from("arn:aws:iam::000000000000:role/glinfra-node"),
            subnet_ids: subnets,
            instance_types: vec!["m6i.large".into()],
            capacity_type: CapacityType::OnDemand,
            disk_size: 50,
            version: version.into(),
            ami_type: Some(AmiType::Al2023X86_64Standard),
            min_size: 1,
            max_size: 3,
            desired_size: 1,
            labels: Default::default(),
            taints: Vec::new(),
        },
    );
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kubernetes_upgrade_updates_the_cluster_then_its_node_group_in_place() {
    let name = format!("k8s-up-{}", nonce());
    let run = Run::new().await;
    run.up(&upgradable(&name, "1.29")).await;
    let eks = aws_sdk_eks::Client::new(&sdk().await);
    let read = || async {
        let cluster = eks
            .describe_cluster()
            .name(&name)
            .send()
            .await
            .unwrap()
            .cluster()
            .unwrap()
            .clone();
        let ng = eks
            .describe_nodegroup()
            .cluster_name(&name)
            .nodegroup_name("workers")
            .send()
            .await
            .unwrap()
            .nodegroup()
            .unwrap()
            .clone();
        (cluster, ng)
    };
    let (cluster_before, ng_before) = read().await;

    // One minor version, then two: each plans the cluster, then the node group.
    for version in ["1.30", "1.32"] {
        let upgraded = upgradable(&name, version);
        let (plan, _) = run.up(&upgraded).await;
        assert_eq!(
            plan.steps
                .iter()
                .map(|s| (s.resource.as_str(), s.action))
                .collect::<Vec<_>>(),
            [("eks", Action::Update), ("ng", Action::Update)],
            "{version}"
        );
        let (cluster, ng) = read().await;
        assert_eq!(cluster.version(), Some(version));
        assert_eq!(ng.version(), Some(version));
        assert_eq!(cluster.arn(), cluster_before.arn());
        assert_eq!(cluster.created_at(), cluster_before.created_at());
        assert_eq!(ng.nodegroup_arn(), ng_before.nodegroup_arn());
        assert_eq!(ng.created_at(), ng_before.created_at());
        assert!(run.plan(&upgraded).is_empty(), "{version}");
    }

    // Down again is refused before any call.
    let (_, mutating) = run.calls();
    let err = run
        .attempt(&upgradable(&name, "1.31"), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`eks` field `version`: Kubernetes 1.31 is older than the cluster's 1.32"),
        "{err}"
    );
    assert_eq!(run.calls().1, mutating, "no mutating call");
    run.destroy(&upgradable(&name, "1.32")).await;
}
