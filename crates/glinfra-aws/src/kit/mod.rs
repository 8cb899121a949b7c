//! The driver kit: what every driver needs and nothing writes twice.
//!
//! - [`Desired`] / [`Recorded`]: a resource as the program wants it and as state
//!   recorded it, with typed spec and outputs;
//! - [`resolved`] and friends: spec inputs that must hold values by now;
//! - [`Changed`]: the fields an update must change ([`Changed::ALL`] after an
//!   adoption, with [`Recorded::adopted`]);
//! - [`create_or_existing`]: a create that meets what an earlier attempt made;
//! - [`described`]: a Describe by name, nothing found being `None`;
//! - [`retryable_when`]: the error codes of a state the executor waits out;
//! - [`parameter_changes`]: what to set and reset in a parameter group;
//! - ownership ([`owned`], [`ensure_owned`], [`pick_owned`]): the `glinfra:stack` and
//!   `glinfra:logical-id` tags that make a find safe;
//! - [`tags`]: conversion between tag maps and each SDK's tag type, and
//!   reconciling a resource's tags through a service's [`tags::Tagging`] calls
//!   (implemented by [`tags::tagging!`] for the services that tag by ARN);
//! - [`named`]: find and create of the kinds found by name and tagged by ARN (the
//!   RDS and ElastiCache subnet and parameter groups);
//! - not-found handling ([`Absent`]): a Describe that finds nothing is `None`, a
//!   delete of what is gone is success;
//! - [`live`]: what a refresh reads ([`live::Scope`]) and returns ([`live::Live`]);
//!   [`read`]: live values in a spec's spelling (ids in the recorded order, KMS
//!   keys as the spec names them, fields AWS fills in);
//!   [`claimed_elsewhere`] tells a recorded resource now tagged as someone else's;
//!   [`policy`] reads policy documents back (URL-encoded, rewritten by AWS);
//!   [`join`] runs a varying number of reads at once;
//! - [`wait`]: one polling helper with a deadline, [`wait::gone`], and
//!   [`wait::settle`] for calls that name something not visible yet.

/// Every item of every page of the paginated SDK call `$call` (a fluent builder),
/// its error classified as operation `$op`: `all_items!(eks.list_clusters(), "ListClusters")`.
macro_rules! all_items {
    ($call:expr, $op:expr) => {
        $call
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| $crate::error::classify($op, e))
    };
}
pub(crate) use all_items;

pub(crate) mod join;
pub(crate) mod live;
pub(crate) mod named;
pub(crate) mod policy;
pub(crate) mod read;
pub(crate) mod tagged;
pub(crate) mod tags;
pub(crate) mod wait;

use crate::error::classify;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::{Declared, Input, Kind, ResourceId, ResourceSpec, ResourceState};
use glinfra_core::{TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, IdempotencyToken, Outputs, ProviderError, ResolvedResource};
use std::collections::BTreeMap;
use std::future::Future;

/// A resource as the program wants it: what `find`, `create` and `update` get.
#[derive(Clone, Debug)]
pub(crate) struct Desired<S> {
    /// The stack that owns it.
    pub stack: String,
    /// Its logical id.
    pub id: ResourceId,
    /// Its region.
    pub region: String,
    /// The spec, every input resolved.
    pub spec: S,
    /// Every tag it must carry, ownership tags included (empty for untagged kinds).
    pub tags: BTreeMap<String, String>,
    /// For a create, the idempotency token the engine decided
    /// ([`ResolvedResource::token`]); `None` otherwise.
    pub token: Option<IdempotencyToken>,
    /// The ids of its old resources that a create-first replacement keeps until
    /// this one exists: they carry its ownership tags but are never it.
    pub superseded: std::collections::BTreeSet<String>,
}

/// A resource as state recorded it: what `update` and `delete` get as `prior`.
#[derive(Clone, Debug)]
pub(crate) struct Recorded<S: Declared> {
    /// Its logical id.
    pub id: ResourceId,
    /// Its region.
    pub region: String,
    /// The spec it was last applied from.
    pub spec: S,
    /// The tags it was last given.
    pub tags: BTreeMap<String, String>,
    /// Its outputs.
    pub outputs: S::Outputs,
}

