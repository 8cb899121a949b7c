//! The Agent Factory topology (infrastructure requirements 2.4, 3.1, 3.2, 3.4, 8.1),
//! declared from an [`Environment`].

use crate::config::{BucketConfig, Environment, NodePoolConfig};
use crate::data_services::{self, Placement};
use glinfra_core::spec::ec2::{
    ElasticIpSpec, InternetGatewaySpec, IpProtocol, NatGatewaySpec, RouteSpec,
    RouteTableAssociationSpec, RouteTableSpec, SecurityGroupRule, SecurityGroupSpec, SubnetSpec,
    VpcEndpointSpec, VpcEndpointType, VpcSpec,
};
use glinfra_core::spec::eks::{CapacityType, EksClusterSpec, EksNodeGroupSpec, Taint};
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::spec::kms::KmsKeySpec;
use glinfra_core::spec::route53::{
    HealthCheckSpec, HealthCheckType, HostedZoneSpec, RecordSetSpec, RecordType,
};
use glinfra_core::spec::s3::{
    BucketEncryption, BucketSpec, LifecycleRule, ObjectLockRetention, Transition,
};
use glinfra_core::{Diagnostic, Input, Resource, Stack};

/// The subnet tiers, in declaration order.
pub const TIERS: [&str; 3] = ["public", "app", "data"];

