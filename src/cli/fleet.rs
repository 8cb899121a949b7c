//! `--env all`: every environment file beside the default one, as one [`Fleet`]:
//! `plan` shows every stack's plan, `apply` applies them in dependency order
//! (independent stacks at once, one executor budget), `destroy` in reverse.

use super::{backend_url, interrupt, Args, LocalEndpoint, Verb};
use crate::confirm::{self, Consent};
use crate::fleet::{Fleet, FleetObserver, FleetReport, StackOutcome, StackPlan, StackRun};
use crate::session::Session;
use glinfra_core::{render, Diagnostics, Plan, ResourceGraph, Stack};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The value of `--env` that names every environment.
pub const ALL: &str = "all";

/// The environment files of a fleet: every `*.toml` in `default_env`'s directory.
pub fn environment_files(default_env: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = default_env
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("--env all: reading {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "--env all: no environment files in {}",
            dir.display()
        ));
    }
    Ok(files)
}

/// Declares every environment of the fleet: all of them valid, or every problem.
pub fn declare_all(
    files: &[PathBuf],
    declare: impl Fn(&Path) -> Result<(Stack, ResourceGraph), Diagnostics>,
) -> Result<Vec<(Stack, ResourceGraph)>, Diagnostics> {
    let mut stacks = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match declare(file) {
            Ok(s) => stacks.push(s),
            Err(d) => problems.extend(d.0),
        }
    }
    if problems.is_empty() {
        Ok(stacks)
    } else {
        Err(Diagnostics(problems))
    }
}

