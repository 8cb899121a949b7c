//! What GreenLang's release tooling does with glinfra, through the embedding API
//! (`glinfra::embed`): plan staging and apply it, check its outputs, then plan
//! prod and stop there for approval unless `--approve` is given. Every event is
//! logged through `tracing` (`RUST_LOG=info` by default here); nothing is printed
//! by the library itself.
//!
//! `cargo run --example release-pipeline [-- --approve] [--state-dir DIR]`: on the
//! local emulator unless `AWS_ENDPOINT_URL` or `--aws` says otherwise.

#[path = "prod-us-east-1/local_emulator.rs"]
mod local_emulator;

use clap::Parser;
use glinfra::engine::Event;
use glinfra::{render, Session};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
struct Args {
    /// Apply prod after its plan (otherwise stop for approval).
    #[arg(long)]
    approve: bool,
    /// Target real AWS through the standard credential chain.
    #[arg(long)]
    aws: bool,
    /// The state directory.
    #[arg(long, default_value = ".glinfra/state/local")]
    state_dir: PathBuf,
    /// The staging environment file.
    #[arg(long, default_value = "environments/staging-us-east-1.toml")]
    staging: PathBuf,
    /// The production environment file.
    #[arg(long, default_value = "environments/prod-us-east-1.toml")]
    prod: PathBuf,
}

/// Logs one event of an apply.
fn log(stack: &str, event: &Event) {
    match event {
        Event::Succeeded {
            resource,
            phase,
            elapsed_ms,
        } => tracing::info!(stack, resource, ?phase, elapsed_ms, "succeeded"),
        Event::Failed {
            resource, error, ..
        } => tracing::error!(stack, resource, error, "failed"),
        Event::Retrying {
            resource, error, ..
        } => tracing::warn!(stack, resource, error, "retrying"),
        other => tracing::debug!(stack, event = ?other),
    }
}

/// Plans `file`'s stack and, when `apply`, applies it; the stack's outputs.
async fn release(
    session: &Arc<Session>,
    file: &Path,
    apply: bool,
) -> Result<Option<std::collections::BTreeMap<String, serde_json::Value>>, String> {
    let (_, stack, graph) = greenlang_agent_factory::load_stack(file).map_err(|d| d.to_string())?;
    let lock = session
        .lock(stack.name())
        .await
        .map_err(|e| e.to_string())?;
    let plan = session
        .preview(&lock, &graph)
        .await
        .map_err(|e| e.to_string())?;
    let s = &plan.summary;
    tracing::info!(
        stack = stack.name(),
        add = s.create,
        change = s.update,
        replace = s.replace,
        destroy = s.delete,
        "planned"
    );
    if !apply {
        print!("{}", render::text(&plan));
        return Ok(None);
    }
    if !plan.is_empty() {
        let mut run = session.start_apply(lock.clone(), &stack, &plan);
        while let Some(event) = run.next_event().await {
            log(stack.name(), &event);
        }
        let report = run.report().await.map_err(|e| e.to_string())?;
        if !report.is_success() {
            return Err(format!(
                "{}: {} operations failed",
                stack.name(),
                report.failed()
            ));
        }
        tracing::info!(
            stack = stack.name(),
            elapsed_ms = report.elapsed_ms,
            "applied"
        );
    }
    Ok(Some(
        session
            .outputs(&lock, &stack)
            .await
            .map_err(|e| e.to_string())?,
    ))
}

/// The check run against staging before prod is planned: every output is set, and
/// the network ids look like what AWS hands out.
fn check(outputs: &std::collections::BTreeMap<String, serde_json::Value>) -> Result<(), String> {
    let missing: Vec<&String> = outputs
        .iter()
        .filter(|(_, v)| v.is_null() || v.as_str().is_some_and(str::is_empty))
        .map(|(k, _)| k)
        .collect();
    if !missing.is_empty() {
        return Err(format!("staging outputs not set: {missing:?}"));
    }
    match outputs.get("vpc_id").and_then(|v| v.as_str()) {
        Some(id) if id.starts_with("vpc-") => Ok(()),
        other => Err(format!("staging vpc_id is {other:?}, not a VPC id")),
    }
}

async fn pipeline(args: &Args) -> Result<(), String> {
    let session = Arc::new(Session::aws(&args.state_dir).await);
    let staging = release(&session, &args.staging, true)
        .await?
        .expect("applied");
    check(&staging)?;
    tracing::info!(outputs = staging.len(), "staging checked");
    release(&session, &args.prod, args.approve).await?;
    if !args.approve {
        println!(
            "\nProd is planned above and waits for approval: run again with --approve to apply it."
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if !args.aws && std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        if let Err(e) = local_emulator::start() {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(pipeline(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
