//! What a stack lock records: who holds it, since when, until when (a lease), and
//! what it overrode; and the lock events kept in a remote state's history.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A stack's lock as its holder wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock's id (what `force-unlock` asks for).
    pub lock_id: String,
    /// The stack.
    #[serde(default)]
    pub stack: String,
    /// The user who ran it (`$USER`).
    #[serde(default)]
    pub user: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The run (the id its journal records carry).
    #[serde(default)]
    pub run_id: String,
    /// The command line.
    #[serde(default)]
    pub command: String,
    /// When the lock was taken.
    pub acquired_at: DateTime<Utc>,
    /// When its lease was last renewed (a remote lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed_at: Option<DateTime<Utc>>,
    /// When its lease runs out unless renewed (a remote lock; a local OS lock has
    /// none: it dies with its holder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The lock this one replaced, when it was taken over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_over: Option<Box<LockEvent>>,
    /// Set by `force-unlock`: the lock is released, by whom and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<Released>,
}

/// A `force-unlock`: who removed a lock, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    /// `user@host (process N)`.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Why a lock was replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockEventKind {
    /// Its lease expired (its holder was killed or lost its connection) and a new
    /// run took it over.
    LeaseExpired,
    /// A person removed it with `force-unlock`, and a new run took the stack.
    ForceUnlocked,
}

/// A lock replaced by another: recorded in the new lock and in the state's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEvent {
    /// Why.
    pub kind: LockEventKind,
    /// When it was replaced.
    pub at: DateTime<Utc>,
    /// The new holder, `user@host (process N, run R)`.
    pub by: String,
    /// The lock replaced, as it was.
    pub previous: LockInfo,
}

impl LockInfo {
    /// A lock for this process on `stack` for run `run_id`, taken `now`, with a lease
    /// of `lease` when it has one.
    pub fn mine(stack: &str, run_id: &str, now: DateTime<Utc>, lease: Option<Duration>) -> Self {
        LockInfo {
            lock_id: format!("{:016x}", rand::random::<u64>()),
            stack: stack.to_string(),
            user: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            pid: std::process::id(),
            run_id: run_id.to_string(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            acquired_at: now,
            renewed_at: None,
            expires_at: lease.map(|l| now + chrono::Duration::from_std(l).unwrap_or_default()),
            took_over: None,
            released: None,
        }
    }

    /// Who, in a few words: `user@host (process N, run R)`.
    pub fn who(&self) -> String {
        let run = if self.run_id.is_empty() {
            String::new()
        } else {
            format!(", run {}", self.run_id)
        };
        format!("{}@{} (process {}{run})", self.user, self.host, self.pid)
    }

    /// The same lock with its lease renewed at `now` for `lease`.
    pub fn renewed(&self, now: DateTime<Utc>, lease: Duration) -> Self {
        LockInfo {
            renewed_at: Some(now),
            expires_at: Some(now + chrono::Duration::from_std(lease).unwrap_or_default()),
            ..self.clone()
        }
    }
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} since {} (lock {}",
            self.who(),
            time(&self.acquired_at),
            self.lock_id
        )?;
        if let Some(expires) = &self.expires_at {
            write!(f, ", lease until {}", time(expires))?;
        }
        if !self.command.is_empty() {
            write!(f, ", `{}`", self.command)?;
        }
        write!(f, ")")
    }
}

impl std::fmt::Display for LockEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.kind {
            LockEventKind::LeaseExpired => "its lease expired".to_string(),
            LockEventKind::ForceUnlocked => match &self.previous.released {
                Some(r) => format!("force-unlocked by {} at {}", r.by, time(&r.at)),
                None => "force-unlocked".to_string(),
            },
        };
        write!(
            f,
            "{} took over at {} the lock of {} ({why})",
            self.by,
            time(&self.at),
            self.previous
        )
    }
}
