//! Planning at scale: validate + plan + schedule of 10,000 resources with about
//! 30,000 edges, and of 100,000 (see `planbench` for their peak memory).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use glinfra_bench::synthetic::planning;
use glinfra_core::plan::plan;
use glinfra_core::{ResourceGraph, Schedule, State};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate_plan_schedule");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for resources in [10_000usize, 100_000] {
        let stack = planning(resources);
        group.bench_with_input(BenchmarkId::from_parameter(resources), &stack, |b, s| {
            b.iter(|| {
                let graph = ResourceGraph::build(s).unwrap();
                let p = plan(&graph, &State::empty(s.name()));
                Schedule::from_plan(&p)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
