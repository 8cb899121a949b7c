//! Live progress of an apply, in one of three displays:
//! - on a terminal, the operations in flight as lines updated in place (resource,
//!   phase, time elapsed, what the kind typically takes), finished ones scrolling
//!   above, and an overall bar with the expected time left;
//! - otherwise plain timestamped lines, with a "still ..." line for an operation
//!   every 30 seconds it runs and a count every minute;
//! - with `--json`, the events as JSON lines (`docs/events-json.md`).

mod estimate;

pub use estimate::{Estimate, InFlight};

use glinfra_core::{OpPhase, Plan};
use glinfra_engine::timing::Latency;
use glinfra_engine::{Event, Observer};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The version of the JSON event lines (`docs/events-json.md`).
pub const EVENTS_SCHEMA: &str = "glinfra.events/v1";

/// Where and how progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Lines updated in place on a terminal.
    Terminal,
    /// Plain timestamped lines (a log, a CI job).
    Lines,
    /// JSON lines on standard output.
    Json,
}

impl Display {
    /// JSON when asked, lines updated in place when standard error is a terminal,
    /// plain lines otherwise.
    pub fn detect(json: bool) -> Display {
        if json {
            Display::Json
        } else if std::io::stderr().is_terminal() {
            Display::Terminal
        } else {
            Display::Lines
        }
    }
}

/// What the operation does, as words: (symbol, while running, when done).
fn words(phase: OpPhase) -> (&'static str, &'static str, &'static str) {
    match phase {
        OpPhase::Create => ("+", "creating", "created"),
        OpPhase::ReplaceCreate => ("+", "creating replacement", "created replacement"),
        OpPhase::Update => ("~", "updating", "updated"),
        OpPhase::Delete => ("-", "deleting", "deleted"),
        OpPhase::ReplaceDelete => ("-", "deleting (replaced)", "deleted (replaced)"),
        OpPhase::DeleteReplaced => (
            "-",
            "deleting the old one (replaced)",
            "deleted the old one (replaced)",
        ),
    }
}

/// `4s`, `2m05s`, `1h02m`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// What a kind typically takes: `1-3s`, `10-15m`.
pub fn typical(l: Latency) -> String {
    if l.max < 120.0 {
        let precision = usize::from(l.min < 1.0);
        format!("{:.precision$}-{:.0}s", l.min, l.max)
    } else {
        format!("{:.0}-{:.0}m", l.min / 60.0, l.max / 60.0)
    }
}

struct Shared {
    estimate: Estimate,
    done: usize,
    /// The line of each operation in flight (terminal display).
    bars: HashMap<(String, OpPhase), ProgressBar>,
    /// Per operation in flight, how many "still ..." lines it has had (line display).
    heartbeats: HashMap<(String, OpPhase), u64>,
    last_count: Instant,
}

/// Shows an apply's events as they happen.
pub struct Progress {
    display: Display,
    multi: MultiProgress,
    overall: ProgressBar,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

const TICK: Duration = Duration::from_millis(500);
const HEARTBEAT: Duration = Duration::from_secs(30);
const COUNT_EVERY: Duration = Duration::from_secs(60);

impl Progress {
    /// A display of the apply of `plan`.
    pub fn new(plan: &Plan, display: Display) -> Progress {
        let estimate = Estimate::new(plan);
        let multi = MultiProgress::with_draw_target(match display {
            Display::Terminal => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        });
        let overall = multi.add(ProgressBar::new(estimate.len() as u64));
        overall.set_style(
            ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}")
                .expect("valid template"),
        );
        let now = Instant::now();
        let shared = Arc::new(Mutex::new(Shared {
            estimate,
            done: 0,
            bars: HashMap::new(),
            heartbeats: HashMap::new(),
            last_count: now,
        }));
        let progress = Progress {
            display,
            multi,
            overall,
            shared,
            stop: Arc::new(AtomicBool::new(false)),
            ticker: Mutex::new(None),
        };
        if display != Display::Json {
            progress.start_ticker();
        }
        progress
    }

