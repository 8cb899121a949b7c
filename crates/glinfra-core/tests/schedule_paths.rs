//! Longest paths through a schedule: what the critical-path scheduler orders by
//! and what a run is measured against.

use glinfra_core::{OpPhase, Operation, Schedule};

/// a(1) → b(10) → d(1); a → c(2) → d; e(5) alone.
fn diamond() -> (Schedule, [f64; 5]) {
    let op = |step| Operation {
        step,
        phase: OpPhase::Create,
    };
    let schedule = Schedule {
        ops: (0..5).map(op).collect(),
        waits_for: vec![vec![], vec![0], vec![0], vec![1, 2], vec![]],
    };
    (schedule, [1.0, 10.0, 2.0, 1.0, 5.0])
}

#[test]
fn remaining_is_the_longest_path_to_the_end() {
    let (s, w) = diamond();
    assert_eq!(s.remaining(|o| w[o]), [12.0, 11.0, 3.0, 1.0, 5.0]);
}

#[test]
fn through_is_the_longest_path_through_each_and_gives_slack() {
    let (s, w) = diamond();
    let through = s.through(|o| w[o]);
    assert_eq!(through, [12.0, 12.0, 4.0, 12.0, 5.0]);
    let slack: Vec<f64> = through.iter().map(|t| 12.0 - t).collect();
    assert_eq!(slack, [0.0, 0.0, 8.0, 0.0, 7.0]);
}

#[test]
fn the_critical_path_follows_the_longest_branch() {
    let (s, w) = diamond();
    assert_eq!(s.critical_path(|o| w[o]), (vec![0, 1, 3], 12.0));
    let empty = Schedule {
        ops: vec![],
        waits_for: vec![],
    };
    assert_eq!(empty.critical_path(|_| 1.0), (vec![], 0.0));
}
