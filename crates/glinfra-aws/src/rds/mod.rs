//! Drivers for the RDS kinds: DB subnet groups, DB parameter groups and DB
//! instances (primaries and read replicas, possibly in another region than their
//! source).
//!
//! How every driver here keeps the [`Provider`](glinfra_engine::Provider) contract:
//!
//! - Every call uses the RDS client of the resource's own region (a replica's
//!   region, not its source's).
//! - **find** describes the resource by its deterministic name and adopts it only
//!   when it carries this resource's ownership tags (`glinfra:stack`,
//!   `glinfra:logical-id`); a same-named resource owned by anyone else is an
//!   `AlreadyExists` error naming its owner. An instance being deleted is waited
//!   out and reported absent; a failed one is not adopted.
//! - **create** passes every tag on the create call itself, so a crash before the
//!   engine records the resource leaves something `find` adopts. An
//!   `...AlreadyExists` answer is resolved through `find` (ours: adopted and
//!   brought in line; anyone else's: the `AlreadyExists` error).
//! - **update** changes only the named fields (every in-place field when none is
//!   named), and waits until an instance is usable again.
//! - **delete** works from the recorded outputs (or, when a create was cut short
//!   before they were recorded, from what `find` sees); a resource already gone is
//!   success, and it waits until the resource is gone.
//!
//! No client token is relied upon: none of these calls takes one.

mod instance;
mod parameter_group;
mod subnet_group;
#[cfg(test)]
mod tests;

use crate::clients::Clients;
use crate::error::classify;
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;
use glinfra_core::{Input, Kind, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let rds = c.rds(&r.region);
    match r.kind {
        Kind::DbSubnetGroup => subnet_group::find(&rds, r).await,
        Kind::DbParameterGroup => parameter_group::find(&rds, r).await,
        Kind::DbInstance => instance::find(&rds, r).await,
        other => Err(not_rds(other)),
    }
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let rds = c.rds(&r.region);
    match r.kind {
        Kind::DbSubnetGroup => subnet_group::create(&rds, r).await,
        Kind::DbParameterGroup => parameter_group::create(&rds, r).await,
        Kind::DbInstance => instance::create(&rds, r).await,
        other => Err(not_rds(other)),
    }
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let rds = c.rds(&r.region);
    let wants = Wants(changed);
    match r.kind {
        Kind::DbSubnetGroup => subnet_group::update(&rds, prior, r, wants).await,
        Kind::DbParameterGroup => parameter_group::update(&rds, prior, r, wants).await,
        Kind::DbInstance => instance::update(&rds, prior, r, wants).await,
        other => Err(not_rds(other)),
    }
}

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let rds = c.rds(&prior.region);
    match prior.kind {
        Kind::DbSubnetGroup => subnet_group::delete(&rds, id, prior).await,
        Kind::DbParameterGroup => parameter_group::delete(&rds, id, prior).await,
        Kind::DbInstance => instance::delete(&rds, id, prior).await,
        other => Err(not_rds(other)),
    }
}

fn not_rds(kind: Kind) -> ProviderError {
    ProviderError::new(
        ErrorClass::Fatal,
        format!("{kind} is not an RDS kind (dispatch error)"),
    )
}

/// Which fields an update should change: those named, or all when none are.
#[derive(Clone, Copy, Debug)]
pub(super) struct Wants<'a>(&'a [String]);

impl Wants<'_> {
    /// True when `field` is to be brought in line.
    fn field(&self, field: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|c| c == field)
    }

    /// True when every in-place field is to be brought in line (no field named).
    fn everything(&self) -> bool {
        self.0.is_empty()
    }
}

/// The recorded spec of `prior`, typed.
fn prior_spec<S: serde::de::DeserializeOwned>(
    id: &str,
    prior: &ResourceState,
) -> Result<S, ProviderError> {
    serde_json::from_value(prior.props.clone()).map_err(|e| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("{} `{id}`: malformed recorded spec: {e}", prior.kind),
        )
    })
}

/// The resource to look up when deleting something whose create was not recorded
/// (`prior` has no outputs): `prior` as a resolved resource of its own stack.
fn resource_from_state(id: &str, prior: &ResourceState) -> Result<ResolvedResource, ProviderError> {
    let stack = prior.tags.get(TAG_STACK).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{} `{id}`: no outputs and no `{TAG_STACK}` tag recorded: cannot look it up to delete it",
                prior.kind
            ),
        )
    })?;
    Ok(ResolvedResource::from_state(stack, id, prior))
}

