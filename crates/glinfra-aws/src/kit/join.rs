//! Running a varying number of reads at once (a refresh reads each recorded
//! bucket, role or zone's details concurrently), without spawning tasks: the
//! futures may borrow, and run on the caller's task.

use glinfra_engine::ProviderError;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// The outputs of `futures`, run concurrently, in their order.
pub(crate) async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut running: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = running.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in running.iter_mut().zip(done.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// [`join_all`] of fallible reads: every value, or the first error (in order).
pub(crate) async fn try_join_all<T, F>(
    futures: impl IntoIterator<Item = F>,
) -> Result<Vec<T>, ProviderError>
where
    F: Future<Output = Result<T, ProviderError>>,
{
    join_all(futures).await.into_iter().collect()
}

/// `read`'s value when `wanted`, else `None` and no call (`read` is not polled):
/// a refresh reads only what the recorded spec sets.
pub(crate) async fn when<T>(
    wanted: bool,
    read: impl Future<Output = Result<T, ProviderError>>,
) -> Result<Option<T>, ProviderError> {
    if wanted {
        read.await.map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn runs_at_once_and_keeps_the_order() {
        let started = tokio::time::Instant::now();
        let out = join_all([30u64, 10, 20].map(|ms| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ms
        }))
        .await;
        assert_eq!(out, vec![30, 10, 20]);
        assert!(started.elapsed() < Duration::from_millis(55));
    }

    #[tokio::test]
    async fn the_first_error_in_order_wins() {
        let failing = |i: u32| async move {
            if i > 0 {
                Err(ProviderError::new(
                    glinfra_engine::ErrorClass::Fatal,
                    format!("{i}"),
                ))
            } else {
                Ok(i)
            }
        };
        let err = try_join_all([0, 1, 2].map(failing)).await.unwrap_err();
        assert_eq!(err.message, "1");
        assert_eq!(try_join_all([0].map(failing)).await.unwrap(), vec![0]);
    }
}
