//! Applies the Agent Factory topology in the simulated AWS account over many
//! draws, with the critical-path scheduler (`current`), the same without shared
//! polling (`current-unshared`: one describe per wait) and the executor before
//! it (`baseline`), and prints per scenario the makespan over the bound of the
//! same draw (median and p99), the share of requests throttled, and the
//! requests made per run. `--json`: one object per line.
//!
//! `simbench [--json] [--draws N] [--scenario NAME]... [--seed S] [--by-service]
//! [--critical-path] [--timeline DIR]` (`--timeline`: a Gantt chart of the first
//! draw's first stack per scenario and executor, `DIR/<scenario>-<executor>.svg`).

use glinfra_bench::scenarios::{scenarios, Executor, Run};
use glinfra_bench::stats::quantile;
use serde_json::json;
use std::path::Path;
use std::sync::Mutex;

struct Args {
    json: bool,
    draws: Option<usize>,
    only: Vec<String>,
    seed: u64,
    by_service: bool,
    path: bool,
    timeline: Option<std::path::PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        json: false,
        draws: None,
        only: Vec::new(),
        seed: 1,
        by_service: false,
        path: false,
        timeline: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--json" => a.json = true,
            "--by-service" => a.by_service = true,
            "--critical-path" => a.path = true,
            "--timeline" => a.timeline = Some(value("--timeline")?.into()),
            "--draws" => {
                a.draws = Some(
                    value("--draws")?
                        .parse()
                        .map_err(|e| format!("--draws: {e}"))?,
                )
            }
            "--scenario" => a.only.push(value("--scenario")?),
            "--seed" => {
                a.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(a)
}

/// Runs `draws` draws of both executors on every core; the runs in draw order.
fn measure(plans: &[std::sync::Arc<glinfra_core::Plan>], draws: usize, seed: u64) -> Vec<[Run; 3]> {
    let next = Mutex::new(0usize);
    let out = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                if i >= draws {
                    break;
                }
                let d = seed + i as u64;
                let pair = EXECUTORS.map(|e| glinfra_bench::scenarios::run(plans, e, d));
                out.lock().unwrap().push((i, pair));
            });
        }
    });
    let mut out = out.into_inner().unwrap();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, p)| p).collect()
}

/// The executors measured, each on every draw: the baseline, the current one,
/// and the current one without shared polling.
const EXECUTORS: [Executor; 3] = [Executor::Baseline, Executor::Current, Executor::Unshared];

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("simbench: {e}");
            std::process::exit(2);
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let all = match scenarios(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("simbench: {e}");
            std::process::exit(2);
        }
    };
    if !args.json {
        println!(
            "{:<10} {:<9} {:>5} {:>9} {:>9} {:>10} {:>9} {:>11} {:>10} {:>6}",
            "scenario",
            "executor",
            "draws",
            "ratio p50",
            "ratio p99",
            "throttled",
            "api calls",
            "makespan s",
            "bound s",
            "failed"
        );
    }
    for scenario in all
        .iter()
        .filter(|s| args.only.is_empty() || args.only.iter().any(|o| o == s.name))
    {
        let draws = args.draws.unwrap_or(scenario.draws);
        if let Some(dir) = &args.timeline {
            for executor in [Executor::Baseline, Executor::Current] {
                let (_, svg) = glinfra_bench::scenarios::run_recorded(
                    &scenario.plans,
                    executor,
                    args.seed,
                    true,
                );
                let file = dir.join(format!("{}-{}.svg", scenario.name, executor.name()));
                if let Err(e) = std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(&file, svg.unwrap_or_default()))
                {
                    eprintln!("simbench: {}: {e}", file.display());
                    std::process::exit(1);
                }
                eprintln!("wrote {}", file.display());
            }
        }
        if args.path {
            let (path, length) =
                glinfra_bench::scenarios::longest_path(&scenario.plans[0], args.seed);
            let steps: Vec<String> = path.iter().map(|(r, s)| format!("{r} {s:.0}s")).collect();
            eprintln!(
                "{} critical path of draw {} ({length:.0}s): {}",
                scenario.name,
                args.seed,
                steps.join(" → ")
            );
        }
        let runs = measure(&scenario.plans, draws, args.seed);
        let mut p50 = Vec::new();
        for (k, executor) in EXECUTORS.into_iter().enumerate() {
            let of: Vec<&Run> = runs.iter().map(|r| &r[k]).collect();
            let ratios: Vec<f64> = of.iter().map(|r| r.ratio()).collect();
            let calls: u64 = of.iter().map(|r| r.calls).sum();
            let throttled: u64 = of.iter().map(|r| r.throttled).sum();
            let makespans: Vec<f64> = of.iter().map(|r| r.makespan).collect();
            let bounds: Vec<f64> = of.iter().map(|r| r.bound()).collect();
            let failed: usize = of.iter().map(|r| r.failed).sum();
            let (r50, r99) = (quantile(&ratios, 0.5), quantile(&ratios, 0.99));
            let share = if calls == 0 {
                0.0
            } else {
                throttled as f64 / calls as f64
            };
            let per_run = calls as f64 / draws.max(1) as f64;
            p50.push(r50);
            if args.json {
                println!(
                    "{}",
                    json!({
                        "executor": executor.name(),
                        "scenario": scenario.name,
                        "draws": draws,
                        "ratio_p50": round(r50, 4),
                        "ratio_p99": round(r99, 4),
                        "throttled_share": round(share, 5),
                        "api_calls": per_run.round() as u64,
                        "makespan_p50_s": round(quantile(&makespans, 0.5), 1),
                        "bound_p50_s": round(quantile(&bounds, 0.5), 1),
                        "failed_ops": failed,
                    })
                );
            } else {
                println!(
                    "{:<10} {:<9} {:>5} {:>9.4} {:>9.4} {:>9.3}% {:>9.0} {:>11.1} {:>10.1} {:>6}",
                    scenario.name,
                    executor.name(),
                    draws,
                    r50,
                    r99,
                    share * 100.0,
                    per_run,
                    quantile(&makespans, 0.5),
                    quantile(&bounds, 0.5),
                    failed
                );
            }
        }
        if args.by_service {
            for (pick, executor) in EXECUTORS.into_iter().enumerate() {
                let name = executor.name();
                let mut sum: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
                for triple in &runs {
                    let run = &triple[pick];
                    for ((service, class), c) in &run.by_service {
                        let e = sum.entry(format!("{service}/{class:?}")).or_default();
                        e.0 += c.calls;
                        e.1 += c.throttled;
                    }
                }
                for (k, (calls, throttled)) in sum {
                    eprintln!(
                        "  {name:<16} {k:<22} calls {:>8.0} throttled {:>7.1}",
                        calls as f64 / draws as f64,
                        throttled as f64 / draws as f64
                    );
                }
            }
        }
        if !args.json {
            println!(
                "{:<10} gain      (baseline p50 / current p50) {:.3}",
                scenario.name,
                p50[0] / p50[1]
            );
        }
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
