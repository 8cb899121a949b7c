//! Typed specs, one module per AWS service.
//!
//! Each spec is plain data; its `check` validates values without IO.
//! `Resource<Spec>` handles expose each kind's typed outputs.

pub mod ec2;
pub mod eks;
pub mod elasticache;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod msk;
pub mod rds;
pub mod route53;
pub mod s3;

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

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
];
