//! The five environments: each loads and validates with no AWS call, and the
//! declared stack carries the seed's values.

use glinfra_core::spec::ec2::{
    FlowLogSpec, FlowLogTraffic, SecurityGroupSpec, VpcEndpointSpec, VpcSpec,
};
use glinfra_core::spec::eks::EksNodeGroupSpec;
use glinfra_core::spec::elasticache::{CacheParameterGroupSpec, ReplicationGroupSpec};
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::spec::logs::LogGroupSpec;
use glinfra_core::spec::msk::{MskClusterSpec, MskConfigurationSpec};
use glinfra_core::spec::rds::{DbInstanceSpec, DbParameterGroupSpec};
use glinfra_core::spec::route53::{HealthCheckSpec, RecordSetSpec};
use glinfra_core::{Declared, Input, Stack};
use serde_json::json;
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
    for name in greenlang_agent_factory::ENVIRONMENTS {
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
        .filter(|d| d.kind == EksNodeGroupSpec::KIND)
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
    // prod-us-east-1 keeps its same-region replica; the other regions' replicas
    // are their own stacks'.
    let d = s.get("db-replica-us-east-1").unwrap();
    let r: DbInstanceSpec = d.spec().unwrap();
    assert_eq!(r.replicate_from, Some(Input::output("db-primary", "arn")));
    assert!(
        s.declarations()
            .iter()
            .all(|d| d.region == "us-east-1" || d.kind != DbInstanceSpec::KIND),
        "no replica of another region here"
    );
    assert!(s.get("kms-data-eu-west-1").is_none());
    assert!(s
        .exports()
        .iter()
        .any(|(name, value)| name == "db_primary_arn"
            && *value == Input::output("db-primary", "arn")));
    for (name, region) in [
        ("prod-eu-west-1", "eu-west-1"),
        ("prod-ap-southeast-1", "ap-southeast-1"),
    ] {
        let regional = stack(name);
        assert_eq!(
            regional.referenced_stacks().iter().collect::<Vec<_>>(),
            ["prod-us-east-1"]
        );
        let d = regional.get("db-replica").unwrap();
        assert_eq!(d.region, region);
        let r: DbInstanceSpec = d.spec().unwrap();
        assert_eq!(r.instance_class, "db.r6g.xlarge");
        assert_eq!(
            r.replicate_from,
            Some(Input::Stack {
                reference: glinfra_core::StackOutputRef {
                    stack: "prod-us-east-1".into(),
                    output: "db_primary_arn".into()
                }
            })
        );
        // In this stack's VPC: its data subnets, its security group, its key.
        assert_eq!(r.vpc_id, Some(Input::output("vpc", "id")));
        assert_eq!(
            r.db_subnet_group_name,
            Some(Input::output("db-subnets", "name"))
        );
        assert_eq!(
            r.vpc_security_group_ids,
            [Input::output("sg-postgres", "id")]
        );
        assert_eq!(r.kms_key_id, Some(Input::output("kms-data", "arn")));
        assert_eq!(
            (r.engine_version.as_str(), r.allocated_storage, r.iops),
            (
                primary.engine_version.as_str(),
                primary.allocated_storage,
                primary.iops
            )
        );
        let group: glinfra_core::spec::rds::DbSubnetGroupSpec = spec(&regional, "db-subnets");
        assert_eq!(group.subnet_ids.len(), 3);
        assert!(group.subnet_ids.iter().all(|s| s
            .reference()
            .is_some_and(|r| r.resource.starts_with("subnet-data-"))));
    }
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
        .filter(|d| d.kind == VpcEndpointSpec::KIND)
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
        .filter(|d| d.kind == RecordSetSpec::KIND)
        .map(|d| d.id.as_str())
        .collect();
    // Each region's records are its own stack's, in prod-us-east-1's zone.
    assert_eq!(
        records,
        ["record-api-us-east-1", "record-factory-us-east-1"]
    );
    for (name, region) in [
        ("prod-us-east-1", "us-east-1"),
        ("prod-eu-west-1", "eu-west-1"),
        ("prod-ap-southeast-1", "ap-southeast-1"),
    ] {
        let s = stack(name);
        let checks = s
            .declarations()
            .iter()
            .filter(|d| d.kind == HealthCheckSpec::KIND)
            .count();
        assert_eq!(checks, 2, "{name}");
        for label in ["api", "factory"] {
            let r: RecordSetSpec = spec(&s, &format!("record-{label}-{region}"));
            assert_eq!(r.name, format!("{label}.greenlang.ai"));
            assert_eq!(r.latency_region.as_deref(), Some(region));
            assert_eq!(
                r.records,
                [Input::Value(format!(
                    "{label}.{region}.ingress.greenlang.ai"
                ))]
            );
            if region != "us-east-1" {
                assert_eq!(
                    r.zone_id.to_json(),
                    json!({"$stack": {"stack": "prod-us-east-1", "output": "zone_id"}})
                );
            }
        }
    }
    assert!(stack("prod-eu-west-1").get("zone").is_none());
}

