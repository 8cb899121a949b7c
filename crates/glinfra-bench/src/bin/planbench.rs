//! Planning at scale, in the pure core: validate + plan + schedule of a stack
//! of 10,000 resources (30,000 edges) and of 100,000, each measured in a process
//! of its own so that its peak resident memory (`VmHWM`) is its own.
//! `--json`: one object per size.
//!
//! `planbench [--json] [--sizes 10000,100000]`

use glinfra_bench::stats::quantile;
use glinfra_bench::synthetic::planning;
use glinfra_core::plan::plan;
use glinfra_core::{ResourceGraph, Schedule, State};
use serde_json::{json, Value};
use std::time::Instant;

/// Measures one size in this process and prints its JSON object.
fn child(resources: usize) {
    let stack = planning(resources);
    if std::env::var_os("PLANBENCH_PHASES").is_some() {
        let rss = |what: &str| eprintln!("{what}: VmRSS {:?} MB", rss_mb("VmRSS:"));
        rss("declared");
        let graph = ResourceGraph::build(&stack).expect("a valid stack");
        rss("graph");
        let p = plan(&graph, &State::empty(stack.name()));
        rss("plan");
        let schedule = Schedule::from_plan(&p);
        rss("schedule");
        eprintln!(
            "plan JSON: {} MB",
            serde_json::to_vec(&p).unwrap().len() / 1_000_000
        );
        drop((schedule, p, graph));
    }
    let runs = if resources <= 20_000 { 9 } else { 3 };
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut phases = (0.0, 0.0, 0.0);
    let mut edges = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let graph = ResourceGraph::build(&stack).expect("a valid stack");
        let t1 = Instant::now();
        let p = plan(&graph, &State::empty(stack.name()));
        let t2 = Instant::now();
        let schedule = Schedule::from_plan(&p);
        let t3 = Instant::now();
        if let (Some(a), Some(b)) = (c0, cpu_ns()) {
            cpu.push((b - a) as f64 / 1e6);
        }
        edges = graph.edge_count();
        assert_eq!(schedule.len(), graph.len());
        times.push((t3 - t0).as_secs_f64() * 1e3);
        phases = (
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
            (t3 - t2).as_secs_f64() * 1e3,
        );
    }
    println!(
        "{}",
        json!({
            "resources": stack.declarations().len(),
            "edges": edges,
            "plan_ms": (quantile(&times, 0.5) * 10.0).round() / 10.0,
            "plan_cpu_ms": (!cpu.is_empty()).then(|| (quantile(&cpu, 0.5) * 10.0).round() / 10.0),
            "validate_ms": phases.0.round(),
            "diff_ms": phases.1.round(),
            "schedule_ms": phases.2.round(),
            "runs": runs,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}

/// Nanoseconds this thread has run on a CPU (/proc/thread-self/schedstat): the
/// time a loaded machine does not inflate.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The process's peak resident set, in MB (`VmHWM` of /proc/self/status).
fn peak_rss_mb() -> Option<f64> {
    rss_mb("VmHWM:")
}

/// A size of /proc/self/status (`VmHWM:`, `VmRSS:`), in MB.
fn rss_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n] = args.as_slice() {
        if flag == "--child" {
            child(n.parse().expect("a size"));
            return;
        }
    }
    let json = args.iter().any(|a| a == "--json");
    let sizes: Vec<usize> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let me = std::env::current_exe().expect("this program");
    if !json {
        println!(
            "{:>9} {:>9} {:>9} {:>9} {:>12} {:>9} {:>9} {:>11}",
            "resources",
            "edges",
            "plan ms",
            "CPU ms",
            "validate ms",
            "diff ms",
            "sched ms",
            "peak MB"
        );
    }
    for size in sizes {
        let out = std::process::Command::new(&me)
            .args(["--child", &size.to_string()])
            .output()
            .expect("the measuring process runs");
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let first: String = err
                .lines()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(400)
                .collect();
            eprintln!("planbench: size {size} failed: {first}");
            std::process::exit(1);
        }
        let v: Value = serde_json::from_slice(&out.stdout).expect("its JSON");
        if json {
            println!("{v}");
        } else {
            println!(
                "{:>9} {:>9} {:>9} {:>9} {:>12} {:>9} {:>9} {:>11}",
                v["resources"],
                v["edges"],
                v["plan_ms"],
                v["plan_cpu_ms"],
                v["validate_ms"],
                v["diff_ms"],
                v["schedule_ms"],
                v["peak_rss_mb"]
            );
        }
    }
}
