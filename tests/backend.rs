//! The S3 state backend against the emulator: `backend init`; two processes in
//! different working directories sharing one S3 backend (the second refused while
//! the first applies, the first killed with `kill -9`, the second taking over after
//! the lease and converging with no duplicate); a state write after someone else's
//! write rejected; `force-unlock`; and what a lock, a state read and a state write
//! cost. Nothing here skips: without an endpoint, they fail.

mod common;

use glinfra::aws::backend::{init, InitError, S3Location};
use glinfra::engine::{LeaseConfig, StoreError};
use glinfra::{BackendUrl, Session};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh state bucket (created through `backend init --create`) and its location.
async fn state_bucket(test: &str) -> S3Location {
    common::require_emulator();
    let location: S3Location = format!("s3://gl-state-{test}-{}/teams/platform", common::nonce())
        .parse()
        .unwrap();
    let aws = glinfra::aws::AwsProvider::from_env().await;
    let report = Box::pin(init(aws.clients(), &location, true, None))
        .await
        .unwrap();
    assert!(report.created, "{report:?}");
    location
}

async fn s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::new(&common::sdk().await)
}

/// The dev environment renamed for one test, nothing protected, buckets that
/// empty themselves: its file in `dir`, and its stack name.
fn environment(dir: &Path, test: &str) -> (PathBuf, String) {
    let nonce = common::nonce();
    let stack = format!("it-{test}-{nonce}");
    let env = format!("it{}-{nonce}", &test[..3]);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/dev-us-east-1.toml"),
    )
    .unwrap();
    let mut out = text.clone();
    for (from, to) in [
        ("name = \"dev-us-east-1\"", format!("name = \"{stack}\"")),
        (
            "environment = \"dev\"",
            format!("environment = \"{env}\"\nprotect = false"),
        ),
        ("force_destroy = false", "force_destroy = true".to_string()),
    ] {
        assert!(out.contains(from), "{from}");
        out = out.replacen(from, &to, 1);
    }
    // One per account and region: off, as in every copy (tests/common).
    let out = common::account_services_off_text(&out);
    let path = dir.join(format!("{test}.toml"));
    std::fs::write(&path, out).unwrap();
    (path, stack)
}