#[test]
fn environments_do_not_share_names() {
    // Side by side in one account: every named resource differs between environments.
    let names = |s: &Stack| -> Vec<String> {
        s.declarations()
            .iter()
            // Node group names live inside their (differently named) cluster.
            .filter(|d| d.kind != EksNodeGroupSpec::KIND)
            // Latency records share their name across regions by design (the set
            // identifier tells them apart).
            .filter(|d| d.kind != RecordSetSpec::KIND)
            .filter_map(|d| {
                ["name", "bucket", "identifier", "id", "alias"]
                    .iter()
                    .find_map(|k| {
                        d.props
                            .get(k)
                            .and_then(|v| v.as_str().map(str::to_string))
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

/// The five environments with the flow log retention each file gives.
const RETENTIONS: [(&str, i32); 5] = [
    ("prod-us-east-1", 365),
    ("prod-eu-west-1", 365),
    ("prod-ap-southeast-1", 365),
    ("staging-us-east-1", 90),
    ("dev-us-east-1", 30),
];

/// The text of an environment file.
fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap()
}

/// The stack of an environment file's text, or every problem found in it.
fn stack_of(text: &str) -> Result<Stack, String> {
    let env = greenlang_agent_factory::parse(text).map_err(|d| d.to_string())?;
    greenlang_agent_factory::stack_for(&env)
        .map(|(stack, _)| stack)
        .map_err(|d| d.to_string())
}

/// Every declaration of kind `S`, with its logical id.
fn all<S: glinfra_core::ResourceSpec>(stack: &Stack) -> Vec<(String, S)> {
    stack
        .declarations()
        .iter()
        .filter(|d| d.kind == S::KIND)
        .map(|d| (d.id.clone(), d.spec().unwrap()))
        .collect()
}

/// The logical id an output reference points at, checking the output's name.
fn referenced(input: &Input<String>, output: &str) -> String {
    let r = input.reference().expect("an output reference");
    assert_eq!(r.output, output);
    r.resource.clone()
}

#[test]
fn every_vpc_has_one_flow_log_into_a_group_keeping_the_files_retention() {
    for (name, days) in RETENTIONS {
        let s = stack(name);
        let envname = s.get("vpc").unwrap().tags["environment"].clone();
        let vpcs = all::<VpcSpec>(&s);
        let flows = all::<FlowLogSpec>(&s);
        assert!(!vpcs.is_empty(), "{name}");
        assert_eq!(flows.len(), vpcs.len(), "{name}: one flow log per VPC");
        assert_eq!(all::<LogGroupSpec>(&s).len(), vpcs.len(), "{name}");
        for (vpc, _) in &vpcs {
            let on_vpc: Vec<&(String, FlowLogSpec)> = flows
                .iter()
                .filter(|(_, f)| referenced(&f.vpc_id, "id") == *vpc)
                .collect();
            assert_eq!(on_vpc.len(), 1, "{name}: flow logs of `{vpc}`");
            let (id, flow) = on_vpc[0];
            assert_eq!(id, &format!("flow-log-{vpc}"));
            assert_eq!(flow.traffic_type, FlowLogTraffic::All);
            assert_eq!(flow.max_aggregation_interval, 600);
            let region = &s.get(vpc).unwrap().region;
            assert_eq!(&s.get(id).unwrap().region, region);

            let group_id = referenced(&flow.log_group_arn, "arn");
            let group: LogGroupSpec = spec(&s, &group_id);
            assert_eq!(group.retention_days, Some(days), "{name}");
            assert_eq!(group.name, format!("/greenlang/{envname}/{vpc}-flow-logs"));
            assert_eq!(&s.get(&group_id).unwrap().region, region);

            let role: IamRoleSpec = spec(&s, &referenced(&flow.delivery_role_arn, "arn"));
            assert_eq!(
                role.assume_role_policy["Statement"][0]["Principal"]["Service"],
                "vpc-flow-logs.amazonaws.com"
            );
            let statement = &role.inline_policies["deliver"]["Statement"][0];
            assert_eq!(
                statement["Action"],
                json!([
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams"
                ])
            );
            assert_eq!(
                statement["Resource"],
                json!([
                    {"$output": {"resource": group_id, "output": "arn"}},
                    {"$format": [{"$output": {"resource": group_id, "output": "arn"}}, ":*"]}
                ]),
                "the group and its streams, nothing else"
            );
        }
    }
}

#[test]
fn vpc_flow_logs_false_declares_none() {
    for (name, _) in RETENTIONS {
        let on = stack_of(&text(name)).unwrap();
        // The policy rule that asks for flow logs is made advisory, or it would
        // refuse the stack (tests/policy.rs shows that it does).
        let off = stack_of(
            &text(name)
                .replace("vpc_flow_logs = true", "vpc_flow_logs = false")
                .replace(
                    "vpc-flow-logs = \"mandatory\"",
                    "vpc-flow-logs = \"advisory\"",
                ),
        )
        .unwrap();
        assert!(all::<FlowLogSpec>(&off).is_empty(), "{name}");
        assert!(all::<LogGroupSpec>(&off).is_empty(), "{name}");
        // The log group, the delivery role and the flow log of the one VPC: nothing else.
        let gone: Vec<&str> = on
            .declarations()
            .iter()
            .filter(|d| off.get(&d.id).is_none())
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(
            gone,
            ["logs-vpc-flow", "iam-vpc-flow-logs", "flow-log-vpc"],
            "{name}"
        );
    }
}

#[test]
fn flow_log_settings_are_validated_naming_the_file_key_or_resource() {
    let prod = text("prod-us-east-1");
    let err = stack_of(&prod.replace("flow_log_traffic = \"ALL\"", "flow_log_traffic = \"all\""))
        .unwrap_err();
    assert!(
        err.contains("unknown variant `all`") && err.contains("flow_log_traffic"),
        "{err}"
    );
    let err = stack_of(&prod.replace("flow_log_retention_days = 365\n", "")).unwrap_err();
    assert!(
        err.contains("missing field `flow_log_retention_days`"),
        "{err}"
    );
    let err = stack_of(&prod.replace(
        "flow_log_retention_days = 365",
        "flow_log_retention_days = 100",
    ))
    .unwrap_err();
    assert!(
        err.contains("resource `logs-vpc-flow`, field `retention_days`") && err.contains("not 100"),
        "{err}"
    );
    let err = stack_of(&prod.replace(
        "flow_log_max_aggregation_seconds = 600",
        "flow_log_max_aggregation_seconds = 300",
    ))
    .unwrap_err();
    assert!(
        err.contains("resource `flow-log-vpc`, field `max_aggregation_interval`: must be 60 or 600 seconds, got 300"),
        "{err}"
    );
    // A retention of one week and one-minute REJECT records are fine.
    let s = stack_of(
        &prod
            .replace(
                "flow_log_retention_days = 365",
                "flow_log_retention_days = 7",
            )
            .replace(
                "flow_log_traffic = \"ALL\"",
                "flow_log_traffic = \"REJECT\"",
            )
            .replace(
                "flow_log_max_aggregation_seconds = 600",
                "flow_log_max_aggregation_seconds = 60",
            ),
    )
    .unwrap();
    let flow: FlowLogSpec = spec(&s, "flow-log-vpc");
    assert_eq!(
        (flow.traffic_type, flow.max_aggregation_interval),
        (FlowLogTraffic::Reject, 60)
    );
    let group: LogGroupSpec = spec(&s, "logs-vpc-flow");
    assert_eq!(group.retention_days, Some(7));
}

#[test]
fn ports_user_families_and_encryption_come_from_the_file() {
    let changed = text("prod-us-east-1")
        .replace("postgres_port = 5432", "postgres_port = 5433")
        .replace("redis_port = 6379", "redis_port = 6380")
        .replace("kafka_tls_port = 9094", "kafka_tls_port = 9095")
        .replace("https_port = 443", "https_port = 8443")
        .replace("health_check_port = 443", "health_check_port = 444")
        .replace(
            "master_username = \"greenlang\"",
            "master_username = \"factory\"",
        )
        .replace(
            "client_broker_encryption = \"TLS\"",
            "client_broker_encryption = \"TLS_PLAINTEXT\"",
        )
        // Plaintext to the brokers breaks the `tls-in-transit` rule; made advisory
        // here so the value can be followed into the declaration.
        .replace(
            "tls-in-transit = \"mandatory\"",
            "tls-in-transit = \"advisory\"",
        )
        .replace("engine_version = \"7.0\"", "engine_version = \"6.2\"")
        .replace(
            "parameter_group_family = \"redis7\"",
            "parameter_group_family = \"redis6.x\"",
        );
    let s = stack_of(&changed).unwrap();
    for (id, port) in [
        ("sg-postgres", 5433),
        ("sg-redis", 6380),
        ("sg-kafka", 9095),
        ("sg-endpoints", 8443),
    ] {
        let g: SecurityGroupSpec = spec(&s, id);
        assert_eq!((g.ingress[0].from_port, g.ingress[0].to_port), (port, port));
    }
    let redis: ReplicationGroupSpec = spec(&s, "redis");
    assert_eq!(redis.port, 6380);
    let params: CacheParameterGroupSpec = spec(&s, "cache-params");
    assert_eq!(
        (params.family.as_str(), params.name.as_str()),
        ("redis6.x", "greenlang-prod-redis6-x")
    );
    let primary: DbInstanceSpec = spec(&s, "db-primary");
    assert_eq!(primary.master_username.as_deref(), Some("factory"));
    let kafka: MskClusterSpec = spec(&s, "kafka");
    assert_eq!(kafka.client_broker_encryption, "TLS_PLAINTEXT");
    let check: HealthCheckSpec = spec(&s, "health-api-us-east-1");
    assert_eq!(check.port, 444);

    // The shipped values: the names of the seed.
    let s = stack("prod-us-east-1");
    let primary: DbInstanceSpec = spec(&s, "db-primary");
    assert_eq!(primary.master_username.as_deref(), Some("greenlang"));
    let params: DbParameterGroupSpec = spec(&s, "db-params");
    assert_eq!(params.name, "greenlang-prod-postgres15");
    let params: CacheParameterGroupSpec = spec(&s, "cache-params");
    assert_eq!(
        (params.family.as_str(), params.name.as_str()),
        ("redis7", "greenlang-prod-redis7")
    );
    let kafka: MskClusterSpec = spec(&s, "kafka");
    assert_eq!(kafka.client_broker_encryption, "TLS");
    let check: HealthCheckSpec = spec(&s, "health-api-us-east-1");
    assert_eq!(check.port, 443);
}

#[test]
fn parameter_group_families_must_match_the_engine_versions() {
    let err = stack_of(&text("prod-us-east-1").replace(
        "parameter_group_family = \"postgres15\"",
        "parameter_group_family = \"postgres14\"",
    ))
    .unwrap_err();
    assert!(
        err.contains("field `database.parameter_group_family`: `postgres14` does not match engine_version `15`"),
        "{err}"
    );
    let err = stack_of(&text("dev-us-east-1").replace(
        "parameter_group_family = \"redis7\"",
        "parameter_group_family = \"redis6.x\"",
    ))
    .unwrap_err();
    assert!(
        err.contains(
            "field `cache.parameter_group_family`: `redis6.x` does not match engine_version `7.0`"
        ),
        "{err}"
    );
}

// Security services (seed 8.1): `[security_services]`.

mod security_services {
    use super::{all, spec, stack, stack_of, text};
    use glinfra_core::spec::guardduty::{FindingFrequency, GuardDutyDetectorSpec};
    use glinfra_core::spec::inspector2::{InspectorEnablerSpec, ScanType};
    use glinfra_core::spec::kms::KmsKeySpec;
    use glinfra_core::spec::securityhub::{SecurityHubAccountSpec, StandardsSubscriptionSpec};
    use glinfra_core::spec::shield::ShieldSubscriptionSpec;
    use glinfra_core::spec::wafv2::{OverrideAction, WafAction, WafScope, WebAclSpec};

    const PRODS: [(&str, &str); 3] = [
        ("prod-us-east-1", "us-east-1"),
        ("prod-eu-west-1", "eu-west-1"),
        ("prod-ap-southeast-1", "ap-southeast-1"),
    ];

    #[test]
    fn every_prod_region_declares_its_own_security_services() {
        for (name, region) in PRODS {
            let s = stack(name);
            let gd: GuardDutyDetectorSpec = spec(&s, "guardduty");
            assert_eq!(
                gd.finding_publishing_frequency,
                FindingFrequency::FifteenMinutes,
                "{name}"
            );
            assert_eq!(gd.features.len(), 5, "{name}");
            let _: SecurityHubAccountSpec = spec(&s, "securityhub");
            let cis: StandardsSubscriptionSpec = spec(&s, "securityhub-cis");
            assert_eq!(
                cis.standards_arn,
                format!(
                    "arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/3.0.0"
                )
            );
            assert_eq!(
                super::referenced(&cis.hub_arn, "hub_arn"),
                "securityhub",
                "the subscription waits for the hub"
            );
            let ins: InspectorEnablerSpec = spec(&s, "inspector");
            assert_eq!(ins.resource_types, [ScanType::Ec2, ScanType::Ecr], "{name}");
            let waf: WebAclSpec = spec(&s, "waf-regional");
            assert_eq!(
                (waf.scope, waf.default_action),
                (WafScope::Regional, WafAction::Allow)
            );
            let rules: Vec<(&str, i32, OverrideAction)> = waf
                .rules
                .iter()
                .map(|r| (r.name.as_str(), r.priority, r.override_action))
                .collect();
            assert_eq!(
                rules,
                [
                    (
                        "AWSManagedRulesAmazonIpReputationList",
                        10,
                        OverrideAction::None
                    ),
                    ("AWSManagedRulesCommonRuleSet", 20, OverrideAction::None),
                    (
                        "AWSManagedRulesKnownBadInputsRuleSet",
                        30,
                        OverrideAction::None
                    ),
                ],
                "{name}"
            );
            let exported: Vec<&str> = s.exports().iter().map(|(n, _)| n.as_str()).collect();
            assert!(
                exported.contains(&"waf_web_acl_arn"),
                "{name}: {exported:?}"
            );
            // Shield Advanced is paid: off by default, nothing declared.
            assert!(all::<ShieldSubscriptionSpec>(&s).is_empty(), "{name}");
        }
    }

    #[test]
    fn every_key_of_every_environment_rotates_every_90_days() {
        for name in greenlang_agent_factory::ENVIRONMENTS {
            let keys = all::<KmsKeySpec>(&stack(name));
            assert!(!keys.is_empty(), "{name}");
            for (id, key) in keys {
                assert!(key.enable_key_rotation, "{name}: {id}");
                assert_eq!(key.rotation_period_days, Some(90), "{name}: {id}");
            }
        }
    }

    #[test]
    fn staging_and_dev_are_smaller() {
        // Staging and dev run in prod-us-east-1's account and region: the services
        // AWS allows one of there are prod's, theirs switched off, ready.
        for name in ["staging-us-east-1", "dev-us-east-1"] {
            let s = stack(name);
            for id in ["guardduty", "securityhub", "securityhub-cis", "inspector"] {
                assert!(s.get(id).is_none(), "{name}: {id}");
            }
        }
        let mut env = greenlang_agent_factory::parse(&text("staging-us-east-1")).unwrap();
        let s = &mut env.security_services;
        s.guardduty.enabled = true;
        s.security_hub.enabled = true;
        s.inspector.enabled = true;
        let (staging, _) = greenlang_agent_factory::stack_for(&env).unwrap();
        let gd: GuardDutyDetectorSpec = spec(&staging, "guardduty");
        assert_eq!(gd.finding_publishing_frequency, FindingFrequency::OneHour);
        let ins: InspectorEnablerSpec = spec(&staging, "inspector");
        assert_eq!(ins.resource_types, [ScanType::Ecr]);
        assert!(staging.get("securityhub-cis").is_some());

        let dev = stack("dev-us-east-1");
        assert!(dev.get("securityhub").is_none() && dev.get("securityhub-cis").is_none());
        let waf: WebAclSpec = spec(&dev, "waf-regional");
        assert!(waf
            .rules
            .iter()
            .all(|r| r.override_action == OverrideAction::Count));
    }

    #[test]
    fn shield_advanced_true_declares_the_subscription_kept_on_destroy() {
        let prod = text("prod-us-east-1");
        let on =
            stack_of(&prod.replace("shield_advanced = false", "shield_advanced = true")).unwrap();
        let d = on.get("shield-advanced").expect("declared");
        assert!(d.lifecycle.retain_on_delete);
        let off = stack_of(&prod).unwrap();
        assert!(off.get("shield-advanced").is_none());
    }

    /// `text` with the `enabled = true` of `[security_services.<section>]` set false.
    fn switched_off(text: &str, section: &str) -> String {
        let at = text
            .find(&format!("[security_services.{section}]"))
            .expect("section");
        let on = at + text[at..].find("enabled = true").expect("enabled");
        format!(
            "{}enabled = false{}",
            &text[..on],
            &text[on + "enabled = true".len()..]
        )
    }

    #[test]
    fn disabled_services_declare_nothing() {
        let prod = switched_off(&switched_off(&text("prod-us-east-1"), "guardduty"), "waf");
        let s = stack_of(&prod).unwrap();
        assert!(s.get("guardduty").is_none());
        assert!(s.get("waf-regional").is_none());
        assert!(!s.exports().iter().any(|(n, _)| n == "waf_web_acl_arn"));
        assert!(s.get("inspector").is_some() && s.get("securityhub").is_some());
        let s = stack_of(&switched_off(&text("prod-us-east-1"), "inspector")).unwrap();
        assert!(s.get("inspector").is_none() && s.get("guardduty").is_some());
    }

    #[test]
    fn bad_values_are_rejected_naming_the_key_or_resource_and_field() {
        let prod = text("prod-us-east-1");
        let err = stack_of(&prod.replace(
            "finding_publishing_frequency = \"FIFTEEN_MINUTES\"",
            "finding_publishing_frequency = \"HOURLY\"",
        ))
        .unwrap_err();
        assert!(
            err.contains("unknown variant `HOURLY`")
                && err.contains("finding_publishing_frequency"),
            "{err}"
        );
        let err = stack_of(&prod.replace("shield_advanced = false\n", "")).unwrap_err();
        assert!(err.contains("missing field `shield_advanced`"), "{err}");
        let err = stack_of(&prod.replace(
            "resource_types = [\"EC2\", \"ECR\"]",
            "resource_types = [\"EC2\", \"S3\"]",
        ))
        .unwrap_err();
        assert!(
            err.contains("unknown variant `S3`") && err.contains("resource_types"),
            "{err}"
        );
        // KMS takes 90 to 2560 days.
        let err = stack_of(&prod.replace("key_rotation_days = 90", "key_rotation_days = 30"))
            .unwrap_err();
        assert!(
            err.contains("resource `kms-s3`, field `rotation_period_days`")
                && err.contains("90 to 2560"),
            "{err}"
        );
        // The seed's 90 days is the policy: a longer period is refused.
        let err = stack_of(&prod.replace("key_rotation_days = 90", "key_rotation_days = 365"))
            .unwrap_err();
        assert!(
            err.contains("kms-rotation")
                && err.contains("rotation_period_days")
                && err.contains("at most 90"),
            "{err}"
        );
        let err = stack_of(&prod.replace("cis_version = \"3.0.0\"", "cis_version = \"2.0.0\""))
            .unwrap_err();
        assert!(
            err.contains("resource `securityhub-cis`, field `standards_arn`")
                && err.contains("2.0.0"),
            "{err}"
        );
        let err = stack_of(&prod.replace("priority = 30", "priority = 20")).unwrap_err();
        assert!(
            err.contains("resource `waf-regional`, field `rules`")
                && err.contains("same priority 20"),
            "{err}"
        );
        let err = stack_of(&prod.replace(
            "name = \"AWSManagedRulesCommonRuleSet\"",
            "name = \"AWSManagedRulesCommonRules\"",
        ))
        .unwrap_err();
        assert!(
            err.contains("`AWSManagedRulesCommonRules` is not an AWS managed rule group"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_value_names_the_file() {
        let dir = std::env::temp_dir().join(format!("glinfra-secsvc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("prod-bad.toml");
        std::fs::write(
            &file,
            text("prod-us-east-1")
                .replace("default_action = \"ALLOW\"", "default_action = \"allow\""),
        )
        .unwrap();
        let err = greenlang_agent_factory::load_stack(&file)
            .unwrap_err()
            .to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("prod-bad.toml"), "{err}");
        assert!(
            err.contains("default_action") && err.contains("unknown variant `allow`"),
            "{err}"
        );
    }
}
