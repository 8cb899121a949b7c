//! `failover --to REGION`: the disaster-recovery runbook (seed 5.3) on the command
//! line. The program declares its failed-over layout (the `failover` hook of
//! [`super::run_with_failover`]); the plan from the recorded stack to it is reviewed
//! (promotions and record updates only, `crate::failover`), shown like any plan
//! (`--json`: its JSON), and applied only with `--confirm STACK`.

use super::{ensure_endpoint, Args, LocalEndpoint};
use crate::failover::{confirmed, Failover};
use crate::session::{Error, Session};
use glinfra_core::{render, ResourceGraph, Stack};
use glinfra_engine::{ApplyOptions, LeaseConfig};
use std::process::ExitCode;

/// Plans the failover of `stack` (its failed-over layout) to `to`, shows it, and
/// applies it when confirmed.
pub(super) async fn execute(
    args: &Args,
    stack: &Stack,
    graph: &ResourceGraph,
    to: &str,
    local: Option<LocalEndpoint>,
) -> Result<ExitCode, String> {
    ensure_endpoint(args, local)?;
    let lease = LeaseConfig::new(std::time::Duration::from_secs(args.lock_lease));
    let mut session = Session::aws_with(&super::backend_url(args), lease).await;
    let stop = glinfra_engine::Stop::new();
    if let Some(seconds) = args.timeout {
        stop.stop_after(std::time::Duration::from_secs(seconds));
    }
    session.set_options(ApplyOptions {
        concurrency: args.concurrency,
        stop: stop.clone(),
        ..ApplyOptions::default()
    });
    let (stack, graph) = if stack.referenced_stacks().is_empty() {
        (stack.clone(), graph.clone())
    } else {
        session.resolve(stack).await.map_err(|e| e.to_string())?
    };
    let lock = session
        .lock(stack.name())
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        let failover = match session.plan_failover(&lock, &graph).await {
            Ok(f) => f,
            Err(Error::Failover(e)) => return Err(format!("{e}\nNothing was changed.")),
            Err(e) => return Err(e.to_string()),
        };
        let mut plan = failover.plan.clone();
        plan.cost = Some(glinfra_core::cost::of_plan(&plan, stack.cost_settings()));
        if let Some(refused) = glinfra_core::policy::refusal(&plan.policy) {
            eprintln!("{refused}");
            return Ok(ExitCode::from(2));
        }
        show(args, &failover, &plan);
        if let Err(e) = confirmed(&failover, args.confirm.as_deref()) {
            return Err(format!("{e}\nNothing was changed."));
        }
        let code =
            super::apply_reviewed(args, &session, lock.clone(), &stack, &plan, &stop, false)
                .await?;
        if code == ExitCode::SUCCESS && !args.json {
            println!(
                "\nFailed over to {to}. Now make the program say so: in its environment file set `[standby] primary_region = \"{to}\"` (docs/disaster-recovery.md). Until then its plans refuse to run (a promoted instance cannot become a replica again)."
            );
        }
        Ok(code)
    }
    .await;
    if let Err(e) = lock.release().await {
        eprintln!("warning: {e}");
    }
    result
}

/// The plan as any plan is shown, and the failover's summary.
fn show(args: &Args, failover: &Failover, plan: &glinfra_core::Plan) {
    if args.json {
        println!("{}", render::json(plan));
    } else {
        print!("{}", render::text_styled(plan, super::text_style()));
        println!("\n{}", failover.summary());
    }
}