/// The zone letter of an availability zone (`us-east-1b` → `b`).
fn zone_letter(zone: &str) -> String {
    zone.chars()
        .last()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// The bucket name for `purpose` in `environment`: `greenlang-<purpose>-<environment>`.
pub fn bucket_name(purpose: &str, environment: &str) -> String {
    format!("greenlang-{purpose}-{environment}")
}

/// Checks what the typed specs cannot see: list lengths that must agree.
fn check_shape(env: &Environment, file: Option<&str>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |field: &str, message: String| {
        let mut d = Diagnostic::new(message).field(field);
        d.file = file.map(str::to_string);
        out.push(d);
    };
    let n = env.network.availability_zones.len();
    if n == 0 {
        err(
            "network.availability_zones",
            "at least one availability zone is needed".into(),
        );
    }
    for (field, list) in [
        ("network.public_subnets", &env.network.public_subnets),
        ("network.app_subnets", &env.network.app_subnets),
        ("network.data_subnets", &env.network.data_subnets),
    ] {
        if list.len() != n {
            err(
                field,
                format!(
                    "has {} subnets for {n} availability zones; give one per zone",
                    list.len()
                ),
            );
        }
    }
    if env.network.nat_gateways != 1 && env.network.nat_gateways != n {
        err(
            "network.nat_gateways",
            format!(
                "must be 1 or one per zone ({n}), got {}",
                env.network.nat_gateways
            ),
        );
    }
    for pool in &env.kubernetes.node_pools {
        if !(0..=100).contains(&pool.spot_percentage) {
            err(
                "kubernetes.node_pools.spot_percentage",
                format!(
                    "pool `{}`: must be 0 to 100, got {}",
                    pool.name, pool.spot_percentage
                ),
            );
        }
    }
    if let Some(db) = &env.database {
        let want = format!("postgres{}", major_version(&db.engine_version));
        if db.parameter_group_family != want {
            err(
                "database.parameter_group_family",
                format!(
                    "`{}` does not match engine_version `{}` (PostgreSQL's family is `{want}`)",
                    db.parameter_group_family, db.engine_version
                ),
            );
        }
    }
    let redis = format!("redis{}", major_version(&env.cache.engine_version));
    if !env.cache.parameter_group_family.starts_with(&redis) {
        err(
            "cache.parameter_group_family",
            format!(
                "`{}` does not match engine_version `{}` (expected the `{redis}` family)",
                env.cache.parameter_group_family, env.cache.engine_version
            ),
        );
    }
    crate::replication::check(env, &mut err);
    let mut seen = std::collections::BTreeSet::new();
    for b in &env.storage.buckets {
        if !seen.insert(&b.purpose) {
            err(
                "storage.buckets.purpose",
                format!("bucket purpose `{}` appears twice", b.purpose),
            );
        }
    }
    out
}

/// The major version of an engine version (`15.5` → `15`, `7.0` → `7`, `15` → `15`).
pub(crate) fn major_version(version: &str) -> &str {
    version.split_once('.').map_or(version, |(major, _)| major)
}

fn lifecycle_rules(bucket: &BucketConfig) -> Vec<LifecycleRule> {
    bucket
        .lifecycle
        .iter()
        .map(|l| LifecycleRule {
            id: l.id.clone(),
            prefix: String::new(),
            transitions: l
                .transitions
                .iter()
                .map(|t| Transition {
                    days: t.days,
                    storage_class: t.storage_class,
                })
                .collect(),
            expiration_days: l.expiration_days,
            noncurrent_version_expiration_days: None,
        })
        .collect()
}

/// Declares the whole environment as a stack. `origin` (the environment file's
/// path) is recorded on every resource so errors can name it.
pub fn build(env: &Environment, origin: Option<&str>) -> Result<Stack, Vec<Diagnostic>> {
    let mut problems = check_shape(env, origin);
    problems.extend(crate::cost::check(env, origin));
    if !problems.is_empty() {
        return Err(problems);
    }
    let net = &env.network;
    let envname = &env.stack.environment;
    let mut stack = Stack::new(&env.stack.name, &env.stack.region);
    stack.set_origin(origin.map(str::to_string));
    stack.set_cost_settings(crate::cost::settings(env));
    for (k, v) in &env.tags {
        stack.tag(k, v);
    }
    stack.tag("environment", envname);
    stack.tag("stack", &env.stack.name);

    // Network (3.2): the VPC, three tiers of subnets over the zones, gateways, routes.
    let vpc = stack.add("vpc", VpcSpec::new(&net.vpc_cidr));
    stack.export("vpc_id", vpc.id());
    let igw = stack.add("igw", InternetGatewaySpec { vpc_id: vpc.id() });
    let mut subnets: Vec<Vec<Resource<SubnetSpec>>> = vec![Vec::new(); 3];
    for (t, tier) in TIERS.iter().enumerate() {
        let cidrs = match *tier {
            "public" => &net.public_subnets,
            "app" => &net.app_subnets,
            _ => &net.data_subnets,
        };
        for (zone, cidr) in net.availability_zones.iter().zip(cidrs) {
            let mut spec = SubnetSpec::new(vpc.id(), cidr, zone);
            spec.map_public_ip_on_launch = *tier == "public";
            let id = format!("subnet-{tier}-{}", zone_letter(zone));
            let subnet = stack.add(&id, spec);
            stack.export(format!("{id}_id"), subnet.id());
            subnets[t].push(subnet);
        }
    }
    let mut nats = Vec::new();
    for (i, zone) in net
        .availability_zones
        .iter()
        .enumerate()
        .take(net.nat_gateways)
    {
        let z = zone_letter(zone);
        let eip = stack.add(format!("eip-nat-{z}"), ElasticIpSpec::default());
        let nat = stack.add(
            format!("nat-{z}"),
            NatGatewaySpec {
                subnet_id: subnets[0][i].id(),
                allocation_id: eip.allocation_id(),
            },
        );
        stack.export(format!("nat-{z}_public_ip"), eip.public_ip());
        nats.push(nat);
    }
    let mut private_route_tables = Vec::new();
    let public_rt = stack.add("rt-public", RouteTableSpec { vpc_id: vpc.id() });
    stack.add(
        "route-public-internet",
        RouteSpec::to_gateway(public_rt.id(), "0.0.0.0/0", igw.id()),
    );
    for (i, zone) in net.availability_zones.iter().enumerate() {
        let z = zone_letter(zone);
        stack.add(
            format!("rta-public-{z}"),
            RouteTableAssociationSpec {
                route_table_id: public_rt.id(),
                subnet_id: subnets[0][i].id(),
            },
        );
        // App and data subnets leave through the NAT gateway of their own zone.
        let nat = &nats[i.min(nats.len() - 1)];
        for (t, tier) in TIERS.iter().enumerate().skip(1) {
            let rt = stack.add(
                format!("rt-{tier}-{z}"),
                RouteTableSpec { vpc_id: vpc.id() },
            );
            private_route_tables.push(rt.id());
            stack.add(
                format!("route-{tier}-{z}-nat"),
                RouteSpec::to_nat(rt.id(), "0.0.0.0/0", nat.id()),
            );
            stack.add(
                format!("rta-{tier}-{z}"),
                RouteTableAssociationSpec {
                    route_table_id: rt.id(),
                    subnet_id: subnets[t][i].id(),
                },
            );
        }
    }

    // Storage (2.4): KMS-encrypted buckets, public access blocked, TLS only.
    let storage = &env.storage;
    let mut key_spec = KmsKeySpec::new(
        format!("greenlang-{envname}-s3"),
        format!("GreenLang {envname} S3 bucket encryption"),
    );
    key_spec.enable_key_rotation = storage.kms_key_rotation;
    key_spec.rotation_period_days = crate::security::rotation_period(env);
    let key = stack.add("kms-s3", key_spec);
    stack.export("s3_kms_key_arn", key.arn());
    let replicas = crate::replication::replica_keys(env, &mut stack);
    let base_bucket = |name: String, versioning: bool, key: &Resource<KmsKeySpec>| {
        let mut spec = BucketSpec::new(&name);
        spec.versioning = versioning;
        spec.block_public_access = storage.block_public_access;
        spec.force_destroy = storage.force_destroy;
        spec.encryption = Some(BucketEncryption {
            kms_key_arn: Some(key.arn()),
            bucket_key_enabled: true,
        });
        if storage.require_ssl {
            spec.policy = Some(BucketSpec::ssl_only_policy(&name));
        }
        spec
    };
    for bucket in &storage.buckets {
        let name = bucket_name(&bucket.purpose, envname);
        let mut spec = base_bucket(name.clone(), bucket.versioning, &key);
        spec.lifecycle_rules = lifecycle_rules(bucket);
        if let Some(lock) = &bucket.object_lock {
            spec.object_lock_enabled = true;
            spec.object_lock_retention = Some(ObjectLockRetention {
                mode: lock.mode,
                days: lock.days,
            });
        }
        let id = format!("bucket-{}", bucket.purpose);
        if bucket.replicate && !replicas.is_empty() {
            spec.replication = Some(crate::replication::declare(
                env,
                &mut stack,
                bucket,
                &spec,
                &key,
                &replicas,
                &base_bucket,
            ));
        }
        let b = stack.add(&id, spec);
        stack.export(format!("{id}_arn"), b.arn());
    }

    let node_groups = platform(env, &mut stack, &vpc, &subnets, &private_route_tables)?;
    crate::flow_logs::declare(env, &mut stack);
    // A node's aws-node pod takes its AWS permissions from the VPC CNI add-on's
    // Pod Identity association (the node role has no CNI policy): the add-ons come
    // first, or the nodes start without pod networking.
    let node_addons = crate::workloads::declare(env, &mut stack)?;
    for group in &node_groups {
        for addon in &node_addons {
            stack.depends_on(group, addon);
        }
    }
    crate::security::declare(
        &env.security_services,
        &env.stack.environment,
        &env.stack.region,
        &mut stack,
    );

    // DNS (3.1, 3.4): the public zone, latency-routed entry points with health checks.
    if let Some(dns) = &env.dns {
        let zone = stack.add(
            "zone",
            HostedZoneSpec {
                name: dns.zone.clone(),
                comment: format!("GreenLang Agent Factory ({envname})"),
            },
        );
        stack.export("zone_id", zone.zone_id());
        for label in &dns.records {
            let fqdn = format!("{label}.{}", dns.zone);
            for region in &dns.regions {
                let target = format!("{label}.{}", region.ingress);
                let check = stack.add(
                    format!("health-{label}-{}", region.region),
                    HealthCheckSpec {
                        fqdn: target.clone(),
                        port: dns.health_check_port,
                        check_type: HealthCheckType::Https,
                        resource_path: dns.health_check_path.clone(),
                        request_interval: 30,
                        failure_threshold: 3,
                    },
                );
                stack.add(
                    format!("record-{label}-{}", region.region),
                    RecordSetSpec {
                        zone_id: zone.zone_id(),
                        name: fqdn.clone(),
                        record_type: RecordType::Cname,
                        ttl: dns.ttl,
                        records: vec![Input::Value(target)],
                        set_identifier: Some(region.region.clone()),
                        latency_region: Some(region.region.clone()),
                        health_check_id: Some(check.id()),
                    },
                );
            }
        }
    }
    if env.stack.protect {
        protect_what_holds_data(&mut stack);
    }
    stack.add_policies(&crate::policy::policies(env, origin)?);
    Ok(stack)
}

/// The resources no plan may delete or replace: what holds data or cannot be
/// rebuilt (the database primary and replicas, the audit-log and backups buckets
/// and their replicas, the KMS keys, the hosted zone, the Kafka cluster).
fn protected_kind(kind: glinfra_core::Kind) -> bool {
    use glinfra_core::spec::{kms::KmsKeySpec, msk::MskClusterSpec, rds::DbInstanceSpec};
    use glinfra_core::Declared;
    [
        DbInstanceSpec::KIND,
        KmsKeySpec::KIND,
        HostedZoneSpec::KIND,
        MskClusterSpec::KIND,
    ]
    .contains(&kind)
}

fn protect_what_holds_data(stack: &mut Stack) {
    let ids: Vec<String> = stack
        .declarations()
        .iter()
        .filter(|d| {
            protected_kind(d.kind)
                || d.id.starts_with("bucket-audit-logs")
                || d.id.starts_with("bucket-backups")
        })
        .map(|d| d.id.clone())
        .collect();
    for id in ids {
        if let Some(l) = stack.lifecycle_mut(&id) {
            l.protect = true;
        }
    }
}

/// The logical id of a node pool's group with `suffix` (see [`split_pool`]).
pub fn node_group_id(pool: &NodePoolConfig, suffix: &str) -> String {
    format!("ng-{}{suffix}", pool.name.replace('_', "-"))
}

/// How a node pool is split between capacity types: `(suffix, capacity, min, max, desired)`.
/// A pool with a spot percentage becomes a spot group and an on-demand group whose
/// sizes split the pool's in that proportion (spot rounded to nearest).
pub fn split_pool(pool: &NodePoolConfig) -> Vec<(&'static str, CapacityType, i32, i32, i32)> {
    let p = pool.spot_percentage;
    if p <= 0 {
        return vec![(
            "",
            CapacityType::OnDemand,
            pool.min_size,
            pool.max_size,
            pool.desired_size,
        )];
    }
    let share = |n: i32| (n * p + 50) / 100;
    let (smin, smax, sdes) = (
        share(pool.min_size),
        share(pool.max_size),
        share(pool.desired_size),
    );
    if p >= 100 {
        return vec![("-spot", CapacityType::Spot, smin, smax, sdes)];
    }
    vec![
        ("-spot", CapacityType::Spot, smin, smax, sdes),
        (
            "-ondemand",
            CapacityType::OnDemand,
            pool.min_size - smin,
            pool.max_size - smax,
            pool.desired_size - sdes,
        ),
    ]
}

/// The ids of a region's data key, made once per region.
pub(crate) fn data_key(
    stack: &mut Stack,
    env: &Environment,
    region: &str,
    rotation: bool,
) -> Input<String> {
    let envname = &env.stack.environment;
    let id = if region == env.stack.region {
        "kms-data".to_string()
    } else {
        format!("kms-data-{region}")
    };
    if stack.get(&id).is_none() {
        let mut spec = KmsKeySpec::new(
            if region == env.stack.region {
                format!("greenlang-{envname}-data")
            } else {
                format!("greenlang-{envname}-data-{region}")
            },
            format!("GreenLang {envname} data encryption ({region}): RDS, ElastiCache, MSK, EKS secrets"),
        );
        spec.enable_key_rotation = rotation;
        spec.rotation_period_days = crate::security::rotation_period(env);
        stack.add_in(region, &id, spec);
    }
    Input::output(id, "arn")
}

/// EKS, RDS, ElastiCache, MSK, their security groups and keys, and the VPC endpoints.
fn platform(
    env: &Environment,
    stack: &mut Stack,
    vpc: &Resource<VpcSpec>,
    subnets: &[Vec<Resource<SubnetSpec>>],
    private_route_tables: &[Input<String>],
) -> Result<Vec<Resource<EksNodeGroupSpec>>, Vec<Diagnostic>> {
    let envname = &env.stack.environment;
    let region = env.stack.region.clone();
    let rotation = env.storage.kms_key_rotation;
    let app_cidrs = env.network.app_subnets.clone();
    let app: Vec<Input<String>> = subnets[1].iter().map(|s| s.id()).collect();
    let data: Vec<Input<String>> = subnets[2].iter().map(|s| s.id()).collect();
    let key = data_key(stack, env, &region, rotation);
    stack.export("data_kms_key_arn", key.clone());

    // Security groups (3.3, 8.1): only the app subnets reach the data services; nothing else is open.
    let group = |stack: &mut Stack, id: &str, port: i32, cidrs: Vec<String>, what: &str| {
        stack.add(
            id,
            SecurityGroupSpec {
                vpc_id: vpc.id(),
                name: format!("greenlang-{envname}-{}", id.trim_start_matches("sg-")),
                description: format!("GreenLang {envname}: {what}"),
                ingress: vec![SecurityGroupRule {
                    protocol: IpProtocol::Tcp,
                    from_port: port,
                    to_port: port,
                    cidr_blocks: cidrs,
                    description: what.to_string(),
                }],
                egress: Vec::new(),
            },
        )
    };
    let ports = &env.security;
    let sg_postgres = group(
        stack,
        "sg-postgres",
        ports.postgres_port,
        app_cidrs.clone(),
        "PostgreSQL from the app subnets",
    );
    let sg_redis = group(
        stack,
        "sg-redis",
        ports.redis_port,
        app_cidrs.clone(),
        "Redis from the app subnets",
    );
    let sg_kafka = group(
        stack,
        "sg-kafka",
        ports.kafka_tls_port,
        app_cidrs.clone(),
        "Kafka TLS from the app subnets",
    );
    let sg_endpoints = group(
        stack,
        "sg-endpoints",
        ports.https_port,
        vec![env.network.vpc_cidr.clone()],
        "HTTPS to the interface endpoints from the VPC",
    );

    // VPC endpoints (3.2).
    for service in &env.endpoints.gateway {
        stack.add(
            format!("vpce-{}", service.replace('.', "-")),
            VpcEndpointSpec {
                vpc_id: vpc.id(),
                service_name: format!("com.amazonaws.{region}.{service}"),
                endpoint_type: VpcEndpointType::Gateway,
                route_table_ids: private_route_tables.to_vec(),
                subnet_ids: Vec::new(),
                security_group_ids: Vec::new(),
                private_dns_enabled: false,
            },
        );
    }
    for service in &env.endpoints.interface {
        stack.add(
            format!("vpce-{}", service.replace('.', "-")),
            VpcEndpointSpec {
                vpc_id: vpc.id(),
                service_name: format!("com.amazonaws.{region}.{service}"),
                endpoint_type: VpcEndpointType::Interface,
                route_table_ids: Vec::new(),
                subnet_ids: app.clone(),
                security_group_ids: vec![sg_endpoints.id()],
                private_dns_enabled: true,
            },
        );
    }

    // EKS (1.1, 1.2): the cluster in the app subnets, six pools, spot pools split.
    let k8s = &env.kubernetes;
    let mut cluster_role = IamRoleSpec::for_service(
        format!("greenlang-{envname}-eks-cluster"),
        "eks.amazonaws.com",
    );
    cluster_role.managed_policy_arns =
        vec!["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy".into()];
    let cluster_role = stack.add("iam-eks-cluster", cluster_role);
    // No AmazonEKS_CNI_Policy: the VPC CNI has its own role (workloads.rs).
    let mut node_role =
        IamRoleSpec::for_service(format!("greenlang-{envname}-eks-node"), "ec2.amazonaws.com");
    node_role.managed_policy_arns = vec![
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy".into(),
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly".into(),
    ];
    let node_role = stack.add("iam-eks-node", node_role);
    let cluster = stack.add(
        "eks",
        EksClusterSpec {
            name: format!("greenlang-{envname}"),
            version: k8s.version.clone(),
            role_arn: cluster_role.arn(),
            subnet_ids: app.clone(),
            security_group_ids: Vec::new(),
            endpoint_private_access: true,
            endpoint_public_access: k8s.public_endpoint,
            enabled_log_types: k8s.log_types.clone(),
            secrets_kms_key_arn: Some(key.clone()),
        },
    );
    stack.export("eks_cluster_arn", cluster.arn());
    let mut node_groups = Vec::new();
    for pool in &k8s.node_pools {
        let base = pool.name.replace('_', "-");
        for (suffix, capacity, min, max, desired) in split_pool(pool) {
            let group = stack.add(
                node_group_id(pool, suffix),
                EksNodeGroupSpec {
                    cluster_name: cluster.name(),
                    name: format!("{base}{suffix}"),
                    node_role_arn: node_role.arn(),
                    subnet_ids: app.clone(),
                    instance_types: vec![pool.instance_type.clone()],
                    capacity_type: capacity,
                    disk_size: pool.disk_size_gb,
                    // The cluster's version: an upgrade plans the cluster, then each
                    // node group after it.
                    version: k8s.version.clone(),
                    ami_type: pool.ami_type,
                    min_size: min,
                    max_size: max,
                    desired_size: desired,
                    labels: pool.labels.clone(),
                    taints: pool
                        .taints
                        .iter()
                        .map(|t| Taint {
                            key: t.key.clone(),
                            value: t.value.clone(),
                            effect: t.effect.into(),
                        })
                        .collect(),
                },
            );
            node_groups.push(group);
        }
    }

    let placement = Placement {
        vpc,
        app,
        data,
        sg_postgres: sg_postgres.id(),
        sg_redis: sg_redis.id(),
        sg_kafka: sg_kafka.id(),
        key,
    };
    data_services::database(env, stack, &placement)?;
    crate::cross_stack::declare(
        env,
        stack,
        &crate::cross_stack::ReplicaPlacement {
            vpc,
            data: placement.data.clone(),
            sg_postgres: placement.sg_postgres.clone(),
            key: placement.key.clone(),
        },
    );
    data_services::cache(env, stack, &placement);
    data_services::kafka(env, stack, &placement);
    Ok(node_groups)
}

/// The origin recorded on the stack's resources (the environment file).
pub(crate) fn stack_origin(stack: &Stack) -> Option<String> {
    stack.declarations().first().and_then(|d| d.origin.clone())
}
