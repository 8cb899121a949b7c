//! What AWS holds for a stack, read through the service APIs (not through
//! glinfra): every live resource carrying the stack's `glinfra:stack` tag, by
//! kind and `glinfra:logical-id`, so that two resources under one logical id show.
//!
//! Kinds whose AWS name is unique (buckets, roles, log groups, RDS, ElastiCache,
//! EKS and MSK names) cannot hold two under one name, but are listed too: the
//! census must also account for every resource the state records. Kinds that
//! take no tags (routes, associations, record sets, the MSK configuration) are
//! not in it.

use std::collections::BTreeMap;

/// (kind, logical id) → the AWS ids carrying them.
pub type Census = BTreeMap<(String, String), Vec<String>>;

const STACK_TAG: &str = "glinfra:stack";
const ID_TAG: &str = "glinfra:logical-id";

/// The regions the prod environment uses.
pub const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"];

/// The logical id in `tags` when they name `stack` as the owner.
fn owner<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>, stack: &str) -> Option<String> {
    let tags: BTreeMap<&str, &str> = tags.into_iter().collect();
    (tags.get(STACK_TAG) == Some(&stack))
        .then(|| tags.get(ID_TAG).map(|s| s.to_string()))
        .flatten()
}

fn ec2_owner(tags: &[aws_sdk_ec2::types::Tag], stack: &str) -> Option<String> {
    owner(
        tags.iter()
            .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
        stack,
    )
}

fn add(census: &mut Census, kind: &str, logical: Option<String>, aws_id: &str) {
    if let Some(logical) = logical {
        census
            .entry((kind.to_string(), logical))
            .or_default()
            .push(aws_id.to_string());
    }
}

async fn config(region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await
}

/// Every live resource of `stack`, by kind and logical id. `recorded` (the
/// logical ids of the state) lets Route 53 resources that a killed run made but
/// did not tag yet be counted by the CallerReference prefix their driver gives.
pub async fn census(stack: &str, recorded: &[String]) -> Census {
    let mut c = Census::new();
    let home = config("us-east-1").await;
    ec2(&mut c, &aws_sdk_ec2::Client::new(&home), stack).await;
    for region in REGIONS {
        let conf = config(region).await;
        kms(&mut c, &aws_sdk_kms::Client::new(&conf), stack).await;
        rds(&mut c, &aws_sdk_rds::Client::new(&conf), stack).await;
    }
    elasticache(&mut c, &aws_sdk_elasticache::Client::new(&home), stack).await;
    eks(&mut c, &aws_sdk_eks::Client::new(&home), stack).await;
    msk(&mut c, &aws_sdk_kafka::Client::new(&home), stack).await;
    s3(&mut c, &home, stack).await;
    iam(&mut c, &aws_sdk_iam::Client::new(&home), stack).await;
    logs(&mut c, &aws_sdk_cloudwatchlogs::Client::new(&home), stack).await;
    route53(
        &mut c,
        &aws_sdk_route53::Client::new(&home),
        stack,
        recorded,
    )
    .await;
    c
}

/// One EC2 Describe call with the stack's tag filter, each item checked again
/// (LocalStack ignores tag filters on some calls).
macro_rules! ec2_kind {
    ($c:expr, $stack:expr, $call:expr, $list:ident, $id:ident, $kind:literal $(, live = $live:expr)?) => {{
        let filter = aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{STACK_TAG}"))
            .values($stack)
            .build();
        let out = $call.filters(filter).send().await.unwrap();
        for x in out.$list() {
            $(if !($live)(x) { continue; })?
            add($c, $kind, ec2_owner(x.tags(), $stack), x.$id().unwrap_or_default());
        }
    }};
}

async fn ec2(c: &mut Census, ec2: &aws_sdk_ec2::Client, stack: &str) {
    ec2_kind!(c, stack, ec2.describe_vpcs(), vpcs, vpc_id, "aws:ec2/vpc");
    ec2_kind!(
        c,
        stack,
        ec2.describe_subnets(),
        subnets,
        subnet_id,
        "aws:ec2/subnet"
    );
    ec2_kind!(
        c,
        stack,
        ec2.describe_route_tables(),
        route_tables,
        route_table_id,
        "aws:ec2/route-table"
    );
    ec2_kind!(
        c,
        stack,
        ec2.describe_internet_gateways(),
        internet_gateways,
        internet_gateway_id,
        "aws:ec2/internet-gateway"
    );
    ec2_kind!(
        c,
        stack,
        ec2.describe_addresses(),
        addresses,
        allocation_id,
        "aws:ec2/elastic-ip"
    );
    ec2_kind!(
        c,
        stack,
        ec2.describe_security_groups(),
        security_groups,
        group_id,
        "aws:ec2/security-group"
    );
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{STACK_TAG}"))
        .values(stack)
        .build();
    let flow_logs = ec2.describe_flow_logs().filter(filter.clone());
    for f in flow_logs.send().await.unwrap().flow_logs() {
        let id = f.flow_log_id().unwrap_or_default();
        add(c, "aws:ec2/flow-log", ec2_owner(f.tags(), stack), id);
    }
    let nats = ec2.describe_nat_gateways();
    for n in nats.filter(filter).send().await.unwrap().nat_gateways() {
        let state = n.state().map(|s| s.as_str()).unwrap_or_default();
        if !matches!(state, "deleted" | "deleting" | "failed") {
            let id = n.nat_gateway_id().unwrap_or_default();
            add(c, "aws:ec2/nat-gateway", ec2_owner(n.tags(), stack), id);
        }
    }
    ec2_kind!(
        c,
        stack,
        ec2.describe_vpc_endpoints(),
        vpc_endpoints,
        vpc_endpoint_id,
        "aws:ec2/vpc-endpoint",
        live = |e: &aws_sdk_ec2::types::VpcEndpoint| !matches!(
            e.state()
                .map(|s| s.as_str().to_ascii_lowercase())
                .as_deref(),
            Some("deleted" | "deleting" | "failed")
        )
    );
}

