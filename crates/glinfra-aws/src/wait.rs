//! Polling until a resource reaches a state, with an explicit deadline.

use glinfra_engine::{ErrorClass, ProviderError};
use std::future::Future;
use std::time::{Duration, Instant};

/// What one poll saw.
pub enum Poll<T> {
    /// Reached the wanted state.
    Ready(T),
    /// Not yet; the string says what was seen.
    Pending(String),
}

/// Polls `check` until it is ready, every `interval` (growing to 10 s), failing
/// with a Retryable error naming `what` and the last state seen after `deadline`.
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
        match check().await? {
            Poll::Ready(v) => return Ok(v),
            Poll::Pending(seen) => {
                if start.elapsed() >= deadline {
                    return Err(ProviderError::new(
                        ErrorClass::Retryable,
                        format!("{what}: still `{seen}` after {}s", deadline.as_secs()),
                    ));
                }
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
