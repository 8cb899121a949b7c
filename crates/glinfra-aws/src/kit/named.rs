//! Kinds found by their deterministic name and tagged by their ARN, with no
//! lifecycle states to wait for: the RDS and ElastiCache subnet and parameter
//! groups. Each such kind says, with [`named!`], how its API describes one
//! ([`Named`]); finding one ([`find`]), a create that meets what an earlier
//! attempt made ([`create`]) and a refresh's read ([`observe`]) are written here,
//! once.

use super::live::{Live, Scope};
use super::tags::{self, Tagging};
use super::{create_or_existing, retryable_when, wait, Absent, Desired, Made, Recorded};
use crate::clients::Clients;
use crate::driver::{Driver, Out};
use crate::error::classify;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::ResourceId;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// How the API of a kind found by name ([`named!`]) describes one.
pub(crate) trait Named: Driver {
    /// The service client (which reads tags by ARN).
    type Client: Tagging + Send + Sync;
    /// One as the service describes it.
    type Group: Send + Sync;
    /// The client of `region`.
    fn client(c: &Clients, region: &str) -> Self::Client;
    /// The name the spec gives it.
    fn name(spec: &Self::Spec) -> &str;
    /// What messages call the one named `name` (DB subnet group `data`).
    fn what(name: &str) -> String;
    /// The one named `name`, if there is one.
    fn describe(
        api: &Self::Client,
        name: &str,
    ) -> impl Future<Output = Result<Option<Self::Group>, ProviderError>> + Send;
    /// Every one of the region, all pages: the describe call without a name.
    fn list(
        api: &Self::Client,
    ) -> impl Future<Output = Result<Vec<Self::Group>, ProviderError>> + Send;
    /// Its name, as the service reports it.
    fn listed_name(group: &Self::Group) -> Option<&str>;
    /// Its ARN, where its tags are.
    fn arn(group: &Self::Group) -> Result<&str, ProviderError>;
    /// Its outputs.
    fn outputs(group: &Self::Group) -> Result<Out<Self>, ProviderError>;
}

/// Implements [`Named`] for the driver `$driver` of a kind that the service client
/// `$client` (from `Clients::$clients`) describes by name with `$describe` (the
/// name set by `$by_name`, classified as `$op`), answering a list `$list` of
/// `$group`s: the first one, or, with `where $name_of`, the one of that name (for a
/// service that may answer more). `$listed_name` reads a group's name, `$arn` its
/// ARN (`$arn_field` when missing) and the function `$outputs` its outputs; `$what`
/// names the kind.
macro_rules! named {
    ($driver:ty {
        client: $clients:ident -> $client:ty,
        what: $what:literal,
        describe: $describe:ident($by_name:ident) -> $list:ident $(where $name_of:ident)?, $op:literal,
        group: $group:ty, name: $listed_name:ident, arn: $arn:ident $arn_field:literal,
        outputs: $outputs:path $(,)?
    }) => {
        impl $crate::kit::named::Named for $driver {
            type Client = $client;
            type Group = $group;

            fn client(c: &$crate::clients::Clients, region: &str) -> $client {
                c.$clients(region)
            }

            fn name(spec: &Self::Spec) -> &str {
                &spec.name
            }

            fn what(name: &str) -> String {
                format!("{} `{name}`", $what)
            }

            async fn describe(
                api: &$client,
                name: &str,
            ) -> Result<Option<$group>, glinfra_engine::ProviderError> {
                let call = api.$describe().$by_name(name).send();
                $crate::kit::described(&format!("{} {name}", $op), call, |out| {
                    let mut groups = out.$list().iter();
                    $crate::kit::named::named!(@pick groups, name $(, $name_of)?)
                })
                .await
            }

            async fn list(api: &$client) -> Result<Vec<$group>, glinfra_engine::ProviderError> {
                api.$describe()
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| $crate::error::classify($op, e))
            }

            fn listed_name(group: &$group) -> Option<&str> {
                group.$listed_name()
            }

            fn arn(group: &$group) -> Result<&str, glinfra_engine::ProviderError> {
                $crate::kit::required(group.$arn(), $arn_field)
            }

            fn outputs(
                group: &$group,
            ) -> Result<$crate::driver::Out<Self>, glinfra_engine::ProviderError> {
                $outputs(group)
            }
        }
    };
    (@pick $groups:ident, $name:ident) => {
        $groups.next()
    };
    (@pick $groups:ident, $name:ident, $name_of:ident) => {
        $groups.find(|g| g.$name_of() == Some($name))
    };
}
pub(crate) use named;

/// The one named `name` when it is `r`'s: its tags, read at its ARN, carry `r`'s
/// ownership tags (an AlreadyExists error naming the owner when they do not).
pub(crate) async fn lookup<K: Named>(
    api: &K::Client,
    name: &str,
    r: &Desired<K::Spec>,
) -> Result<Option<K::Group>, ProviderError> {
    let found = K::describe(api, name).await?;
    tags::ours(api, &K::what(name), found, K::arn, r).await
}

