//! The harness the integration tests against the emulator share: the emulator
//! check, run-unique names, a `Session` over a throw-away state directory, and the
//! AWS SDK configuration that reads the results back.

// Each test binary compiles its own copy and uses part of it.
#![allow(dead_code)]

use glinfra::engine::{ApplyReport, NoObserver};
use glinfra::{Plan, ResourceGraph, Session, Stack};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The region the tests' stacks live in (`localstack/up` exports it as `AWS_REGION`).
pub const REGION: &str = "us-east-1";

/// Fails the test when no emulator is named: nothing here skips.
pub fn require_emulator() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "these tests need an emulator: run them through scripts/test (it starts LocalStack and sets AWS_ENDPOINT_URL)"
    );
}

/// A suffix that keeps this run's names apart from other runs on the same emulator.
pub fn nonce() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    format!(
        "{:06x}",
        (millis ^ u64::from(std::process::id()) << 20) & 0xff_ffff
    )
}

/// An emulator account of this run's own: a 12-digit access key id, which the
/// emulator (like LocalStack generally) takes as the account id. A subprocess given
/// it as `AWS_ACCESS_KEY_ID` meets nothing another test made, the services there
/// is one of per account and region (GuardDuty, Security Hub, Inspector) included.
pub fn own_account() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mixed = nanos ^ (u64::from(std::process::id()) << 32);
    // 1xxxxxxxxxxx: twelve digits, never the default 000000000000.
    format!("1{:011}", mixed % 100_000_000_000)
}

/// A session on the emulator, with its state in a directory removed on drop.
pub struct Run {
    pub session: Session,
    _dir: tempfile::TempDir,
}

impl Run {
    pub async fn new() -> Run {
        require_emulator();
        let dir = tempfile::tempdir().unwrap();
        Run {
            session: Session::aws(dir.path()).await,
            _dir: dir,
        }
    }

    /// The API calls made so far: (all, mutating).
    pub fn calls(&self) -> (u64, u64) {
        let c = self.session.aws_provider().unwrap().api_calls();
        (c.total, c.mutating)
    }

    /// The plan for `stack` against the recorded state.
    pub fn plan(&self, stack: &Stack) -> Plan {
        let graph = ResourceGraph::build(stack).unwrap();
        glinfra::core::plan::plan(&graph, &self.state(stack))
    }

    /// The recorded state (the local store's own lock, taken and dropped at once).
    pub fn state(&self, stack: &Stack) -> glinfra::core::State {
        glinfra::engine::LocalStateStore::new(self._dir.path())
            .lock_local(stack.name(), "test")
            .unwrap()
            .load()
            .unwrap()
    }

    /// What `plan` shows: refresh, then the plan from the refreshed state (with
    /// its drift). Records nothing.
    pub async fn plan_live(&self, stack: &Stack) -> Plan {
        let graph = ResourceGraph::build(stack).unwrap();
        let lock = self.session.lock(stack.name()).await.unwrap();
        let (refreshed, _) = self.session.refresh(&lock, &graph, false).await.unwrap();
        self.session.plan_refreshed(Some(&graph), &refreshed)
    }

    /// What `apply` does: refresh and record what the cloud says, plan from there,
    /// apply (which must succeed); returns the plan and the report.
    pub async fn up(&self, stack: &Stack) -> (Plan, ApplyReport) {
        self.converge(stack, false).await
    }

    /// What `destroy` does (refresh first), which must succeed.
    pub async fn destroy(&self, stack: &Stack) {
        self.converge(stack, true).await;
    }

    async fn converge(&self, stack: &Stack, destroy: bool) -> (Plan, ApplyReport) {
        let (plan, report) = self.attempt(stack, destroy).await.unwrap();
        assert!(
            report.is_success(),
            "{}",
            serde_json::to_string_pretty(&report).unwrap()
        );
        (plan, report)
    }

    /// What `import ID AWS_ID` does for `stack`: the plan from there, or the refusal.
    pub async fn import(
        &self,
        stack: &Stack,
        id: &str,
        aws_id: &str,
    ) -> Result<Plan, glinfra::Error> {
        let graph = ResourceGraph::build(stack).unwrap();
        let lock = self.session.lock(stack.name()).await?;
        self.session.import(&lock, &graph, id, aws_id).await
    }

    /// What `apply` (or `destroy`) does, returning what the session says, refusals included.
    pub async fn attempt(
        &self,
        stack: &Stack,
        destroy: bool,
    ) -> Result<(Plan, ApplyReport), glinfra::Error> {
        let graph = ResourceGraph::build(stack).unwrap();
        let lock = self.session.lock(stack.name()).await?;
        let (refreshed, _) = self.session.refresh(&lock, &graph, destroy).await?;
        self.session.save(&lock, &refreshed.state).await?;
        let target = (!destroy).then_some(&graph);
        let plan = self.session.plan_refreshed(target, &refreshed);
        let report = self
            .session
            .apply(lock, &plan, Arc::new(NoObserver))
            .await?;
        Ok((plan, report))
    }

