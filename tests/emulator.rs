//! Integration tests against the emulator named by `AWS_ENDPOINT_URL` (started by
//! `scripts/test`). Each test has its own stack and environment names, so they run
//! in parallel on one emulator. Nothing here skips: without an endpoint, they fail.

mod common;
#[path = "common/identity.rs"]
mod identity;
#[path = "common/security.rs"]
mod security;

use aws_sdk_ec2::types::{Filter, Route, RouteTable, Subnet};
use aws_sdk_eks::types::Nodegroup;
use aws_sdk_elasticache::types::ReplicationGroup;
use aws_sdk_rds::types::DbInstance;
use aws_sdk_s3::types::LifecycleRule;
use common::{sdk, Run};
use glinfra::Stack;
use greenlang_agent_factory::{config::Environment, stack_for};
use std::collections::BTreeMap;
use std::time::Instant;

/// The prod environment renamed for one test, with buckets that empty themselves on destroy.
fn environment(test: &str) -> Environment {
    common::environment_from("prod-us-east-1", test)
}

fn tag_filter(stack: &Stack) -> Filter {
    Filter::builder()
        .name("tag:glinfra:stack")
        .values(stack.name())
        .build()
}

fn owned(tags: &[aws_sdk_ec2::types::Tag], stack: &Stack) -> bool {
    tags.iter()
        .any(|t| t.key() == Some("glinfra:stack") && t.value() == Some(stack.name()))
}

/// `"<label> <id>"` for each item of the list `$list` that the Describe call `$call`
/// answers, named by its `$id`.
macro_rules! listed {
    ($call:expr, $list:ident, $id:ident, $label:literal) => {
        $call
            .send()
            .await
            .unwrap()
            .$list()
            .iter()
            .map(|x| format!(concat!($label, " {}"), x.$id().unwrap()))
    };
}

/// Everything EC2 still holds with this stack's ownership tag.
async fn ec2_leftovers(ec2: &aws_sdk_ec2::Client, stack: &Stack) -> Vec<String> {
    let f = tag_filter(stack);
    let mut left: Vec<String> =
        listed!(ec2.describe_vpcs().filters(f.clone()), vpcs, vpc_id, "vpc").collect();
    left.extend(listed!(
        ec2.describe_subnets().filters(f.clone()),
        subnets,
        subnet_id,
        "subnet"
    ));
    for n in ec2
        .describe_nat_gateways()
        .filter(f.clone())
        .send()
        .await
        .unwrap()
        .nat_gateways()
    {
        // LocalStack ignores tag filters on this call: check the tags here.
        if n.state().map(|s| s.as_str()) != Some("deleted") && owned(n.tags(), stack) {
            left.push(format!("nat {}", n.nat_gateway_id().unwrap()));
        }
    }
    left.extend(listed!(
        ec2.describe_addresses().filters(f.clone()),
        addresses,
        allocation_id,
        "eip"
    ));
    left.extend(listed!(
        ec2.describe_route_tables().filters(f.clone()),
        route_tables,
        route_table_id,
        "rtb"
    ));
    left.extend(listed!(
        ec2.describe_internet_gateways().filters(f),
        internet_gateways,
        internet_gateway_id,
        "igw"
    ));
    left
}

// Reading back: one Describe call each, by the resource's name or id.

/// The CIDR block of VPC `id`.
async fn vpc_cidr(ec2: &aws_sdk_ec2::Client, id: &str) -> Option<String> {
    let vpcs = ec2.describe_vpcs().vpc_ids(id).send().await.unwrap();
    vpcs.vpcs()[0].cidr_block().map(str::to_string)
}

/// Subnet `id`.
async fn subnet(ec2: &aws_sdk_ec2::Client, id: &str) -> Subnet {
    let subnets = ec2.describe_subnets().subnet_ids(id).send().await.unwrap();
    subnets.subnets()[0].clone()
}

/// Route table `id`.
async fn route_table(ec2: &aws_sdk_ec2::Client, id: &str) -> RouteTable {
    let call = ec2.describe_route_tables().route_table_ids(id);
    call.send().await.unwrap().route_tables()[0].clone()
}

/// The default route (`0.0.0.0/0`) of `rt`.
fn default_route(rt: &RouteTable) -> &Route {
    rt.routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .unwrap()
}

/// The subnets associated with `rt`.
fn associated_subnets(rt: &RouteTable) -> Vec<&str> {
    rt.associations()
        .iter()
        .filter_map(|a| a.subnet_id())
        .collect()
}

