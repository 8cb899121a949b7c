//! The Agent Factory topology (infrastructure requirements 2.4, 3.1, 3.2, 3.4),
//! declared from an [`Environment`].

use crate::config::{BucketConfig, Environment};
use glinfra_core::spec::ec2::{
    ElasticIpSpec, InternetGatewaySpec, NatGatewaySpec, RouteSpec, RouteTableAssociationSpec,
    RouteTableSpec, SubnetSpec, VpcSpec,
};
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::spec::kms::KmsKeySpec;
use glinfra_core::spec::route53::{HostedZoneSpec, RecordSetSpec};
use glinfra_core::spec::s3::{
    BucketEncryption, BucketSpec, LifecycleRule, ObjectLockRetention, Replication, ReplicationRule,
    Transition,
};
use glinfra_core::{Diagnostic, Input, Resource, Stack};
use serde_json::json;

/// The subnet tiers, in declaration order.
pub const TIERS: [&str; 3] = ["public", "app", "data"];

/// The zone letter of an availability zone (`us-east-1b` → `b`).
fn zone_letter(zone: &str) -> String {
    zone.chars()
        .last()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn input_json(input: &Input<String>) -> serde_json::Value {
    serde_json::to_value(input).expect("inputs serialise")
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
                    storage_class: t.storage_class.clone(),
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
    let problems = check_shape(env, origin);
    if !problems.is_empty() {
        return Err(problems);
    }
    let net = &env.network;
    let envname = &env.stack.environment;
    let mut stack = Stack::new(&env.stack.name, &env.stack.region);
    stack.set_origin(origin.map(str::to_string));
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
    let key = stack.add("kms-s3", key_spec);
    stack.export("s3_kms_key_arn", key.arn());
    let replica_region = &storage.replication_region;
    let replica_key = storage.buckets.iter().any(|b| b.replicate).then(|| {
        let mut spec = KmsKeySpec::new(
            format!("greenlang-{envname}-s3-replica"),
            format!("GreenLang {envname} S3 replica encryption in {replica_region}"),
        );
        spec.enable_key_rotation = storage.kms_key_rotation;
        stack.add_in(replica_region, "kms-s3-replica", spec)
    });
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
                mode: lock.mode.clone(),
                days: lock.days,
            });
        }
        let id = format!("bucket-{}", bucket.purpose);
        if let (true, Some(replica_key)) = (bucket.replicate, &replica_key) {
            let replica_name = format!("{name}-replica-{replica_region}");
            let mut replica_spec = base_bucket(replica_name.clone(), true, replica_key);
            replica_spec.lifecycle_rules = spec.lifecycle_rules.clone();
            let replica = stack.add_in(replica_region, format!("{id}-replica"), replica_spec);
            let role_name = format!("greenlang-{envname}-{}-replication", bucket.purpose);
            let mut role = IamRoleSpec::for_service(&role_name, "s3.amazonaws.com");
            role.description = format!("S3 replication of {name} to {replica_region}");
            let source_arn = BucketSpec::arn_of(&name);
            role.inline_policies.insert(
                "replication".into(),
                json!({
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": [source_arn]},
                        {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"], "Resource": [format!("{source_arn}/*")]},
                        {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": [format!("{}/*", BucketSpec::arn_of(&replica_name))]},
                        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [input_json(&key.arn())]},
                        {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": [input_json(&replica_key.arn())]}
                    ]
                }),
            );
            let role = stack.add(format!("iam-{}-replication", bucket.purpose), role);
            spec.replication = Some(Replication {
                role_arn: role.arn(),
                rules: vec![ReplicationRule {
                    id: format!("to-{replica_region}"),
                    priority: 1,
                    prefix: String::new(),
                    destination_bucket_arn: replica.arn(),
                    storage_class: None,
                    replica_kms_key_arn: Some(replica_key.arn()),
                }],
            });
            stack.export(format!("{id}-replica_arn"), replica.arn());
        }
        let b = stack.add(&id, spec);
        stack.export(format!("{id}_arn"), b.arn());
    }

    // DNS (3.1, 3.4): the public zone and the entry points.
    let zone = stack.add(
        "zone",
        HostedZoneSpec {
            name: env.dns.zone.clone(),
            comment: format!("GreenLang Agent Factory ({envname})"),
        },
    );
    stack.export("zone_id", zone.zone_id());
    for r in &env.dns.records {
        let fqdn = format!("{}.{}", r.name, env.dns.zone);
        stack.add(
            format!("record-{}", r.name),
            RecordSetSpec {
                zone_id: zone.zone_id(),
                name: fqdn,
                record_type: r.record_type.clone(),
                ttl: r.ttl,
                records: r.values.iter().map(|v| Input::Value(v.clone())).collect(),
                set_identifier: None,
                latency_region: None,
                health_check_id: None,
            },
        );
    }
    Ok(stack)
}
