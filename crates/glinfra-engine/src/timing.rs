//! How long AWS takes and how fast it lets us call: the one table, shared by the
//! scheduler (expected latencies order the ready operations, rate limits fill its
//! token buckets, latency windows place its polls) and the simulated cloud (which
//! draws from the same ranges and enforces the same limits).
//!
//! Latencies are uniform ranges, in seconds, from the call until the resource is
//! usable (a create), changed (an update) or gone (a delete). The ranges come
//! from AWS documentation where it gives one, from published provider timeouts
//! and measurements otherwise; each row says which. Rate limits are per account,
//! service and region (global services: per account), each a token bucket.
//!
//! Sources:
//! - [EC2 throttling]: token buckets per account and region; `RequestLimitExceeded`.
//! - [RDS throttling]: 300 requests in a burst, 12 per second sustained; `ThrottlingException`.
//! - [Route 53 throttling]: five requests per second per account (the limit the
//!   [Route 53 throttling article] calls hard; AWS has since documented higher
//!   buckets, 50 and 10 a second, so five is the conservative figure); `Throttling`.
//! - [KMS quotas]: CreateKey five per second; `ThrottlingException`.
//! - [CloudWatch Logs quotas]: CreateLogGroup and DescribeLogGroups five per second.
//! - Terraform AWS provider default timeouts (`aws_db_instance` create 40 min,
//!   `aws_eks_cluster` 30 min, `aws_msk_cluster` 120 min,
//!   `aws_elasticache_replication_group` 60 min, `aws_nat_gateway` 10 min,
//!   `aws_vpc_endpoint` 10 min), which bound the published ranges from above.
//! - The ranges of issue 12 (measured applies of this platform): NAT gateway
//!   85-125 s, interface endpoint 60-120 s, EKS cluster 480-650 s, node group
//!   75-330 s, RDS Multi-AZ primary and same-region replica 600-900 s,
//!   cross-region replica 1200-2300 s, ElastiCache replication group
//!   600-1500 s, MSK cluster 1200-2400 s, Route 53 change until INSYNC 30-60 s,
//!   EC2 networking, IAM and KMS 1-3 s, S3 calls 0.2-1 s.
//!
//! EKS, ElastiCache, MSK, IAM and S3 publish no request rates for the calls
//! glinfra makes; their rows are conservative guesses, marked so.
//!
//! [EC2 throttling]: https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
//! [RDS throttling]: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-api-throttling.html
//! [Route 53 throttling]: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html
//! [Route 53 throttling article]: https://repost.aws/knowledge-center/route-53-avoid-throttling-errors
//! [KMS quotas]: https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html
//! [CloudWatch Logs quotas]: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html

use glinfra_core::input::as_output_ref;
use glinfra_core::{Declaration, Kind, OpPhase, Plan, Schedule};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// An AWS service glinfra calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// EC2 (networking).
    Ec2,
    /// EKS.
    Eks,
    /// RDS.
    Rds,
    /// ElastiCache.
    ElastiCache,
    /// MSK (Kafka).
    Msk,
    /// Route 53.
    Route53,
    /// S3.
    S3,
    /// IAM.
    Iam,
    /// KMS.
    Kms,
    /// CloudWatch Logs.
    Logs,
    /// GuardDuty.
    GuardDuty,
    /// Security Hub.
    SecurityHub,
    /// Amazon Inspector.
    Inspector2,
    /// WAF (WAFv2).
    Wafv2,
    /// Shield Advanced.
    Shield,
}

/// Which of a service's request buckets a call draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallClass {
    /// A call that changes something (Create*, Modify*, Delete*).
    Mutate,
    /// A read (Describe*, Get*, List*): finds and polls.
    Describe,
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rate {
    /// The bucket's capacity.
    pub burst: f64,
    /// Tokens added per second.
    pub per_second: f64,
}

const fn rate(burst: f64, per_second: f64) -> Rate {
    Rate { burst, per_second }
}