async fn kms(c: &mut Census, kms: &aws_sdk_kms::Client, stack: &str) {
    let mut marker = None;
    loop {
        let page = kms.list_keys().set_marker(marker).send().await.unwrap();
        for k in page.keys() {
            let id = k.key_id().unwrap_or_default();
            let meta = kms.describe_key().key_id(id).send().await.unwrap();
            let state = meta.key_metadata().and_then(|m| m.key_state().cloned());
            if matches!(
                state,
                Some(aws_sdk_kms::types::KeyState::PendingDeletion)
                    | Some(aws_sdk_kms::types::KeyState::PendingReplicaDeletion)
            ) {
                continue;
            }
            let tags = kms.list_resource_tags().key_id(id).send().await.unwrap();
            let logical = owner(
                tags.tags().iter().map(|t| (t.tag_key(), t.tag_value())),
                stack,
            );
            add(c, "aws:kms/key", logical, id);
        }
        match page.next_marker() {
            Some(m) if page.truncated() => marker = Some(m.to_string()),
            _ => break,
        }
    }
}

async fn rds(c: &mut Census, rds: &aws_sdk_rds::Client, stack: &str) {
    let out = rds.describe_db_instances().send().await.unwrap();
    for db in out.db_instances() {
        if db.db_instance_status() == Some("deleting") {
            continue;
        }
        let logical = owner(
            db.tag_list()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        );
        let id = db.db_instance_identifier().unwrap_or_default();
        add(c, "aws:rds/db-instance", logical, id);
    }
}

async fn elasticache(c: &mut Census, ec: &aws_sdk_elasticache::Client, stack: &str) {
    let out = ec.describe_replication_groups().send().await.unwrap();
    for g in out.replication_groups() {
        if g.status() == Some("deleting") {
            continue;
        }
        let arn = g.arn().unwrap_or_default();
        let tags = ec
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .unwrap();
        let logical = owner(
            tags.tag_list()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        );
        let id = g.replication_group_id().unwrap_or_default();
        add(c, "aws:elasticache/replication-group", logical, id);
    }
}

async fn eks(c: &mut Census, eks: &aws_sdk_eks::Client, stack: &str) {
    let clusters = eks.list_clusters().send().await.unwrap();
    for name in clusters.clusters() {
        let cl = eks.describe_cluster().name(name).send().await.unwrap();
        let cl = cl.cluster().unwrap();
        if cl.status() == Some(&aws_sdk_eks::types::ClusterStatus::Deleting) {
            continue;
        }
        let tags = cl.tags().cloned().unwrap_or_default();
        let logical = owner(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), stack);
        if logical.is_none() {
            continue;
        }
        add(c, "aws:eks/cluster", logical, name);
        let groups = eks
            .list_nodegroups()
            .cluster_name(name)
            .send()
            .await
            .unwrap();
        for g in groups.nodegroups() {
            let ng = eks
                .describe_nodegroup()
                .cluster_name(name)
                .nodegroup_name(g)
                .send()
                .await
                .unwrap();
            let ng = ng.nodegroup().unwrap();
            if ng.status() == Some(&aws_sdk_eks::types::NodegroupStatus::Deleting) {
                continue;
            }
            let tags = ng.tags().cloned().unwrap_or_default();
            let logical = owner(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), stack);
            add(c, "aws:eks/node-group", logical, &format!("{name}/{g}"));
        }
        // Add-ons and Pod Identity associations (tags come with their Describe).
        let addons = eks.list_addons().cluster_name(name).send().await.unwrap();
        for a in addons.addons() {
            let d = eks
                .describe_addon()
                .cluster_name(name)
                .addon_name(a)
                .send()
                .await
                .unwrap();
            let d = d.addon().unwrap();
            if d.status() == Some(&aws_sdk_eks::types::AddonStatus::Deleting) {
                continue;
            }
            let tags = d.tags().cloned().unwrap_or_default();
            let logical = owner(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), stack);
            add(c, "aws:eks/addon", logical, &format!("{name}/{a}"));
        }
        let assocs = eks
            .list_pod_identity_associations()
            .cluster_name(name)
            .send()
            .await
            .unwrap();
        for s in assocs.associations() {
            let id = s.association_id().unwrap();
            let d = eks
                .describe_pod_identity_association()
                .cluster_name(name)
                .association_id(id)
                .send()
                .await
                .unwrap();
            let tags = d.association().unwrap().tags().cloned().unwrap_or_default();
            let logical = owner(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), stack);
            add(c, "aws:eks/pod-identity-association", logical, id);
        }
    }
}

