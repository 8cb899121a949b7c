//! Stacks of any size, declared as a program would: for planning at scale and
//! for the rate-bound scenario of the simulation.

use glinfra_core::spec::ec2::{
    RouteTableAssociationSpec, RouteTableSpec, SecurityGroupSpec, SubnetSpec, VpcEndpointSpec,
    VpcEndpointType, VpcSpec,
};
use glinfra_core::Stack;

/// Resources in one block of [`planning`].
pub const BLOCK: usize = 40;

/// A stack of `resources` resources (rounded down to whole blocks of 40) with
/// about three dependency edges each: per block a VPC, a route table, 8 subnets
/// and their route-table associations, 10 security groups, and 12 interface
/// endpoints each in 3 subnets behind 3 of the groups (1 + 8 + 16 + 10 + 84 =
/// 119 edges per 40 resources).
pub fn planning(resources: usize) -> Stack {
    let region = "us-east-1";
    let mut stack = Stack::new("scale", region);
    for b in 0..resources / BLOCK {
        let net = format!("10.{}.0.0/16", b % 250);
        let vpc = stack.add(format!("vpc-{b}"), VpcSpec::new(net));
        let rt = stack.add(format!("rt-{b}"), RouteTableSpec { vpc_id: vpc.id() });
        let zones = ["a", "b", "c", "d"];
        let subnets: Vec<_> = (0..8)
            .map(|s| {
                let subnet = stack.add(
                    format!("subnet-{b}-{s}"),
                    SubnetSpec::new(
                        vpc.id(),
                        format!("10.{}.{}.0/20", b % 250, s * 16),
                        format!("{region}{}", zones[s % 4]),
                    ),
                );
                stack.add(
                    format!("rta-{b}-{s}"),
                    RouteTableAssociationSpec {
                        route_table_id: rt.id(),
                        subnet_id: subnet.id(),
                    },
                );
                subnet
            })
            .collect();
        let groups: Vec<_> = (0..10)
            .map(|g| {
                stack.add(
                    format!("sg-{b}-{g}"),
                    SecurityGroupSpec {
                        vpc_id: vpc.id(),
                        name: format!("group-{b}-{g}"),
                        description: "planning at scale".into(),
                        ingress: vec![],
                        egress: vec![],
                    },
                )
            })
            .collect();
        for e in 0..12 {
            stack.add(
                format!("endpoint-{b}-{e}"),
                VpcEndpointSpec {
                    vpc_id: vpc.id(),
                    service_name: format!("com.amazonaws.{region}.service{e}"),
                    endpoint_type: VpcEndpointType::Interface,
                    route_table_ids: vec![],
                    subnet_ids: (0..3).map(|k| subnets[(e + k) % 8].id()).collect(),
                    security_group_ids: (0..3).map(|k| groups[(e + k) % 10].id()).collect(),
                    private_dns_enabled: true,
                },
            );
        }
    }
    stack
}

/// One VPC and `groups` security groups in it: many resources of one service,
/// whose apply is bound by EC2's rate limit rather than by any latency.
pub fn bulk_security_groups(groups: usize) -> Stack {
    let mut stack = Stack::new("bulk", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    for g in 0..groups {
        stack.add(
            format!("sg-{g}"),
            SecurityGroupSpec {
                vpc_id: vpc.id(),
                name: format!("bulk-{g}"),
                description: "one of many".into(),
                ingress: vec![],
                egress: vec![],
            },
        );
    }
    stack
}

#[cfg(test)]
mod tests {
    use super::*;
    use glinfra_core::ResourceGraph;

    #[test]
    fn the_planning_stack_is_valid_with_three_edges_a_resource() {
        let graph = ResourceGraph::build(&planning(400)).unwrap();
        assert_eq!(graph.len(), 400);
        assert_eq!(graph.edge_count(), 1190);
    }

    #[test]
    fn the_bulk_stack_is_valid() {
        let graph = ResourceGraph::build(&bulk_security_groups(30)).unwrap();
        assert_eq!((graph.len(), graph.edge_count()), (31, 30));
    }
}