impl Service {
    /// Every service.
    pub const ALL: [Service; 15] = [
        Service::Ec2,
        Service::Eks,
        Service::Rds,
        Service::ElastiCache,
        Service::Msk,
        Service::Route53,
        Service::S3,
        Service::Iam,
        Service::Kms,
        Service::Logs,
        Service::GuardDuty,
        Service::SecurityHub,
        Service::Inspector2,
        Service::Wafv2,
        Service::Shield,
    ];

    /// The service a kind's calls go to (from its type name, `aws:ec2/vpc`).
    pub fn of(kind: Kind) -> Service {
        let name = kind.type_name();
        let service = name
            .strip_prefix("aws:")
            .and_then(|s| s.split('/').next())
            .unwrap_or(name);
        match service {
            "ec2" => Service::Ec2,
            "eks" => Service::Eks,
            "rds" => Service::Rds,
            "elasticache" => Service::ElastiCache,
            "msk" => Service::Msk,
            "route53" => Service::Route53,
            "s3" => Service::S3,
            "iam" => Service::Iam,
            "kms" => Service::Kms,
            "logs" => Service::Logs,
            "guardduty" => Service::GuardDuty,
            "securityhub" => Service::SecurityHub,
            "inspector2" => Service::Inspector2,
            "wafv2" => Service::Wafv2,
            "shield" => Service::Shield,
            // A kind added without a row here is paced as EC2 is, the strictest.
            _ => Service::Ec2,
        }
    }

    /// True for the services with one endpoint for every region (their limits
    /// are per account, not per region).
    pub fn is_global(self) -> bool {
        matches!(self, Service::Route53 | Service::Iam | Service::Shield)
    }

    /// Where the service's limits apply: `region`, or `global`.
    pub fn scope(self, region: &str) -> &str {
        if self.is_global() {
            "global"
        } else {
            region
        }
    }

    /// The bucket a call of `class` draws from: its name and rate. Services with
    /// one bucket for every call name it `all`.
    pub fn bucket(self, class: CallClass) -> (&'static str, Rate) {
        use CallClass::*;
        match (self, class) {
            // EC2 throttling: mutating actions 50, refilled at 5 a second;
            // non-mutating (Describe*) 100, refilled at 20 a second.
            (Service::Ec2, Mutate) => ("mutating", rate(50.0, 5.0)),
            (Service::Ec2, Describe) => ("describe", rate(100.0, 20.0)),
            // RDS throttling: every call, 300 in a burst, 12 a second.
            (Service::Rds, _) => ("all", rate(300.0, 12.0)),
            // Route 53: five requests a second per account, every call.
            (Service::Route53, _) => ("all", rate(5.0, 5.0)),
            // KMS quotas: CreateKey (and the key's other control calls) five a second.
            (Service::Kms, Mutate) => ("mutating", rate(5.0, 5.0)),
            (Service::Kms, Describe) => ("describe", rate(50.0, 50.0)),
            // CloudWatch Logs quotas: five a second for the calls glinfra makes.
            (Service::Logs, _) => ("all", rate(5.0, 5.0)),
            // Conservative (no published figure).
            (Service::Eks, _) => ("all", rate(20.0, 10.0)),
            (Service::ElastiCache, _) => ("all", rate(20.0, 10.0)),
            (Service::Msk, _) => ("all", rate(10.0, 5.0)),
            (Service::Iam, _) => ("all", rate(20.0, 10.0)),
            (Service::S3, _) => ("all", rate(100.0, 50.0)),
            // Security Hub quotas: most calls ten a second (burst 30);
            // BatchEnableStandards one a second.
            (Service::SecurityHub, _) => ("all", rate(30.0, 10.0)),
            // WAF: the control-plane calls are limited per account and region
            // (no single published figure; conservative).
            (Service::Wafv2, _) => ("all", rate(5.0, 1.0)),
            // Conservative (no published figure).
            (Service::GuardDuty, _) => ("all", rate(10.0, 5.0)),
            (Service::Inspector2, _) => ("all", rate(10.0, 5.0)),
            (Service::Shield, _) => ("all", rate(5.0, 1.0)),
        }
    }