/// The lifecycle rules of `bucket`.
async fn lifecycle_rules(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<LifecycleRule> {
    let call = s3.get_bucket_lifecycle_configuration().bucket(bucket);
    call.send().await.unwrap().rules().to_vec()
}

/// Whether KMS key `id` rotates.
async fn rotates(kms: &aws_sdk_kms::Client, id: &str) -> bool {
    let call = kms.get_key_rotation_status().key_id(id);
    call.send().await.unwrap().key_rotation_enabled()
}

/// A failed call's error, for a reader's `Err`.
fn failed(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

/// EKS cluster `name`; the error of the call when it fails (it is gone).
async fn eks_cluster(
    eks: &aws_sdk_eks::Client,
    name: &str,
) -> Result<aws_sdk_eks::types::Cluster, String> {
    let call = eks.describe_cluster().name(name);
    let answer = call.send().await.map_err(failed)?;
    Ok(answer.cluster().unwrap().clone())
}

/// Node group `name` of EKS cluster `cluster`.
async fn nodegroup(eks: &aws_sdk_eks::Client, cluster: &str, name: &str) -> Nodegroup {
    let call = eks.describe_nodegroup().cluster_name(cluster);
    let answer = call.nodegroup_name(name).send().await.unwrap();
    answer.nodegroup().unwrap().clone()
}

/// RDS instance `id`; the error of the call when it fails (it is gone).
async fn db_instance(rds: &aws_sdk_rds::Client, id: &str) -> Result<DbInstance, String> {
    let call = rds.describe_db_instances().db_instance_identifier(id);
    let answer = call.send().await.map_err(failed)?;
    Ok(answer.db_instances()[0].clone())
}

/// ElastiCache replication group `id`; the error of the call when it fails (it is gone).
async fn replication_group(
    ec: &aws_sdk_elasticache::Client,
    id: &str,
) -> Result<ReplicationGroup, String> {
    let call = ec.describe_replication_groups().replication_group_id(id);
    let answer = call.send().await.map_err(failed)?;
    Ok(answer.replication_groups()[0].clone())
}

/// The value of parameter `name` in ElastiCache parameter group `group`.
async fn cache_parameter(
    ec: &aws_sdk_elasticache::Client,
    group: &str,
    name: &str,
) -> Option<String> {
    let call = ec
        .describe_cache_parameters()
        .cache_parameter_group_name(group);
    let params = call.send().await.unwrap();
    params
        .parameters()
        .iter()
        .find(|p| p.parameter_name() == Some(name))
        .and_then(|p| p.parameter_value().map(str::to_string))
}

/// MSK cluster `arn`; the error of the call when it fails (it is gone).
async fn msk_cluster(
    kafka: &aws_sdk_kafka::Client,
    arn: &str,
) -> Result<aws_sdk_kafka::types::Cluster, String> {
    let call = kafka.describe_cluster_v2().cluster_arn(arn);
    let answer = call.send().await.map_err(failed)?;
    Ok(answer.cluster_info().unwrap().clone())
}

/// The plan's steps as (resource, action), by resource.
fn actions(plan: &glinfra::Plan) -> Vec<(String, glinfra::Action)> {
    let mut actions: Vec<_> = plan
        .steps
        .iter()
        .map(|s| (s.resource.clone(), s.action))
        .collect();
    actions.sort_by(|a, b| a.0.cmp(&b.0));
    actions
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_reads_back_then_replans_empty_then_destroys_everything() {
    let mut env = environment("apply");
    // The one copy here with the account-level security services (seed 8.1).
    security::services_on(&mut env, "prod-us-east-1");
    let (stack, _) = stack_for(&env).unwrap();
    let run = Run::new().await;
    let started = Instant::now();
    let (plan, report) = run.up(&stack).await;
    let first = (started.elapsed(), run.calls());
    assert_eq!(plan.summary.create, stack.declarations().len());
    assert_eq!(report.succeeded(), stack.declarations().len());
    let out = run.outputs(&stack);
    let config = sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);

    // Network, read back through the EC2 API.
    let vpc_id = &out["vpc.id"];
    assert_eq!(vpc_cidr(&ec2, vpc_id).await.as_deref(), Some("10.0.0.0/16"));
    let subnets = ec2
        .describe_subnets()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .unwrap();
    let mut seen: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .map(|s| {
            (
                s.cidr_block().unwrap().to_string(),
                s.availability_zone().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut expected: Vec<(String, String)> = Vec::new();
    for (list, _) in [
        (&env.network.public_subnets, "public"),
        (&env.network.app_subnets, "app"),
        (&env.network.data_subnets, "data"),
    ] {
        for (cidr, zone) in list.iter().zip(&env.network.availability_zones) {
            expected.push((cidr.clone(), zone.clone()));
        }
    }
    expected.sort();
    assert_eq!(
        seen, expected,
        "the nine subnets of the seed over three zones"
    );
    let public_a = subnets
        .subnets()
        .iter()
        .find(|s| s.cidr_block() == Some("10.0.0.0/20"))
        .unwrap();
    assert_eq!(public_a.map_public_ip_on_launch(), Some(true));

    let nats = ec2
        .describe_nat_gateways()
        .filter(tag_filter(&stack))
        .send()
        .await
        .unwrap();
    let live: Vec<_> = nats
        .nat_gateways()
        .iter()
        .filter(|n| n.state().map(|s| s.as_str()) == Some("available") && owned(n.tags(), &stack))
        .collect();
    assert_eq!(live.len(), 3, "one NAT gateway per zone");
    for zone in ["a", "b", "c"] {
        let nat = &out[&format!("nat-{zone}.id")];
        let n = live
            .iter()
            .find(|n| n.nat_gateway_id() == Some(nat))
            .unwrap();
        assert_eq!(
            n.subnet_id(),
            Some(out[&format!("subnet-public-{zone}.id")].as_str())
        );
        assert_eq!(
            n.nat_gateway_addresses()[0].allocation_id(),
            Some(out[&format!("eip-nat-{zone}.allocation_id")].as_str())
        );
        for tier in ["app", "data"] {
            let rt = route_table(&ec2, &out[&format!("rt-{tier}-{zone}.id")]).await;
            assert_eq!(
                default_route(&rt).nat_gateway_id(),
                Some(nat.as_str()),
                "{tier}-{zone} leaves through its zone's NAT"
            );
            assert_eq!(
                associated_subnets(&rt),
                [out[&format!("subnet-{tier}-{zone}.id")].as_str()]
            );
        }
    }
    let public_rt = route_table(&ec2, &out["rt-public.id"]).await;
    assert_eq!(
        default_route(&public_rt).gateway_id(),
        Some(out["igw.id"].as_str())
    );

    // Storage, read back through the S3 API.
    let s3 = aws_sdk_s3::Client::new(&config);
    let envname = &env.stack.environment;
    let packs = format!("greenlang-agent-packs-{envname}");
    assert_eq!(
        s3.get_bucket_versioning()
            .bucket(&packs)
            .send()
            .await
            .unwrap()
            .status()
            .map(|s| s.as_str()),
        Some("Enabled")
    );
    let rule = &lifecycle_rules(&s3, &packs).await[0];
    let days: Vec<(i32, String)> = rule
        .transitions()
        .iter()
        .map(|t| {
            (
                t.days().unwrap(),
                t.storage_class().unwrap().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            (90, "STANDARD_IA".to_string()),
            (365, "GLACIER".to_string())
        ]
    );
    assert_eq!(rule.expiration().unwrap().days(), Some(2555));
    let enc = s3
        .get_bucket_encryption()
        .bucket(&packs)
        .send()
        .await
        .unwrap();
    let sse = enc.server_side_encryption_configuration().unwrap().rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap();
    assert_eq!(sse.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(sse.kms_master_key_id(), Some(out["kms-s3.arn"].as_str()));
    let pab = s3
        .get_public_access_block()
        .bucket(&packs)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (pab.block_public_acls(), pab.restrict_public_buckets()),
        (Some(true), Some(true))
    );
    let policy = s3.get_bucket_policy().bucket(&packs).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
    let audit = format!("greenlang-audit-logs-{envname}");
    let lock = s3
        .get_object_lock_configuration()
        .bucket(&audit)
        .send()
        .await
        .unwrap();
    let retention = lock
        .object_lock_configuration()
        .unwrap()
        .rule()
        .unwrap()
        .default_retention()
        .unwrap();
    assert_eq!(
        (retention.mode().unwrap().as_str(), retention.days()),
        ("COMPLIANCE", Some(2555))
    );
    let backups = format!("greenlang-backups-{envname}");
    let replication = s3
        .get_bucket_replication()
        .bucket(&backups)
        .send()
        .await
        .unwrap();
    let replication = replication.replication_configuration().unwrap();
    assert_eq!(
        replication.role(),
        out["iam-backups-replication.arn"].as_str()
    );
    // Seed 5.3: one V2 rule per region of `replication_regions`, in priority order,
    // each replica encrypted with its region's key.
    let rules: Vec<(String, i32, String, String)> = replication
        .rules()
        .iter()
        .map(|r| {
            let d = r.destination().unwrap();
            (
                r.id().unwrap_or_default().to_string(),
                r.priority().unwrap_or_default(),
                d.bucket().to_string(),
                d.encryption_configuration()
                    .and_then(|e| e.replica_kms_key_id())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, i32, String, String)> = env
        .storage
        .replication_regions
        .iter()
        .enumerate()
        .map(|(i, region)| {
            let suffix = greenlang_agent_factory::replication::suffix(&env, region);
            (
                format!("to-{region}"),
                i as i32 + 1,
                format!("arn:aws:s3:::{backups}-replica-{region}"),
                out[&format!("kms-s3-replica{suffix}.arn")].clone(),
            )
        })
        .collect();
    assert_eq!(env.storage.replication_regions, ["us-west-2", "eu-west-1"]);
    assert_eq!(rules, expected);
    for rule in replication.rules() {
        assert!(rule.filter().is_some(), "V2: a filter on every rule");
        assert_eq!(
            rule.delete_marker_replication().and_then(|d| d.status()),
            Some(&aws_sdk_s3::types::DeleteMarkerReplicationStatus::Disabled)
        );
    }
    let kms = aws_sdk_kms::Client::new(&config);
    assert!(rotates(&kms, &out["kms-s3.key_id"]).await);

    // DNS, read back through the Route 53 API.
    let r53 = aws_sdk_route53::Client::new(&config);
    let records = r53
        .list_resource_record_sets()
        .hosted_zone_id(&out["zone.zone_id"])
        .send()
        .await
        .unwrap();
    let api: Vec<_> = records
        .resource_record_sets()
        .iter()
        .filter(|r| r.name() == "api.greenlang.ai.")
        .collect();
    // This region's record; the other regions' are their own stacks' (tests/fleet.rs).
    assert_eq!(api.len(), 1, "one latency record: this region's");
    {
        let region = "us-east-1";
        let r = api
            .iter()
            .find(|r| r.set_identifier() == Some(region))
            .unwrap();
        assert_eq!(r.r#type().as_str(), "CNAME");
        assert_eq!(r.region().map(|x| x.as_str()), Some(region));
        assert_eq!(
            r.resource_records()[0].value(),
            format!("api.{region}.ingress.greenlang.ai")
        );
        assert_eq!(
            r.health_check_id(),
            Some(out[&format!("health-api-{region}.id")].as_str())
        );
    }

    check_platform(&env, &out, &config).await;
    security::check(&env, &out, &config).await;

    // A second run changes nothing and calls nothing that mutates.
    let before = run.calls();
    let started = Instant::now();
    let (plan, report) = run.up(&stack).await;
    let second = (started.elapsed(), run.calls());
    assert!(plan.is_empty(), "{}", glinfra::render::text(&plan));
    assert_eq!(report.outcomes.len(), 0);
    assert_eq!(second.1 .1, before.1, "zero mutating calls on a no-op run");
    eprintln!(
        "MEASURED first apply: {:.1}s, {} API calls ({} mutating); no-op re-run: {:.3}s, {} API calls",
        first.0.as_secs_f64(), first.1 .0, first.1 .1, second.0.as_secs_f64(), second.1 .0 - before.0
    );

    // Destroy leaves nothing carrying the stack's tag. Its order is checked by the
    // services themselves: the emulator, like AWS, refuses to delete a cluster with
    // node groups or a source with live replicas in the way.
    run.destroy(&stack).await;
    assert_eq!(ec2_leftovers(&ec2, &stack).await, Vec::<String>::new());
    let envname = &env.stack.environment;
    let eks = aws_sdk_eks::Client::new(&config);
    let cluster = format!("greenlang-{envname}");
    assert!(
        eks_cluster(&eks, &cluster).await.is_err(),
        "EKS cluster gone"
    );
    let rds = aws_sdk_rds::Client::new(&config);
    let primary = format!("greenlang-{envname}-primary");
    assert!(
        db_instance(&rds, &primary).await.is_err(),
        "RDS primary gone"
    );
    let replica = format!("greenlang-{envname}-replica-us-east-1");
    assert!(
        db_instance(&rds, &replica).await.is_err(),
        "RDS replica gone"
    );
    let ec = aws_sdk_elasticache::Client::new(&config);
    let redis = format!("greenlang-{envname}");
    assert!(replication_group(&ec, &redis).await.is_err(), "Redis gone");
    let kafka = aws_sdk_kafka::Client::new(&config);
    assert!(
        msk_cluster(&kafka, &out["kafka.arn"]).await.is_err(),
        "MSK gone"
    );
    for bucket in [&packs, &audit, &backups] {
        assert!(
            s3.head_bucket().bucket(bucket).send().await.is_err(),
            "{bucket} is gone"
        );
    }
    let zones = r53
        .list_hosted_zones_by_name()
        .dns_name("greenlang.ai")
        .send()
        .await
        .unwrap();
    for z in zones.hosted_zones() {
        assert_ne!(
            z.id().trim_start_matches("/hostedzone/"),
            out["zone.zone_id"],
            "the zone is gone"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn in_place_changes_and_replacements_apply() {
    let env = environment("change");
    let (stack, _) = stack_for(&env).unwrap();
    let run = Run::new().await;
    run.up(&stack).await;
    let before = run.outputs(&stack);

    // In place: a lifecycle rule, a subnet tag, a node pool's scaling, the RDS
    // instance class and a Redis parameter.
    let mut changed_env = env.clone();
    changed_env.storage.buckets[2].lifecycle[0].transitions[0].days = 45;
    let runtime = changed_env
        .kubernetes
        .node_pools
        .iter_mut()
        .find(|p| p.name == "agent_runtime")
        .unwrap();
    runtime.max_size = 120;
    changed_env.database.as_mut().unwrap().instance_class = "db.r6g.4xlarge".into();
    changed_env
        .cache
        .parameters
        .insert("maxmemory-policy".into(), "volatile-lru".into());
    let (mut changed, _) = stack_for(&changed_env).unwrap();
    changed.set_tag("subnet-app-a", "tier", "application");
    let (plan, _) = run.up(&changed).await;
    let update = |id: &str| (id.to_string(), glinfra::Action::Update);
    assert_eq!(
        actions(&plan),
        [
            update("bucket-reports"),
            update("cache-params"),
            update("db-primary"),
            update("ng-agent-runtime-ondemand"),
            update("ng-agent-runtime-spot"),
            update("subnet-app-a"),
        ]
    );
    let config = sdk().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    let reports = format!("greenlang-reports-{}", env.stack.environment);
    let rules = lifecycle_rules(&s3, &reports).await;
    assert_eq!(rules[0].transitions()[0].days(), Some(45));
    let envname = &env.stack.environment;
    let eks = aws_sdk_eks::Client::new(&config);
    let cluster = format!("greenlang-{envname}");
    for (group, max) in [("agent-runtime-spot", 72), ("agent-runtime-ondemand", 48)] {
        let ng = nodegroup(&eks, &cluster, group).await;
        assert_eq!(ng.scaling_config().unwrap().max_size(), Some(max));
    }
    let rds = aws_sdk_rds::Client::new(&config);
    let primary = db_instance(&rds, &format!("greenlang-{envname}-primary"))
        .await
        .unwrap();
    assert_eq!(primary.db_instance_class(), Some("db.r6g.4xlarge"));
    assert_eq!(
        primary.db_instance_arn(),
        Some(before["db-primary.arn"].as_str()),
        "modified in place, not replaced"
    );
    let ec = aws_sdk_elasticache::Client::new(&config);
    let params = format!("greenlang-{envname}-redis7");
    let policy = cache_parameter(&ec, &params, "maxmemory-policy").await;
    assert_eq!(policy.as_deref(), Some("volatile-lru"));
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let subnet_app_a = subnet(&ec2, &before["subnet-app-a.id"]).await;
    let tags: BTreeMap<&str, &str> = subnet_app_a
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(
        tags.get("tier"),
        Some(&"application"),
        "updated in place: same subnet id"
    );

    // Replace: a public subnet's CIDR. The subnet, its association and the NAT
    // gateway in it are replaced; the routes to that NAT gateway follow in place.
    let mut replaced_env = changed_env.clone();
    replaced_env.network.public_subnets[2] = "10.0.48.0/20".into();
    let (mut replaced, _) = stack_for(&replaced_env).unwrap();
    replaced.set_tag("subnet-app-a", "tier", "application");
    let (plan, _) = run.up(&replaced).await;
    let replace = |id: &str| (id.to_string(), glinfra::Action::Replace);
    assert_eq!(
        actions(&plan),
        [
            replace("nat-c"),
            update("route-app-c-nat"),
            update("route-data-c-nat"),
            replace("rta-public-c"),
            replace("subnet-public-c"),
        ]
    );
    let after = run.outputs(&replaced);
    assert_ne!(after["subnet-public-c.id"], before["subnet-public-c.id"]);
    let old = ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("subnet-id")
                .values(&before["subnet-public-c.id"])
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(old.subnets().is_empty(), "the old subnet is gone");
    let new = subnet(&ec2, &after["subnet-public-c.id"]).await;
    assert_eq!(new.cidr_block(), Some("10.0.48.0/20"));
    let rt = route_table(&ec2, &after["rt-public.id"]).await;
    assert!(associated_subnets(&rt).contains(&after["subnet-public-c.id"].as_str()));
    let app_c = route_table(&ec2, &after["rt-app-c.id"]).await;
    let default = default_route(&app_c);
    assert_eq!(default.nat_gateway_id(), Some(after["nat-c.id"].as_str()));
    assert_ne!(after["nat-c.id"], before["nat-c.id"]);

    run.destroy(&replaced).await;
    assert_eq!(ec2_leftovers(&ec2, &replaced).await, Vec::<String>::new());
}

fn in_region<T>(
    config: &aws_config::SdkConfig,
    region: &str,
    make: impl Fn(&aws_config::SdkConfig) -> T,
) -> T {
    make(
        &config
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build(),
    )
}

/// Reads every seed value of the platform back through the AWS APIs.
async fn check_platform(
    env: &Environment,
    out: &BTreeMap<String, String>,
    config: &aws_config::SdkConfig,
) {
    let envname = &env.stack.environment;

    // EKS: the cluster and its eight node groups (six pools, two split for spot).
    let eks = aws_sdk_eks::Client::new(config);
    let cluster_name = format!("greenlang-{envname}");
    let cluster = eks_cluster(&eks, &cluster_name).await.unwrap();
    assert_eq!(cluster.version(), Some("1.29"));
    let mut logged: Vec<String> = cluster
        .logging()
        .unwrap()
        .cluster_logging()
        .iter()
        .filter(|l| l.enabled() == Some(true))
        .flat_map(|l| l.types().iter().map(|t| t.as_str().to_string()))
        .collect();
    logged.sort();
    assert_eq!(
        logged,
        [
            "api",
            "audit",
            "authenticator",
            "controllerManager",
            "scheduler"
        ]
    );
    let groups = eks
        .list_nodegroups()
        .cluster_name(&cluster_name)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.nodegroups().len(), 8, "{:?}", groups.nodegroups());
    for (name, instance, capacity, min, max, desired, disk) in [
        ("system", "m6i.xlarge", "ON_DEMAND", 3, 5, 3, 100),
        ("api-gateway", "c6i.2xlarge", "ON_DEMAND", 3, 10, 3, 50),
        ("agent-factory", "m6i.2xlarge", "ON_DEMAND", 3, 20, 3, 200),
        ("agent-runtime-spot", "c6i.xlarge", "SPOT", 6, 60, 6, 50),
        (
            "agent-runtime-ondemand",
            "c6i.xlarge",
            "ON_DEMAND",
            4,
            40,
            4,
            50,
        ),
        ("worker-spot", "m6i.xlarge", "SPOT", 4, 40, 4, 100),
        ("worker-ondemand", "m6i.xlarge", "ON_DEMAND", 1, 10, 1, 100),
        ("gpu", "g4dn.xlarge", "ON_DEMAND", 0, 5, 0, 200),
    ] {
        let ng = nodegroup(&eks, &cluster_name, name).await;
        let scaling = ng.scaling_config().unwrap();
        assert_eq!(
            (
                scaling.min_size(),
                scaling.max_size(),
                scaling.desired_size()
            ),
            (Some(min), Some(max), Some(desired)),
            "{name}"
        );
        assert_eq!(ng.instance_types(), [instance.to_string()], "{name}");
        assert_eq!(
            ng.capacity_type().map(|c| c.as_str()),
            Some(capacity),
            "{name}"
        );
        assert_eq!(ng.disk_size(), Some(disk), "{name}");
    }
    let system = nodegroup(&eks, &cluster_name, "system").await;
    let taint = &system.taints()[0];
    assert_eq!(
        (
            taint.key(),
            taint.value(),
            taint.effect().map(|e| e.as_str())
        ),
        (
            Some("CriticalAddonsOnly"),
            Some("true"),
            Some("NO_SCHEDULE")
        )
    );
    let runtime = nodegroup(&eks, &cluster_name, "agent-runtime-spot").await;
    assert_eq!(
        runtime
            .labels()
            .unwrap()
            .get("workload-type")
            .map(String::as_str),
        Some("runtime")
    );

    // RDS: the primary as specified, its parameters, its same-region replica.
    let rds = aws_sdk_rds::Client::new(config);
    let p = db_instance(&rds, &format!("greenlang-{envname}-primary"))
        .await
        .unwrap();
    assert_eq!(p.engine(), Some("postgres"));
    assert!(p.engine_version().unwrap().starts_with("15"));
    assert_eq!(p.db_instance_class(), Some("db.r6g.2xlarge"));
    assert_eq!(
        (p.storage_type(), p.allocated_storage(), p.iops()),
        (Some("io2"), Some(1000), Some(10000))
    );
    assert_eq!(
        (p.storage_encrypted(), p.multi_az()),
        (Some(true), Some(true))
    );
    assert_eq!(p.backup_retention_period(), Some(30));
    assert_eq!(
        p.preferred_maintenance_window(),
        Some("sun:03:00-sun:04:00")
    );
    assert!(
        p.master_user_secret().is_some(),
        "the password is managed by Secrets Manager"
    );
    let params = rds
        .describe_db_parameters()
        .db_parameter_group_name(format!("greenlang-{envname}-postgres15"))
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let value = |name: &str| {
        params
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .find(|p| p.parameter_name() == Some(name))
            .and_then(|p| p.parameter_value().map(str::to_string))
    };
    assert_eq!(value("shared_buffers").as_deref(), Some("2097152"));
    assert_eq!(value("work_mem").as_deref(), Some("262144"));
    assert_eq!(value("max_connections").as_deref(), Some("500"));
    // The same-region replica; the other regions' are their own stacks' (tests/fleet.rs).
    {
        let region = "us-east-1";
        let client = in_region(config, region, aws_sdk_rds::Client::new);
        let r = db_instance(&client, &format!("greenlang-{envname}-replica-{region}"))
            .await
            .unwrap();
        assert_eq!(r.db_instance_class(), Some("db.r6g.xlarge"), "{region}");
        assert!(
            r.read_replica_source_db_instance_identifier().is_some(),
            "{region} is a replica"
        );
        assert_eq!(r.storage_encrypted(), Some(true), "{region}");
    }

    // ElastiCache: 3 shards x (1 primary + 1 replica), encrypted, failover, 7-day snapshots.
    let ec = aws_sdk_elasticache::Client::new(config);
    let g = replication_group(&ec, &format!("greenlang-{envname}"))
        .await
        .unwrap();
    assert_eq!(g.node_groups().len(), 3);
    assert!(g
        .node_groups()
        .iter()
        .all(|n| n.node_group_members().len() == 2));
    assert_eq!(g.cache_node_type(), Some("cache.r6g.xlarge"));
    assert_eq!(
        (
            g.at_rest_encryption_enabled(),
            g.transit_encryption_enabled()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(g.automatic_failover().map(|a| a.as_str()), Some("enabled"));
    assert_eq!(g.multi_az().map(|a| a.as_str()), Some("enabled"));
    assert_eq!(g.snapshot_retention_limit(), Some(7));
    let params = format!("greenlang-{envname}-redis7");
    let policy = cache_parameter(&ec, &params, "maxmemory-policy").await;
    assert_eq!(policy.as_deref(), Some("allkeys-lru"));

    // MSK: six brokers over the app subnets, 1000 GB each, TLS, the configuration.
    let kafka = aws_sdk_kafka::Client::new(config);
    let info = msk_cluster(&kafka, &out["kafka.arn"]).await.unwrap();
    let provisioned = info.provisioned().unwrap();
    assert_eq!(provisioned.number_of_broker_nodes(), Some(6));
    let brokers = provisioned.broker_node_group_info().unwrap();
    assert_eq!(brokers.instance_type(), Some("kafka.m5.2xlarge"));
    assert_eq!(brokers.client_subnets().len(), 3);
    assert_eq!(
        brokers
            .storage_info()
            .and_then(|s| s.ebs_storage_info())
            .and_then(|e| e.volume_size()),
        Some(1000)
    );
    assert_eq!(
        provisioned
            .encryption_info()
            .and_then(|e| e.encryption_in_transit())
            .and_then(|t| t.client_broker())
            .map(|c| c.as_str()),
        Some("TLS")
    );
    let revision = kafka
        .describe_configuration_revision()
        .arn(&out["kafka-config.arn"])
        .revision(out["kafka-config.latest_revision"].parse::<i64>().unwrap())
        .send()
        .await
        .unwrap();
    let properties =
        String::from_utf8(revision.server_properties().unwrap().as_ref().to_vec()).unwrap();
    for line in [
        "min.insync.replicas=2",
        "default.replication.factor=3",
        "auto.create.topics.enable=false",
        "unclean.leader.election.enable=false",
        "num.partitions=100",
    ] {
        assert!(
            properties.lines().any(|l| l.trim() == line),
            "{line} in {properties}"
        );
    }

    // KMS: the data key rotates.
    let kms = aws_sdk_kms::Client::new(config);
    assert!(rotates(&kms, &out["kms-data.key_id"]).await);

    // Security groups: the data ports only from the app subnets.
    let ec2 = aws_sdk_ec2::Client::new(config);
    for (id, port) in [
        ("sg-postgres", 5432),
        ("sg-redis", 6379),
        ("sg-kafka", 9094),
    ] {
        let g = ec2
            .describe_security_groups()
            .group_ids(&out[&format!("{id}.id")])
            .send()
            .await
            .unwrap();
        let g = &g.security_groups()[0];
        let ingress = g.ip_permissions();
        assert_eq!(ingress.len(), 1, "{id}");
        assert_eq!(
            (ingress[0].from_port(), ingress[0].to_port()),
            (Some(port), Some(port)),
            "{id}"
        );
        let mut cidrs: Vec<&str> = ingress[0]
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip())
            .collect();
        cidrs.sort();
        assert_eq!(
            cidrs,
            ["10.0.128.0/19", "10.0.64.0/19", "10.0.96.0/19"],
            "{id}"
        );
        assert!(
            g.ip_permissions_egress().is_empty(),
            "{id}: nothing open by default"
        );
    }
    // VPC endpoints: s3 as a gateway, six interface endpoints.
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(
            Filter::builder()
                .name("vpc-id")
                .values(&out["vpc.id"])
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut services: Vec<(String, String)> = endpoints
        .vpc_endpoints()
        .iter()
        .map(|e| {
            (
                e.service_name()
                    .unwrap()
                    .rsplit(&format!("{}.", env.stack.region))
                    .next()
                    .unwrap()
                    .to_string(),
                e.vpc_endpoint_type().unwrap().as_str().to_string(),
            )
        })
        .collect();
    services.sort();
    assert_eq!(services.len(), 7, "{services:?}");
    assert!(services.contains(&("s3".to_string(), "Gateway".to_string())));
    assert!(services.contains(&("ecr.dkr".to_string(), "Interface".to_string())));
    // Least privilege per workload (seed 8.1): roles, associations, add-ons.
    identity::check_workload_identity(env, out, config).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn staging_and_dev_deploy_side_by_side_without_touching_each_other() {
    let staging_env = common::environment_from("staging-us-east-1", "staging");
    let dev_env = common::environment_from("dev-us-east-1", "devenv");
    let (staging, _) = stack_for(&staging_env).unwrap();
    let (dev, _) = stack_for(&dev_env).unwrap();
    let run = Run::new().await;
    run.up(&staging).await;
    run.up(&dev).await;
    let dev_out = run.outputs(&dev);
    run.destroy(&staging).await;
    // Dev is untouched: still there, and its re-plan is empty.
    let (plan, _) = run.up(&dev).await;
    assert!(plan.is_empty(), "{}", glinfra::render::text(&plan));
    let config = sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    assert_eq!(
        vpc_cidr(&ec2, &dev_out["vpc.id"]).await.as_deref(),
        Some("10.20.0.0/16")
    );
    assert_eq!(ec2_leftovers(&ec2, &staging).await, Vec::<String>::new());
    run.destroy(&dev).await;
    assert_eq!(ec2_leftovers(&ec2, &dev).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn vpc_cidr_change_replaces_everything_inside_it() {
    let env = environment("vpccidr");
    let (stack, _) = stack_for(&env).unwrap();
    let run = Run::new().await;
    run.up(&stack).await;
    let before = run.outputs(&stack);
    let mut moved = env.clone();
    let shift = |c: &String| c.replacen("10.0.", "10.9.", 1);
    moved.network.vpc_cidr = "10.9.0.0/16".into();
    moved.network.public_subnets = env.network.public_subnets.iter().map(shift).collect();
    moved.network.app_subnets = env.network.app_subnets.iter().map(shift).collect();
    moved.network.data_subnets = env.network.data_subnets.iter().map(shift).collect();
    let (moved_stack, _) = stack_for(&moved).unwrap();
    let plan = run.plan(&moved_stack);
    // Everything that refers (directly or not) to the VPC is replaced; nothing outside it is.
    for id in [
        "vpc",
        "subnet-app-a",
        "nat-a",
        "rt-app-a",
        "sg-postgres",
        "vpce-s3",
        "eks",
        "ng-system",
        "db-primary",
        "redis",
        "kafka",
    ] {
        assert_eq!(
            plan.step(id).map(|s| s.action),
            Some(glinfra::Action::Replace),
            "{id}"
        );
    }
    for id in ["bucket-agent-packs", "zone", "kms-s3"] {
        assert!(plan.step(id).is_none(), "{id} is outside the VPC");
    }
    // With what holds data protected (the default of every environment file), the
    // same change is refused as a whole, naming the chain, before any change.
    let mut guarded = moved.clone();
    guarded.stack.protect = true;
    let (guarded_stack, _) = stack_for(&guarded).unwrap();
    let (_, mutating_before) = run.calls();
    let refused = run.attempt(&guarded_stack, false).await.unwrap_err();
    let message = refused.to_string();
    assert!(message.contains("`db-primary` is protected"), "{message}");
    assert!(message.contains("`vpc` replace → "), "{message}");
    assert!(message.contains("`kafka` is protected"), "{message}");
    assert_eq!(
        run.calls().1,
        mutating_before,
        "no mutating call: {message}"
    );
    run.up(&moved_stack).await;
    let after = run.outputs(&moved_stack);
    assert_ne!(after["vpc.id"], before["vpc.id"]);
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    assert_eq!(
        vpc_cidr(&ec2, &after["vpc.id"]).await.as_deref(),
        Some("10.9.0.0/16")
    );
    run.destroy(&moved_stack).await;
    assert_eq!(
        ec2_leftovers(&ec2, &moved_stack).await,
        Vec::<String>::new()
    );
}
