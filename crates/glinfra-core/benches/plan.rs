//! Planning cost: validating and diffing stacks of growing size against state.
//! Prints criterion's figures; compare the sizes within one run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::spec::ec2::{RouteTableAssociationSpec, RouteTableSpec, SubnetSpec, VpcSpec};
use glinfra_core::state::{ResourceState, State};
use glinfra_core::{ResourceGraph, Schedule, Stack};

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

    let mut group = c.benchmark_group("destroy_plan_and_schedule");
    for vpcs in [1usize, 10, 60] {
        let state = applied(&stack(vpcs));
        group.bench_with_input(
            BenchmarkId::from_parameter(state.resources.len()),
            &state,
            |b, state| b.iter(|| Schedule::from_plan(&plan_destroy(state))),
        );
    }
    group.finish();
}

/// The state after applying `stack`, with made-up outputs.
fn applied(stack: &Stack) -> State {
    let p = plan(
        &ResourceGraph::build(stack).unwrap(),
        &State::empty("bench"),
    );
    let mut state = State::empty("bench");
    for step in &p.steps {
        let decl = step.desired.as_ref().unwrap();
        state.resources.insert(
            decl.id.clone(),
            ResourceState {
                kind: decl.kind,
                region: decl.region.clone(),
                props: decl.props.value(),
                tags: decl.tags.clone(),
                outputs: [(
                    "id".to_string(),
                    serde_json::json!(format!("{}-id", decl.id)),
                )]
                .into(),
                dependencies: decl.dependencies(),
                pending: None,
                lifecycle: Default::default(),
            },
        );
    }
    state
}

criterion_group!(benches, bench);
criterion_main!(benches);
