//! The one polling loop behind every wait for AWS (the driver kit's `wait::until`
//! and the simulated cloud's waits both run through [`poll`]).
//!
//! A wait holds no concurrency slot ([`pace::waiting`]); each poll is one paced
//! read ([`pace::call`]): it takes a token of its service and region, and a
//! throttled poll slows that bucket down and counts as "not yet". Polls double
//! their interval from `first` up to `max`. In a paced operation, whose resource
//! the latency table expects ready within a window, polls are placed by it
//! ([`next_poll`]): none before a quick resource can be ready, sparse before a
//! long window (up to a tenth of the time to it), one as the window opens, and
//! close together inside it, so a wait ends within seconds of the resource being
//! ready with no more polls than a wait polling every ten seconds makes.

use crate::pace;
use crate::provider::ProviderError;
use crate::timing::{CallClass, Latency};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// What one poll saw.
pub enum Poll<T> {
    /// Reached the wanted state.
    Ready(T),
    /// Not yet; the string says what was seen.
    Pending(String),
}

/// How a wait ended without an error.
pub enum Waited<T> {
    /// Ready, with what the last poll returned.
    Ready(T),
    /// Still not ready at the deadline; the last state seen.
    GaveUp(String),
}

/// When an operation's resource is expected ready, and how late the operation
/// can be without making its plan later: what places a paced wait's polls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// The latency range of the table, from the call.
    pub latency: Latency,
    /// The operation's expected slack.
    pub slack: Duration,
}

/// Windows opening this early are not polled before they open.
const QUICK: Duration = Duration::from_secs(10);
/// Inside the window of a quick resource, polls are this far apart.
const FINE_QUICK: Duration = Duration::from_secs(1);
/// Inside a long window, polls are `min / SLICES` apart, at least [`FINE_LONG`],
/// and a twentieth of the operation's slack (an operation off the critical path
/// is not worth polling closely), at most the normal interval.
const SLICES: f64 = 200.0;
const FINE_LONG: Duration = Duration::from_secs(2);
const SLACK_SHARE: u32 = 20;

/// Where the first poll of a wait goes: at once, or (for a resource the table
/// says cannot be ready before a few seconds) when its window opens.
pub fn first_poll(window: Option<Window>) -> Duration {
    match window {
        Some(w) if Duration::from_secs_f64(w.latency.min) <= QUICK => {
            Duration::from_secs_f64(w.latency.min)
        }
        _ => Duration::ZERO,
    }
}

/// After a poll at `elapsed` into the wait, with the doubling interval at
/// `delay` (capped at `max`): how long to sleep, and the interval after that.
pub fn next_poll(
    elapsed: Duration,
    delay: Duration,
    max: Duration,
    window: Option<Window>,
) -> (Duration, Duration) {
    let doubled = (delay * 2).min(max.max(delay));
    let Some(Window { latency: w, slack }) = window else {
        return (delay, doubled);
    };
    let (open, close) = (
        Duration::from_secs_f64(w.min),
        Duration::from_secs_f64(w.max),
    );
    if elapsed < open {
        // Doubling polls, spaced up to a tenth of the time before the window
        // (a wait of ten minutes polls some 15 times before it), one landing as
        // it opens.
        let sparse = (delay * 2).min(max.max(open / 10));
        (delay.min(open - elapsed), sparse)
    } else if elapsed < close {
        let fine = if open <= QUICK {
            FINE_QUICK
        } else {
            Duration::from_secs_f64(w.min / SLICES)
                .max(FINE_LONG)
                .max(slack / SLACK_SHARE)
                .min(max.max(FINE_LONG))
        };
        (delay.min(fine), delay)
    } else {
        // Past the window: the table was wrong for this one; back to normal.
        let normal = delay.min(max);
        (normal, (normal * 2).min(max.max(normal)))
    }
}

/// Polls `check` until it is ready or `deadline` has passed. A poll that fails
/// with a retryable (throttled, transient) error counts as not ready; any other
/// error ends the wait at once. Each poll is one paced read.
pub async fn poll<T, F, Fut>(
    deadline: Duration,
    first: Duration,
    max: Duration,
    mut check: F,
) -> Result<Waited<T>, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    run(deadline, first, max, move || {
        pace::call(CallClass::Describe, check())
    })
    .await
}

