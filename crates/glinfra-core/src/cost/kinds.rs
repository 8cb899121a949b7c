//! What one resource costs a month, by kind, from its spec and the price table.
//! Only kinds that cost money by the hour or month have a price here; the rest
//! (VPCs, subnets, route tables, security groups, IAM, parameter and subnet groups,
//! MSK configurations, record sets) are free, and usage (data, requests, stored
//! bytes) is an assumption, never a line.

use super::prices::{Missing, Prices};
use super::{Component, Discount, Price};
use crate::spec::ec2::VpcEndpointType;
use crate::spec::eks::{CapacityType, EksNodeGroupSpec};
use crate::spec::elasticache::ReplicationGroupSpec;
use crate::spec::msk::MskClusterSpec;
use crate::spec::rds::DbInstanceSpec;
use crate::spec::route53::{HealthCheckSpec, HealthCheckType};
use crate::spec::wafv2::WebAclSpec;
use crate::Kind;
use serde_json::Value;

/// A resource to price: its kind, region and spec (declared or recorded).
pub(super) struct Item<'a> {
    pub kind: Kind,
    pub region: &'a str,
    pub props: &'a Value,
}

fn spec<S: serde::de::DeserializeOwned>(props: &Value) -> Result<S, Missing> {
    serde_json::from_value(props.clone()).map_err(|e| Missing {
        what: format!("a readable spec ({e})"),
        region: String::new(),
        as_of: String::new(),
    })
}

/// The monthly price of `item`, `None` for a kind that costs nothing by the hour.
pub(super) fn price(p: &Prices, item: &Item<'_>) -> Result<Option<Price>, Missing> {
    let hours = p.hours_per_month;
    let region = item.region;
    let simple = |component, instances: String, monthly: f64| Price {
        component,
        instances,
        monthly,
        compute: 0.0,
        discount: Discount::None,
    };
    Ok(Some(match item.kind.type_name() {
        "aws:eks/cluster" => simple(
            Component::Kubernetes,
            "1 control plane".into(),
            p.eks.cluster_hour * hours,
        ),
        "aws:eks/node-group" => {
            let s: EksNodeGroupSpec = spec(item.props)?;
            let itype = s.instance_types.first().cloned().unwrap_or_default();
            let hourly = p.typed(&p.ec2.instance_hour, "EC2 instance", region, &itype)?;
            let disk = p.regional(&p.ec2.ebs_root_gb_month, "EBS gp2 storage", region)?;
            let n = f64::from(s.desired_size.max(0));
            Price {
                component: Component::Kubernetes,
                instances: format!("{} x {itype}", s.desired_size),
                monthly: n * (hourly * hours + f64::from(s.disk_size) * disk),
                compute: n * hourly * hours,
                discount: match s.capacity_type {
                    CapacityType::Spot => Discount::Spot(p.ec2.spot_discount),
                    CapacityType::OnDemand => Discount::Reservable(p.reserved.ec2),
                },
            }
        }
        "aws:ec2/nat-gateway" => simple(
            Component::Network,
            "1 NAT gateway".into(),
            p.regional(&p.ec2.nat_gateway_hour, "NAT gateway", region)? * hours,
        ),
        "aws:ec2/elastic-ip" => simple(
            Component::Network,
            "1 public IPv4".into(),
            p.ec2.public_ipv4_hour * hours,
        ),
        "aws:ec2/vpc-endpoint" => {
            let kind = item.props.get("endpoint_type").and_then(Value::as_str);
            if kind != Some(VpcEndpointType::Interface.to_string().as_str()) {
                return Ok(None);
            }
            let zones = item
                .props
                .get("subnet_ids")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let hourly =
                p.regional(&p.ec2.interface_endpoint_hour, "interface endpoint", region)?;
            simple(
                Component::Network,
                format!("{zones} AZ x interface"),
                zones as f64 * hourly * hours,
            )
        }
        "aws:rds/db-instance" => rds(p, item)?,
        "aws:elasticache/replication-group" => {
            let s: ReplicationGroupSpec = spec(item.props)?;
            let hourly = p.typed(
                &p.elasticache.node_hour,
                "ElastiCache node",
                region,
                &s.node_type,
            )?;
            let nodes = s.num_node_groups.max(0) * (1 + s.replicas_per_node_group.max(0));
            Price {
                component: Component::Cache,
                instances: format!("{nodes} x {}", s.node_type.trim_start_matches("cache.")),
                monthly: f64::from(nodes) * hourly * hours,
                compute: f64::from(nodes) * hourly * hours,
                discount: Discount::Reservable(p.reserved.elasticache),
            }
        }
        "aws:msk/cluster" => {
            let s: MskClusterSpec = spec(item.props)?;
            let hourly = p.typed(&p.msk.broker_hour, "MSK broker", region, &s.instance_type)?;
            let gb = p.regional(&p.msk.storage_gb_month, "MSK storage", region)?;
            let n = f64::from(s.broker_count.max(0));
            simple(
                Component::Kafka,
                format!(
                    "{} x {}",
                    s.broker_count,
                    s.instance_type.trim_start_matches("kafka.")
                ),
                n * (hourly * hours + f64::from(s.volume_size_gb) * gb),
            )
        }
        "aws:kms/key" => simple(Component::Keys, "1 key".into(), p.kms.key_month),
        "aws:route53/hosted-zone" => simple(
            Component::Dns,
            "1 hosted zone".into(),
            p.route53.hosted_zone_month,
        ),
        "aws:route53/health-check" => {
            let s: HealthCheckSpec = spec(item.props)?;
            let features = u8::from(s.check_type == HealthCheckType::Https)
                + u8::from(s.request_interval == 10);
            simple(
                Component::Dns,
                "1 health check".into(),
                p.route53.health_check_month
                    + f64::from(features) * p.route53.health_check_feature_month,
            )
        }
        // Security services (seed 8.1); GuardDuty, Security Hub and Inspector are usage-based.
        "aws:wafv2/web-acl" => {
            let s: WebAclSpec = spec(item.props)?;
            let rules = s.rules.len();
            simple(
                Component::Security,
                format!("1 web ACL, {rules} rules"),
                p.security.waf_web_acl_month + rules as f64 * p.security.waf_rule_month,
            )
        }
        "aws:shield/subscription" => simple(
            Component::Security,
            "Shield Advanced".into(),
            p.security.shield_advanced_month,
        ),
        _ => return Ok(None),
    }))
}

