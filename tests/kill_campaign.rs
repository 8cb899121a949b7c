//! The kill -9 campaign, against the emulator: the example binary applies the
//! whole prod platform and is killed with SIGKILL at seeded random moments, each
//! kill followed by a fresh process that is killed again, until `KILLS` kills;
//! then a run must converge (exit 0), planning again must find nothing to do,
//! and the AWS APIs must show exactly one resource per logical id, the one the
//! state records. The stack is destroyed at the end.
//!
//! The seed is printed (set `GLINFRA_KILL_SEED` to replay a campaign), with each
//! kill's moment and the campaign's figures. When a run finishes before its kill
//! (nothing was left to do), the stack is destroyed and the campaign goes on, so
//! every kill lands in an apply with work left.

#[path = "kill_campaign/census.rs"]
mod census;
mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const KILLS: usize = 20;

/// splitmix64: a small seeded generator, so a campaign can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

/// When a run is killed: a moment after the process starts (it may still be
/// reading the cloud or planning), after its first operation starts, or just
/// after its n-th operation starts (its journal record written, its call in
/// flight).
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// This long after the process starts.
    Spawn(Duration),
    /// This long after its first operation starts.
    FirstOperation(Duration),
    /// This long after its n-th operation starts.
    Operation(usize, Duration),
}

impl std::fmt::Display for Moment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Moment::Spawn(d) => write!(f, "{d:?} after the start"),
            Moment::FirstOperation(d) => write!(f, "{d:?} after the first operation"),
            Moment::Operation(n, d) => write!(f, "{d:?} after operation {n}"),
        }
    }
}

impl Moment {
    fn pick(rng: &mut Rng) -> Moment {
        match rng.next() % 4 {
            0 => Moment::Spawn(rng.millis(100, 2000)),
            1 => Moment::FirstOperation(rng.millis(0, 1500)),
            _ => Moment::Operation(1 + (rng.next() % 40) as usize, rng.millis(0, 100)),
        }
    }
}

/// How a run ended.
#[derive(Debug)]
enum Ended {
    /// Killed `at` after it started, with `started` operations begun and
    /// `finished` done.
    Killed {
        at: Duration,
        started: usize,
        finished: usize,
    },
    /// It exited on its own.
    Exited { code: Option<i32>, took: Duration },
}

/// The prod environment renamed for this campaign (its own stack and names),
/// nothing protected, buckets emptied on destroy.
fn environment(dir: &Path, name: &str) -> PathBuf {
    let prod = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/prod-us-east-1.toml"),
    )
    .unwrap();
    let mut text = prod.clone();
    for (from, to) in [
        (
            "[stack]\nname = \"prod-us-east-1\"\nenvironment = \"prod\"\n".to_string(),
            format!("[stack]\nname = \"{name}\"\nenvironment = \"{name}\"\nprotect = false\n"),
        ),
        (
            "force_destroy = false".into(),
            "force_destroy = true".into(),
        ),
        (
            "deletion_protection = true".into(),
            "deletion_protection = false".into(),
        ),
        // Its policy allows what the campaign needs: a database it can delete.
        (
            "database-deletion-protection = \"mandatory\"".into(),
            "database-deletion-protection = \"advisory\"".into(),
        ),
    ] {
        assert!(text.contains(&from), "the prod environment has `{from}`");
        text = text.replace(&from, &to);
    }
    // One per account and region: off, as in every copy (tests/common).
    let text = common::account_services_off_text(&text);
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

struct Campaign {
    bin: PathBuf,
    env: PathBuf,
    state: PathBuf,
    logs: PathBuf,
    stack: String,
    runs: usize,
}

impl Campaign {
    fn command(&mut self, args: &[&str]) -> (Command, PathBuf) {
        self.runs += 1;
        let log = self.logs.join(format!("run-{:02}.stderr", self.runs));
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--env")
            .arg(&self.env)
            .arg("--state-dir")
            .arg(&self.state)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        (cmd, log)
    }

