//! A run's timeline: when each operation ran and when it waited for AWS, drawn as
//! a Gantt chart (SVG) with the run's critical path highlighted. Recorded by the
//! executor when [`ApplyOptions::timeline`](crate::ApplyOptions) is set, the same
//! way for a real run and for one in the simulated account.

use crate::report::OpStatus;
use glinfra_core::{OpPhase, Plan, Schedule};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// One operation of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Its index in the plan's schedule.
    pub op: usize,
    /// The resource.
    pub resource: String,
    /// The phase.
    pub phase: OpPhase,
    /// Seconds from the start of the run until it started.
    pub start: f64,
    /// Seconds from the start of the run until it ended (`None`: still running).
    pub end: Option<f64>,
    /// How it ended.
    pub status: Option<OpStatus>,
    /// Its waits for AWS (from, to), in seconds from the start of the run.
    pub waits: Vec<(f64, f64)>,
}

/// The timeline of one run.
#[derive(Debug)]
pub struct Timeline {
    start: Mutex<Instant>,
    bars: Mutex<HashMap<usize, Bar>>,
}

tokio::task_local! {
    static RECORDING: (Arc<Timeline>, usize);
}

impl Timeline {
    /// A timeline starting now.
    pub fn new() -> Arc<Timeline> {
        Arc::new(Timeline {
            start: Mutex::new(Instant::now()),
            bars: Mutex::new(HashMap::new()),
        })
    }

    fn at(&self, t: Instant) -> f64 {
        let start = *self.start.lock().expect("timeline");
        t.saturating_duration_since(start).as_secs_f64()
    }

    /// Starts the timeline again now (an apply starts), forgetting what it held.
    pub(crate) fn begin(&self) {
        *self.start.lock().expect("timeline") = Instant::now();
        self.bars.lock().expect("timeline").clear();
    }

    pub(crate) fn started(&self, op: usize, resource: &str, phase: OpPhase) {
        let start = self.at(Instant::now());
        self.bars.lock().expect("timeline").insert(
            op,
            Bar {
                op,
                resource: resource.to_string(),
                phase,
                start,
                end: None,
                status: None,
                waits: Vec::new(),
            },
        );
    }

    pub(crate) fn ended(&self, op: usize, status: OpStatus) {
        let end = self.at(Instant::now());
        if let Some(bar) = self.bars.lock().expect("timeline").get_mut(&op) {
            bar.end = Some(end);
            bar.status = Some(status);
        }
    }

    /// Runs `f` with its waits recorded as operation `op`'s.
    pub(crate) async fn recording<F: std::future::Future>(
        self: Arc<Self>,
        op: usize,
        f: F,
    ) -> F::Output {
        RECORDING.scope((self, op), f).await
    }

