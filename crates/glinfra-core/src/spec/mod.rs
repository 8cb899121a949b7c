//! Typed specs, one module per AWS service.
//!
//! Each spec is plain data; its `check` validates values without IO.
//! `Resource<Spec>` handles expose each kind's typed outputs.

pub mod ec2;
pub mod eks;
pub mod elasticache;
pub mod guardduty;
pub mod iam;
pub mod inspector2;
pub mod kms;
pub mod logs;
pub mod msk;
pub mod rds;
pub mod route53;
pub mod rules;
pub mod s3;
pub mod securityhub;
pub mod shield;
pub mod wafv2;

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// A closed set of AWS API values as a Rust enum, the one way every spec declares
/// one: each variant serialises as its API spelling (so JSON, and so state, holds
/// the string AWS uses), with `ALL`, `as_str`, `Display`, `FromStr` (an error naming
/// the known values, `$what` saying what they are) and comparison with a `&str`.
/// What else a set knows (say, which storage types take IOPS) is a plain `impl`.
macro_rules! closed_set {
    (
        $(#[$doc:meta])*
        $name:ident, $what:literal {
            $( $(#[$vdoc:meta])* $variant:ident = $api:literal ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$vdoc])* #[serde(rename = $api)] $variant, )+
        }

        impl $name {
            /// Every value, in the API's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The API spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $api,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let known: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!(concat!("unknown ", $what, " `{}` (known: {})"), s, known.join(", "))
                })
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
pub(crate) use closed_set;

use crate::kind::Kind;
use crate::stack::Declared;

/// Every kind glinfra knows: one line per kind, in a stable order.
pub const ALL: &[Kind] = &[
    ec2::VpcSpec::KIND,
    ec2::SubnetSpec::KIND,
    ec2::InternetGatewaySpec::KIND,
    ec2::ElasticIpSpec::KIND,
    ec2::NatGatewaySpec::KIND,
    ec2::RouteTableSpec::KIND,
    ec2::RouteSpec::KIND,
    ec2::RouteTableAssociationSpec::KIND,
    s3::BucketSpec::KIND,
    route53::HostedZoneSpec::KIND,
    route53::RecordSetSpec::KIND,
    iam::IamRoleSpec::KIND,
    kms::KmsKeySpec::KIND,
    ec2::SecurityGroupSpec::KIND,
    ec2::VpcEndpointSpec::KIND,
    eks::EksClusterSpec::KIND,
    eks::EksNodeGroupSpec::KIND,
    rds::DbSubnetGroupSpec::KIND,
    rds::DbParameterGroupSpec::KIND,
    rds::DbInstanceSpec::KIND,
    elasticache::CacheSubnetGroupSpec::KIND,
    elasticache::CacheParameterGroupSpec::KIND,
    elasticache::ReplicationGroupSpec::KIND,
    msk::MskConfigurationSpec::KIND,
    msk::MskClusterSpec::KIND,
    route53::HealthCheckSpec::KIND,
    logs::LogGroupSpec::KIND,
    ec2::FlowLogSpec::KIND,
    eks::EksAddonSpec::KIND,
    eks::EksPodIdentityAssociationSpec::KIND,
    // Security services (seed 8.1).
    guardduty::GuardDutyDetectorSpec::KIND,
    securityhub::SecurityHubAccountSpec::KIND,
    securityhub::StandardsSubscriptionSpec::KIND,
    inspector2::InspectorEnablerSpec::KIND,
    wafv2::WebAclSpec::KIND,
    shield::ShieldSubscriptionSpec::KIND,
];
