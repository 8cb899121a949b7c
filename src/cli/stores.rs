//! The command line's state-backend verbs and messages: `state list|show|rm`,
//! `force-unlock`, `backend init`, and what a run says about a stack's lock.

use super::{ensure_endpoint, Args, BackendVerb, LocalEndpoint, StateVerb};
use crate::backend::BackendUrl;
use crate::session::Session;
use glinfra_core::Stack;
use glinfra_engine::{LockInfo, StackLock};
use std::process::ExitCode;

/// `state list|show` read without the lock; `state rm` takes it. No AWS call
/// (but the S3 backend's own).
pub(super) async fn state_verb(
    session: &Session,
    stack: &Stack,
    verb: &StateVerb,
) -> Result<ExitCode, String> {
    if let StateVerb::Rm { id } = verb {
        let lock = session
            .lock(stack.name())
            .await
            .map_err(|e| e.to_string())?;
        let forgot = lock.forget(id).await.map_err(|e| e.to_string());
        let released = lock.release().await.map_err(|e| e.to_string());
        forgot?;
        released?;
        println!(
            "Forgot `{id}`: it is still in AWS, no longer managed by stack `{}`. It keeps its glinfra tags; remove its declaration, or the next apply adopts it back.",
            stack.name()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let state = session
        .read(stack.name())
        .await
        .map_err(|e| e.to_string())?
        .state;
    match verb {
        StateVerb::List => {
            for (id, r) in &state.resources {
                let aws_id = ["id", "arn", "name", "zone_id"]
                    .iter()
                    .find_map(|k| r.outputs.get(*k).and_then(|v| v.as_str()))
                    .unwrap_or("(not created)");
                println!("{id}\t{}\t{}\t{aws_id}", r.kind, r.region);
            }
        }
        StateVerb::Show { id } => {
            let r = state.resources.get(id).ok_or_else(|| {
                format!(
                    "stack `{}` records no resource `{id}` (see `state list`)",
                    stack.name()
                )
            })?;
            println!(
                "{}",
                serde_json::to_string_pretty(r).map_err(|e| e.to_string())?
            );
        }
        StateVerb::Rm { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `force-unlock LOCK_ID`: removes the stack's lock when its id is that one, and
/// says whose it was.
pub(super) async fn force_unlock(
    session: &Session,
    stack: &Stack,
    lock_id: &str,
) -> Result<ExitCode, String> {
    let overrode = session
        .force_unlock(stack.name(), lock_id)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Removed the lock of stack `{}`: {overrode}. If that run is still alive it finds out at its next lease renewal and starts nothing more; the next run takes the stack and records this.",
        stack.name()
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the lock this run took over, if it took one over.
pub(super) fn say_takeover(lock: &StackLock, json: bool) {
    if let Some(event) = lock.took_over() {
        let message = format!("Lock: {event}. Recorded in the lock and the state's history; resuming what that run journaled.");
        if json {
            eprintln!("{message}");
        } else {
            println!("{message}\n");
        }
    }
}

/// Tells a read (`plan`) when someone holds the stack's lock.
pub(super) async fn say_holder(session: &Session, stack: &Stack, json: bool) {
    let message = match session.holder(stack.name()).await {
        Ok(None) => return,
        Ok(Some(holder)) => holding(stack, &holder),
        Err(e) => format!(
            "Note: could not read the lock of stack `{}`: {e}",
            stack.name()
        ),
    };
    if json {
        eprintln!("{message}");
    } else {
        println!("{message}\n");
    }
}

fn holding(stack: &Stack, holder: &LockInfo) -> String {
    let expired = holder
        .expires_at
        .filter(|t| *t < chrono::Utc::now())
        .map(|t| {
            format!(
                " Its lease ran out at {}: its run is gone, and the next apply takes the lock over.",
                t.to_rfc3339()
            )
        })
        .unwrap_or_default();
    format!(
        "Note: stack `{}` is locked by {holder}: a change may be under way, and this plan is from the state as last written.{expired}",
        stack.name()
    )
}

/// `backend init [URL] [--create] [--kms-key KEY]`.
pub(super) async fn backend_verb(
    args: &Args,
    verb: &BackendVerb,
    local: Option<LocalEndpoint>,
) -> Result<ExitCode, String> {
    let BackendVerb::Init {
        url,
        create,
        kms_key,
    } = verb;
    let location = match url.clone().or_else(|| args.backend.clone()) {
        Some(BackendUrl::S3(location)) => location,
        Some(BackendUrl::Local(dir)) => {
            println!(
                "{}: a local directory needs no setup (created on first use, private to its owner).",
                dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        None => return Err("name the bucket: `backend init s3://BUCKET/PREFIX`".into()),
    };
    ensure_endpoint(args, local)?;
    let aws = glinfra_aws::AwsProvider::from_env().await;
    let report = glinfra_aws::backend::init(aws.clients(), &location, *create, kms_key.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    let key = match &report.kms {
        Some(Some(key)) => format!("SSE-KMS with {key}"),
        Some(None) => "SSE-KMS with the AWS-managed aws/s3 key".into(),
        None => "not SSE-KMS".into(),
    };
    println!(
        "{} bucket `{}` in {}: versioned; default encryption {key}; public access {}.",
        if report.created { "Created" } else { "Checked" },
        location.bucket,
        report.region,
        if report.public_access_blocked {
            "blocked"
        } else {
            "NOT blocked"
        }
    );
    for w in &report.warnings {
        println!("warning: {w}");
    }
    println!("State goes under {location}: pass --backend {location}.");
    Ok(ExitCode::SUCCESS)
}
