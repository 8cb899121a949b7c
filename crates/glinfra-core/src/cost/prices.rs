//! The price table, read from `data/aws-prices.toml`, the one place prices live.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Prices by region, then by type (`us-east-1` → `m6i.xlarge` → $/hour).
pub type ByRegionType = BTreeMap<String, BTreeMap<String, f64>>;
/// Prices by region.
pub type ByRegion = BTreeMap<String, f64>;

/// EC2 prices.
#[derive(Debug, Deserialize)]
pub struct Ec2Prices {
    /// A public IPv4 address per hour.
    pub public_ipv4_hour: f64,
    /// The discount of spot capacity against on-demand (0.6 = 60% less).
    pub spot_discount: f64,
    /// Linux on-demand instances per hour.
    pub instance_hour: ByRegionType,
    /// A node's root volume per GB-month.
    pub ebs_root_gb_month: ByRegion,
    /// A NAT gateway per hour.
    pub nat_gateway_hour: ByRegion,
    /// An interface endpoint per Availability Zone per hour.
    pub interface_endpoint_hour: ByRegion,
}

/// EKS prices.
#[derive(Debug, Deserialize)]
pub struct EksPrices {
    /// A cluster per hour.
    pub cluster_hour: f64,
}

/// RDS prices.
#[derive(Debug, Deserialize)]
pub struct RdsPrices {
    /// Single-AZ instances per hour.
    pub instance_hour: ByRegionType,
    /// Single-AZ storage per GB-month by storage type.
    pub storage_gb_month: ByRegionType,
    /// Single-AZ provisioned IOPS per IOPS-month by storage type.
    pub iops_month: ByRegionType,
}

/// ElastiCache prices.
#[derive(Debug, Deserialize)]
pub struct ElastiCachePrices {
    /// Nodes per hour.
    pub node_hour: ByRegionType,
}

/// MSK prices.
#[derive(Debug, Deserialize)]
pub struct MskPrices {
    /// Brokers per hour.
    pub broker_hour: ByRegionType,
    /// Broker storage per GB-month.
    pub storage_gb_month: ByRegion,
}

/// KMS prices.
#[derive(Debug, Deserialize)]
pub struct KmsPrices {
    /// A customer managed key per month.
    pub key_month: f64,
}

/// Security service prices: what is billed by the month (GuardDuty, Security Hub and
/// Inspector are usage-based).
#[derive(Debug, Deserialize)]
pub struct SecurityPrices {
    /// A WAF web ACL per month.
    pub waf_web_acl_month: f64,
    /// A rule (or managed rule group) in a web ACL per month.
    pub waf_rule_month: f64,
    /// Shield Advanced per month (one-year commitment).
    pub shield_advanced_month: f64,
}

/// Route 53 prices.
#[derive(Debug, Deserialize)]
pub struct Route53Prices {
    /// A hosted zone per month.
    pub hosted_zone_month: f64,
    /// A basic health check per month.
    pub health_check_month: f64,
    /// Each optional health-check feature per month.
    pub health_check_feature_month: f64,
}

/// CloudWatch Logs prices (for the assumptions).
#[derive(Debug, Deserialize)]
pub struct LogsPrices {
    /// Ingestion per GB.
    pub ingest_gb: f64,
    /// Storage per GB-month.
    pub storage_gb_month: f64,
}

/// S3 prices (for the assumptions).
#[derive(Debug, Deserialize)]
pub struct S3Prices {
    /// Storage per GB-month by storage class.
    pub storage_gb_month: BTreeMap<String, f64>,
}

/// The discounts of 1-year partial-upfront reservations, by service.
#[derive(Debug, Deserialize)]
pub struct ReservedDiscounts {
    /// EC2 (on-demand node groups).
    pub ec2: f64,
    /// RDS instances.
    pub rds: f64,
    /// ElastiCache nodes.
    pub elasticache: f64,
}

/// Everything in `data/aws-prices.toml`.
#[derive(Debug, Deserialize)]
pub struct Prices {
    /// When the prices were compiled.
    pub as_of: String,
    /// Hours in a month (730).
    pub hours_per_month: f64,
    /// EC2.
    pub ec2: Ec2Prices,
    /// EKS.
    pub eks: EksPrices,
    /// RDS.
    pub rds: RdsPrices,
    /// ElastiCache.
    pub elasticache: ElastiCachePrices,
    /// MSK.
    pub msk: MskPrices,
    /// KMS.
    pub kms: KmsPrices,
    /// Route 53.
    pub route53: Route53Prices,
    /// CloudWatch Logs.
    pub logs: LogsPrices,
    /// Security services (WAF, Shield Advanced).
    pub security: SecurityPrices,
    /// S3.
    pub s3: S3Prices,
    /// Reservation discounts.
    pub reserved: ReservedDiscounts,
}