/// `--env all`: every environment, validated first (bad input exits 2 with no
/// AWS call), then run as one fleet.
pub(super) fn run(
    args: &Args,
    default_env: &str,
    declare: impl Fn(&Path) -> Result<(Stack, ResourceGraph), Diagnostics>,
    local: Option<LocalEndpoint>,
) -> ExitCode {
    let declared = environment_files(Path::new(default_env))
        .map_err(|e| Diagnostics(vec![glinfra_core::Diagnostic::new(e)]))
        .and_then(|files| declare_all(&files, declare));
    let fleet = match declared.map(crate::fleet::Fleet::new) {
        Ok(Ok(fleet)) => fleet,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(execute(args, &fleet, local)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Runs `plan`, `apply` or `destroy` over the fleet.
pub(super) async fn execute(
    args: &Args,
    fleet: &Fleet,
    local: Option<LocalEndpoint>,
) -> Result<ExitCode, String> {
    let verb = args.command.clone().unwrap_or(Verb::Apply { plan: None });
    let destroy = verb == Verb::Destroy;
    if !matches!(
        verb,
        Verb::Plan { out: None } | Verb::Apply { plan: None } | Verb::Destroy
    ) {
        return Err("--env all runs `plan`, `apply` and `destroy` (without a saved plan)".into());
    }
    let backend = backend_url(args);
    let reads_cloud = args.refresh || !matches!(verb, Verb::Plan { .. });
    // `--timeline` draws one stack's run: not a fleet's.
    let (session, stop) = super::open_session(args, &backend, reads_cloud, local, false).await?;
    if !args.json {
        println!(
            "Fleet of {} stacks, in dependency order: {}.",
            fleet.order().len(),
            fleet.order().join(", ")
        );
    }
    if let Verb::Plan { .. } = verb {
        return plan(args, &session, fleet).await;
    }
    interrupt::stop_on_ctrl_c(&stop);
    let observer = Printer { args };
    let report = if destroy {
        fleet.destroy(&session, args.refresh, &observer).await
    } else {
        fleet.apply(&session, args.refresh, &observer).await
    };
    summary(args, &session, &report, destroy);
    Ok(if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn plan(args: &Args, session: &Session, fleet: &Fleet) -> Result<ExitCode, String> {
    let plans = fleet.plan(session, args.refresh).await;
    let mut changes = false;
    let mut failed = false;
    let mut json = Vec::new();
    for (stack, plan) in &plans {
        match plan {
            StackPlan::Planned(plan) => {
                changes |= !plan.is_empty();
                if args.json {
                    json.push(serde_json::json!({"stack": stack, "plan": serde_json::from_str::<serde_json::Value>(&render::json(plan)).unwrap_or_default()}));
                } else {
                    println!("\n== {stack} ==");
                    print!("{}", render::text_styled(plan, super::text_style()));
                }
            }
            StackPlan::Waits { on, reason } => {
                changes = true;
                if args.json {
                    json.push(serde_json::json!({"stack": stack, "waits_for": on, "reason": reason.to_string()}));
                } else {
                    println!(
                        "\n== {stack} ==\nPlanned once {} is applied (in the same run): {reason}",
                        on.join(", ")
                    );
                }
            }
            StackPlan::Failed(e) => {
                failed = true;
                if args.json {
                    json.push(serde_json::json!({"stack": stack, "error": e}));
                } else {
                    println!("\n== {stack} ==\nerror: {e}");
                }
            }
        }
    }
    if args.json {
        println!("{}", serde_json::Value::Array(json));
    }
    Ok(if failed {
        ExitCode::from(1)
    } else if args.detailed_exitcode && changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints each stack's plan summary and end, and decides consent without a
/// terminal (stacks run at once): deletes need `--yes`, destroying a production
/// stack `--confirm STACK` or `--confirm all`.
struct Printer<'a> {
    args: &'a Args,
}

impl FleetObserver for Printer<'_> {
    fn approve(&self, stack: &Stack, plan: &Plan, destroy: bool) -> Result<(), String> {
        let confirm = match self.args.confirm.as_deref() {
            Some(ALL) => Some(stack.name().to_string()),
            other => other.map(str::to_string),
        };
        let consent = Consent {
            yes: self.args.yes,
            confirm,
        };
        confirm::check(plan, stack, destroy, &consent, |_| None)
    }

    fn planned(&self, stack: &str, plan: &Plan) {
        if !self.args.json {
            let s = &plan.summary;
            println!(
                "{stack}: {} to create, {} to update, {} to replace, {} to delete.",
                s.create, s.update, s.replace, s.delete
            );
        }
    }

    fn finished(&self, run: &StackRun) {
        if self.args.json {
            return;
        }
        let what = match &run.outcome {
            StackOutcome::Applied { report, .. } => format!(
                "{} ({} succeeded, {} failed, {} skipped, {} not started)",
                if report.is_success() {
                    "applied"
                } else {
                    "incomplete"
                },
                report.succeeded(),
                report.failed(),
                report.skipped(),
                report.cancelled()
            ),
            StackOutcome::Unchanged => "no changes".into(),
            StackOutcome::Failed(e) => format!("failed: {e}"),
            StackOutcome::Skipped { because } => format!("not started: `{because}` failed"),
        };
        println!(
            "{}: {what} in {:.1}s (started at {:.1}s).",
            run.stack,
            run.elapsed().as_secs_f64(),
            run.started.as_secs_f64()
        );
        if let StackOutcome::Applied { report, .. } = &run.outcome {
            for o in report
                .outcomes
                .iter()
                .filter(|o| o.status != glinfra_engine::OpStatus::Succeeded)
            {
                println!(
                    "  {} {} ({:?}): {}",
                    o.status,
                    o.resource,
                    o.phase,
                    o.detail.clone().unwrap_or_default()
                );
            }
        }
    }
}

fn summary(args: &Args, session: &Session, report: &FleetReport, destroy: bool) {
    let calls = session
        .aws_provider()
        .map(|a| a.api_calls())
        .unwrap_or_default();
    let (applied, unchanged, failed, skipped) = report.counts();
    let slowest = report.slowest();
    if args.json {
        let stacks: Vec<serde_json::Value> = report
            .runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "stack": r.stack,
                    "success": r.outcome.is_success(),
                    "started_s": r.started.as_secs_f64(),
                    "elapsed_s": r.elapsed().as_secs_f64(),
                    "report": match &r.outcome { StackOutcome::Applied { report, .. } => serde_json::to_value(report).ok(), _ => None },
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"fleet": stacks, "elapsed_s": report.elapsed.as_secs_f64(), "api_calls": calls})
        );
        return;
    }
    println!(
        "\nFleet {} {}: {} stacks ({applied} {}, {unchanged} unchanged, {failed} failed, {skipped} not started) in {:.1}s; slowest stack {} ({:.1}s); {} AWS API calls ({} mutating).",
        if destroy { "destroy" } else { "apply" },
        if report.is_success() { "complete" } else { "incomplete" },
        report.runs.len(),
        if destroy { "destroyed" } else { "applied" },
        report.elapsed.as_secs_f64(),
        slowest.map_or("-", |r| r.stack.as_str()),
        slowest.map_or(0.0, |r| r.elapsed().as_secs_f64()),
        calls.total,
        calls.mutating
    );
}
