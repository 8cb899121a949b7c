//! What clusters, node groups and add-ons share: EKS makes, changes and deletes each
//! asynchronously, reports where it is as a status with health issues, and refuses
//! a create whose name a failed or departing one still holds. [`EksObject`] is one
//! of them, known by its key; its provided methods are the one copy of the waits,
//! the delete, the adoption of a found one and the clearing of a taken name.

use super::{IN_USE, UPDATE_DEADLINE};
use crate::kit::wait::{self, Poll, POLL};
use crate::kit::{ensure_owned, tags, Desired};
use async_trait::async_trait;
use glinfra_core::ResourceSpec;
use glinfra_engine::{ErrorClass, ProviderError};
use std::future::Future;
use std::time::Duration;

/// Where an EKS resource is, as the waits and the adoption tell its statuses apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// ACTIVE: usable.
    Active,
    /// DEGRADED: running, with health issues.
    Degraded,
    /// Its create failed (a cluster's FAILED): deleted and made again by a create.
    CreateFailed,
    /// Its last update failed: an error to wait for.
    UpdateFailed,
    /// Its delete failed: deleted again by a create, an error to wait for.
    DeleteFailed,
    /// DELETING.
    Deleting,
    /// On its way (CREATING, UPDATING, PENDING, or no status).
    Changing,
}

/// [`EksObject`]'s `status`, `health` and `tags` of `$live`: the SDK types of
/// clusters, node groups and add-ons differ, their accessors do not.
macro_rules! accessors {
    ($live:ty) => {
        fn status(live: &$live) -> &str {
            live.status().map(|s| s.as_str()).unwrap_or("no status")
        }

        fn health(live: &$live) -> String {
            $crate::eks::issues(
                live.health()
                    .map(|h| h.issues())
                    .unwrap_or_default()
                    .iter()
                    .map(|i| (i.code().map(|c| c.as_str()), i.message())),
            )
        }

        fn tags(live: &$live) -> Option<&std::collections::HashMap<String, String>> {
            live.tags()
        }
    };
}
pub(super) use accessors;

/// One EKS cluster, node group or add-on, known by its key (`name` or `cluster/name`).
#[async_trait]
pub(super) trait EksObject: Sync {
    /// The resource as DescribeX returns it.
    type Live: Send + Sync;
    /// What it is, for messages: "EKS cluster".
    const KIND: &'static str;
    /// How long it may take to become ACTIVE after its create, or to go after its delete.
    const DEADLINE: Duration;

    /// `name`, or `cluster/name`.
    fn key(&self) -> String;
    /// The resource, if there is one.
    async fn describe(&self) -> Result<Option<Self::Live>, ProviderError>;
    /// The DeleteX call alone.
    async fn delete_call(&self) -> Result<(), ProviderError>;
    /// Where `live` is.
    fn phase(live: &Self::Live) -> Phase;
    /// Its status as EKS spells it.
    fn status(live: &Self::Live) -> &str;
    /// Its health issues, as a suffix for a message.
    fn health(live: &Self::Live) -> String;
    /// Its tags.
    fn tags(live: &Self::Live) -> Option<&std::collections::HashMap<String, String>>;

    /// "EKS cluster `name`".
    fn what(&self) -> String {
        format!("{} `{}`", Self::KIND, self.key())
    }

