//! Signals and logs: what the command line installs around a run.

use glinfra_engine::{Stop, StopReason};

/// Shows `tracing` warnings on stderr (`RUST_LOG` chooses what else).
pub(crate) fn install_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "error,glinfra=warn,glinfra_core=warn,glinfra_engine=warn,glinfra_aws=warn",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The first Ctrl-C stops `stop` (nothing more starts, what is in flight
/// finishes, the state is saved); the second exits at once with 130, leaving
/// the journal as `kill -9` would for the next run to resume.
pub(crate) fn stop_on_ctrl_c(stop: &Stop) {
    let stop = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => if interrupted.is_err() { return },
            reason = stop.stopped() => {
                eprintln!("\nStopping ({reason}): starting nothing more, waiting for the operations in flight to finish.");
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
            }
        }
        eprintln!("\nInterrupted: starting nothing more, waiting for the operations in flight to finish (Ctrl-C again to exit at once).");
        stop.stop(StopReason::Interrupted);
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Interrupted again: exiting now. The journal records what was in flight; the next run resumes it.");
            std::process::exit(130);
        }
    });
}