    /// How many resources of one kind one describe of the service can read: what
    /// a shared poll ([`crate::batch`]) gathers at most. EC2's Describe* take lists
    /// of ids and filters of up to 200 values; RDS's DescribeDBInstances a
    /// `db-instance-id` filter (100 records a page); ElastiCache's
    /// DescribeReplicationGroups and MSK's ListClustersV2 list a region's (100 a
    /// page). EKS (DescribeCluster, DescribeNodegroup), Route 53 (GetChange) and
    /// the rest read one resource a call.
    pub fn describe_batch(self) -> usize {
        match self {
            Service::Ec2 => 200,
            Service::Rds | Service::ElastiCache | Service::Msk => 100,
            _ => 1,
        }
    }

    /// The service's own error code for a throttled request.
    pub fn throttling_code(self) -> &'static str {
        match self {
            Service::Ec2 => "RequestLimitExceeded",
            Service::Route53 | Service::Iam | Service::ElastiCache => "Throttling",
            Service::Msk => "TooManyRequestsException",
            Service::S3 => "SlowDown",
            Service::Wafv2 => "WAFLimitsExceededException",
            Service::Rds
            | Service::Eks
            | Service::Kms
            | Service::Logs
            | Service::GuardDuty
            | Service::SecurityHub
            | Service::Inspector2
            | Service::Shield => "ThrottlingException",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = serde_json::to_value(self).expect("a unit variant");
        f.write_str(name.as_str().unwrap_or("?"))
    }
}

/// What an operation does to its resource, as far as latency goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// Made (a create, or the create of a replacement).
    Create,
    /// Changed in place.
    Update,
    /// Removed.
    Delete,
}

impl From<OpPhase> for Change {
    fn from(phase: OpPhase) -> Self {
        match phase {
            OpPhase::Create | OpPhase::ReplaceCreate => Change::Create,
            OpPhase::Update => Change::Update,
            OpPhase::Delete | OpPhase::ReplaceDelete | OpPhase::DeleteReplaced => Change::Delete,
        }
    }
}

/// What decides a resource's latency besides its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Nothing more.
    Plain,
    /// An RDS instance replicating from another region.
    CrossRegionReplica,
    /// An interface VPC endpoint (PrivateLink network interfaces in subnets).
    InterfaceEndpoint,
}

impl Variant {
    /// The variant of a resolved resource (`replicate_from` holds an ARN).
    pub fn resolved(kind: Kind, region: &str, props: &Value) -> Variant {
        Variant::of(kind, props, || {
            props
                .get("replicate_from")
                .and_then(Value::as_str)
                .and_then(region_in_arn)
                .is_some_and(|r| r != region)
        })
    }

    /// The variant of a declaration, `region_of` giving the region of another
    /// declaration by logical id (`replicate_from` holds an output reference).
    pub fn declared(decl: &Declaration, region_of: impl Fn(&str) -> Option<String>) -> Variant {
        let props = decl.props.value();
        Variant::of(decl.kind, &props, || {
            let source = props.get("replicate_from");
            let source_region = match source {
                Some(Value::String(arn)) => region_in_arn(arn).map(str::to_string),
                Some(v) => as_output_ref(v).and_then(|r| region_of(&r.resource)),
                None => None,
            };
            source_region.is_some_and(|r| r != decl.region)
        })
    }

    fn of(kind: Kind, props: &Value, cross_region: impl FnOnce() -> bool) -> Variant {
        match kind.type_name() {
            "aws:rds/db-instance" if cross_region() => Variant::CrossRegionReplica,
            "aws:ec2/vpc-endpoint"
                if props.get("endpoint_type").and_then(Value::as_str) == Some("Interface") =>
            {
                Variant::InterfaceEndpoint
            }
            _ => Variant::Plain,
        }
    }
}

/// The region of an ARN (`arn:aws:rds:eu-west-1:...`), when it names one.
pub fn region_in_arn(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")
        .and_then(|rest| rest.split(':').nth(2))
        .filter(|r| !r.is_empty())
}