    /// The operations recorded, by start.
    pub fn bars(&self) -> Vec<Bar> {
        let mut bars: Vec<Bar> = self
            .bars
            .lock()
            .expect("timeline")
            .values()
            .cloned()
            .collect();
        bars.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.op.cmp(&b.op)));
        bars
    }

    /// The run's critical path, from what it measured: from the operation that
    /// ended last, back through the operation it waited for that ended last.
    pub fn critical_path(&self, schedule: &Schedule) -> Vec<usize> {
        let bars = self.bars.lock().expect("timeline");
        let end = |o: &usize| bars.get(o).and_then(|b| b.end);
        let last = |ops: &mut dyn Iterator<Item = usize>| {
            ops.filter_map(|o| end(&o).map(|e| (o, e)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(o, _)| o)
        };
        let mut path = Vec::new();
        let mut next = last(&mut bars.keys().copied());
        while let Some(o) = next {
            path.push(o);
            next = schedule
                .waits_for
                .get(o)
                .and_then(|w| last(&mut w.iter().copied()));
        }
        path.reverse();
        path
    }

    /// The chart of `plan`'s run: one bar per operation (waits shaded), the
    /// critical path in red, a time axis.
    pub fn svg(&self, plan: &Plan) -> String {
        let schedule = Schedule::from_plan(plan);
        let bars = self.bars();
        let critical: std::collections::HashSet<usize> =
            self.critical_path(&schedule).into_iter().collect();
        let makespan = bars
            .iter()
            .filter_map(|b| b.end)
            .fold(0.0f64, f64::max)
            .max(1.0);
        let (left, width, row, top) = (280.0, 1000.0, 14.0, 56.0);
        let x = |t: f64| left + t / makespan * width;
        let height = top + bars.len() as f64 * row + 20.0;
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="monospace" font-size="11">"#,
            left + width + 20.0
        );
        let path_names: Vec<&str> = self
            .critical_path(&schedule)
            .iter()
            .filter_map(|o| bars.iter().find(|b| b.op == *o))
            .map(|b| b.resource.as_str())
            .collect();
        let _ = writeln!(
            out,
            r#"<text x="4" y="16" font-size="13">{}: {} operations in {:.0} s; critical path (red): {}</text>"#,
            escape(&plan.stack),
            bars.len(),
            makespan,
            escape(&path_names.join(" → "))
        );
        let step = tick(makespan);
        let mut t = 0.0;
        while t <= makespan {
            let _ = writeln!(
                out,
                r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{height}" stroke="#ddd"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3}</text>"##,
                x(t),
                top - 8.0,
                top - 12.0,
                clock(t)
            );
            t += step;
        }
        for (i, b) in bars.iter().enumerate() {
            let y = top + i as f64 * row;
            let end = b.end.unwrap_or(makespan);
            let on_path = critical.contains(&b.op);
            let (call, wait) = match (b.status, on_path) {
                (Some(OpStatus::Failed), _) => ("#555555", "#aaaaaa"),
                (_, true) => ("#d9534f", "#f2b8b5"),
                _ => ("#4a90d9", "#bcd4ee"),
            };
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{} {}</text>"#,
                left - 6.0,
                y + 10.0,
                escape(&b.resource),
                phase(b.phase)
            );
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.2}" height="11" fill="{call}"><title>{} {}: {:.1}-{:.1} s</title></rect>"#,
                x(b.start),
                (x(end) - x(b.start)).max(1.0),
                escape(&b.resource),
                phase(b.phase),
                b.start,
                end
            );
            for (from, to) in &b.waits {
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.2}" height="7" fill="{wait}"/>"#,
                    x(*from),
                    y + 2.0,
                    (x(*to) - x(*from)).max(0.5)
                );
            }
        }
        out.push_str("</svg>\n");
        out
    }
}

/// Records the wait that ran from `from` until now as the current operation's
/// (no-op outside a recorded operation).
pub(crate) fn waited(from: Instant) {
    let _ = RECORDING.try_with(|(timeline, op)| {
        let span = (timeline.at(from), timeline.at(Instant::now()));
        if let Some(bar) = timeline.bars.lock().expect("timeline").get_mut(op) {
            bar.waits.push(span);
        }
    });
}

fn phase(p: OpPhase) -> &'static str {
    match p {
        OpPhase::Create => "create",
        OpPhase::Update => "update",
        OpPhase::Delete => "delete",
        OpPhase::ReplaceDelete => "delete (replace)",
        OpPhase::ReplaceCreate => "create (replace)",
        OpPhase::DeleteReplaced => "delete replaced",
    }
}

/// A tick interval giving at most 12 ticks over `span` seconds.
fn tick(span: f64) -> f64 {
    [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ]
    .into_iter()
    .find(|s| span / s <= 12.0)
    .unwrap_or(7200.0)
}

/// `m:ss` (or seconds under a minute).
fn clock(t: f64) -> String {
    let s = t.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use glinfra_core::Operation;

    #[tokio::test(start_paused = true)]
    async fn the_critical_path_runs_back_through_what_ended_last() {
        let timeline = Timeline::new();
        let schedule = Schedule {
            ops: (0..3)
                .map(|step| Operation {
                    step,
                    phase: OpPhase::Create,
                })
                .collect(),
            waits_for: vec![vec![], vec![], vec![0, 1]],
        };
        let sleep = |s| tokio::time::sleep(std::time::Duration::from_secs(s));
        timeline.started(0, "a", OpPhase::Create);
        timeline.started(1, "b", OpPhase::Create);
        let t = Instant::now();
        sleep(5).await;
        timeline.clone().recording(1, async { waited(t) }).await;
        timeline.ended(0, OpStatus::Succeeded);
        sleep(5).await;
        timeline.ended(1, OpStatus::Succeeded);
        timeline.started(2, "c", OpPhase::Create);
        sleep(1).await;
        timeline.ended(2, OpStatus::Succeeded);
        assert_eq!(timeline.critical_path(&schedule), [1, 2]);
        let bars = timeline.bars();
        assert_eq!(bars[1].waits, [(0.0, 5.0)]);
        assert_eq!((bars[2].start, bars[2].end), (10.0, Some(11.0)));
        assert_eq!((tick(11.0), clock(75.0)), (1.0, "1:15".to_string()));
    }
}