fn malformed(kind: Kind, id: &str, what: &str, e: serde_json::Error) -> ProviderError {
    ProviderError::new(
        ErrorClass::Invalid,
        format!("{kind} `{id}`: malformed {what}: {e}"),
    )
    .resource(id)
}

impl<S: ResourceSpec> Desired<S> {
    /// The typed view of `r`.
    pub fn from_resolved(r: &ResolvedResource) -> Result<Self, ProviderError> {
        Ok(Desired {
            stack: r.stack.clone(),
            id: r.id.clone(),
            region: r.region.clone(),
            spec: serde_json::from_value(r.props.clone())
                .map_err(|e| malformed(S::KIND, &r.id, "spec", e))?,
            tags: r.tags.clone(),
            token: r.token.clone(),
            superseded: r.superseded.clone(),
        })
    }

    /// The create's idempotency token, for APIs that take one as a string
    /// (`set_client_token`, `set_client_request_token`).
    pub fn token(&self) -> Option<String> {
        self.token.as_ref().map(|t| t.as_str().to_string())
    }

    /// The tags to put on the resource: the declared ones, ownership tags always present.
    pub fn owned_tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.entry(TAG_STACK.to_string())
            .or_insert_with(|| self.stack.clone());
        tags.entry(TAG_LOGICAL_ID.to_string())
            .or_insert_with(|| self.id.clone());
        tags
    }
}

impl<S: ResourceSpec> Recorded<S> {
    /// The typed view of a recorded resource `id`.
    pub fn from_state(id: &str, prior: &ResourceState) -> Result<Self, ProviderError> {
        Ok(Recorded {
            id: id.to_string(),
            region: prior.region.clone(),
            spec: serde_json::from_value(prior.props.clone())
                .map_err(|e| malformed(S::KIND, id, "recorded spec", e))?,
            tags: prior.tags.clone(),
            outputs: outputs_from(S::KIND, id, &prior.outputs)?,
        })
    }
}

impl<S: Declared + Clone> Recorded<S> {
    /// The state an update starts from after a create met `r`'s resource, made by an
    /// earlier attempt, with `outputs`: recorded as `r` wants it, so that an update of
    /// [`Changed::ALL`] brings the resource in line by reading what it is.
    pub fn adopted(r: &Desired<S>, outputs: S::Outputs) -> Self {
        Recorded {
            id: r.id.clone(),
            region: r.region.clone(),
            spec: r.spec.clone(),
            tags: r.tags.clone(),
            outputs,
        }
    }
}

/// Typed outputs from a recorded output map.
pub(crate) fn outputs_from<O: serde::de::DeserializeOwned>(
    kind: Kind,
    id: &str,
    outputs: &Outputs,
) -> Result<O, ProviderError> {
    let map: serde_json::Map<String, serde_json::Value> = outputs
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| malformed(kind, id, "recorded outputs", e))
}

/// The fields an update must change: those named, or every field when none are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Changed<'a>(pub &'a [String]);

impl Changed<'_> {
    /// Every field: what an update after an adoption asks for.
    pub const ALL: Changed<'static> = Changed(&[]);

    /// True when every field must be changed (none is named): the whole resource is
    /// reconciled, so what it carries now must be read rather than assumed.
    pub fn everything(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `field` must be changed.
    pub fn has(&self, field: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|f| f == field)
    }

    /// True when any of `fields` must be changed.
    pub fn any(&self, fields: &[&str]) -> bool {
        fields.iter().any(|f| self.has(f))
    }
}

fn unresolved(field: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Invalid,
        format!("`{field}` is still an unresolved output reference"),
    )
}

/// The value of an input that must be resolved by now.
pub(crate) fn resolved<'a, T>(input: &'a Input<T>, field: &str) -> Result<&'a T, ProviderError> {
    input.value().ok_or_else(|| unresolved(field))
}