/// [`Driver::find`] of a kind found by name: the one `r` names, when it is `r`'s.
pub(crate) async fn find<K: Named>(
    c: &Clients,
    r: &Desired<K::Spec>,
) -> Result<Option<Out<K>>, ProviderError> {
    let api = K::client(c, &r.region);
    let found = lookup::<K>(&api, K::name(&r.spec), r).await?;
    found.as_ref().map(K::outputs).transpose()
}

/// The one named `name`, which must exist (a NotFound error otherwise).
pub(crate) async fn existing<K: Named>(
    api: &K::Client,
    name: &str,
) -> Result<K::Group, ProviderError> {
    K::describe(api, name).await?.ok_or_else(|| {
        ProviderError::new(ErrorClass::NotFound, format!("{} not found", K::what(name)))
    })
}

/// [`Driver::create`] of a kind found by name: `sent` is the create call (its error
/// classified as `operation`), `created` reads the outputs from its answer (and
/// finishes what the create call cannot do). When the name is taken, what has it is
/// adopted if it is `r`'s ([`Driver::adopt`]) and an AlreadyExists error otherwise.
pub(crate) async fn create<K, C, E, R, Fut>(
    driver: &K,
    c: &Clients,
    r: &Desired<K::Spec>,
    operation: &str,
    sent: impl Future<Output = Result<C, SdkError<E, R>>>,
    created: impl FnOnce(C) -> Fut,
) -> Result<Out<K>, ProviderError>
where
    K: Named,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
    Fut: Future<Output = Result<Out<K>, ProviderError>>,
{
    let api = K::client(c, &r.region);
    let name = K::name(&r.spec);
    let made = create_or_existing(
        &K::what(name),
        async { sent.await.map_err(|e| classify(operation, e)) },
        || lookup::<K>(&api, name, r),
    )
    .await?;
    match made {
        Made::Created(answer) => created(answer).await,
        // Made by an earlier attempt: brought in line.
        Made::Existing(group) => driver.adopt(c, r, K::outputs(&group)?).await,
    }
}

/// One of a kind found by name, as a refresh read it.
pub(crate) struct Seen<'a, K: Named> {
    /// Its logical id, from its ownership tags.
    pub id: ResourceId,
    /// The recorded resource of its name.
    pub recorded: &'a Recorded<K::Spec>,
    /// What the listing says of it.
    pub group: K::Group,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl<K: Named> Seen<'_, K> {
    /// It as the refresh reports it, read as `spec`.
    pub fn live(self, spec: K::Spec) -> Result<Live<K::Spec>, ProviderError> {
        Ok(Live {
            outputs: K::outputs(&self.group)?,
            id: self.id,
            tags: self.tags,
            spec: Some(spec),
        })
    }
}

/// [`Driver::delete`] of a kind found by name: `sent` is the delete call (its error
/// classified as `operation`); refused with one of the `busy` codes while something
/// still uses the group, it is Retryable (`why`: what is being done about it).
/// Returns whether this call deleted it (gone already is success too).
pub(crate) async fn delete<C, E, R>(
    operation: &str,
    sent: impl Future<Output = Result<C, SdkError<E, R>>>,
    busy: &'static [&'static str],
    why: &'static str,
) -> Result<bool, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let deleted = sent
        .await
        .map_err(|e| classify(operation, e))
        .map_err(retryable_when(busy, why))
        .or_absent()?;
    Ok(deleted.is_some())
}

/// Waits, up to `deadline`, until the one named `name` is no longer described
/// (`state` says where it is meanwhile).
pub(crate) async fn gone<K: Named>(
    api: &K::Client,
    name: &str,
    deadline: Duration,
    state: impl Fn(&K::Group) -> String,
) -> Result<(), ProviderError> {
    wait::gone(&K::what(name), deadline, || async {
        Ok(K::describe(api, name).await?.as_ref().map(&state))
    })
    .await
}

/// [`Driver::observe`]'s read of a kind found by name: the describe call without a
/// name (one call per page), then, for each group listed whose name state
/// recorded, its tags at its ARN (one ListTagsForResource each: these listings
/// carry no tags and AWS has no batch tag read for them), kept when they make it
/// this stack's. Groups state does not know are not read: telling which are ours
/// would take a tag read of every group in the account. Nothing recorded, no call.
pub(crate) async fn observe<'a, K: Named>(
    c: &Clients,
    scope: &'a Scope<K::Spec>,
) -> Result<Vec<Seen<'a, K>>, ProviderError> {
    if scope.recorded.is_empty() {
        return Ok(Vec::new());
    }
    let api = K::client(c, &scope.region);
    let mut seen = Vec::new();
    for group in K::list(&api).await? {
        let Some(recorded) = K::listed_name(&group).and_then(|name| {
            scope
                .recorded
                .iter()
                .find(|r| K::name(&r.spec).eq_ignore_ascii_case(name))
        }) else {
            continue;
        };
        let arn = K::arn(&group)?;
        let tags = match scope.listed_tags(arn).await {
            Some(tags) => tags,
            // Gone since it was listed: not there.
            None => match api.list(arn).await.or_absent()? {
                Some(tags) => tags,
                None => continue,
            },
        };
        if let Some(id) = scope.owned(&tags) {
            seen.push(Seen {
                id,
                recorded,
                group,
                tags,
            });
        }
    }
    Ok(seen)
}
