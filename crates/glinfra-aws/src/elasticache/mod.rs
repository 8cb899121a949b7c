//! Drivers for the ElastiCache kinds: cache subnet groups, cache parameter groups
//! and Redis replication groups in cluster mode.
//!
//! How every driver here keeps the [`Provider`](glinfra_engine::Provider) contract:
//!
//! - **find** describes the resource by its deterministic name and adopts it only
//!   when `ListTagsForResource` shows our ownership tags; a same-named resource of
//!   someone else is an AlreadyExists error. A replication group that is being
//!   created or modified is waited for first (AWS answers ListTagsForResource only
//!   for an available group), one being deleted is waited out (then `None`), and one
//!   whose creation failed is not adopted.
//! - **create** passes every tag to the create call itself. A create that meets an
//!   existing resource adopts it when it is ours and brings it in line (a full
//!   update), so a retried create converges instead of failing.
//! - **update** changes only the fields named (all in-place fields when none are).
//!   The replication group's calls are chosen by comparing the wanted fields with
//!   what the group reports, because AWS rejects modifications that change nothing
//!   (resharding or replica changes to the current count): this keeps a retried or
//!   resumed update idempotent.
//! - **delete** works from the recorded outputs (or finds what an interrupted create
//!   left), treats a resource already gone as success, and waits until it is gone.
//!
//! Errors go through [`crate::error::classify`] once; a few ElastiCache codes that
//! mean "busy, try again" (a group still in use by a cluster being deleted, a
//! replication group in a transitional state) are made Retryable where they are read.

mod parameter_group;
mod replication_group;
mod subnet_group;
#[cfg(test)]
mod tests;

use crate::clients::Clients;
use crate::error::classify;
use aws_sdk_elasticache::types::Tag;
use aws_sdk_elasticache::Client;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::{Input, Kind, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// First poll interval of every wait (it grows to 10 s in [`crate::wait::until`]).
const POLL: Duration = if cfg!(test) {
    Duration::from_millis(2)
} else {
    Duration::from_secs(5)
};

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let ec = c.elasticache(&r.region);
    match r.kind {
        Kind::CacheSubnetGroup => subnet_group::find(&ec, r).await,
        Kind::CacheParameterGroup => parameter_group::find(&ec, r).await,
        Kind::ReplicationGroup => replication_group::find(&ec, r).await,
        other => Err(not_elasticache(other)),
    }
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let ec = c.elasticache(&r.region);
    match r.kind {
        Kind::CacheSubnetGroup => subnet_group::create(&ec, r).await,
        Kind::CacheParameterGroup => parameter_group::create(&ec, r).await,
        Kind::ReplicationGroup => replication_group::create(&ec, r).await,
        other => Err(not_elasticache(other)),
    }
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let ec = c.elasticache(&r.region);
    let wants = Wants(changed);
    match r.kind {
        Kind::CacheSubnetGroup => subnet_group::update(&ec, prior, r, wants).await,
        Kind::CacheParameterGroup => parameter_group::update(&ec, prior, r, wants).await,
        Kind::ReplicationGroup => replication_group::update(&ec, prior, r, wants).await,
        other => Err(not_elasticache(other)),
    }
}

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let ec = c.elasticache(&prior.region);
    let mut outputs = prior.outputs.clone();
    if outputs.is_empty() {
        // A create interrupted before its outputs were recorded: delete what carries
        // its ownership tags under its deterministic name, if anything.
        let stack = prior.tags.get(TAG_STACK).ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "{} `{id}`: no outputs and no `{TAG_STACK}` tag recorded: cannot look it up to delete it",
                    prior.kind
                ),
            )
        })?;
        let r = ResolvedResource::from_state(stack, id, prior);
        let found = match prior.kind {
            // Unlike find, also our group whose creation failed: it must go too.
            Kind::ReplicationGroup => replication_group::find_to_delete(&ec, &r).await?,
            _ => find(c, &r).await?,
        };
        match found {
            Some(found) => outputs = found,
            None => return Ok(()),
        }
    }
    match prior.kind {
        Kind::CacheSubnetGroup => subnet_group::delete(&ec, prior, &outputs).await,
        Kind::CacheParameterGroup => parameter_group::delete(&ec, prior, &outputs).await,
        Kind::ReplicationGroup => replication_group::delete(&ec, prior, &outputs).await,
        other => Err(not_elasticache(other)),
    }
}

fn not_elasticache(kind: Kind) -> ProviderError {
    ProviderError::new(
        ErrorClass::Fatal,
        format!("{kind} is not an ElastiCache kind (dispatch error)"),
    )
}

/// Which fields an update should change: those named, or all when none are.
#[derive(Clone, Copy)]
struct Wants<'a>(&'a [String]);