/// The string value of an input that must be resolved by now.
pub(crate) fn resolved_str<'a>(
    input: &'a Input<String>,
    field: &str,
) -> Result<&'a str, ProviderError> {
    resolved(input, field).map(String::as_str)
}

/// The value of an optional input, if given.
pub(crate) fn resolved_opt(
    input: Option<&Input<String>>,
    field: &str,
) -> Result<Option<String>, ProviderError> {
    input
        .map(|i| resolved_str(i, field).map(str::to_owned))
        .transpose()
}

/// Every value of a list of inputs.
pub(crate) fn resolved_all(
    inputs: &[Input<String>],
    field: &str,
) -> Result<Vec<String>, ProviderError> {
    inputs
        .iter()
        .map(|i| resolved_str(i, field).map(str::to_owned))
        .collect()
}

/// True when `tags` are the ownership tags of resource `id` of `stack`.
pub(crate) fn owned(tags: &BTreeMap<String, String>, stack: &str, id: &str) -> bool {
    tags.get(TAG_STACK).map(String::as_str) == Some(stack)
        && tags.get(TAG_LOGICAL_ID).map(String::as_str) == Some(id)
}

/// True when `tags`, read from the resource recorded as `id` of `stack`, name
/// another stack or logical id: it is no longer ours. A resource whose ownership
/// tags were removed is still the recorded one (its tags show as drift).
pub(crate) fn claimed_elsewhere(tags: &BTreeMap<String, String>, stack: &str, id: &str) -> bool {
    tags.get(TAG_STACK).is_some_and(|s| s != stack)
        || tags.get(TAG_LOGICAL_ID).is_some_and(|l| l != id)
}

/// Who owns a resource, from its tags, for error messages.
pub(crate) fn owner_of(tags: &BTreeMap<String, String>) -> String {
    match (tags.get(TAG_STACK), tags.get(TAG_LOGICAL_ID)) {
        (Some(s), Some(l)) => format!("stack `{s}`, resource `{l}`"),
        _ => "something not managed by glinfra (it has no glinfra ownership tags)".into(),
    }
}

/// `Ok` when `tags` make `what` (say, "EKS cluster `prod`") ours; otherwise the
/// AlreadyExists error that says who owns it. A same-named resource that is not
/// ours is never adopted.
pub(crate) fn ensure_owned<S>(
    what: &str,
    tags: &BTreeMap<String, String>,
    r: &Desired<S>,
) -> Result<(), ProviderError> {
    if owned(tags, &r.stack, &r.id) {
        Ok(())
    } else {
        Err(ProviderError::new(
            ErrorClass::AlreadyExists,
            format!("{what} already exists and belongs to {}", owner_of(tags)),
        )
        .resource(&r.id))
    }
}

/// `Ok` when the resource `aws_id` carrying `tags` may be imported as `r`: it
/// carries no glinfra ownership tags, or `r`'s own.
pub(crate) fn ensure_importable<S>(
    aws_id: &str,
    tags: &BTreeMap<String, String>,
    r: &Desired<S>,
) -> Result<(), ProviderError> {
    if tags.get(TAG_STACK).is_none() || owned(tags, &r.stack, &r.id) {
        Ok(())
    } else {
        Err(ProviderError::new(
            ErrorClass::AlreadyExists,
            format!(
                "{aws_id} belongs to {}; it cannot be imported here",
                owner_of(tags)
            ),
        )
        .resource(&r.id))
    }
}

