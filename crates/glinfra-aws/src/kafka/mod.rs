//! Drivers for Amazon MSK: configurations (`aws:msk/configuration`) and provisioned
//! clusters (`aws:msk/cluster`).
//!
//! - A **configuration** takes no tags (CreateConfiguration has no Tags parameter),
//!   so it cannot carry ownership tags: its name, unique per account and region, is
//!   its natural key, and `find` adopts a configuration of that name. Changing its
//!   server properties makes a new revision (UpdateConfiguration).
//! - A **cluster** is found by its exact name and adopted only when it carries our
//!   ownership tags. Every update call needs the cluster ACTIVE and its
//!   `CurrentVersion`, and MSK runs one operation at a time, so the driver waits for
//!   the cluster to be ACTIVE with a new `CurrentVersion` between calls.
//!
//! No ClientToken is relied upon: MSK's create calls take none.

mod cluster;
mod configuration;

use crate::clients::Clients;
use glinfra_core::{Input, Kind, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use std::collections::BTreeMap;
use std::time::Duration;

/// First poll interval of every wait (it grows to 10 s in [`crate::wait::until`]).
const POLL: Duration = if cfg!(test) {
    Duration::from_millis(5)
} else {
    Duration::from_secs(2)
};

/// The literal value of a resolved input.
fn resolved<'a>(input: &'a Input<String>, field: &str) -> Result<&'a str, ProviderError> {
    input.value().map(String::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("{field} is an output reference that was not resolved"),
        )
    })
}

/// True when `tags` are this resource's ownership tags.
fn owned(tags: &BTreeMap<String, String>, stack: &str, id: &str) -> bool {
    tags.get(TAG_STACK).map(String::as_str) == Some(stack)
        && tags.get(TAG_LOGICAL_ID).map(String::as_str) == Some(id)
}

/// Who owns a resource, from its tags, for error messages.
fn owner_of(tags: &BTreeMap<String, String>) -> String {
    match (tags.get(TAG_STACK), tags.get(TAG_LOGICAL_ID)) {
        (Some(s), Some(l)) => format!("stack `{s}`, resource `{l}`"),
        _ => "a cluster not managed by glinfra (it has no glinfra ownership tags)".into(),
    }
}

fn wrong_kind(kind: Kind) -> ProviderError {
    ProviderError::new(
        ErrorClass::Fatal,
        format!("the MSK driver does not handle {kind}"),
    )
}

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    match r.kind {
        Kind::MskConfiguration => configuration::find(c, r).await,
        Kind::MskCluster => cluster::find(c, r).await,
        other => Err(wrong_kind(other)),
    }
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    match r.kind {
        Kind::MskConfiguration => configuration::create(c, r).await,
        Kind::MskCluster => cluster::create(c, r).await,
        other => Err(wrong_kind(other)),
    }
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    match r.kind {
        Kind::MskConfiguration => configuration::update(c, prior, r, changed).await,
        Kind::MskCluster => cluster::update(c, prior, r, changed).await,
        other => Err(wrong_kind(other)),
    }
}

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    match prior.kind {
        Kind::MskConfiguration => configuration::delete(c, id, prior).await,
        Kind::MskCluster => cluster::delete(c, id, prior).await,
        other => Err(wrong_kind(other)),
    }
}

/// The resource recorded in `prior`, for finding what an interrupted create left.
fn from_state(id: &str, prior: &ResourceState) -> ResolvedResource {
    let stack = prior.tags.get(TAG_STACK).cloned().unwrap_or_default();
    ResolvedResource::from_state(&stack, id, prior)
}
