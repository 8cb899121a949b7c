//! Starting this project's local emulator (LocalStack with our provider package)
//! for runs without `--aws` or `AWS_ENDPOINT_URL`. It belongs to the example, not
//! to the library: a program that embeds glinfra brings its own endpoint.

use std::path::Path;
use std::process::Command;

/// Runs this checkout's `localstack/up` and takes its `export` lines into this
/// process's environment.
pub fn start() -> Result<(), String> {
    let up = Path::new(env!("CARGO_MANIFEST_DIR")).join("localstack/up");
    eprintln!(
        "No AWS_ENDPOINT_URL set and no --aws: starting the local emulator ({})",
        up.display()
    );
    let out = Command::new("bash")
        .arg(&up)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", up.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", up.display(), out.status));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((k, v)) = line
            .trim()
            .strip_prefix("export ")
            .and_then(|kv| kv.split_once('='))
        {
            std::env::set_var(k, v.trim_matches(|c| c == '"' || c == '\''));
        }
    }
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        return Err(format!("{} printed no AWS_ENDPOINT_URL", up.display()));
    }
    Ok(())
}