/// Picks the one of `found` that carries `r`'s ownership tags and is not one of
/// its superseded old resources. The tags are checked here as well as in any
/// Describe filter, so a service that ignores a filter cannot make us adopt
/// another stack's resource. More than one is an error
/// naming each of them: something outside glinfra copied the tags (or an earlier
/// create was made twice), and adopting either would leave the other unmanaged;
/// which one is ours is for a person to decide (untag or delete the other).
pub(crate) fn pick_owned<T, S>(
    r: &Desired<S>,
    found: Vec<T>,
    id_of: impl Fn(&T) -> &str,
    tags_of: impl Fn(&T) -> BTreeMap<String, String>,
) -> Result<Option<T>, ProviderError> {
    let mut found: Vec<T> = found
        .into_iter()
        .filter(|x| owned(&tags_of(x), &r.stack, &r.id) && !r.superseded.contains(id_of(x)))
        .collect();
    if found.len() > 1 {
        let mut ids: Vec<String> = found.iter().map(|x| id_of(x).to_string()).collect();
        ids.sort();
        return Err(ProviderError::new(
            ErrorClass::Fatal,
            format!(
                "{} resources carry the ownership tags of `{}` in stack `{}` ({TAG_STACK}={}, {TAG_LOGICAL_ID}={}): {}; glinfra adopts exactly one. Keep the right one: delete the other, or remove its glinfra tags, then run again",
                ids.len(),
                r.id,
                r.stack,
                r.stack,
                r.id,
                ids.join(" and ")
            ),
        )
        .resource(&r.id));
    }
    Ok(found.pop())
}

/// Not-found handling, once: a Describe that finds nothing and a delete of what is gone.
pub(crate) trait Absent<T> {
    /// `Ok(None)` for a NotFound error, `Ok(Some(v))` for a value.
    fn or_absent(self) -> Result<Option<T>, ProviderError>;
    /// `Ok(())` for success or NotFound (deleting what is gone succeeds).
    fn or_gone(self) -> Result<(), ProviderError>;
}

impl<T> Absent<T> for Result<T, ProviderError> {
    fn or_absent(self) -> Result<Option<T>, ProviderError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn or_gone(self) -> Result<(), ProviderError> {
        self.or_absent().map(|_| ())
    }
}

/// What a Describe by name found: the item `pick` takes from its answer, `None` when
/// AWS answers NotFound or `pick` finds nothing. `call` is the request's `send()`;
/// its error is classified as `what`.
pub(crate) async fn described<O, T, E, R>(
    what: &str,
    call: impl Future<Output = Result<O, SdkError<E, R>>>,
    pick: impl FnOnce(&O) -> Option<&T>,
) -> Result<Option<T>, ProviderError>
where
    T: Clone,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let out = call.await.map_err(|e| classify(what, e)).or_absent()?;
    Ok(out.as_ref().and_then(pick).cloned())
}

/// Makes an error Retryable, saying `why`, when its code is one of `codes`: a
/// state the resource leaves by itself (still used by something being deleted,
/// busy with another change), which the executor waits out by trying again.
/// `.map_err(retryable_when(&["InvalidDBSubnetGroupStateFault"], "in use"))`.
pub(crate) fn retryable_when(
    codes: &'static [&'static str],
    why: &'static str,
) -> impl Fn(ProviderError) -> ProviderError {
    move |err| {
        if err.has_code(codes) {
            err.reclassified(ErrorClass::Retryable, why)
        } else {
            err
        }
    }
}

/// What a create met: the resource it made, or the one an earlier attempt made.
#[derive(Debug)]
pub(crate) enum Made<C, F> {
    /// Made by this call (the create's answer).
    Created(C),
    /// There already and ours (what the lookup found): to be brought in line.
    Existing(F),
}

/// Runs `create`; when it answers AlreadyExists, `lookup` decides: what it finds is
/// ours ([`Made::Existing`]; `lookup` returns the AlreadyExists error naming the
/// owner of anyone else's), and nothing at all (gone meanwhile) is a Retryable error
/// naming `what`. This is how a create made again after a lost answer or a killed run
/// converges instead of failing.
pub(crate) async fn create_or_existing<C, F, Fut>(
    what: &str,
    create: impl Future<Output = Result<C, ProviderError>>,
    lookup: impl FnOnce() -> Fut,
) -> Result<Made<C, F>, ProviderError>
where
    Fut: Future<Output = Result<Option<F>, ProviderError>>,
{
    match create.await {
        Ok(made) => Ok(Made::Created(made)),
        Err(e) if e.class == ErrorClass::AlreadyExists => match lookup().await? {
            Some(found) => Ok(Made::Existing(found)),
            None => Err(ProviderError::new(
                ErrorClass::Retryable,
                format!("{what} was reported to exist, then not found"),
            )
            .with_source(e)),
        },
        Err(e) => Err(e),
    }
}

