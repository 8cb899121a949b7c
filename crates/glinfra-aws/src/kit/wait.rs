//! Waiting, once: polling until a resource reaches a state, with a deadline.
//!
//! A poll that meets a throttled or transient error keeps polling, backing off
//! like any other poll (the SDK does not retry; see ARCHITECTURE.md), so a long
//! wait is not lost to one bad answer; any other error ends the wait at once.
//!
//! A wait that runs past its deadline fails its operation for good (a Fatal
//! error): the executor does not start the operation again, which would wait the
//! whole deadline once more for each of its attempts. What was waited for may still
//! finish in AWS; the next run finds it and resumes.

use crate::clients::Clients;
use glinfra_core::Kind;
use glinfra_engine::timing::Service;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// First poll interval of every wait; it doubles up to [`MAX_POLL`].
pub(crate) const POLL: Duration = if cfg!(test) {
    Duration::from_millis(5)
} else {
    Duration::from_secs(2)
};

/// The longest interval between two polls.
pub(crate) const MAX_POLL: Duration = if cfg!(test) {
    Duration::from_millis(20)
} else {
    Duration::from_secs(10)
};

pub use glinfra_engine::wait::Poll;
use glinfra_engine::wait::Waited;

/// Polls `check` until it is ready, every `interval` (doubling up to [`MAX_POLL`]),
/// failing after `deadline` with a Fatal error naming `what` and the last state
/// seen ([`gave_up`]).
///
/// The loop is the engine's ([`glinfra_engine::wait::poll`]): the wait gives its
/// operation's concurrency slot back while it runs, each poll is paced by its
/// service's token bucket, and the polls are placed by when the latency table
/// expects the resource (none of which happens outside a paced operation).
pub async fn until<T, F, Fut>(
    what: &str,
    deadline: Duration,
    interval: Duration,
    check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    match glinfra_engine::wait::poll(deadline, interval, MAX_POLL.max(interval), check).await? {
        Waited::Ready(v) => Ok(v),
        Waited::GaveUp(seen) => Err(gave_up(what, deadline, &seen)),
    }
}

/// [`until`] for one resource (`id`, of `kind` in `region`) whose service reads
/// many at once: the waits of one kind and region share one `describe` a poll
/// ([`glinfra_engine::batch`]), up to the service's
/// [`Service::describe_batch`] ids. Whichever wait leads a round calls `describe`
/// with every id gathered and paces that one call; the others make none. `check`
/// turns what the describe answered for `id` (`None`: AWS does not know it, yet or
/// any more) into the poll's outcome.
pub async fn until_shared<S, T, D, DFut>(
    c: &Clients,
    (kind, region, id): (Kind, &str, &str),
    what: &str,
    deadline: Duration,
    describe: D,
    check: impl Fn(Option<S>) -> Result<Poll<T>, ProviderError>,
) -> Result<T, ProviderError>
where
    S: Clone + Send + Sync + 'static,
    D: Fn(Vec<String>) -> DFut,
    DFut: Future<Output = Result<HashMap<String, S>, ProviderError>>,
{
    let polls = c.polls::<S>();
    let limit = Service::of(kind).describe_batch();
    let (polls, describe, check) = (&polls, &describe, &check);
    let waited = glinfra_engine::wait::poll_shared(deadline, POLL, MAX_POLL, move || async move {
        let seen = polls.observe(kind, region, id, limit, describe).await?;
        check(seen)
    })
    .await?;
    match waited {
        Waited::Ready(v) => Ok(v),
        Waited::GaveUp(seen) => Err(gave_up(what, deadline, &seen)),
    }
}

/// The describe of a shared poll for an API that takes one id or none
/// (DescribeReplicationGroups, MSK's): one id is described alone by `one` (a
/// resource not known, yet or any more, is `None`), several by `all`, one listing
/// of the region; either way only the ids asked for are kept, by `key`.
pub async fn one_or_all<T, OneFut, AllFut>(
    ids: Vec<String>,
    key: impl Fn(&T) -> Option<&str>,
    one: impl FnOnce(String) -> OneFut,
    all: impl FnOnce() -> AllFut,
) -> Result<HashMap<String, T>, ProviderError>
where
    OneFut: Future<Output = Result<Option<T>, ProviderError>>,
    AllFut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let found: Vec<T> = match ids.as_slice() {
        [id] => one(id.clone()).await?.into_iter().collect(),
        _ => all().await?,
    };
    Ok(found
        .into_iter()
        .filter_map(|x| Some((key(&x)?.to_string(), x)))
        .filter(|(id, _)| ids.contains(id))
        .collect())
}

/// The error of a wait past its deadline: Fatal, so the executor does not run the
/// whole operation again; the resource may still get there, and the next run
/// resumes from what it finds.
pub fn gave_up(what: &str, deadline: Duration, seen: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Fatal,
        format!(
            "gave up waiting for {what} after {}s (still `{seen}`); it may still finish: run again to resume",
            deadline.as_secs()
        ),
    )
}