    /// `apply --json`, killed at `moment` unless it ends first.
    fn apply(&mut self, moment: Moment) -> Ended {
        let (mut cmd, _) = self.command(&["apply", "--json"]);
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let began = Instant::now();
        let mut kill_at = match moment {
            Moment::Spawn(d) => Some(began + d),
            Moment::FirstOperation(_) | Moment::Operation(..) => None,
        };
        let (mut started, mut finished) = (0, 0);
        loop {
            let deadline = kill_at.unwrap_or(began + Duration::from_secs(600));
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if event_of(&line) == "started" => {
                    started += 1;
                    match (kill_at, moment) {
                        (None, Moment::FirstOperation(d)) => kill_at = Some(Instant::now() + d),
                        (None, Moment::Operation(n, d)) if started == n => {
                            kill_at = Some(Instant::now() + d)
                        }
                        _ => {}
                    }
                }
                Ok(line) if event_of(&line) == "succeeded" => finished += 1,
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().unwrap();
                    return Ended::Exited {
                        code: status.code(),
                        took: began.elapsed(),
                    };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // SIGKILL, as `kill -9`: no handler runs, nothing is flushed.
                    child.kill().unwrap();
                    child.wait().unwrap();
                    return Ended::Killed {
                        at: began.elapsed(),
                        started,
                        finished,
                    };
                }
            }
        }
    }

    /// Runs the binary with `args` to the end: its exit code and stdout.
    fn run(&mut self, args: &[&str]) -> (Option<i32>, String, PathBuf) {
        let (mut cmd, log) = self.command(args);
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            log,
        )
    }

    fn destroy(&mut self) {
        let stack = self.stack.clone();
        let (code, out, log) = self.run(&["destroy", "--yes", "--confirm", &stack]);
        assert_eq!(code, Some(0), "destroy: {out}\n{}", tail(&log));
    }

    /// The logical ids the state records, each with its kind.
    fn recorded(&mut self) -> Vec<(String, String)> {
        let (code, out, log) = self.run(&["state", "list"]);
        assert_eq!(code, Some(0), "{}", tail(&log));
        out.lines()
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols[1].to_string(), cols[0].to_string())
            })
            .collect()
    }
}