/// The changes that bring a parameter group (RDS, ElastiCache) from `current`, the
/// parameters it sets now, to `want`: parameters to set (new or with another value)
/// and names to reset to their default. The arithmetic of [`tags::delta`].
pub(crate) fn parameter_changes(
    current: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    tags::delta(current, want)
}

/// The AWS partition of `region`, for building ARNs (`aws`, `aws-cn`, `aws-us-gov`, ...).
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// A field the service always returns, or a Fatal error naming it.
pub(crate) fn required<'a, T: ?Sized>(
    value: Option<&'a T>,
    what: &str,
) -> Result<&'a T, ProviderError> {
    value.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("{what}: the response lacks a field it always carries"),
        )
    })
}

/// The error of an SDK builder that lacks a required field, as an Invalid error
/// about `what`: `.build().map_err(build_error("record set"))`.
pub(crate) fn build_error(
    what: &str,
) -> impl FnOnce(aws_smithy_types::error::operation::BuildError) -> ProviderError + '_ {
    move |e| ProviderError::new(ErrorClass::Invalid, format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builder_error_is_invalid_and_names_what_was_built() {
        let e = aws_smithy_types::error::operation::BuildError::missing_field("key", "no key");
        let err = build_error("tag")(e);
        assert_eq!(err.class, ErrorClass::Invalid);
        assert!(err.message.starts_with("tag: "), "{}", err.message);
    }

    fn desired() -> Desired<()> {
        Desired {
            stack: "s".into(),
            id: "vpc".into(),
            region: "us-east-1".into(),
            spec: (),
            tags: BTreeMap::new(),
            token: None,
            superseded: Default::default(),
        }
    }

    fn tags(stack: &str, id: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_STACK.to_string(), stack.to_string()),
            (TAG_LOGICAL_ID.to_string(), id.to_string()),
        ])
    }

    #[test]
    fn ownership_needs_both_tags_and_names_the_owner() {
        let r = desired();
        assert!(ensure_owned("VPC vpc-1", &tags("s", "vpc"), &r).is_ok());
        let err = ensure_owned("VPC vpc-1", &tags("other", "vpc"), &r).unwrap_err();
        assert_eq!(err.class, ErrorClass::AlreadyExists);
        assert!(
            err.to_string().contains("stack `other`, resource `vpc`"),
            "{err}"
        );
        let err = ensure_owned("VPC vpc-1", &BTreeMap::new(), &r).unwrap_err();
        assert!(
            err.to_string().contains("no glinfra ownership tags"),
            "{err}"
        );
    }

    #[test]
    fn pick_owned_filters_by_tags() {
        let r = desired();
        let found = vec![
            ("x", tags("s", "other")),
            ("a", tags("s", "vpc")),
            ("y", tags("t", "vpc")),
        ];
        let picked = pick_owned(&r, found, |x| x.0, |x| x.1.clone()).unwrap();
        assert_eq!(picked.map(|x| x.0), Some("a"));
        let none = pick_owned(
            &r,
            vec![("x", tags("s", "other"))],
            |x| x.0,
            |x| x.1.clone(),
        );
        assert!(none.unwrap().is_none());
    }

    /// During a create-first replacement the old resource carries the same tags as
    /// the new one: it is never picked as the new one, and is not a duplicate.
    #[test]
    fn pick_owned_never_picks_a_superseded_resource() {
        let mut r = desired();
        r.superseded.insert("vpc-0old".into());
        let found = vec![
            ("vpc-0old", tags("s", "vpc")),
            ("vpc-0new", tags("s", "vpc")),
        ];
        let picked = pick_owned(&r, found, |x| x.0, |x| x.1.clone()).unwrap();
        assert_eq!(picked.map(|x| x.0), Some("vpc-0new"));
        let only_old = vec![("vpc-0old", tags("s", "vpc"))];
        assert!(pick_owned(&r, only_old, |x| x.0, |x| x.1.clone())
            .unwrap()
            .is_none());
    }

    /// Two resources with one logical id's tags: an error naming both, never a
    /// silent pick (the other would be left running, unmanaged).
    #[test]
    fn two_resources_with_one_logical_ids_tags_are_an_error_naming_both() {
        let r = desired();
        let found = vec![
            ("vpc-0bbb", tags("s", "vpc")),
            ("vpc-0ccc", tags("s", "other")),
            ("vpc-0aaa", tags("s", "vpc")),
        ];
        let err = pick_owned(&r, found, |x| x.0, |x| x.1.clone()).unwrap_err();
        assert_eq!(err.class, ErrorClass::Fatal);
        assert!(!err.class.is_retryable());
        assert_eq!(err.resource.as_deref(), Some("vpc"));
        assert!(
            err.message.starts_with(
                "2 resources carry the ownership tags of `vpc` in stack `s` (glinfra:stack=s, glinfra:logical-id=vpc): vpc-0aaa and vpc-0bbb;"
            ),
            "{}",
            err.message
        );
        assert!(!err.message.contains("vpc-0ccc"), "{}", err.message);
    }

    #[test]
    fn not_found_is_absent_and_other_errors_pass() {
        let nf: Result<u8, _> = Err(ProviderError::new(ErrorClass::NotFound, "gone"));
        assert_eq!(nf.or_absent().unwrap(), None);
        let nf: Result<u8, _> = Err(ProviderError::new(ErrorClass::NotFound, "gone"));
        assert!(nf.or_gone().is_ok());
        let bad: Result<u8, _> = Err(ProviderError::new(ErrorClass::Fatal, "no"));
        assert!(bad.or_gone().is_err());
        assert_eq!(Ok::<u8, ProviderError>(3).or_absent().unwrap(), Some(3));
    }

    #[tokio::test]
    async fn create_or_existing_adopts_ours_and_retries_what_vanished() {
        let exists = || async { Err::<u8, _>(ProviderError::new(ErrorClass::AlreadyExists, "x")) };
        let made = create_or_existing("g", async { Ok::<u8, _>(1) }, || async {
            Ok::<Option<u8>, _>(None)
        })
        .await
        .unwrap();
        assert!(matches!(made, Made::Created(1)));
        let made = create_or_existing("g", exists(), || async { Ok(Some("found")) })
            .await
            .unwrap();
        assert!(matches!(made, Made::Existing("found")));
        let err = create_or_existing("group `g`", exists(), || async { Ok(None::<u8>) })
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Retryable);
        assert!(err.message.contains("group `g` was reported"), "{err}");
        let err = create_or_existing("g", exists(), || async {
            Err::<Option<u8>, _>(ProviderError::new(ErrorClass::AlreadyExists, "theirs"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.message, "theirs");
    }

    #[test]
    fn parameter_changes_set_differing_values_and_reset_the_rest() {
        let current = BTreeMap::from([
            ("a".to_string(), "1".to_string()),
            ("b".into(), "2".into()),
            ("c".into(), "3".into()),
        ]);
        let want = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "9".into())]);
        let (set, reset) = parameter_changes(&current, &want);
        assert_eq!(set, BTreeMap::from([("b".to_string(), "9".to_string())]));
        assert_eq!(reset, ["c"]);
    }

    #[test]
    fn changed_with_no_names_means_every_field() {
        let names = ["a".to_string()];
        assert!(Changed::ALL.everything() && !Changed(&names).everything());
        assert!(Changed(&[]).has("anything"));
        assert!(Changed(&names).has("a"));
        assert!(!Changed(&names).has("b"));
        assert!(Changed(&names).any(&["b", "a"]));
        assert!(Changed(&[]).everything());
        assert!(!Changed(&names).everything());
    }

    #[test]
    fn partitions_of_regions() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("us-iso-east-1"), "aws-iso");
        assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
    }
}
