//! Planning cost: validating and diffing stacks of growing size against state.
//! Prints criterion's figures; compare the sizes within one run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use glinfra_core::plan::plan;
use glinfra_core::spec::ec2::{RouteTableAssociationSpec, RouteTableSpec, SubnetSpec, VpcSpec};
use glinfra_core::state::State;
use glinfra_core::{ResourceGraph, Stack};

/// `vpcs` VPCs, each with 16 subnets and their route-table associations.
fn stack(vpcs: usize) -> Stack {
    let mut stack = Stack::new("bench", "us-east-1");
    for v in 0..vpcs {
        let vpc = stack.add(
            format!("vpc-{v}"),
            VpcSpec::new(format!("10.{}.0.0/16", v % 250)),
        );
        let rt = stack.add(format!("rt-{v}"), RouteTableSpec { vpc_id: vpc.id() });
        for s in 0..16 {
            let subnet = stack.add(
                format!("subnet-{v}-{s}"),
                SubnetSpec::new(
                    vpc.id(),
                    format!("10.{}.{}.0/20", v % 250, s * 16),
                    "us-east-1a",
                ),
            );
            stack.add(
                format!("rta-{v}-{s}"),
                RouteTableAssociationSpec {
                    route_table_id: rt.id(),
                    subnet_id: subnet.id(),
                },
            );
        }
    }
    stack
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate_and_plan_from_empty");
    for vpcs in [1usize, 10, 60] {
        let s = stack(vpcs);
        let resources = s.declarations().len();
        group.bench_with_input(BenchmarkId::from_parameter(resources), &s, |b, s| {
            b.iter(|| plan(&ResourceGraph::build(s).unwrap(), &State::empty("bench")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