/// The last lines of a run's stderr.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The census can fail: a second VPC carrying the ownership tags of `vpc`,
/// made through the API, shows as a duplicate (and is deleted again).
async fn census_sees_a_duplicate(stack: &str, ids: &[String], before: &census::Census) {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let ec2 = aws_sdk_ec2::Client::new(&common::sdk().await);
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::Vpc)
        .tags(Tag::builder().key("glinfra:stack").value(stack).build())
        .tags(
            Tag::builder()
                .key("glinfra:logical-id")
                .value("vpc")
                .build(),
        )
        .build();
    let made = ec2
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .tag_specifications(tags)
        .send()
        .await
        .unwrap();
    let extra = made.vpc().unwrap().vpc_id().unwrap().to_string();
    let after = census::census(stack, ids).await;
    let key = ("aws:ec2/vpc".to_string(), "vpc".to_string());
    assert_eq!(after[&key].len(), 2, "{:?}", after[&key]);
    assert_eq!(before[&key].len(), 1);
    ec2.delete_vpc().vpc_id(&extra).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_kills_then_one_run_converges_with_no_duplicate_and_a_no_op_replan() {
    common::require_emulator();
    let seed = std::env::var("GLINFRA_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("kill campaign: seed {seed} (GLINFRA_KILL_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let stack = format!("kc-{}", common::nonce());
    let mut campaign = Campaign {
        bin: common::example(),
        env: environment(dir.path(), &stack),
        state: dir.path().join("state"),
        logs: dir.path().to_path_buf(),
        stack: stack.clone(),
        runs: 0,
    };
    let start = Instant::now();

    let (mut kills, mut rounds, mut applies) = (0, 1, 0);
    let mut finished_early = Vec::new();
    while kills < KILLS {
        let moment = Moment::pick(&mut rng);
        applies += 1;
        match campaign.apply(moment) {
            Ended::Killed {
                at,
                started,
                finished,
            } => {
                kills += 1;
                println!(
                    "kill {kills:2} (run {:2}, round {rounds}): {moment} → SIGKILL at {:.3}s, {started} operations started, {finished} done",
                    campaign.runs,
                    at.as_secs_f64()
                );
            }
            Ended::Exited { code, took } => {
                println!(
                    "run {:2} ended before its kill ({moment}): exit {code:?} after {:.1}s",
                    campaign.runs,
                    took.as_secs_f64()
                );
                let log = campaign
                    .logs
                    .join(format!("run-{:02}.stderr", campaign.runs));
                assert_eq!(
                    code,
                    Some(0),
                    "a run after a kill failed on its own:\n{}",
                    tail(&log)
                );
                // Nothing was left to do: start again from nothing, so the next kills
                // land in an apply with work to do.
                finished_early.push(campaign.runs);
                campaign.destroy();
                rounds += 1;
            }
        }
    }
    let killing = start.elapsed();

    let converging = Instant::now();
    let (code, out, log) = campaign.run(&["apply"]);
    assert_eq!(
        code,
        Some(0),
        "the run after the kills: {out}\n{}",
        tail(&log)
    );
    let converged = converging.elapsed();
    println!("converged in {:.1}s:\n{}", converged.as_secs_f64(), {
        let l: Vec<&str> = out.lines().filter(|l| l.starts_with("Apply")).collect();
        l.join("\n")
    });

    let (code, plan, log) = campaign.run(&["plan", "--json"]);
    assert_eq!(code, Some(0), "{}", tail(&log));
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan["steps"], serde_json::json!([]), "{plan:#}");
    assert_eq!(plan["drift"], serde_json::json!([]), "{plan:#}");
    let unchanged = plan["summary"]["unchanged"].as_u64().unwrap();

    let recorded = campaign.recorded();
    let ids: Vec<String> = recorded.iter().map(|(_, id)| id.clone()).collect();
    let census = census::census(&stack, &ids).await;
    let duplicates: Vec<_> = census.iter().filter(|(_, v)| v.len() > 1).collect();
    println!(
        "kill campaign figures: seed {seed}, {kills} kills in {applies} apply runs (+1 that converged; {rounds} rounds; runs that ended before their kill: {finished_early:?}), {:.1}s killing, converged in {:.1}s, {unchanged} resources recorded, {} live tagged resources counted through the AWS APIs, {} duplicates",
        killing.as_secs_f64(),
        converged.as_secs_f64(),
        census.values().map(Vec::len).sum::<usize>(),
        duplicates.len()
    );
    assert!(duplicates.is_empty(), "duplicates: {duplicates:#?}");
    // Every tagged resource the state records is live, and nothing else is.
    let kinds: std::collections::BTreeSet<&str> = census.keys().map(|(k, _)| k.as_str()).collect();
    let expected: Vec<(String, String)> = recorded
        .iter()
        .filter(|(kind, _)| kinds.contains(kind.as_str()))
        .cloned()
        .collect();
    let found: Vec<(String, String)> = census.keys().cloned().collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(
        found, expected_sorted,
        "live (tagged) resources against state"
    );
    assert!(
        found.len() >= 60,
        "the census reads the platform: {found:?}"
    );
    census_sees_a_duplicate(&stack, &ids, &census).await;

    campaign.destroy();
    let left = census::census(&stack, &ids).await;
    assert!(left.is_empty(), "left after destroy: {left:#?}");
    println!(
        "kill campaign: {} runs in all, {:.1}s",
        campaign.runs,
        start.elapsed().as_secs_f64()
    );
}

/// The `event` of one JSON event line (`docs/events-json.md`), or "" for any other line.
fn event_of(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v["event"].as_str().map(str::to_string))
        .unwrap_or_default()
}