/// A latency: uniform between `min` and `max` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// Seconds, at least.
    pub min: f64,
    /// Seconds, at most.
    pub max: f64,
}

impl Latency {
    /// The mean: what the scheduler expects.
    pub fn expected(self) -> f64 {
        (self.min + self.max) / 2.0
    }

    /// The latency at quantile `u` (0 to 1).
    pub fn at(self, u: f64) -> f64 {
        self.min + u.clamp(0.0, 1.0) * (self.max - self.min)
    }
}

const fn secs(min: f64, max: f64) -> Latency {
    Latency { min, max }
}

/// EC2 networking, IAM, KMS, the subnet and parameter groups: seconds.
const QUICK: Latency = secs(1.0, 3.0);
/// One S3 or CloudWatch Logs call.
const CALL: Latency = secs(0.2, 1.0);
/// A Route 53 change until INSYNC.
const INSYNC: Latency = secs(30.0, 60.0);

/// How long `change` of a `kind` resource of `variant` takes, from the call until
/// it is usable, changed or gone.
pub fn latency(kind: Kind, change: Change, variant: Variant) -> Latency {
    use Change::*;
    match (kind.type_name(), change, variant) {
        // Measured 85-125 s; deletes take about a minute in the deleting state.
        ("aws:ec2/nat-gateway", Create, _) => secs(85.0, 125.0),
        ("aws:ec2/nat-gateway", Delete, _) => secs(30.0, 90.0),
        // Interface endpoints go through `pending` for one to two minutes either way;
        // ModifyVpcEndpoint of subnets and groups takes as long as a create of them.
        ("aws:ec2/vpc-endpoint", Create | Delete, Variant::InterfaceEndpoint) => secs(60.0, 120.0),
        ("aws:ec2/vpc-endpoint", Update, Variant::InterfaceEndpoint) => secs(10.0, 60.0),
        ("aws:eks/cluster", Create, _) => secs(480.0, 650.0),
        // UpdateClusterConfig and version upgrades (the latter up to Terraform's 60 min).
        ("aws:eks/cluster", Update, _) => secs(300.0, 900.0),
        ("aws:eks/cluster", Delete, _) => secs(180.0, 480.0),
        ("aws:eks/node-group", Create, _) => secs(75.0, 330.0),
        // A rolling update replaces every node.
        ("aws:eks/node-group", Update, _) => secs(300.0, 900.0),
        ("aws:eks/node-group", Delete, _) => secs(120.0, 600.0),
        // An add-on is ACTIVE once its pods run (the Pod Identity agent, the VPC CNI:
        // DaemonSets, typically under two minutes; Terraform allows 20 min to create
        // and update, 40 to delete); an update rolls its pods. A Pod Identity
        // association is one synchronous call (QUICK).
        ("aws:eks/addon", Create | Update, _) => secs(20.0, 120.0),
        ("aws:eks/addon", Delete, _) => secs(10.0, 60.0),
        ("aws:rds/db-instance", Create, Variant::CrossRegionReplica) => secs(1200.0, 2300.0),
        ("aws:rds/db-instance", Create, _) => secs(600.0, 900.0),
        ("aws:rds/db-instance", Update, _) => secs(300.0, 900.0),
        ("aws:rds/db-instance", Delete, _) => secs(300.0, 600.0),
        ("aws:elasticache/replication-group", Create, _) => secs(600.0, 1500.0),
        ("aws:elasticache/replication-group", Update, _) => secs(300.0, 1200.0),
        ("aws:elasticache/replication-group", Delete, _) => secs(300.0, 900.0),
        ("aws:msk/cluster", Create, _) => secs(1200.0, 2400.0),
        ("aws:msk/cluster", Update, _) => secs(600.0, 1800.0),
        ("aws:msk/cluster", Delete, _) => secs(600.0, 1200.0),
        // Every change of a zone's records (and the zone itself) waits for INSYNC;
        // health checks are made by one synchronous call.
        ("aws:route53/hosted-zone" | "aws:route53/record-set", _, _) => INSYNC,
        ("aws:route53/health-check", _, _) => CALL,
        // A bucket is several calls (create, versioning, encryption, public access
        // block, policy, lifecycle, replication).
        ("aws:s3/bucket", _, _) => secs(1.0, 5.0),
        ("aws:logs/log-group", _, _) => CALL,
        _ => QUICK,
    }
}

