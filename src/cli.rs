//! A ready-made command line for programs that declare a stack from an
//! environment file: `plan`, `apply` (the default), `destroy`, `refresh`,
//! `state list|show|rm`, `force-unlock`, `backend init`, `kinds`, `--json`, `--dot`,
//! `--aws`, `--refresh=false`, `--backend s3://BUCKET/PREFIX`, and `--env all` (every
//! environment as one fleet, `cli/fleet.rs`).
//!
//! `plan`, `apply` and `destroy` read the live cloud first (batched, a few calls per
//! kind and region) and show what changed outside glinfra before the plan.
//!
//! Without `--aws` it never touches a real account: it uses the endpoint named by
//! `AWS_ENDPOINT_URL` (an emulator), or else asks the program's `local` hook to
//! provide one (the project's example starts its local emulator there). The
//! library itself knows nothing about emulators.

mod args;
mod cost;
mod failover;
pub mod fleet;
mod interrupt;
mod kinds;
mod stores;

pub use args::{Args, BackendVerb, StateVerb, Verb};
pub use kinds::kinds_table;

use crate::backend::BackendUrl;
use crate::progress::{Display, Progress};
use crate::session::Session;
use clap::Parser;
use glinfra_core::{render, Diagnostics, ResourceGraph, Stack};
use glinfra_engine::{ApplyOptions, LeaseConfig, StackLock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Runs the command line for a program whose stack `declare` builds from an
/// environment file (`default_env` when `--env` is not given). Returns the exit code:
/// 0 on success, 1 when an operation failed or `--timeout` passed, 2 on bad input
/// (nothing sent to AWS), 130 when interrupted (Ctrl-C).
pub fn run(
    default_env: &str,
    declare: impl Fn(&Path) -> Result<(Stack, ResourceGraph), Diagnostics>,
) -> ExitCode {
    run_with(default_env, declare, None)
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`state list | head`)
/// panics; a command-line tool should end quietly instead, as `ls | head` does.
/// A run killed this way mid-apply recovers from its journal like any other kill.
fn restore_sigpipe() {
    sigpipe::reset();
}

/// Provides an endpoint when neither `--aws` nor `AWS_ENDPOINT_URL` is given, by
/// setting `AWS_ENDPOINT_URL` (and credentials) in this process's environment.
pub type LocalEndpoint = fn() -> Result<(), String>;

/// [`run`], with a hook that provides a local endpoint (say, starts an emulator)
/// for runs that change something without `--aws` or `AWS_ENDPOINT_URL`.
pub fn run_with(
    default_env: &str,
    declare: impl Fn(&Path) -> Result<(Stack, ResourceGraph), Diagnostics>,
    local: Option<LocalEndpoint>,
) -> ExitCode {
    run_with_failover(default_env, declare, None, local)
}

/// Declares a program's failed-over layout: the environment file and the region
/// whose standby becomes the primary.
pub type DeclareFailover<'a> =
    &'a dyn Fn(&Path, &str) -> Result<(Stack, ResourceGraph), Diagnostics>;

/// [`run_with`], and the `failover --to REGION` verb: `failover` declares the
/// program with its database primary in that region (`cli/failover.rs`).
pub fn run_with_failover(
    default_env: &str,
    declare: impl Fn(&Path) -> Result<(Stack, ResourceGraph), Diagnostics>,
    failover: Option<DeclareFailover<'_>>,
    local: Option<LocalEndpoint>,
) -> ExitCode {
    restore_sigpipe();
    let args = Args::parse();
    interrupt::install_tracing();
    if matches!(args.command, Some(Verb::Kinds)) {
        print!("{}", kinds_table());
        return ExitCode::SUCCESS;
    }
    if let Some(Verb::Backend(verb)) = &args.command {
        // About the bucket, not the stack: no environment file needed.
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        return match runtime.block_on(stores::backend_verb(&args, verb, local)) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(1)
            }
        };
    }
    let env_path = args
        .env
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_env));
    if let Some(Verb::Failover { to }) = &args.command {
        let Some(declare_failover) = failover else {
            eprintln!("error: this program declares no failover layout");
            return ExitCode::from(2);
        };
        if args.env.as_deref() == Some(Path::new(fleet::ALL)) {
            eprintln!("error: a failover is of one stack: name its environment file with --env");
            return ExitCode::from(2);
        }
        let (stack, graph) = match declare_failover(&env_path, to) {
            Ok(v) => v,
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                return ExitCode::from(2);
            }
        };
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        return match runtime.block_on(failover::execute(&args, &stack, &graph, to, local)) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(1)
            }
        };
    }
    if args.env.as_deref() == Some(Path::new(fleet::ALL)) {
        return fleet::run(&args, default_env, declare, local);
    }
    // Validation first: bad input never reaches AWS.
    let (stack, graph) = match declare(&env_path) {
        Ok(v) => v,
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            return ExitCode::from(2);
        }
    };
    match &args.command {
        Some(Verb::Cost {
            plan: None,
            recorded: false,
        }) => return cost::declared(&args, &stack, &graph),
        Some(Verb::Cost {
            plan: Some(path), ..
        }) => {
            return cost::saved(&args, &stack, &graph, path).unwrap_or_else(|message| {
                eprintln!("error: {message}");
                ExitCode::from(1)
            })
        }
        _ => {}
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(execute(&args, &stack, &graph, local)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Where state lives: `--backend`, else `--state-dir`, else a directory per target.
fn backend_url(args: &Args) -> BackendUrl {
    args.backend.clone().unwrap_or_else(|| {
        BackendUrl::Local(args.state_dir.clone().unwrap_or_else(|| {
            PathBuf::from(if args.aws {
                ".glinfra/state/aws"
            } else {
                ".glinfra/state/local"
            })
        }))
    })
}

/// Makes sure an endpoint exists when the run needs one: `--aws`, `AWS_ENDPOINT_URL`,
/// or the program's `local` hook.
fn ensure_endpoint(args: &Args, local: Option<LocalEndpoint>) -> Result<(), String> {
    if args.aws || std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        return Ok(());
    }
    match local {
        Some(provide) => provide(),
        None => Err(
            "no endpoint: set AWS_ENDPOINT_URL to an emulator, or pass --aws to use real AWS"
                .into(),
        ),
    }
}

/// The session a command runs in, over `backend`, with `--lock-lease`,
/// `--concurrency`, `--timeout` (the returned stop) and, when `timeline` and
/// asked for, `--timeline`. An endpoint is needed when the command reads the
/// cloud or keeps its state in S3.
pub(crate) async fn open_session(
    args: &Args,
    backend: &BackendUrl,
    reads_cloud: bool,
    local: Option<LocalEndpoint>,
    timeline: bool,
) -> Result<(Session, glinfra_engine::Stop), String> {
    if reads_cloud || matches!(backend, BackendUrl::S3(_)) {
        ensure_endpoint(args, local)?;
    }
    let lease = LeaseConfig::new(std::time::Duration::from_secs(args.lock_lease));
    let mut session = Session::aws_with(backend, lease).await;
    let stop = glinfra_engine::Stop::new();
    if let Some(seconds) = args.timeout {
        stop.stop_after(std::time::Duration::from_secs(seconds));
    }
    session.set_options(ApplyOptions {
        concurrency: args.concurrency,
        stop: stop.clone(),
        timeline: (timeline && args.timeline.is_some()).then(glinfra_engine::Timeline::new),
        ..ApplyOptions::default()
    });
    Ok((session, stop))
}

async fn execute(
    args: &Args,
    stack: &Stack,
    graph: &ResourceGraph,
    local: Option<LocalEndpoint>,
) -> Result<ExitCode, String> {
    let verb = args.command.clone().unwrap_or(Verb::Apply { plan: None });
    let backend = backend_url(args);
    let mutating = matches!(
        verb,
        Verb::Apply { .. } | Verb::Destroy | Verb::Refresh | Verb::Import { .. }
    ) && !args.dot;
    let reads_cloud = mutating
        || (args.refresh && !args.dot && !matches!(verb, Verb::State(_) | Verb::Cost { .. }));
    let (session, stop) = open_session(args, &backend, reads_cloud, local, true).await?;
    // Stack references are read now (no lock), so the plan sees their values.
    let resolved;
    let (stack, graph) = if stack.referenced_stacks().is_empty()
        || matches!(
            verb,
            Verb::Destroy | Verb::State(_) | Verb::ForceUnlock { .. }
        ) {
        (stack, graph)
    } else {
        resolved = session.resolve(stack).await.map_err(|e| e.to_string())?;
        (&resolved.0, &resolved.1)
    };
    match &verb {
        Verb::State(sub) => return stores::state_verb(&session, stack, sub).await,
        Verb::Cost { .. } => return cost::recorded(args, &session, stack).await,
        Verb::ForceUnlock { lock_id } => {
            return stores::force_unlock(&session, stack, lock_id).await
        }
        _ => {}
    }
    // Changes take the lock (refused at once, naming its holder); reads do not,
    // but say who holds it.
    let lock = if mutating {
        let lock = session
            .lock(stack.name())
            .await
            .map_err(|e| e.to_string())?;
        stores::say_takeover(&lock, args.json);
        Some(lock)
    } else {
        stores::say_holder(&session, stack, args.json).await;
        None
    };
    let result = run_verb(args, &session, stack, graph, &verb, lock.clone(), stop).await;
    if let Some(lock) = lock {
        if let Err(e) = lock.release().await {
            eprintln!("warning: {e}");
        }
    }
    result
}

/// The verb, once the session is set up and the lock (for a change) held.
async fn run_verb(
    args: &Args,
    session: &Session,
    stack: &Stack,
    graph: &ResourceGraph,
    verb: &Verb,
    lock: Option<Arc<StackLock>>,
    stop: glinfra_engine::Stop,
) -> Result<ExitCode, String> {
    let verb = verb.clone();
    let mutating = lock.is_some();
    let held = || lock.clone().expect("changes hold the lock");
    if let Verb::Import { id, aws_id } = &verb {
        let plan = session
            .import(&held(), graph, id, aws_id)
            .await
            .map_err(|e| e.to_string())?;
        println!("Imported {aws_id} as `{id}`. From here, the program plans:\n");
        print!("{}", render::text(&plan));
        return Ok(ExitCode::SUCCESS);
    }
    if let Verb::Apply { plan: Some(path) } = &verb {
        let plan = crate::saved::read(path, graph).map_err(|e| e.to_string())?;
        if !args.json {
            print!("{}", render::text_styled(&plan, text_style()));
        }
        if plan.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        let destroy = plan.program.is_none();
        return apply_reviewed(args, session, held(), stack, &plan, &stop, destroy).await;
    }
    let target = (verb != Verb::Destroy).then_some(graph);
    let replace: std::collections::BTreeSet<String> = args.replace.iter().cloned().collect();
    let plan_from = |state: &glinfra_core::State, drift: &[glinfra_core::Drift]| {
        glinfra_core::refresh::plan_refreshed(target, state, drift, &replace)
    };
    let recorded = match &lock {
        Some(lock) => session.state(lock).await,
        None => session.read(stack.name()).await.map(|r| r.state),
    }
    .map_err(|e| e.to_string())?;
    let (mut plan, base) = if args.refresh && !args.dot {
        let before = session.aws_provider().map(|a| a.api_calls().total);
        let (refreshed, stats) = session
            .refresh_state(&recorded, graph, verb == Verb::Destroy)
            .await
            .map_err(|e| {
                format!("{e}\nRetry, or plan from recorded state alone with --refresh=false.")
            })?;
        let calls = session.aws_provider().map(|a| a.api_calls().total);
        if !args.json {
            println!(
                "Refreshed {} live resources ({} kinds and regions read) in {:.1}s with {} API calls.{}",
                stats.observed,
                stats.scopes_read,
                stats.elapsed.as_secs_f64(),
                calls.zip(before).map(|(a, b)| a - b).unwrap_or(0),
                if refreshed.unread.is_empty() {
                    String::new()
                } else {
                    format!(
                        " Not read (left as recorded): {}.",
                        refreshed.unread.join(", ")
                    )
                }
            );
        }
        if mutating {
            session
                .save(&held(), &refreshed.state)
                .await
                .map_err(|e| e.to_string())?;
        }
        if verb == Verb::Refresh {
            let drift = &refreshed.drift;
            if args.json {
                let calls = session.aws_provider().map(|a| a.api_calls());
                println!(
                    "{}",
                    serde_json::json!({"drift": drift, "api_calls": calls})
                );
            } else if drift.is_empty() {
                println!("No drift: the cloud matches recorded state.");
            } else {
                print!("{}", render::drift_text(drift));
                println!("State updated from the cloud; `plan` shows how to bring it back to the program.");
            }
            return Ok(ExitCode::SUCCESS);
        }
        (
            plan_from(&refreshed.state, &refreshed.drift),
            refreshed.state,
        )
    } else {
        if verb == Verb::Refresh {
            return Err("`refresh` with --refresh=false does nothing".into());
        }
        (plan_from(&recorded, &[]), recorded)
    };
    glinfra_core::plan::restrict(&mut plan, graph, &base, &args.target, &args.exclude)
        .map_err(|e| e.to_string())?;
    plan.cost = Some(glinfra_core::cost::of_plan(&plan, stack.cost_settings()));
    if let Some(refused) = glinfra_core::policy::refusal(&plan.policy) {
        eprintln!("{refused}");
        return Ok(ExitCode::from(2));
    }
    if args.dot {
        print!("{}", render::dot(&plan));
        return Ok(ExitCode::SUCCESS);
    }
    if let Verb::Plan { out: Some(path) } = &verb {
        crate::saved::write(&plan, path).map_err(|e| e.to_string())?;
        if !args.json {
            println!(
                "Saved the plan to {}: `apply {}` applies exactly it.",
                path.display(),
                path.display()
            );
        }
    }
    if args.json && !mutating {
        println!("{}", render::json(&plan));
    } else if args.json {
        println!(
            "{}",
            serde_json::to_string(&plan).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", render::text_styled(&plan, text_style()));
    }
    if !mutating || plan.is_empty() {
        let refused = glinfra_core::safety::refusals(&plan);
        if !refused.is_empty() && !args.json {
            println!("\n{}", glinfra_core::safety::message(&refused));
            return Ok(ExitCode::from(1));
        }
        if args.detailed_exitcode && !plan.is_empty() {
            return Ok(ExitCode::from(2));
        }
        return Ok(ExitCode::SUCCESS);
    }
    apply_reviewed(
        args,
        session,
        held(),
        stack,
        &plan,
        &stop,
        verb == Verb::Destroy,
    )
    .await
}

/// Colour on a terminal, unless `NO_COLOR` is set (<https://no-color.org>).
fn text_style() -> render::Style {
    use std::io::IsTerminal;
    render::Style {
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Asks for consent where the plan needs it, applies it with live progress, and
/// reports: the summary, what did not succeed, the outputs.
async fn apply_reviewed(
    args: &Args,
    session: &Session,
    lock: Arc<glinfra_engine::StackLock>,
    stack: &Stack,
    plan: &glinfra_core::Plan,
    stop: &glinfra_engine::Stop,
    destroy: bool,
) -> Result<ExitCode, String> {
    let plan = plan.clone();
    let consent = crate::confirm::Consent {
        yes: args.yes,
        confirm: args.confirm.clone(),
    };
    crate::confirm::check(
        &plan,
        stack,
        destroy,
        &consent,
        crate::confirm::ask_on_terminal,
    )?;
    let started = Instant::now();
    let progress = Arc::new(Progress::new(&plan, Display::detect(args.json)));
    interrupt::stop_on_ctrl_c(stop);
    let report = session
        .apply(lock.clone(), &plan, progress.clone())
        .await
        .map_err(|e| e.to_string())?;
    progress.finish();
    // What other stacks read of this one.
    session
        .record_outputs(&lock, stack)
        .await
        .map_err(|e| e.to_string())?;
    if let (Some(file), Some(timeline)) = (&args.timeline, &session.options().timeline) {
        std::fs::write(file, timeline.svg(&plan))
            .map_err(|e| format!("--timeline {}: {e}", file.display()))?;
    }
    let calls = session
        .aws_provider()
        .map(|a| a.api_calls())
        .unwrap_or_default();
    if args.json {
        let outputs = session
            .outputs(&lock, stack)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "{}",
            serde_json::json!({"report": report, "api_calls": calls, "outputs": outputs, "backend_calls": session.backend_calls()})
        );
    } else {
        if let Some(reason) = report.stopped {
            println!(
                "\nStopped ({reason}): {} operations not started; the state is saved, run again to finish.",
                report.cancelled()
            );
        }
        println!(
            "\nApply {}: {} succeeded, {} failed, {} skipped, {} not started in {:.1}s; {} AWS API calls ({} mutating).",
            if report.is_success() { "complete" } else { "incomplete" },
            report.succeeded(),
            report.failed(),
            report.skipped(),
            report.cancelled(),
            started.elapsed().as_secs_f64(),
            calls.total,
            calls.mutating
        );
        if let Some(state) = session.backend_calls() {
            println!(
                "State in {}: {} calls ({} writes).",
                session.backend().location(),
                state.total,
                state.mutating
            );
        }
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
        if !destroy {
            println!("\nOutputs:");
            for (k, v) in session
                .outputs(&lock, stack)
                .await
                .map_err(|e| e.to_string())?
            {
                println!("  {k} = {v}");
            }
        }
    }
    Ok(if report.is_success() {
        ExitCode::SUCCESS
    } else if report.stopped == Some(glinfra_engine::StopReason::Interrupted) {
        ExitCode::from(130)
    } else {
        ExitCode::from(1)
    })
}