/// A resolved spec field that must hold a value.
fn resolved<'a>(
    r: &ResolvedResource,
    field: &str,
    input: &'a Input<String>,
) -> Result<&'a str, ProviderError> {
    input.value().map(String::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{} `{}`: `{field}` is still an unresolved output reference",
                r.kind, r.id
            ),
        )
    })
}

/// A resolved optional spec field.
fn resolved_opt(
    r: &ResolvedResource,
    field: &str,
    input: Option<&Input<String>>,
) -> Result<Option<String>, ProviderError> {
    input
        .map(|i| resolved(r, field, i).map(str::to_owned))
        .transpose()
}

/// Every resolved value of a list field.
fn resolved_all(
    r: &ResolvedResource,
    field: &str,
    inputs: &[Input<String>],
) -> Result<Vec<String>, ProviderError> {
    inputs
        .iter()
        .map(|i| resolved(r, field, i).map(str::to_owned))
        .collect()
}

/// A recorded output that must be a string.
fn output<'a>(kind: Kind, outputs: &'a Outputs, name: &str) -> Result<&'a str, ProviderError> {
    outputs.get(name).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("{kind}: recorded outputs lack `{name}`"),
        )
    })
}

/// A field the service must return, or a Fatal error naming it.
fn required<'a>(value: Option<&'a str>, what: &str) -> Result<&'a str, ProviderError> {
    value.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("{what}: the response lacks a field it always carries"),
        )
    })
}

/// Builds outputs from name/value pairs.
fn outputs<const N: usize>(pairs: [(&str, String); N]) -> Outputs {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect()
}

/// `Ok(None)` for a NotFound error, the value otherwise.
fn absent_ok<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Turns a classified error with one of `codes` (a state that passes: in use, busy)
/// into a Retryable one, keeping the message and source.
fn retryable_if(
    err: ProviderError,
    code: Option<&str>,
    codes: &[&str],
    why: &str,
) -> ProviderError {
    if code.is_some_and(|c| codes.contains(&c)) {
        ProviderError {
            class: ErrorClass::Retryable,
            message: format!("{} ({why})", err.message),
            source: err.source,
        }
    } else {
        err
    }
}

/// Every tag the resource must carry: `r.tags`, with the ownership tags always present.
fn desired_tags(r: &ResolvedResource) -> BTreeMap<String, String> {
    let mut tags = r.tags.clone();
    tags.entry(TAG_STACK.to_string())
        .or_insert_with(|| r.stack.clone());
    tags.entry(TAG_LOGICAL_ID.to_string())
        .or_insert_with(|| r.id.clone());
    tags
}

fn rds_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// The tags of the resource `arn` (ListTagsForResource).
async fn list_tags(rds: &Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| classify(&format!("ListTagsForResource {arn}"), e))?;
    Ok(tags_of(out.tag_list()))
}

/// Ok when `tags` are `r`'s ownership tags; an AlreadyExists error naming the owner otherwise.
fn check_owner(
    r: &ResolvedResource,
    what: &str,
    tags: &BTreeMap<String, String>,
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
        format!(
            "{what} already exists in {} and belongs to {owner}",
            r.region
        ),
    ))
}

/// Brings the tags of `arn` in line with `r`: AddTagsToResource for new and changed
/// values, RemoveTagsFromResource for keys no longer wanted. `current` is what the
/// resource carries when known (a full reconcile); otherwise the recorded tags
/// (`prior_tags`) say what may have to go.
async fn sync_tags(
    rds: &Client,
    arn: &str,
    r: &ResolvedResource,
    prior_tags: &BTreeMap<String, String>,
    current: Option<&BTreeMap<String, String>>,
) -> Result<(), ProviderError> {
    let desired = desired_tags(r);
    let add: BTreeMap<String, String> = desired
        .iter()
        .filter(|(k, v)| !matches!(current, Some(c) if c.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut stale: BTreeSet<String> = prior_tags.keys().cloned().collect();
    if let Some(current) = current {
        stale.extend(current.keys().cloned());
    }
    // `aws:` tags are AWS's own and cannot be removed.
    stale.retain(|k| !desired.contains_key(k) && !k.starts_with("aws:"));
    if !add.is_empty() {
        rds.add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(rds_tags(&add)))
            .send()
            .await
            .map_err(|e| classify(&format!("AddTagsToResource {arn}"), e))?;
    }
    if !stale.is_empty() {
        rds.remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(stale.into_iter().collect()))
            .send()
            .await
            .map_err(|e| classify(&format!("RemoveTagsFromResource {arn}"), e))?;
    }
    Ok(())
}