async fn msk(c: &mut Census, kafka: &aws_sdk_kafka::Client, stack: &str) {
    let out = kafka.list_clusters_v2().send().await.unwrap();
    for cl in out.cluster_info_list() {
        if cl.state() == Some(&aws_sdk_kafka::types::ClusterState::Deleting) {
            continue;
        }
        let tags = cl.tags().cloned().unwrap_or_default();
        let logical = owner(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), stack);
        add(
            c,
            "aws:msk/cluster",
            logical,
            cl.cluster_arn().unwrap_or_default(),
        );
    }
}

async fn s3(c: &mut Census, conf: &aws_config::SdkConfig, stack: &str) {
    let s3conf = aws_sdk_s3::config::Builder::from(conf)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(s3conf);
    let out = s3.list_buckets().send().await.unwrap();
    for b in out.buckets() {
        let name = b.name().unwrap_or_default();
        // A bucket without tags answers NoSuchTagSet.
        let Ok(tags) = s3.get_bucket_tagging().bucket(name).send().await else {
            continue;
        };
        let logical = owner(tags.tag_set().iter().map(|t| (t.key(), t.value())), stack);
        add(c, "aws:s3/bucket", logical, name);
    }
}

async fn iam(c: &mut Census, iam: &aws_sdk_iam::Client, stack: &str) {
    let mut marker = None;
    loop {
        let page = iam.list_roles().set_marker(marker).send().await.unwrap();
        for r in page.roles() {
            let tags = iam
                .list_role_tags()
                .role_name(r.role_name())
                .send()
                .await
                .unwrap();
            let logical = owner(tags.tags().iter().map(|t| (t.key(), t.value())), stack);
            add(c, "aws:iam/role", logical, r.role_name());
        }
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_string()),
            _ => break,
        }
    }
}

async fn logs(c: &mut Census, logs: &aws_sdk_cloudwatchlogs::Client, stack: &str) {
    let mut token = None;
    loop {
        let page = logs
            .describe_log_groups()
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        for g in page.log_groups() {
            let name = g.log_group_name().unwrap_or_default();
            #[allow(deprecated)]
            let tags = logs
                .list_tags_log_group()
                .log_group_name(name)
                .send()
                .await
                .unwrap();
            let tags = tags.tags().cloned().unwrap_or_default();
            let logical = owner(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), stack);
            add(c, "aws:logs/log-group", logical, name);
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
}

/// The CallerReference prefix the Route 53 drivers give resource `id` of `stack`
/// (`glinfra/<stack>/<id>/`, or a hash of both when longer than `readable_max`:
/// 90 for a zone, 38 for a health check), as `route53::reference_prefix` makes it.
fn reference_prefix(stack: &str, id: &str, readable_max: usize) -> String {
    let readable = format!("glinfra/{stack}/{id}/");
    if readable.len() <= readable_max {
        return readable;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stack.bytes().chain([0u8]).chain(id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("glinfra/{h:016x}/")
}

/// The logical id among `recorded` whose prefix `reference` starts with.
fn by_reference(reference: &str, stack: &str, recorded: &[String], max: usize) -> Option<String> {
    recorded
        .iter()
        .find(|id| reference.starts_with(&reference_prefix(stack, id, max)))
        .cloned()
}

async fn route53(c: &mut Census, r53: &aws_sdk_route53::Client, stack: &str, recorded: &[String]) {
    use aws_sdk_route53::types::TagResourceType;
    let zones = r53.list_hosted_zones().send().await.unwrap();
    for z in zones.hosted_zones() {
        let id = z.id().trim_start_matches("/hostedzone/");
        let tags = r53
            .list_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(id)
            .send()
            .await
            .unwrap();
        let set = tags
            .resource_tag_set()
            .map(|s| s.tags())
            .unwrap_or_default();
        let logical = owner(
            set.iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        )
        .or_else(|| by_reference(z.caller_reference(), stack, recorded, 90));
        add(c, "aws:route53/hosted-zone", logical, id);
    }
    let checks = r53.list_health_checks().send().await.unwrap();
    for h in checks.health_checks() {
        let tags = r53
            .list_tags_for_resource()
            .resource_type(TagResourceType::Healthcheck)
            .resource_id(h.id())
            .send()
            .await
            .unwrap();
        let set = tags
            .resource_tag_set()
            .map(|s| s.tags())
            .unwrap_or_default();
        let logical = owner(
            set.iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        )
        .or_else(|| by_reference(h.caller_reference(), stack, recorded, 38));
        add(c, "aws:route53/health-check", logical, h.id());
    }
}