    /// Every string and number output recorded, as `resource.output`.
    pub fn outputs(&self, stack: &Stack) -> BTreeMap<String, String> {
        let state = self.state(stack);
        let mut out = BTreeMap::new();
        for (id, r) in &state.resources {
            for (k, v) in &r.outputs {
                match v {
                    Value::String(s) => {
                        out.insert(format!("{id}.{k}"), s.clone());
                    }
                    Value::Number(n) => {
                        out.insert(format!("{id}.{k}"), n.to_string());
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// The SDK configuration the results are read back with, in `REGION`.
pub async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .load()
        .await
}

/// An environment file renamed for one test: its own stack and names, buckets that
/// empty themselves, no deletion protection and nothing protected, so the test can
/// destroy it.
pub fn environment_from(file: &str, test: &str) -> greenlang_agent_factory::config::Environment {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("environments/{file}.toml"));
    let mut env = greenlang_agent_factory::load(&path).unwrap();
    let nonce = nonce();
    env.stack.name = format!("it-{test}-{nonce}");
    env.stack.environment = format!("it{}-{nonce}", &test[..3]);
    env.storage.force_destroy = true;
    env.stack.protect = false;
    if let Some(db) = env.database.as_mut() {
        db.deletion_protection = false;
    }
    // A throwaway copy must be deletable: its policy says so, as a user's would.
    env.policy.rules.insert(
        glinfra_core::policy::Rule::DatabaseDeletionProtection,
        glinfra_core::Severity::Advisory,
    );
    account_services_off(&mut env.security_services);
    env
}

/// Switches off the security services there is one of per account and region
/// (GuardDuty, Security Hub, Inspector; Shield Advanced is off in every file), so
/// copies of the environments run side by side in the emulator's one account. The
/// tests that read them back (tests/security_services.rs, the platform read-back)
/// switch them on again.
pub fn account_services_off(s: &mut greenlang_agent_factory::security::SecurityServicesConfig) {
    s.guardduty.enabled = false;
    s.security_hub.enabled = false;
    s.inspector.enabled = false;
    s.shield_advanced = false;
}

/// [`account_services_off`] on an environment file's text.
pub fn account_services_off_text(text: &str) -> String {
    let mut text = text.to_string();
    for section in ["guardduty", "security_hub", "inspector"] {
        let header = format!("[security_services.{section}]");
        let at = text.find(&header).expect("the section") + header.len();
        let key = at + text[at..].find("\nenabled = ").expect("its `enabled`") + 1;
        let end = key + text[key..].find('\n').expect("a line");
        text.replace_range(key..end, "enabled = false");
    }
    text
}

/// The binary of example `name` (cargo test builds the examples). The target
/// directory may be shared with other checkouts: this checkout's own build is the
/// newest whose dep-info names this manifest directory (an example that reads
/// `CARGO_MANIFEST_DIR` has cargo record it there).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    let ours = format!(
        "env-dep:CARGO_MANIFEST_DIR={}\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let prefix = format!("{}-", name.replace('-', "_"));
    let built_here = std::fs::read_dir(&examples)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| {
            let file = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            file.starts_with(&prefix) && p.extension().is_none()
        })
        .filter(|p| std::fs::read_to_string(p.with_extension("d")).is_ok_and(|d| d.contains(&ours)))
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok());
    let example = built_here.unwrap_or_else(|| examples.join(name));
    assert!(
        example.exists(),
        "cargo test builds the examples: {}",
        example.display()
    );
    example
}

/// The main job's binary, `examples/prod-us-east-1`.
pub fn example() -> std::path::PathBuf {
    example_binary("prod-us-east-1")
}

/// What [`run_example_offline`] saw.
pub struct Offline {
    /// The exit code.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The environment file's path.
    pub file: String,
    /// True when the state directory was never created (no lock, no state read).
    pub untouched: bool,
}

/// Runs the example with `args` on `env_text` as its environment file, its
/// endpoint a closed port: any AWS call would fail (exit 1), never exit 2.
pub fn run_example_offline(env_text: &str, args: &[&str]) -> Offline {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env.toml");
    std::fs::write(&path, env_text).unwrap();
    let state = dir.path().join("state");
    let out = std::process::Command::new(example())
        .args(args)
        .args([
            "--env",
            path.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    Offline {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        file: path.display().to_string(),
        untouched: !state.exists(),
    }
}

/// An environment file shipped in `environments/`, as text.
pub fn shipped(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("environments/{name}.toml")),
    )
    .unwrap()
}