/// An RDS instance: the instance (twice for Multi-AZ), its storage and provisioned
/// IOPS (twice for Multi-AZ). A read replica is an instance with storage of its own.
fn rds(p: &Prices, item: &Item<'_>) -> Result<Price, Missing> {
    let s: DbInstanceSpec = spec(item.props)?;
    let region = item.region;
    let hours = p.hours_per_month;
    let hourly = p.typed(
        &p.rds.instance_hour,
        "RDS instance",
        region,
        &s.instance_class,
    )?;
    let storage = s.storage_type.to_string();
    let per_gb = p.typed(&p.rds.storage_gb_month, "RDS storage", region, &storage)?;
    let iops = match s.iops {
        Some(iops) if storage.starts_with("io") => {
            f64::from(iops) * p.typed(&p.rds.iops_month, "RDS IOPS", region, &storage)?
        }
        _ => 0.0,
    };
    let copies = if s.multi_az { 2.0 } else { 1.0 };
    let class = s.instance_class.trim_start_matches("db.");
    Ok(Price {
        component: Component::Database,
        instances: if s.multi_az {
            format!("1 x {class} Multi-AZ")
        } else {
            format!("1 x {class}")
        },
        monthly: copies * (hourly * hours + f64::from(s.allocated_storage) * per_gb + iops),
        // Reservations cover instance hours, not storage or IOPS.
        compute: copies * hourly * hours,
        discount: Discount::Reservable(p.reserved.rds),
    })
}