impl Wants<'_> {
    /// Every in-place field (what an update after an adoption asks for).
    const ALL: Wants<'static> = Wants(&[]);

    /// True when `field` is to be brought in line.
    fn field(&self, field: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|c| c == field)
    }

    /// True when every in-place field is to be brought in line (no field named).
    fn everything(&self) -> bool {
        self.0.is_empty()
    }
}

/// The error code of an SDK error, read before the error is classified.
fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    e.code().map(str::to_owned)
}

/// Classifies `e` once; the ElastiCache codes in `busy` (the resource is in a
/// transitional state, or still used by something on its way out) become Retryable.
fn classify_busy<E, R>(what: &str, e: SdkError<E, R>, busy: &[&str]) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = code_of(&e);
    let mut err = classify(what, e);
    if code.is_some_and(|c| busy.contains(&c.as_str())) {
        err.class = ErrorClass::Retryable;
    }
    err
}

/// `None` for a NotFound error, the value otherwise.
fn absent<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Success when the call succeeded or what it removes is already gone.
fn gone_ok<T>(result: Result<T, ProviderError>) -> Result<(), ProviderError> {
    absent(result).map(|_| ())
}

/// A resolved `Input<String>` spec field.
fn value<'a>(
    r: &ResolvedResource,
    field: &str,
    input: &'a Input<String>,
) -> Result<&'a str, ProviderError> {
    input.value().map(String::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{} `{}`: field `{field}` is an unresolved output reference",
                r.kind, r.id
            ),
        )
    })
}

/// A resolved list of `Input<String>`.
fn values(
    r: &ResolvedResource,
    field: &str,
    inputs: &[Input<String>],
) -> Result<Vec<String>, ProviderError> {
    inputs
        .iter()
        .map(|i| value(r, field, i).map(str::to_owned))
        .collect()
}

/// A string output recorded for the resource.
fn output<'a>(kind: Kind, outputs: &'a Outputs, key: &str) -> Result<&'a str, ProviderError> {
    outputs.get(key).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("{kind}: recorded outputs have no `{key}`"),
        )
    })
}

/// The state an update after an adoption starts from: the resource found, under the spec.
fn adopted_state(r: &ResolvedResource, outputs: Outputs) -> ResourceState {
    ResourceState {
        kind: r.kind,
        region: r.region.clone(),
        props: r.props.clone(),
        tags: r.tags.clone(),
        outputs,
        dependencies: Default::default(),
        pending: None,
    }
}

fn ec_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// Every tag of the resource `arn`. `busy` codes are Retryable (see [`classify_busy`]).
async fn list_tags(
    ec: &Client,
    arn: &str,
    busy: &[&str],
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = ec
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| classify_busy(&format!("ListTagsForResource {arn}"), e, busy))?;
    Ok(tags_of(out.tag_list()))
}

/// Ok when `tags` are `r`'s ownership tags; an AlreadyExists error naming the owner otherwise.
fn check_owner(
    what: &str,
    name: &str,
    tags: &BTreeMap<String, String>,
    r: &ResolvedResource,
) -> Result<(), ProviderError> {
    let stack = tags.get(TAG_STACK).map(String::as_str);
    let logical = tags.get(TAG_LOGICAL_ID).map(String::as_str);
    if stack == Some(r.stack.as_str()) && logical == Some(r.id.as_str()) {
        return Ok(());
    }
    let owner = match (stack, logical) {
        (Some(s), Some(l)) => format!("stack `{s}`, resource `{l}`"),
        _ => "something not managed by glinfra (it has no glinfra ownership tags)".into(),
    };
    Err(ProviderError::new(
        ErrorClass::AlreadyExists,
        format!("ElastiCache {what} `{name}` already exists and belongs to {owner}"),
    ))
}

/// Brings the tags of `arn` in line with `desired`. With `full` (no field named) the
/// resource's own tags are read, so only missing or different tags are set and every
/// other tag is removed (AWS-reserved `aws:` keys excepted); otherwise every desired
/// tag is set and the keys of `prior` no longer desired are removed.
async fn sync_tags(
    ec: &Client,
    arn: &str,
    desired: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    full: bool,
) -> Result<(), ProviderError> {
    let mut stale: BTreeSet<String> = prior.keys().cloned().collect();
    let set: BTreeMap<String, String> = if full {
        let current = list_tags(ec, arn, &[]).await?;
        stale.extend(current.keys().cloned());
        desired
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    } else {
        desired.clone()
    };
    stale.retain(|k| !desired.contains_key(k) && !k.starts_with("aws:"));
    if !set.is_empty() {
        ec.add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(ec_tags(&set)))
            .send()
            .await
            .map_err(|e| classify(&format!("AddTagsToResource {arn}"), e))?;
    }
    if !stale.is_empty() {
        ec.remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(stale.into_iter().collect()))
            .send()
            .await
            .map_err(|e| classify(&format!("RemoveTagsFromResource {arn}"), e))?;
    }
    Ok(())
}
