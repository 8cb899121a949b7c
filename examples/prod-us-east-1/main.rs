//! The GreenLang Agent Factory, production us-east-1.
//!
//! `cargo run --example prod-us-east-1` plans and applies it (on the local emulator
//! unless `--aws`); `-- plan`, `-- destroy`, `--json`, `--dot` do what they say.
//! `-- --env environments/<other>.toml` deploys another environment;
//! `-- failover --env environments/prod-us-west-2.toml --to us-west-2` promotes the
//! disaster-recovery standby (docs/disaster-recovery.md).

mod local_emulator;

use std::process::ExitCode;

fn main() -> ExitCode {
    glinfra::cli::run_with_failover(
        "environments/prod-us-east-1.toml",
        |path| greenlang_agent_factory::load_any(path, None),
        Some(&|path, region| greenlang_agent_factory::load_any(path, Some(region))),
        Some(local_emulator::start),
    )
}
