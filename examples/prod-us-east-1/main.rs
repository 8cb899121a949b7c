//! The GreenLang Agent Factory, production us-east-1.
//!
//! `cargo run --example prod-us-east-1` plans and applies it (on the local emulator
//! unless `--aws`); `-- plan`, `-- destroy`, `--json`, `--dot` do what they say.
//! `-- --env environments/<other>.toml` deploys another environment.

mod local_emulator;

use std::process::ExitCode;

fn main() -> ExitCode {
    glinfra::cli::run_with(
        "environments/prod-us-east-1.toml",
        |path| greenlang_agent_factory::load_stack(path).map(|(_, stack, graph)| (stack, graph)),
        Some(local_emulator::start),
    )
}