    /// Waits until it is ACTIVE (or DEGRADED when `degraded_ok`, with a warning); the
    /// failed states are errors naming the health issues, DELETING a retryable one.
    async fn wait_active(
        &self,
        deadline: Duration,
        degraded_ok: bool,
    ) -> Result<Self::Live, ProviderError> {
        let what = self.what();
        wait::until(&format!("{what} to be ACTIVE"), deadline, POLL, || async {
            let Some(live) = self.describe().await? else {
                return Ok(Poll::Pending("not found".into()));
            };
            Ok(match Self::phase(&live) {
                Phase::Active => Poll::Ready(Ok(live)),
                Phase::Degraded if degraded_ok => {
                    tracing::warn!("{what} is DEGRADED{}", Self::health(&live));
                    Poll::Ready(Ok(live))
                }
                Phase::Degraded
                | Phase::CreateFailed
                | Phase::UpdateFailed
                | Phase::DeleteFailed => {
                    return Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!("{what} is {}{}", Self::status(&live), Self::health(&live)),
                    ))
                }
                // Retryable, but it ends this wait: the executor tries the call again.
                Phase::Deleting => Poll::Ready(Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!("{what} is being deleted"),
                ))),
                Phase::Changing => Poll::Pending(Self::status(&live).to_string()),
            })
        })
        .await?
    }

    /// Waits until DescribeX no longer finds it; DELETE_FAILED is an error.
    async fn wait_gone(&self) -> Result<(), ProviderError> {
        let what = self.what();
        wait::gone(&what, Self::DEADLINE, || async {
            match self.describe().await? {
                None => Ok(None),
                Some(live) if Self::phase(&live) == Phase::DeleteFailed => Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!("{what} is {}{}", Self::status(&live), Self::health(&live)),
                )),
                Some(live) => Ok(Some(Self::status(&live).to_string())),
            }
        })
        .await
    }

    /// Deletes it and waits until it is gone; gone already is success.
    async fn remove(&self) -> Result<(), ProviderError> {
        if let Err(err) = self.delete_call().await {
            if err.class == ErrorClass::NotFound {
                return Ok(());
            }
            // Already being deleted (an earlier attempt) is waited for; anything else,
            // such as a cluster's node groups still attached (retried), is the error.
            match self.describe().await? {
                None => return Ok(()),
                Some(live) if Self::phase(&live) == Phase::Deleting => {}
                Some(_) => return Err(err),
            }
        }
        self.wait_gone().await
    }

    /// The one found for `r`, if it is ours and usable: a departing one is waited
    /// for and a failed one left (its create deletes it), one on its way waited for.
    async fn adopt<S: Sync>(
        &self,
        r: &Desired<S>,
        degraded_ok: bool,
    ) -> Result<Option<Self::Live>, ProviderError> {
        let Some(live) = self.describe().await? else {
            return Ok(None);
        };
        ensure_owned(&self.what(), &tags::from_map(Self::tags(&live)), r)?;
        match Self::phase(&live) {
            Phase::Active | Phase::Degraded => Ok(Some(live)),
            Phase::Deleting => {
                self.wait_gone().await?;
                Ok(None)
            }
            Phase::CreateFailed | Phase::DeleteFailed => {
                tracing::warn!(
                    "not adopting our {}: it is {}{}",
                    self.what(),
                    Self::status(&live),
                    Self::health(&live)
                );
                Ok(None)
            }
            _ => self
                .wait_active(Self::DEADLINE, degraded_ok)
                .await
                .map(Some),
        }
    }

    /// After a create refused with `err` because the name is taken: by an earlier
    /// attempt of ours (its response lost, then it is waited for and returned), by a
    /// failed or departing one of ours (cleared: `None`, try again), or by someone
    /// else (the ownership error). Nothing there (a busy cluster) is `err` itself.
    async fn clear_taken<S: Sync>(
        &self,
        r: &Desired<S>,
        err: ProviderError,
        degraded_ok: bool,
    ) -> Result<Option<Self::Live>, ProviderError> {
        let Some(live) = self.describe().await? else {
            return Err(err);
        };
        ensure_owned(&self.what(), &tags::from_map(Self::tags(&live)), r)?;
        match Self::phase(&live) {
            Phase::CreateFailed | Phase::DeleteFailed => {
                tracing::warn!(
                    "deleting our {}, {}, to create it again{}",
                    self.what(),
                    Self::status(&live),
                    Self::health(&live)
                );
                self.remove().await?;
            }
            Phase::Deleting => self.wait_gone().await?,
            _ => {
                return self
                    .wait_active(Self::DEADLINE, degraded_ok)
                    .await
                    .map(Some)
            }
        }
        Ok(None)
    }

    /// A create: `send` makes the create call with the engine's token (the first try
    /// only: a try after clearing a failed or departing one is a new request, which
    /// the old token would make EKS answer about the old one), then it is waited for
    /// until ACTIVE (DEGRADED too when `degraded_ok`). A name taken is cleared
    /// ([`EksObject::clear_taken`]) at most twice before giving up.
    async fn create<S, F, Fut>(
        &self,
        r: &Desired<S>,
        degraded_ok: bool,
        mut send: F,
    ) -> Result<Self::Live, ProviderError>
    where
        S: ResourceSpec + Sync,
        F: FnMut(Option<String>) -> Fut + Send,
        Fut: Future<Output = Result<(), ProviderError>> + Send,
    {
        let mut token = r.token();
        for _ in 0..3 {
            let err = match send(token.take()).await {
                Ok(()) => return self.wait_active(Self::DEADLINE, degraded_ok).await,
                Err(err) if err.has_code(&[IN_USE]) => err,
                Err(err) => return Err(err),
            };
            if let Some(live) = self.clear_taken(r, err, degraded_ok).await? {
                return Ok(live);
            }
        }
        Err(ProviderError::new(
            ErrorClass::Retryable,
            format!("{} name `{}` is still taken", Self::KIND, self.key()),
        ))
    }

    /// The resource to update, once any change under way has finished (EKS takes
    /// one update at a time); not there is NotFound.
    async fn settled(&self) -> Result<Self::Live, ProviderError> {
        let live = self.describe().await?.ok_or_else(|| {
            ProviderError::new(ErrorClass::NotFound, format!("{} not found", self.what()))
        })?;
        match Self::phase(&live) {
            Phase::Active | Phase::Degraded => Ok(live),
            _ => self.wait_active(UPDATE_DEADLINE, true).await,
        }
    }
}