/// A price the table does not have: what was looked up, where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no price for {what} in {region} (data/aws-prices.toml, as of {as_of})")]
pub struct Missing {
    /// What was looked up (`EC2 instance m7i.xlarge`).
    pub what: String,
    /// The region.
    pub region: String,
    /// The table's date.
    pub as_of: String,
}

impl Prices {
    fn missing(&self, what: String, region: &str) -> Missing {
        Missing {
            what,
            region: region.to_string(),
            as_of: self.as_of.clone(),
        }
    }

    /// `table[region][name]`, or what is missing.
    pub fn typed(
        &self,
        table: &ByRegionType,
        service: &str,
        region: &str,
        name: &str,
    ) -> Result<f64, Missing> {
        table
            .get(region)
            .and_then(|t| t.get(name))
            .copied()
            .ok_or_else(|| self.missing(format!("{service} {name}"), region))
    }

    /// `table[region]`, or what is missing.
    pub fn regional(&self, table: &ByRegion, what: &str, region: &str) -> Result<f64, Missing> {
        table
            .get(region)
            .copied()
            .ok_or_else(|| self.missing(what.to_string(), region))
    }
}

/// The prices, parsed once.
pub fn prices() -> &'static Prices {
    static PRICES: OnceLock<Prices> = OnceLock::new();
    PRICES.get_or_init(|| {
        toml::from_str(include_str!("../../data/aws-prices.toml"))
            .expect("data/aws-prices.toml is valid (checked by a test)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"];

    #[test]
    fn the_price_file_parses_and_covers_every_region_used() {
        let p = prices();
        assert_eq!(p.hours_per_month, 730.0);
        for region in REGIONS {
            for (what, table) in [
                ("EC2 instances", &p.ec2.instance_hour),
                ("RDS instances", &p.rds.instance_hour),
                ("RDS storage", &p.rds.storage_gb_month),
                ("ElastiCache nodes", &p.elasticache.node_hour),
                ("MSK brokers", &p.msk.broker_hour),
            ] {
                assert!(table.contains_key(region), "{what}: no {region}");
            }
            for table in [
                &p.ec2.ebs_root_gb_month,
                &p.ec2.nat_gateway_hour,
                &p.ec2.interface_endpoint_hour,
                &p.msk.storage_gb_month,
            ] {
                assert!(table.contains_key(region), "no {region}");
            }
        }
        for d in [
            p.ec2.spot_discount,
            p.reserved.ec2,
            p.reserved.rds,
            p.reserved.elasticache,
        ] {
            assert!((0.0..1.0).contains(&d), "{d} is not a discount");
        }
        let missing = p
            .typed(&p.ec2.instance_hour, "EC2 instance", "us-east-1", "x9.huge")
            .unwrap_err();
        assert!(
            missing.to_string().contains("x9.huge in us-east-1"),
            "{missing}"
        );
    }

    /// Every type the environment files use has a price in its region.
    #[test]
    fn every_environment_type_is_priced() {
        let p = prices();
        for t in [
            "m6i.xlarge",
            "m6i.2xlarge",
            "c6i.xlarge",
            "c6i.2xlarge",
            "g4dn.xlarge",
        ] {
            for region in ["us-east-1", "eu-west-1", "ap-southeast-1"] {
                p.typed(&p.ec2.instance_hour, "EC2", region, t).unwrap();
            }
        }
        for t in ["m6i.large", "c6i.large"] {
            p.typed(&p.ec2.instance_hour, "EC2", "us-east-1", t)
                .unwrap();
        }
        for (region, t) in [
            ("us-east-1", "db.r6g.2xlarge"),
            ("us-east-1", "db.r6g.xlarge"),
            ("us-east-1", "db.r6g.large"),
            ("us-east-1", "db.t4g.medium"),
            ("eu-west-1", "db.r6g.xlarge"),
            ("ap-southeast-1", "db.r6g.xlarge"),
        ] {
            p.typed(&p.rds.instance_hour, "RDS", region, t).unwrap();
        }
    }
}
