//! Per-kind validation dispatch: runs each typed spec's `check`.

use crate::diagnostics::Diagnostic;
use crate::kind::Kind;
use crate::spec::{ec2, eks, elasticache, iam, kms, msk, rds, route53, s3};
use crate::stack::{Declaration, ResourceSpec, SpecCheck, Stack, SubnetIndex};

/// Indexes the subnets of every VPC once.
pub(crate) fn subnet_index(stack: &Stack) -> SubnetIndex {
    let mut index = SubnetIndex::new();
    for decl in stack
        .declarations()
        .iter()
        .filter(|d| d.kind == Kind::Subnet)
    {
        let Ok(spec) = decl.spec::<ec2::SubnetSpec>() else {
            continue;
        };
        if let Ok(net) = spec.cidr_block.parse() {
            let key = serde_json::to_string(&spec.vpc_id).expect("inputs serialise");
            index.entry(key).or_default().push((decl.id.clone(), net));
        }
    }
    index
}

fn check_as<S: ResourceSpec>(
    stack: &Stack,
    decl: &Declaration,
    out: &mut Vec<Diagnostic>,
    subnets: &SubnetIndex,
) {
    match decl.spec::<S>() {
        Ok(spec) => spec.check(&mut SpecCheck {
            stack,
            decl,
            out,
            subnets,
        }),
        Err(e) => {
            let mut d = Diagnostic::new(format!("malformed {} spec: {e}", decl.kind))
                .resource(decl.id.clone());
            d.file = decl.origin.clone();
            out.push(d);
        }
    }
}

/// Runs the typed checks of `decl`'s kind.
pub(crate) fn check_declaration(
    stack: &Stack,
    decl: &Declaration,
    out: &mut Vec<Diagnostic>,
    subnets: &SubnetIndex,
) {
    match decl.kind {
        Kind::Vpc => check_as::<ec2::VpcSpec>(stack, decl, out, subnets),
        Kind::Subnet => check_as::<ec2::SubnetSpec>(stack, decl, out, subnets),
        Kind::InternetGateway => check_as::<ec2::InternetGatewaySpec>(stack, decl, out, subnets),
        Kind::ElasticIp => check_as::<ec2::ElasticIpSpec>(stack, decl, out, subnets),
        Kind::NatGateway => check_as::<ec2::NatGatewaySpec>(stack, decl, out, subnets),
        Kind::RouteTable => check_as::<ec2::RouteTableSpec>(stack, decl, out, subnets),
        Kind::Route => check_as::<ec2::RouteSpec>(stack, decl, out, subnets),
        Kind::RouteTableAssociation => {
            check_as::<ec2::RouteTableAssociationSpec>(stack, decl, out, subnets)
        }
        Kind::Bucket => check_as::<s3::BucketSpec>(stack, decl, out, subnets),
        Kind::HostedZone => check_as::<route53::HostedZoneSpec>(stack, decl, out, subnets),
        Kind::RecordSet => check_as::<route53::RecordSetSpec>(stack, decl, out, subnets),
        Kind::IamRole => check_as::<iam::IamRoleSpec>(stack, decl, out, subnets),
        Kind::KmsKey => check_as::<kms::KmsKeySpec>(stack, decl, out, subnets),
        Kind::SecurityGroup => check_as::<ec2::SecurityGroupSpec>(stack, decl, out, subnets),
        Kind::VpcEndpoint => check_as::<ec2::VpcEndpointSpec>(stack, decl, out, subnets),
        Kind::EksCluster => check_as::<eks::EksClusterSpec>(stack, decl, out, subnets),
        Kind::EksNodeGroup => check_as::<eks::EksNodeGroupSpec>(stack, decl, out, subnets),
        Kind::DbSubnetGroup => check_as::<rds::DbSubnetGroupSpec>(stack, decl, out, subnets),
        Kind::DbParameterGroup => check_as::<rds::DbParameterGroupSpec>(stack, decl, out, subnets),
        Kind::DbInstance => check_as::<rds::DbInstanceSpec>(stack, decl, out, subnets),
        Kind::CacheSubnetGroup => {
            check_as::<elasticache::CacheSubnetGroupSpec>(stack, decl, out, subnets)
        }
        Kind::CacheParameterGroup => {
            check_as::<elasticache::CacheParameterGroupSpec>(stack, decl, out, subnets)
        }
        Kind::ReplicationGroup => {
            check_as::<elasticache::ReplicationGroupSpec>(stack, decl, out, subnets)
        }
        Kind::MskConfiguration => check_as::<msk::MskConfigurationSpec>(stack, decl, out, subnets),
        Kind::MskCluster => check_as::<msk::MskClusterSpec>(stack, decl, out, subnets),
        Kind::HealthCheck => check_as::<route53::HealthCheckSpec>(stack, decl, out, subnets),
    }
}