    /// Refreshes the lines in flight and the estimate (terminal), or prints the
    /// "still ..." lines and the count (plain lines), every half second.
    fn start_ticker(&self) {
        let shared = self.shared.clone();
        let stop = self.stop.clone();
        let overall = self.overall.clone();
        let display = self.display;
        let handle = std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                let mut s = shared.lock().expect("progress lock");
                tick(&mut s, display, &overall, Instant::now());
            }
        });
        *self.ticker.lock().expect("ticker lock") = Some(handle);
    }

    fn say(&self, text: String) {
        match self.display {
            Display::Terminal => self.multi.println(text).unwrap_or(()),
            Display::Lines => eprintln!("{} {text}", timestamp()),
            Display::Json => {}
        }
    }

    /// Stops the display and removes the lines in flight and the bar.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.ticker.lock().expect("ticker lock").take() {
            let _ = handle.join();
        }
        let mut s = self.shared.lock().expect("progress lock");
        for (_, bar) in s.bars.drain() {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
    }

    fn over(&self, resource: &str, phase: OpPhase, line: String) {
        let mut s = self.shared.lock().expect("progress lock");
        s.estimate.finished(resource, phase);
        s.done += 1;
        let key = (resource.to_string(), phase);
        if let Some(bar) = s.bars.remove(&key) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        s.heartbeats.remove(&key);
        self.overall.inc(1);
        drop(s);
        self.say(line);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `2026-11-30T19:40:01Z`.
fn timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn in_flight_line(f: &InFlight) -> String {
    let (symbol, doing, _) = words(f.phase);
    format!(
        "{symbol} {}: {doing}, {} (typically {})",
        f.resource,
        duration(f.elapsed),
        typical(f.typical)
    )
}

fn tick(s: &mut Shared, display: Display, overall: &ProgressBar, now: Instant) {
    let flying = s.estimate.in_flight(now);
    let left = s
        .estimate
        .time_left(now)
        .map(|d| format!("~{} left (expected on AWS)", duration(d)))
        .unwrap_or_default();
    match display {
        Display::Terminal => {
            for f in &flying {
                if let Some(bar) = s.bars.get(&(f.resource.clone(), f.phase)) {
                    bar.set_message(in_flight_line(f));
                    bar.tick();
                }
            }
            overall.set_message(format!("{} in flight, {left}", flying.len()));
        }
        Display::Lines => {
            for f in &flying {
                let beats = s
                    .heartbeats
                    .entry((f.resource.clone(), f.phase))
                    .or_default();
                let due = f.elapsed.as_secs() / HEARTBEAT.as_secs();
                if due > *beats {
                    *beats = due;
                    let (symbol, doing, _) = words(f.phase);
                    eprintln!(
                        "{} {symbol} {}: still {doing} ({} elapsed, typically {})",
                        timestamp(),
                        f.resource,
                        duration(f.elapsed),
                        typical(f.typical)
                    );
                }
            }
            if now.duration_since(s.last_count) >= COUNT_EVERY {
                s.last_count = now;
                eprintln!(
                    "{} {}/{} operations done, {} in flight, {left}",
                    timestamp(),
                    s.done,
                    s.estimate.len(),
                    flying.len()
                );
            }
        }
        Display::Json => {}
    }
}

/// One event as a versioned JSON line: `schema`, `time`, then the event's fields.
pub fn json_line(event: &Event) -> String {
    let mut value = serde_json::to_value(event).expect("events serialise");
    if let serde_json::Value::Object(fields) = &mut value {
        let mut line = serde_json::Map::new();
        line.insert("schema".into(), EVENTS_SCHEMA.into());
        line.insert("time".into(), timestamp().into());
        line.extend(std::mem::take(fields));
        return serde_json::Value::Object(line).to_string();
    }
    value.to_string()
}

impl Observer for Progress {
    fn event(&self, event: &Event) {
        if self.display == Display::Json {
            println!("{}", json_line(event));
            return;
        }
        match event {
            Event::Started { resource, phase } => {
                let mut s = self.shared.lock().expect("progress lock");
                let now = Instant::now();
                let typical_of = s.estimate.started(resource, *phase, now);
                let (symbol, doing, _) = words(*phase);
                match self.display {
                    Display::Terminal => {
                        let bar = self
                            .multi
                            .insert_before(&self.overall, ProgressBar::new_spinner());
                        bar.set_style(
                            ProgressStyle::with_template("  {spinner} {wide_msg}")
                                .expect("valid template"),
                        );
                        bar.set_message(format!("{symbol} {resource}: {doing}"));
                        s.bars.insert((resource.clone(), *phase), bar);
                    }
                    _ => {
                        drop(s);
                        let typical_of = typical_of
                            .map(|l| format!(" (typically {})", typical(l)))
                            .unwrap_or_default();
                        self.say(format!("{symbol} {resource}: {doing}{typical_of}"));
                    }
                }
            }
            Event::Retrying {
                resource,
                attempt,
                delay_ms,
                error,
                ..
            } => self.say(format!(
                "! {resource}: attempt {attempt} failed ({error}); retrying in {:.1}s",
                *delay_ms as f64 / 1000.0
            )),
            Event::Adopted { resource } => self.say(format!(
                "= {resource}: found an existing resource with this stack's tags; adopted it"
            )),
            Event::Succeeded {
                resource,
                phase,
                elapsed_ms,
            } => {
                let (symbol, _, done) = words(*phase);
                self.over(
                    resource,
                    *phase,
                    format!(
                        "{symbol} {resource}: {done} ({})",
                        duration(Duration::from_millis(*elapsed_ms))
                    ),
                );
            }
            Event::Failed {
                resource,
                phase,
                error,
            } => self.over(resource, *phase, format!("x {resource}: FAILED: {error}")),
            Event::Skipped {
                resource,
                phase,
                blocked_by,
            } => self.over(
                resource,
                *phase,
                format!(". {resource}: skipped, because {blocked_by} failed"),
            ),
            Event::Cancelled {
                resource,
                phase,
                reason,
            } => self.over(
                resource,
                *phase,
                format!(". {resource}: not started ({reason})"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_typical_latencies_read_naturally() {
        assert_eq!(duration(Duration::from_secs(4)), "4s");
        assert_eq!(duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
        assert_eq!(typical(Latency { min: 1.0, max: 3.0 }), "1-3s");
        assert_eq!(typical(Latency { min: 0.2, max: 1.0 }), "0.2-1s");
        assert_eq!(
            typical(Latency {
                min: 600.0,
                max: 900.0
            }),
            "10-15m"
        );
    }

    #[test]
    fn json_lines_carry_the_schema_and_time_first() {
        let line = json_line(&Event::Adopted {
            resource: "vpc".into(),
        });
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["schema"], EVENTS_SCHEMA);
        assert_eq!(value["event"], "adopted");
        assert_eq!(value["resource"], "vpc");
        assert!(
            line.starts_with(r#"{"schema":"glinfra.events/v1","time":""#),
            "{line}"
        );
        let time = value["time"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    }
}
