//! The lease of a remote stack lock, as pure decisions over a clock.
//!
//! A remote lock (an object written with `If-None-Match: *`) records when its
//! lease runs out; its holder renews it every [`LeaseConfig::renew_every`] with a
//! write conditional on the lock's ETag. Two decisions follow, both here and both
//! free of IO:
//!
//! - a run that finds the stack locked refuses at once ([`Verdict::Held`]) until the
//!   lease has been over for [`LeaseConfig::margin`], then takes the lock over
//!   ([`Verdict::Expired`]) with a write conditional on the expired lock's ETag;
//! - the holder starts no mutating call once its lease is within `margin` of running
//!   out unrenewed, or once a renewal found the lock replaced ([`Lease::check`]).
//!
//! The margin on both sides absorbs clocks that disagree by less than it (NTP keeps
//! hosts within milliseconds); the lock's times are each writer's wall clock.

use super::lock::LockInfo;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Lease timings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// How long a lock lasts unless renewed.
    pub lease: Duration,
    /// How often its holder renews it.
    pub renew_every: Duration,
    /// Allowance for clocks that disagree: others take the lock over only this long
    /// after its lease ran out; its holder stops this long before.
    pub margin: Duration,
}

impl LeaseConfig {
    /// The default lease: 60 s, renewed every 20 s.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

    /// A lease of `lease`, renewed every third of it, with a margin of a sixth of it
    /// (at most 5 s).
    pub fn new(lease: Duration) -> Self {
        let lease = lease.max(Duration::from_secs(1));
        LeaseConfig {
            lease,
            renew_every: lease / 3,
            margin: (lease / 6).min(Duration::from_secs(5)),
        }
    }
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig::new(Self::DEFAULT_LEASE)
    }
}

/// The wall clock leases are judged by.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A wall clock that moves with tokio's clock: paused and advanced by hand in tests
/// (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`).
#[derive(Clone, Debug)]
pub struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading the system time now, moving with tokio's clock from here.
    pub fn new() -> Self {
        TokioClock {
            base: Utc::now(),
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default()
    }
}

fn between(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or_default()
}

fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap_or_default()
}

fn minus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t - chrono::Duration::from_std(d).unwrap_or_default()
}

/// What a run that wants a stack decides about the lock it found there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Someone holds it: refuse at once. Its lease runs out in `expires_in`
    /// (after which, plus the margin, it may be taken over).
    Held {
        /// Until the lock may be taken over.
        takeover_in: Duration,
    },
    /// Its lease ran out `since` ago (beyond the margin): take it over, conditionally
    /// on its ETag, recording the takeover.
    Expired {
        /// How long ago the lease ran out.
        since: Duration,
    },
    /// `force-unlock` released it: take it, recording whose it was.
    Released,
    /// It is this run's own lock (a write whose answer was lost reached the store).
    Mine,
}

/// Judges the lock `found` for the run whose lock id is `mine`, at `now`.
pub fn judge(found: &LockInfo, mine: &str, now: DateTime<Utc>, config: &LeaseConfig) -> Verdict {
    // Released first: force-unlock keeps the released lock's id.
    if found.released.is_some() {
        return Verdict::Released;
    }
    if found.lock_id == mine {
        return Verdict::Mine;
    }
    // A lock without a lease (written by hand, or by a future format) never expires:
    // only force-unlock removes it.
    let Some(expires) = found.expires_at else {
        return Verdict::Held {
            takeover_in: Duration::MAX,
        };
    };
    let takeover_at = plus(expires, config.margin);
    if now >= takeover_at {
        Verdict::Expired {
            since: between(expires, now),
        }
    } else {
        Verdict::Held {
            takeover_in: between(now, takeover_at),
        }
    }
}

/// After a conditional renewal (or release) of lock `mine` was refused, what the
/// lock found there means: `None` when it is still this run's (an earlier write
/// whose answer was lost landed), else why the lock is lost.
pub fn renewal_refused(found: Option<&LockInfo>, mine: &str) -> Option<String> {
    match found {
        Some(LockInfo {
            released: Some(r), ..
        }) => Some(format!("removed with force-unlock by {}", r.by)),
        Some(f) if f.lock_id == mine => None,
        Some(f) => Some(format!("taken over by {}", f.who())),
        None => Some("its lock object was deleted".into()),
    }
}

/// The holder's own view of its lease.
#[derive(Clone, Debug)]
pub struct Lease {
    config: LeaseConfig,
    expires_at: DateTime<Utc>,
    lost: Option<String>,
}

impl Lease {
    /// A lease running out at `expires_at`.
    pub fn new(config: LeaseConfig, expires_at: DateTime<Utc>) -> Self {
        Lease {
            config,
            expires_at,
            lost: None,
        }
    }

    /// The lease's timings.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// When it runs out unless renewed.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// A renewal succeeded: it now runs out at `expires_at`.
    pub fn renewed(&mut self, expires_at: DateTime<Utc>) {
        if self.lost.is_none() {
            self.expires_at = expires_at;
        }
    }

    /// The lock is no longer this run's, for `reason`. Final.
    pub fn lose(&mut self, reason: impl Into<String>) {
        self.lost.get_or_insert(reason.into());
    }