/// A process of the example on `env` with state in `backend`, run in `cwd`.
fn example(cwd: &Path, env: &Path, backend: &S3Location, args: &[&str]) -> Command {
    let mut c = Command::new(common::example());
    c.current_dir(cwd)
        .args(["--env", env.to_str().unwrap(), "--backend"])
        .arg(backend.to_string())
        .args(args);
    c
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Reads `child`'s JSON event lines until `n` operations have succeeded.
fn wait_for_successes(child: &mut Child, n: usize) {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut done = 0;
    while done < n {
        let line = lines
            .next()
            .expect("the first run ended before it was killed")
            .unwrap();
        if line.contains("\"event\":\"succeeded\"") {
            done += 1;
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
}

/// Every EC2 resource carrying `stack`'s tags, counted by logical id.
async fn ec2_census(stack: &str) -> BTreeMap<String, usize> {
    use aws_sdk_ec2::types::Filter;
    let ec2 = aws_sdk_ec2::Client::new(&common::sdk().await);
    let ours: std::collections::BTreeSet<String> = ec2
        .describe_tags()
        .filters(
            Filter::builder()
                .name("key")
                .values("glinfra:stack")
                .build(),
        )
        .filters(Filter::builder().name("value").values(stack).build())
        .max_results(1000)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .filter_map(|t| t.resource_id().map(str::to_string))
        .collect();
    let mut census = BTreeMap::new();
    for t in ec2
        .describe_tags()
        .filters(
            Filter::builder()
                .name("key")
                .values("glinfra:logical-id")
                .build(),
        )
        .max_results(1000)
        .send()
        .await
        .unwrap()
        .tags()
    {
        if t.resource_id().is_some_and(|id| ours.contains(id)) {
            *census
                .entry(t.value().unwrap_or_default().to_string())
                .or_insert(0) += 1;
        }
    }
    census
}

#[tokio::test(flavor = "multi_thread")]
async fn backend_init_creates_a_state_bucket_and_refuses_an_unversioned_one() {
    let location = state_bucket("init").await;
    let s3 = s3().await;
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&location.bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&location.bucket)
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "aws:kms"
    );
    let aws = glinfra::aws::AwsProvider::from_env().await;
    // Checking it again creates nothing and finds nothing wrong.
    let again = init(aws.clients(), &location, false, None).await.unwrap();
    assert!(!again.created && again.warnings.is_empty(), "{again:?}");
    // A plain bucket: refused (not versioned); a missing one without --create: refused.
    let plain = format!("gl-plain-{}", common::nonce());
    s3.create_bucket().bucket(&plain).send().await.unwrap();
    let plain: S3Location = format!("s3://{plain}/x").parse().unwrap();
    let err = init(aws.clients(), &plain, false, None).await.unwrap_err();
    assert!(matches!(err, InitError::NotVersioned { .. }), "{err}");
    let missing: S3Location = format!("s3://gl-none-{}/x", common::nonce())
        .parse()
        .unwrap();
    let err = init(aws.clients(), &missing, false, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--create"), "{err}");
}

/// The scenario, with the example binary: two working directories, one
/// S3 backend, a 6 s lease.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_apply_is_refused_to_others_then_taken_over_and_converges() {
    let backend = state_bucket("kill").await;
    let files = tempfile::tempdir().unwrap();
    let (env, stack) = environment(files.path(), "kill");
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let lease = ["--lock-lease", "6"];

    // The first run applies slowly (two operations at a time), reporting JSON events.
    let mut first = example(a_dir.path(), &env, &backend, &lease)
        .args(["--json", "--yes", "--concurrency", "2", "apply"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_successes(&mut first, 6);

    // A second apply elsewhere is refused at once, naming the holder.
    let started = Instant::now();
    let refused = example(b_dir.path(), &env, &backend, &lease)
        .args(["--yes", "apply"])
        .output()
        .unwrap();
    let refused_in = started.elapsed();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains(&format!("stack `{stack}` is locked by"))
            && err.contains(&format!("(process {}", first.id()))
            && err.contains("force-unlock"),
        "{}",
        text(&refused)
    );
    // A plan needs no lock, and says who holds it.
    let plan = example(b_dir.path(), &env, &backend, &["plan", "--refresh=false"])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("is locked by"),
        "{}",
        text(&plan)
    );

    // kill -9, mid-apply: its lock stays until the lease runs out.
    first.kill().unwrap();
    first.wait().unwrap();
    let journal = s3()
        .await
        .list_objects_v2()
        .bucket(&backend.bucket)
        .prefix(format!("{}/{stack}/journal/", backend.prefix))
        .send()
        .await
        .unwrap();
    assert!(
        !journal.contents().is_empty(),
        "the killed run left its journal"
    );
    let killed_at = Instant::now();
    let refused = example(b_dir.path(), &env, &backend, &lease)
        .args(["--yes", "apply"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("takes the lock over in"),
        "{}",
        text(&refused)
    );

    // After the lease (6 s, plus its 1 s margin), the second run takes over.
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(killed_at.elapsed())).await;
    let second = example(b_dir.path(), &env, &backend, &lease)
        .args(["--yes", "apply"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(
        out.contains("took over") && out.contains("its lease expired"),
        "{}",
        text(&second)
    );
    assert!(out.contains("Apply complete"), "{}", text(&second));

    // No duplicate: one EC2 resource per logical id, and nothing left to do.
    let census = ec2_census(&stack).await;
    let duplicated: Vec<_> = census.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "duplicates: {duplicated:?}");
    assert!(census.len() > 20, "{census:?}");
    let again = example(a_dir.path(), &env, &backend, &["plan"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("No changes"),
        "{}",
        text(&again)
    );
    // The takeover is in the state's history.
    let state = s3()
        .await
        .get_object()
        .bucket(&backend.bucket)
        .key(format!("{}/{stack}/state.json", backend.prefix))
        .send()
        .await
        .unwrap();
    let state: serde_json::Value =
        serde_json::from_slice(&state.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(state["history"][0]["kind"], "lease_expired");
    assert_eq!(
        state["history"][0]["previous"]["pid"].as_u64(),
        Some(u64::from(first.id()))
    );

    let destroyed = example(a_dir.path(), &env, &backend, &["--yes", "destroy"])
        .output()
        .unwrap();
    assert_eq!(destroyed.status.code(), Some(0), "{}", text(&destroyed));
    assert!(refused_in < Duration::from_secs(5), "{refused_in:?}");
}

/// A session on the S3 backend at `location`.
async fn session(location: &S3Location, lease: Duration) -> Session {
    Session::aws_with(&BackendUrl::S3(location.clone()), LeaseConfig::new(lease)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_write_after_someone_elses_write_is_rejected() {
    let backend = state_bucket("conflict").await;
    let run = session(&backend, Duration::from_secs(60)).await;
    let lock = run.lock("conflict").await.unwrap();
    let mut state = lock.load().await.unwrap();
    state.serial = 1;
    lock.save(&state).await.unwrap();
    // Someone else writes the state object (another tool, a copy restored by hand).
    let key = format!("{}/conflict/state.json", backend.prefix);
    let s3 = s3().await;
    let current = s3
        .get_object()
        .bucket(&backend.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let bytes = current.body.collect().await.unwrap().into_bytes();
    let mut theirs: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    theirs["state"]["serial"] = 5.into();
    s3.put_object()
        .bucket(&backend.bucket)
        .key(&key)
        .body(serde_json::to_vec(&theirs).unwrap().into())
        .send()
        .await
        .unwrap();
    state.serial = 2;
    let err = lock.save(&state).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("PreconditionFailed"), "{err}");
    let read = run.read("conflict").await.unwrap();
    assert_eq!(read.state.serial, 5, "theirs, not overwritten");
    lock.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn force_unlock_needs_the_lock_id_and_says_what_it_overrode() {
    let backend = state_bucket("unlock").await;
    let files = tempfile::tempdir().unwrap();
    let (env, stack) = environment(files.path(), "unlock");
    let holder = session(&backend, Duration::from_secs(60)).await;
    let held = holder.lock(&stack).await.unwrap();
    let id = held.info().lock_id;

    let wrong = example(
        files.path(),
        &env,
        &backend,
        &["force-unlock", "0000000000000000"],
    )
    .output()
    .unwrap();
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("nothing was removed"),
        "{}",
        text(&wrong)
    );
    let unlocked = example(files.path(), &env, &backend, &["force-unlock", &id])
        .output()
        .unwrap();
    assert_eq!(unlocked.status.code(), Some(0), "{}", text(&unlocked));
    let said = String::from_utf8_lossy(&unlocked.stdout);
    assert!(
        said.contains("Removed the lock")
            && said.contains(&id)
            && said.contains(&held.info().run_id),
        "{}",
        text(&unlocked)
    );
    assert_eq!(holder.holder(&stack).await.unwrap(), None);
    // The next run takes the stack at once and records whose lock was removed.
    let next = session(&backend, Duration::from_secs(60)).await;
    let lock = next.lock(&stack).await.unwrap();
    let event = lock.took_over().unwrap();
    assert!(event.to_string().contains("force-unlocked by"), "{event}");
    // The old holder can no longer write.
    let err = held
        .save(&glinfra::core::State::empty(&stack))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LockLost { .. }), "{err}");
    lock.release().await.unwrap();
}

/// What a lock, a state read and a state write cost on S3 (here, the emulator on
/// loopback): API calls and seconds, averaged over 20 rounds.
#[tokio::test(flavor = "multi_thread")]
async fn a_lock_a_read_and_a_write_cost_a_few_calls() {
    let backend = state_bucket("cost").await;
    let run = session(&backend, Duration::from_secs(60)).await;
    let calls = || run.backend_calls().unwrap().total;
    let rounds = 20u32;
    let mut cost: BTreeMap<&str, (u64, Duration)> = BTreeMap::new();
    let mut measure = |step: &'static str, before: (u64, Instant), after: u64| {
        let e = cost.entry(step).or_default();
        e.0 += after - before.0;
        e.1 += before.1.elapsed();
    };
    // A realistic state: the dev environment's resources, recorded.
    let files = tempfile::tempdir().unwrap();
    let (env, _) = environment(files.path(), "cost");
    let (_, dev, _) = greenlang_agent_factory::load_stack(&env).unwrap();
    let mut state = glinfra::core::State::empty("cost");
    for d in dev.declarations() {
        state.resources.insert(
            d.id.clone(),
            glinfra::core::ResourceState {
                kind: d.kind,
                region: d.region.clone(),
                props: d.props.value(),
                tags: d.tags.clone(),
                outputs: BTreeMap::from([(
                    "id".to_string(),
                    serde_json::json!(format!("id-{}", d.id)),
                )]),
                dependencies: d.dependencies(),
                pending: None,
                lifecycle: d.lifecycle.clone(),
            },
        );
    }
    for round in 0..rounds {
        let t = (calls(), Instant::now());
        let lock = run.lock("cost").await.unwrap();
        measure("lock", t, calls());
        let t = (calls(), Instant::now());
        lock.load().await.unwrap();
        measure("state read (under the lock)", t, calls());
        let t = (calls(), Instant::now());
        state.serial = 2 * u64::from(round) + 1;
        lock.save(&state).await.unwrap();
        measure("state write", t, calls());
        let t = (calls(), Instant::now());
        let record = glinfra::engine::journal::JournalRecord::Removed {
            resource: format!("gone-{round}"),
        };
        lock.append(&record).await.unwrap();
        measure("journal record", t, calls());
        let t = (calls(), Instant::now());
        state.serial += 1;
        lock.save(&state).await.unwrap();
        measure("state write, folding the journal", t, calls());
        let t = (calls(), Instant::now());
        lock.release().await.unwrap();
        measure("release", t, calls());
        let t = (calls(), Instant::now());
        run.read("cost").await.unwrap();
        measure("state read (no lock)", t, calls());
    }
    let size = serde_json::to_vec_pretty(&state).unwrap().len();
    println!(
        "S3 backend costs, mean of {rounds} rounds, state of {} resources ({} KiB):",
        state.resources.len(),
        size / 1024
    );
    for (step, (n, t)) in &cost {
        println!(
            "  {step}: {:.1} calls, {:.1} ms",
            *n as f64 / f64::from(rounds),
            t.as_secs_f64() * 1000.0 / f64::from(rounds)
        );
    }
    let per = |step: &str| cost[step].0 / u64::from(rounds);
    assert_eq!(per("lock"), 1, "PutObject If-None-Match");
    assert_eq!(
        per("state read (under the lock)"),
        2,
        "GetObject + ListObjectsV2"
    );
    assert_eq!(
        per("state write"),
        2,
        "GetObject (the lock) + PutObject If-Match"
    );
    assert_eq!(per("journal record"), 1, "PutObject If-None-Match");
    assert_eq!(
        per("state write, folding the journal"),
        3,
        "+ DeleteObjects"
    );
    assert_eq!(per("release"), 1, "DeleteObject If-Match");
    assert_eq!(per("state read (no lock)"), 2);
}