/// [`poll`] with polls that pace their own requests: a poll through a
/// [`crate::batch::Batcher`], which makes a request only when it leads a round.
pub async fn poll_shared<T, F, Fut>(
    deadline: Duration,
    first: Duration,
    max: Duration,
    check: F,
) -> Result<Waited<T>, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    run(deadline, first, max, check).await
}

async fn run<T, F, Fut>(
    deadline: Duration,
    first: Duration,
    max: Duration,
    mut check: F,
) -> Result<Waited<T>, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    let began = Instant::now();
    let waited = pace::waiting(async {
        let start = Instant::now();
        let window = pace::window();
        let mut delay = first;
        tokio::time::sleep(first_poll(window)).await;
        loop {
            let seen = match check().await {
                Ok(Poll::Ready(v)) => return Ok(Waited::Ready(v)),
                Ok(Poll::Pending(seen)) => seen,
                Err(e) if e.class.is_retryable() => format!("{} (polling again)", e.message),
                Err(e) => return Err(e),
            };
            let elapsed = start.elapsed();
            if elapsed >= deadline {
                return Ok(Waited::GaveUp(seen));
            }
            let (sleep, next) = next_poll(elapsed, delay, max, window);
            tokio::time::sleep(sleep).await;
            delay = next;
        }
    })
    .await;
    crate::timeline::waited(began);
    waited
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    fn window(min: f64, max: f64, slack: f64) -> Option<Window> {
        Some(Window {
            latency: Latency { min, max },
            slack: s(slack),
        })
    }

    /// The poll times of a wait that never ends, up to `until` seconds.
    fn times(window: Option<Window>, until: f64) -> Vec<f64> {
        let mut t = first_poll(window);
        let mut delay = s(2.0);
        let mut out = vec![];
        while t < s(until) {
            out.push(t.as_secs_f64());
            let (sleep, next) = next_poll(t, delay, s(10.0), window);
            t += sleep;
            delay = next;
        }
        out
    }

    #[test]
    fn without_a_window_polls_double_up_to_the_cap() {
        assert_eq!(times(None, 40.0), [0.0, 2.0, 6.0, 14.0, 24.0, 34.0]);
    }

    #[test]
    fn a_quick_resource_is_polled_from_its_window_every_second() {
        assert_eq!(times(window(1.0, 3.0, 0.0), 6.0), [1.0, 2.0, 3.0, 5.0]);
    }

    #[test]
    fn a_long_wait_polls_normally_then_closely_inside_its_window() {
        let t = times(window(600.0, 900.0, 0.0), 1000.0);
        let before: Vec<f64> = t.iter().copied().filter(|&x| x < 600.0).collect();
        assert_eq!(
            before,
            [
                0.0, 2.0, 6.0, 14.0, 30.0, 62.0, 122.0, 182.0, 242.0, 302.0, 362.0, 422.0, 482.0,
                542.0
            ],
            "sparse before the window (up to 60 s apart)"
        );
        assert!(t.contains(&600.0), "a poll as the window opens");
        let inside: Vec<f64> = t
            .iter()
            .copied()
            .filter(|&x| (600.0..900.0).contains(&x))
            .collect();
        assert_eq!(inside.len(), 100, "every 3 s (600/200) inside: {inside:?}");
        let after: Vec<f64> = t.iter().copied().filter(|&x| x >= 900.0).collect();
        assert!(after.windows(2).all(|p| p[1] - p[0] == 10.0), "{after:?}");
    }

    #[test]
    fn an_operation_with_slack_is_polled_less_closely() {
        let inside = |slack| {
            times(window(600.0, 900.0, slack), 1000.0)
                .into_iter()
                .filter(|&x| (600.0..900.0).contains(&x))
                .count()
        };
        assert_eq!(inside(0.0), 100);
        assert_eq!(inside(120.0), 50, "6 s apart with two minutes of slack");
        assert_eq!(inside(3600.0), 30, "never more than the normal 10 s apart");
    }
}