    /// Whether a mutating call may start at `now`: the reason when it may not (the
    /// lock was lost, or its lease is within the margin of running out unrenewed,
    /// when another run may take it over).
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), String> {
        if let Some(reason) = &self.lost {
            return Err(reason.clone());
        }
        if now >= minus(self.expires_at, self.config.margin) {
            return Err(format!(
                "its lease could not be renewed in time (it runs out at {})",
                self.expires_at.to_rfc3339()
            ));
        }
        Ok(())
    }

    /// Why the lock is lost, once it is (for good).
    pub fn lost_reason(&self) -> Option<String> {
        self.lost.clone()
    }

    /// True once the lock is lost for good.
    pub fn is_lost(&self) -> bool {
        self.lost.is_some()
    }

    /// How long to wait before the next renewal: `renew_every` after a success; after
    /// a failed attempt, a quarter of that (at least 100 ms), and never past the point
    /// where the holder must stop.
    pub fn next_renewal_in(&self, now: DateTime<Utc>, after_failure: bool) -> Duration {
        let wanted = if after_failure {
            (self.config.renew_every / 4).max(Duration::from_millis(100))
        } else {
            self.config.renew_every
        };
        let stop_at = minus(self.expires_at, self.config.margin);
        wanted.min(between(now, stop_at).max(Duration::from_millis(100)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    fn lock(id: &str, clock: &TokioClock, config: &LeaseConfig) -> LockInfo {
        LockInfo {
            lock_id: id.into(),
            ..LockInfo::mine("s", "run-1", clock.now(), Some(config.lease))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_lock_is_held_until_its_lease_and_the_margin_are_over_then_expired() {
        let clock = TokioClock::new();
        let config = LeaseConfig::new(Duration::from_secs(60));
        assert_eq!(config.renew_every, Duration::from_secs(20));
        assert_eq!(config.margin, Duration::from_secs(5));
        let theirs = lock("theirs", &clock, &config);
        assert_eq!(
            judge(&theirs, "mine", clock.now(), &config),
            Verdict::Held {
                takeover_in: Duration::from_secs(65)
            }
        );
        advance(Duration::from_secs(64)).await;
        assert!(matches!(
            judge(&theirs, "mine", clock.now(), &config),
            Verdict::Held { takeover_in } if takeover_in == Duration::from_secs(1)
        ));
        advance(Duration::from_secs(1)).await;
        assert_eq!(
            judge(&theirs, "mine", clock.now(), &config),
            Verdict::Expired {
                since: Duration::from_secs(5)
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewed_lock_is_held_again_and_own_or_released_locks_are_taken() {
        let clock = TokioClock::new();
        let config = LeaseConfig::new(Duration::from_secs(6));
        let theirs = lock("theirs", &clock, &config);
        advance(Duration::from_secs(5)).await;
        let renewed = theirs.renewed(clock.now(), config.lease);
        advance(Duration::from_secs(5)).await;
        assert!(matches!(
            judge(&renewed, "mine", clock.now(), &config),
            Verdict::Held { .. }
        ));
        assert!(matches!(
            judge(&theirs, "mine", clock.now(), &config),
            Verdict::Expired { .. }
        ));
        assert_eq!(
            judge(&renewed, "theirs", clock.now(), &config),
            Verdict::Mine
        );
        let released = LockInfo {
            released: Some(super::super::lock::Released {
                by: "ops@laptop".into(),
                at: clock.now(),
            }),
            ..renewed
        };
        assert_eq!(
            judge(&released, "mine", clock.now(), &config),
            Verdict::Released
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_holder_stops_before_its_lease_runs_out_unrenewed() {
        let clock = TokioClock::new();
        let config = LeaseConfig::new(Duration::from_secs(60));
        let mut lease = Lease::new(config, plus(clock.now(), config.lease));
        assert_eq!(lease.check(clock.now()), Ok(()));
        assert_eq!(
            lease.next_renewal_in(clock.now(), false),
            Duration::from_secs(20)
        );
        advance(Duration::from_secs(20)).await;
        lease.renewed(plus(clock.now(), config.lease));
        // Renewals fail from here: retried every 5 s, and mutating calls stop at 55 s
        // past the last renewal, 10 s before anyone else may take over.
        advance(Duration::from_secs(54)).await;
        assert_eq!(lease.check(clock.now()), Ok(()));
        assert_eq!(
            lease.next_renewal_in(clock.now(), true),
            Duration::from_secs(1)
        );
        advance(Duration::from_secs(1)).await;
        let refused = lease.check(clock.now()).unwrap_err();
        assert!(refused.contains("could not be renewed"), "{refused}");
        assert!(!lease.is_lost(), "a late renewal may still save it");
        lease.renewed(plus(clock.now(), config.lease));
        assert_eq!(lease.check(clock.now()), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_refused_because_the_lock_was_taken_over_loses_it_for_good() {
        let clock = TokioClock::new();
        let config = LeaseConfig::default();
        let mine = lock("mine", &clock, &config);
        let theirs = lock("theirs", &clock, &config);
        assert_eq!(renewal_refused(Some(&mine), "mine"), None);
        let why = renewal_refused(Some(&theirs), "mine").unwrap();
        assert!(why.starts_with("taken over by "), "{why}");
        assert_eq!(
            renewal_refused(None, "mine").as_deref(),
            Some("its lock object was deleted")
        );
        let mut lease = Lease::new(config, plus(clock.now(), config.lease));
        lease.lose(why.clone());
        lease.renewed(plus(clock.now(), config.lease));
        assert_eq!(lease.check(clock.now()), Err(why));
        assert!(lease.is_lost());
    }
}