/// Waits until `describe` finds nothing: `Ok(None)` is gone, `Ok(Some(status))`
/// is still there in that status.
pub async fn gone<F, Fut>(
    what: &str,
    deadline: Duration,
    mut describe: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<String>, ProviderError>>,
{
    until(&format!("{what} deletion"), deadline, POLL, || {
        let seen = describe();
        async move {
            Ok(match seen.await? {
                None => Poll::Ready(()),
                Some(status) => Poll::Pending(status),
            })
        }
    })
    .await
}

/// Runs `op` until it does not fail with NotFound, for up to `deadline`.
///
/// Eventually consistent services (EC2, IAM) can answer NotFound for a resource
/// created a moment ago (this create's own, or a dependency just made) in the
/// next call that names it. Only calls that make nothing when they fail NotFound
/// may go through here. Any other error ends it at once, retryable ones included:
/// a create that timed out may have made something, which the executor's retry
/// finds before it creates again.
pub async fn settle<T, F, Fut>(
    what: &str,
    deadline: Duration,
    mut op: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    until(what, deadline, POLL, || {
        let attempt = op();
        async move {
            Ok(match attempt.await {
                Err(e) if e.class == ErrorClass::NotFound => Poll::Pending(e.message),
                outcome => Poll::Ready(outcome),
            })
        }
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Instant;

    #[tokio::test]
    async fn transient_errors_keep_polling_and_others_stop_it() {
        let calls = AtomicU32::new(0);
        let v = until("x", Duration::from_secs(5), POLL, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(ProviderError::new(ErrorClass::Throttled, "slow down")),
                1 => Ok(Poll::Pending("creating".into())),
                _ => Ok(Poll::Ready(7)),
            }
        })
        .await
        .unwrap();
        assert_eq!((v, calls.load(Ordering::SeqCst)), (7, 3));

        let err = until::<(), _, _>("x", Duration::from_secs(5), POLL, || async {
            Err(ProviderError::new(ErrorClass::Invalid, "bad"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
    }

    #[tokio::test]
    async fn gone_waits_for_nothing_and_times_out_naming_the_state() {
        let calls = AtomicU32::new(0);
        gone("cluster c", Duration::from_secs(5), || async {
            Ok((calls.fetch_add(1, Ordering::SeqCst) < 2).then(|| "DELETING".to_string()))
        })
        .await
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let err = gone("cluster c", Duration::ZERO, || async {
            Ok(Some("DELETING".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.class,
            ErrorClass::Fatal,
            "not retried as a whole operation"
        );
        assert!(
            err.message.starts_with(
                "gave up waiting for cluster c deletion after 0s (still `DELETING`); it may still finish: run again to resume"
            ),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn settle_retries_not_found_only() {
        let calls = AtomicU32::new(0);
        let v = settle("x", Duration::from_secs(5), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(ProviderError::new(ErrorClass::NotFound, "not visible")),
                _ => Ok(4),
            }
        })
        .await
        .unwrap();
        assert_eq!((v, calls.load(Ordering::SeqCst)), (4, 2));
        let err = settle::<(), _, _>("x", Duration::from_secs(5), || async {
            Err(ProviderError::new(ErrorClass::AlreadyExists, "taken"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::AlreadyExists);
        let calls = AtomicU32::new(0);
        let err = settle::<(), _, _>("x", Duration::from_secs(5), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::new(ErrorClass::Retryable, "timed out"))
        })
        .await
        .unwrap_err();
        assert_eq!(
            (err.class, calls.load(Ordering::SeqCst)),
            (ErrorClass::Retryable, 1)
        );
        let err = settle::<(), _, _>("x", Duration::ZERO, || async {
            Err(ProviderError::new(ErrorClass::NotFound, "not visible"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Fatal);
        assert!(err.message.contains("not visible"), "{}", err.message);
    }

    /// A throttled poll backs off and polls again, like a pending one: the wait
    /// is not aborted, and the polls space out (doubling, up to MAX_POLL).
    #[tokio::test]
    async fn a_throttled_poll_backs_off_instead_of_aborting_the_wait() {
        let times = std::sync::Mutex::new(Vec::new());
        let v = until("cluster c", Duration::from_secs(5), POLL, || {
            let mut times = times.lock().unwrap();
            times.push(Instant::now());
            let n = times.len();
            async move {
                if n <= 4 {
                    Err(ProviderError::new(
                        ErrorClass::Throttled,
                        "Throttling: Rate exceeded",
                    ))
                } else {
                    Ok(Poll::Ready(n))
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 5, "four throttled polls, then the answer");
        let times = times.into_inner().unwrap();
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[0] >= POLL, "{gaps:?}");
        assert!(gaps[2] >= (POLL * 4).min(MAX_POLL), "backs off: {gaps:?}");

        // Throttled until the deadline: the wait gives up, for good, saying so.
        let err = until::<(), _, _>("cluster c", Duration::from_millis(30), POLL, || async {
            Err(ProviderError::new(
                ErrorClass::Throttled,
                "Throttling: Rate exceeded",
            ))
        })
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Fatal);
        assert!(
            err.message
                .contains("gave up waiting for cluster c after 0s")
                && err.message.contains("Rate exceeded (polling again)"),
            "{}",
            err.message
        );
    }
}
