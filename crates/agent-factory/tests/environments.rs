//! The five environments: each loads and validates with no AWS call, and the
//! declared stack carries the seed's values.

use glinfra_core::spec::ec2::SecurityGroupSpec;
use glinfra_core::spec::eks::EksNodeGroupSpec;
use glinfra_core::spec::elasticache::ReplicationGroupSpec;
use glinfra_core::spec::msk::{MskClusterSpec, MskConfigurationSpec};
use glinfra_core::spec::rds::{DbInstanceSpec, DbParameterGroupSpec};
use glinfra_core::{Kind, Stack};
use std::path::PathBuf;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../environments")
        .join(format!("{name}.toml"))
}

fn stack(name: &str) -> Stack {
    let (_, stack, _) =
        greenlang_agent_factory::load_stack(&path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    stack
}

fn spec<S: glinfra_core::ResourceSpec>(stack: &Stack, id: &str) -> S {
    stack
        .get(id)
        .unwrap_or_else(|| panic!("no `{id}`"))
        .spec()
        .unwrap()
}

#[test]
fn every_environment_validates() {
    for name in [
        "prod-us-east-1",
        "prod-eu-west-1",
        "prod-ap-southeast-1",
        "staging-us-east-1",
        "dev-us-east-1",
    ] {
        let s = stack(name);
        assert_eq!(s.name(), name);
    }
    // Regional VPCs of seed 3.1.
    for (name, cidr) in [
        ("prod-us-east-1", "10.0.0.0/16"),
        ("prod-eu-west-1", "10.1.0.0/16"),
        ("prod-ap-southeast-1", "10.2.0.0/16"),
    ] {
        let vpc: glinfra_core::spec::ec2::VpcSpec = spec(&stack(name), "vpc");
        assert_eq!(vpc.cidr_block, cidr);
    }
}

#[test]
fn node_pools_follow_the_seed_and_spot_pools_split() {
    let s = stack("prod-us-east-1");
    let groups: Vec<(String, EksNodeGroupSpec)> = s
        .declarations()
        .iter()
        .filter(|d| d.kind == Kind::EksNodeGroup)
        .map(|d| (d.id.clone(), d.spec().unwrap()))
        .collect();
    let sizes: Vec<(String, &str, &str, i32, i32, i32)> = groups
        .iter()
        .map(|(id, g)| {
            (
                id.clone(),
                g.instance_types[0].as_str(),
                g.capacity_type.as_str(),
                g.min_size,
                g.max_size,
                g.desired_size,
            )
        })
        .collect();
    let expected = [
        ("ng-system", "m6i.xlarge", "ON_DEMAND", 3, 5, 3),
        ("ng-api-gateway", "c6i.2xlarge", "ON_DEMAND", 3, 10, 3),
        ("ng-agent-factory", "m6i.2xlarge", "ON_DEMAND", 3, 20, 3),
        ("ng-agent-runtime-spot", "c6i.xlarge", "SPOT", 6, 60, 6),
        (
            "ng-agent-runtime-ondemand",
            "c6i.xlarge",
            "ON_DEMAND",
            4,
            40,
            4,
        ),
        ("ng-worker-spot", "m6i.xlarge", "SPOT", 4, 40, 4),
        ("ng-worker-ondemand", "m6i.xlarge", "ON_DEMAND", 1, 10, 1),
        ("ng-gpu", "g4dn.xlarge", "ON_DEMAND", 0, 5, 0),
    ];
    assert_eq!(
        sizes,
        expected
            .iter()
            .map(|(a, b, c, d, e, f)| (a.to_string(), *b, *c, *d, *e, *f))
            .collect::<Vec<_>>()
    );
    let system = &groups[0].1;
    assert_eq!(system.disk_size, 100);
    assert_eq!(system.taints[0].effect, "NO_SCHEDULE");
    assert_eq!(system.taints[0].key, "CriticalAddonsOnly");
    let gpu = &groups[7].1;
    assert_eq!(gpu.labels["workload-type"], "gpu");
    assert_eq!(gpu.taints[0].key, "nvidia.com/gpu");
}

#[test]
fn database_cache_and_kafka_carry_the_seed_values() {
    let s = stack("prod-us-east-1");
    let primary: DbInstanceSpec = spec(&s, "db-primary");
    assert_eq!(
        (
            primary.instance_class.as_str(),
            primary.storage_type.as_str(),
            primary.allocated_storage,
            primary.iops
        ),
        ("db.r6g.2xlarge", "io2", 1000, Some(10000))
    );
    assert!(
        primary.storage_encrypted
            && primary.multi_az
            && primary.deletion_protection
            && primary.manage_master_user_password
    );
    assert_eq!(
        (
            primary.backup_retention_days,
            primary.maintenance_window.as_str()
        ),
        (30, "sun:03:00-sun:04:00")
    );
    for region in ["us-east-1", "eu-west-1", "ap-southeast-1"] {
        let id = format!("db-replica-{region}");
        let d = s.get(&id).unwrap();
        assert_eq!(d.region, region);
        let r: DbInstanceSpec = d.spec().unwrap();
        assert_eq!(r.instance_class, "db.r6g.xlarge");
        assert!(r.replicate_from.is_some() && r.kms_key_id.is_some());
    }
    assert_eq!(s.get("kms-data-eu-west-1").unwrap().region, "eu-west-1");
    let params: DbParameterGroupSpec = spec(&s, "db-params");
    assert_eq!(params.family, "postgres15");
    assert_eq!(params.parameters["shared_buffers"], "2097152");
    assert_eq!(params.parameters["work_mem"], "262144");
    assert_eq!(params.parameters["max_wal_size"], "4096");

    let redis: ReplicationGroupSpec = spec(&s, "redis");
    assert_eq!(
        (
            redis.num_node_groups,
            redis.replicas_per_node_group,
            redis.node_type.as_str()
        ),
        (3, 1, "cache.r6g.xlarge")
    );
    assert!(
        redis.automatic_failover
            && redis.multi_az
            && redis.at_rest_encryption
            && redis.transit_encryption
    );
    assert_eq!(redis.snapshot_retention_days, 7);

    let config: MskConfigurationSpec = spec(&s, "kafka-config");
    assert_eq!(config.server_properties["min.insync.replicas"], "2");
    assert_eq!(
        config.server_properties["auto.create.topics.enable"],
        "false"
    );
    let kafka: MskClusterSpec = spec(&s, "kafka");
    assert_eq!(
        (
            kafka.broker_count,
            kafka.instance_type.as_str(),
            kafka.volume_size_gb
        ),
        (6, "kafka.m5.2xlarge", 1000)
    );
    assert_eq!(kafka.client_subnets.len(), 3);
}

#[test]
fn data_ports_open_only_to_the_app_subnets() {
    let s = stack("prod-us-east-1");
    for (id, port) in [
        ("sg-postgres", 5432),
        ("sg-redis", 6379),
        ("sg-kafka", 9094),
    ] {
        let g: SecurityGroupSpec = spec(&s, id);
        assert_eq!(g.ingress.len(), 1);
        assert_eq!((g.ingress[0].from_port, g.ingress[0].to_port), (port, port));
        assert_eq!(
            g.ingress[0].cidr_blocks,
            ["10.0.64.0/19", "10.0.96.0/19", "10.0.128.0/19"]
        );
        assert!(g.egress.is_empty(), "nothing open by default");
    }
    let endpoints: Vec<&str> = s
        .declarations()
        .iter()
        .filter(|d| d.kind == Kind::VpcEndpoint)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(
        endpoints,
        [
            "vpce-s3",
            "vpce-ecr-api",
            "vpce-ecr-dkr",
            "vpce-logs",
            "vpce-monitoring",
            "vpce-secretsmanager",
            "vpce-kms"
        ]
    );
}

#[test]
fn dns_is_latency_routed_over_three_regions_with_health_checks() {
    let s = stack("prod-us-east-1");
    let records: Vec<&str> = s
        .declarations()
        .iter()
        .filter(|d| d.kind == Kind::RecordSet)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(records.len(), 6);
    assert_eq!(
        s.declarations()
            .iter()
            .filter(|d| d.kind == Kind::HealthCheck)
            .count(),
        6
    );
    assert!(stack("prod-eu-west-1").get("zone").is_none());
}

#[test]
fn environments_do_not_share_names() {
    // Side by side in one account: every named resource differs between environments.
    let names = |s: &Stack| -> Vec<String> {
        s.declarations()
            .iter()
            // Node group names live inside their (differently named) cluster.
            .filter(|d| d.kind != Kind::EksNodeGroup)
            .filter_map(|d| {
                ["name", "bucket", "identifier", "id", "alias"]
                    .iter()
                    .find_map(|k| {
                        d.props
                            .get(*k)
                            .and_then(|v| v.as_str())
                            .map(|v| format!("{}:{v}", d.kind))
                    })
            })
            .collect()
    };
    let prod = names(&stack("prod-us-east-1"));
    for other in ["staging-us-east-1", "dev-us-east-1", "prod-eu-west-1"] {
        let theirs = names(&stack(other));
        let shared: Vec<&String> = theirs.iter().filter(|n| prod.contains(n)).collect();
        assert!(shared.is_empty(), "{other} shares {shared:?} with prod");
    }
}
