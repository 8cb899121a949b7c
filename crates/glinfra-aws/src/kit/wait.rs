//! Waiting, once: polling until a resource reaches a state, with a deadline.
//!
//! A poll that meets a throttled or transient error keeps polling (the SDK does
//! not retry; see ARCHITECTURE.md), so a long wait is not lost to one bad answer;
//! any other error ends the wait at once.

use glinfra_engine::{ErrorClass, ProviderError};
use std::future::Future;
use std::time::{Duration, Instant};

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

/// What one poll saw.
pub enum Poll<T> {
    /// Reached the wanted state.
    Ready(T),
    /// Not yet; the string says what was seen.
    Pending(String),
}

/// Polls `check` until it is ready, every `interval` (doubling up to [`MAX_POLL`]),
/// failing with a Retryable error naming `what` and the last state seen after
/// `deadline`.
pub async fn until<T, F, Fut>(
    what: &str,
    deadline: Duration,
    interval: Duration,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    let start = Instant::now();
    let mut delay = interval;
    loop {
        let seen = match check().await {
            Ok(Poll::Ready(v)) => return Ok(v),
            Ok(Poll::Pending(seen)) => seen,
            Err(e) if e.class.is_retryable() => format!("{} (polling again)", e.message),
            Err(e) => return Err(e),
        };
        if start.elapsed() >= deadline {
            return Err(ProviderError::new(
                ErrorClass::Retryable,
                format!("{what}: still `{seen}` after {}s", deadline.as_secs()),
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_POLL.max(interval));
    }
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
        assert!(
            err.message.contains("cluster c deletion: still `DELETING`"),
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
        assert_eq!(err.class, ErrorClass::Retryable);
    }
}
