//! Per-kind validation dispatch: runs each typed spec's `check`.

use crate::diagnostics::Diagnostic;
use crate::kind::Kind;
use crate::spec::{ec2, eks, elasticache, iam, kms, msk, rds, route53, s3};
use crate::stack::{Declaration, ResourceSpec, SpecCheck, Stack};

fn check_as<S: ResourceSpec>(stack: &Stack, decl: &Declaration, out: &mut Vec<Diagnostic>) {
    match decl.spec::<S>() {
        Ok(spec) => spec.check(&mut SpecCheck { stack, decl, out }),
        Err(e) => {
            let mut d = Diagnostic::new(format!("malformed {} spec: {e}", decl.kind))
                .resource(decl.id.clone());
            d.file = decl.origin.clone();
            out.push(d);
        }
    }
}

/// Runs the typed checks of `decl`'s kind.
pub(crate) fn check_declaration(stack: &Stack, decl: &Declaration, out: &mut Vec<Diagnostic>) {
    match decl.kind {
        Kind::Vpc => check_as::<ec2::VpcSpec>(stack, decl, out),
        Kind::Subnet => check_as::<ec2::SubnetSpec>(stack, decl, out),
        Kind::InternetGateway => check_as::<ec2::InternetGatewaySpec>(stack, decl, out),
        Kind::ElasticIp => check_as::<ec2::ElasticIpSpec>(stack, decl, out),
        Kind::NatGateway => check_as::<ec2::NatGatewaySpec>(stack, decl, out),
        Kind::RouteTable => check_as::<ec2::RouteTableSpec>(stack, decl, out),
        Kind::Route => check_as::<ec2::RouteSpec>(stack, decl, out),
        Kind::RouteTableAssociation => check_as::<ec2::RouteTableAssociationSpec>(stack, decl, out),
        Kind::Bucket => check_as::<s3::BucketSpec>(stack, decl, out),
        Kind::HostedZone => check_as::<route53::HostedZoneSpec>(stack, decl, out),
        Kind::RecordSet => check_as::<route53::RecordSetSpec>(stack, decl, out),
        Kind::IamRole => check_as::<iam::IamRoleSpec>(stack, decl, out),
        Kind::KmsKey => check_as::<kms::KmsKeySpec>(stack, decl, out),
        Kind::SecurityGroup => check_as::<ec2::SecurityGroupSpec>(stack, decl, out),
        Kind::VpcEndpoint => check_as::<ec2::VpcEndpointSpec>(stack, decl, out),
        Kind::EksCluster => check_as::<eks::EksClusterSpec>(stack, decl, out),
        Kind::EksNodeGroup => check_as::<eks::EksNodeGroupSpec>(stack, decl, out),
        Kind::DbSubnetGroup => check_as::<rds::DbSubnetGroupSpec>(stack, decl, out),
        Kind::DbParameterGroup => check_as::<rds::DbParameterGroupSpec>(stack, decl, out),
        Kind::DbInstance => check_as::<rds::DbInstanceSpec>(stack, decl, out),
        Kind::CacheSubnetGroup => check_as::<elasticache::CacheSubnetGroupSpec>(stack, decl, out),
        Kind::CacheParameterGroup => {
            check_as::<elasticache::CacheParameterGroupSpec>(stack, decl, out)
        }
        Kind::ReplicationGroup => check_as::<elasticache::ReplicationGroupSpec>(stack, decl, out),
        Kind::MskConfiguration => check_as::<msk::MskConfigurationSpec>(stack, decl, out),
        Kind::MskCluster => check_as::<msk::MskClusterSpec>(stack, decl, out),
        Kind::HealthCheck => check_as::<route53::HealthCheckSpec>(stack, decl, out),
    }
}
