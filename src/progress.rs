//! Live progress of an apply: a progress bar on a terminal, plain lines otherwise,
//! JSON lines for machines.

use glinfra_core::OpPhase;
use glinfra_engine::{Event, Observer};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// Shows apply events as they happen.
pub struct Progress {
    bar: ProgressBar,
    json: bool,
}

fn verb(phase: OpPhase) -> (&'static str, &'static str) {
    match phase {
        OpPhase::Create => ("+", "created"),
        OpPhase::ReplaceCreate => ("+", "created replacement"),
        OpPhase::Update => ("~", "updated"),
        OpPhase::Delete => ("-", "deleted"),
        OpPhase::ReplaceDelete => ("-", "deleted (replaced)"),
        OpPhase::DeleteReplaced => ("-", "deleted the old one (replaced)"),
    }
}

impl Progress {
    /// A progress display for `operations` operations; `json` prints one JSON event per line.
    pub fn new(operations: usize, json: bool) -> Progress {
        let bar = if json {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(operations as u64)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
            )
            .expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar, json }
    }

    fn line(&self, text: String) {
        if self.bar.is_hidden() {
            eprintln!("{text}");
        } else {
            self.bar.println(text);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn event(&self, event: &Event) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string(event).expect("events serialise")
            );
            return;
        }
        match event {
            Event::Started { resource, phase } => {
                self.bar
                    .set_message(format!("{} {resource}", verb(*phase).0));
            }
            Event::Retrying {
                resource,
                attempt,
                delay_ms,
                error,
                ..
            } => self.line(format!(
                "  ! {resource}: attempt {attempt} failed ({error}); retrying in {:.1}s",
                *delay_ms as f64 / 1000.0
            )),
            Event::Adopted { resource } => self.line(format!(
                "  = {resource}: found an existing resource with this stack's tags; adopted it"
            )),
            Event::Succeeded {
                resource,
                phase,
                elapsed_ms,
            } => {
                let (symbol, done) = verb(*phase);
                self.bar.inc(1);
                self.line(format!(
                    "  {symbol} {resource}: {done} ({:.1}s)",
                    *elapsed_ms as f64 / 1000.0
                ));
            }
            Event::Failed {
                resource, error, ..
            } => {
                self.bar.inc(1);
                self.line(format!("  x {resource}: FAILED: {error}"));
            }
            Event::Skipped {
                resource,
                blocked_by,
                ..
            } => {
                self.bar.inc(1);
                self.line(format!(
                    "  . {resource}: skipped, because {blocked_by} failed"
                ));
            }
            Event::Cancelled {
                resource, reason, ..
            } => {
                self.bar.inc(1);
                self.line(format!("  . {resource}: not started ({reason})"));
            }
        }
    }
}