/// What decides an operation's latency: its kind, change and variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    /// The resource's kind.
    pub kind: Kind,
    /// What the operation does.
    pub change: Change,
    /// The resource's variant.
    pub variant: Variant,
}

impl Profile {
    /// Its latency range.
    pub fn latency(&self) -> Latency {
        latency(self.kind, self.change, self.variant)
    }
}

/// The profile of each operation of `schedule` (made from `plan`): creates and
/// updates from the declaration, deletes from the record.
pub fn op_profiles(plan: &Plan, schedule: &Schedule) -> Vec<Profile> {
    let regions: HashMap<&str, &str> = plan
        .steps
        .iter()
        .map(|s| (s.resource.as_str(), s.region.as_str()))
        .collect();
    schedule
        .ops
        .iter()
        .map(|op| {
            let step = &plan.steps[op.step];
            let change = Change::from(op.phase);
            let variant = match (&step.desired, &step.prior, change) {
                (Some(decl), _, Change::Create | Change::Update) => {
                    Variant::declared(decl, |id| regions.get(id).map(|r| r.to_string()))
                }
                (_, Some(prior), _) => Variant::resolved(step.kind, &step.region, &prior.props),
                (Some(decl), None, _) => {
                    Variant::declared(decl, |id| regions.get(id).map(|r| r.to_string()))
                }
                (None, None, _) => Variant::Plain,
            };
            Profile {
                kind: step.kind,
                change,
                variant,
            }
        })
        .collect()
}

/// The latency range of each operation of `schedule` (made from `plan`).
pub fn op_latencies(plan: &Plan, schedule: &Schedule) -> Vec<Latency> {
    op_profiles(plan, schedule)
        .iter()
        .map(Profile::latency)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(name: &str) -> Kind {
        Kind::from_name(name).unwrap()
    }

    #[test]
    fn every_kind_has_a_service_and_a_positive_latency() {
        for &k in Kind::all() {
            let service = Service::of(k);
            assert!(
                k.type_name().starts_with(&format!("aws:{service}/")),
                "{} -> {service}",
                k.type_name()
            );
            for change in [Change::Create, Change::Update, Change::Delete] {
                let l = latency(k, change, Variant::Plain);
                assert!(l.min > 0.0 && l.max >= l.min, "{}: {l:?}", k.type_name());
            }
        }
    }

    #[test]
    fn replicas_across_regions_and_interface_endpoints_take_longer() {
        let db = kind("aws:rds/db-instance");
        let replica = json!({"replicate_from": "arn:aws:rds:us-east-1:123456789012:db:p"});
        assert_eq!(
            Variant::resolved(db, "eu-west-1", &replica),
            Variant::CrossRegionReplica
        );
        assert_eq!(Variant::resolved(db, "us-east-1", &replica), Variant::Plain);
        assert_eq!(
            latency(db, Change::Create, Variant::CrossRegionReplica),
            secs(1200.0, 2300.0)
        );
        let endpoint = kind("aws:ec2/vpc-endpoint");
        assert_eq!(
            Variant::resolved(
                endpoint,
                "us-east-1",
                &json!({"endpoint_type": "Interface"})
            ),
            Variant::InterfaceEndpoint
        );
        assert_eq!(
            latency(endpoint, Change::Create, Variant::Plain),
            QUICK,
            "a gateway endpoint is quick"
        );
    }

    #[test]
    fn arns_name_their_region() {
        assert_eq!(
            region_in_arn("arn:aws:rds:eu-west-1:1:db:x"),
            Some("eu-west-1")
        );
        assert_eq!(region_in_arn("arn:aws:iam::1:role/x"), None);
        assert_eq!(region_in_arn("db-1"), None);
    }
}
