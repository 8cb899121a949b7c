//! Tags: one conversion between a tag map and each SDK's tag type.

use super::{ensure_owned, Changed, Desired, Recorded};
use async_trait::async_trait;
use glinfra_core::ResourceSpec;
use glinfra_engine::ProviderError;
use std::collections::{BTreeMap, HashMap};

/// An SDK's tag type (each service generates its own).
pub(crate) trait SdkTag: Sized {
    /// Key and value (an absent value reads as empty).
    fn pair(&self) -> Option<(&str, &str)>;
    /// A tag of `key` and `value`.
    fn make(key: &str, value: &str) -> Result<Self, ProviderError>;
}

/// Tag types whose key and value are optional strings and whose builder cannot fail.
macro_rules! optional_tag {
    ($($ty:ty),*) => {$(
        impl SdkTag for $ty {
            fn pair(&self) -> Option<(&str, &str)> {
                Some((self.key()?, self.value().unwrap_or("")))
            }
            fn make(key: &str, value: &str) -> Result<Self, ProviderError> {
                Ok(<$ty>::builder().key(key).value(value).build())
            }
        }
    )*};
}

/// Tag types whose key and value are required and whose builder checks that.
macro_rules! required_tag {
    ($($ty:ty => $key:ident, $value:ident),*) => {$(
        impl SdkTag for $ty {
            fn pair(&self) -> Option<(&str, &str)> {
                Some((self.$key(), self.$value()))
            }
            fn make(key: &str, value: &str) -> Result<Self, ProviderError> {
                <$ty>::builder().$key(key).$value(value).build().map_err(super::build_error("tag"))
            }
        }
    )*};
}

optional_tag!(
    aws_sdk_ec2::types::Tag,
    aws_sdk_route53::types::Tag,
    aws_sdk_rds::types::Tag,
    aws_sdk_elasticache::types::Tag
);
required_tag!(
    aws_sdk_s3::types::Tag => key, value,
    aws_sdk_iam::types::Tag => key, value,
    aws_sdk_kms::types::Tag => tag_key, tag_value,
    aws_sdk_wafv2::types::Tag => key, value,
    aws_sdk_resourcegroupstagging::types::Tag => key, value
);

/// The tag map of an SDK tag list.
pub(crate) fn from_sdk<T: SdkTag>(tags: &[T]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(SdkTag::pair)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The SDK tag list of a tag map.
pub(crate) fn to_sdk<T: SdkTag>(tags: &BTreeMap<String, String>) -> Result<Vec<T>, ProviderError> {
    tags.iter().map(|(k, v)| T::make(k, v)).collect()
}

/// The tag map of a service that takes tags as a string map (EKS, MSK).
pub(crate) fn from_map(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The string map a service like EKS or MSK takes.
pub(crate) fn to_map(tags: &BTreeMap<String, String>) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// What changes a resource's tags from `live` to `want`: tags to set (new or
/// changed) and keys to remove.
pub(crate) fn delta(
    live: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = want
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = live
        .keys()
        .filter(|k| !want.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

/// A service's calls that read and change the tags of one resource, named by ARN
/// (RDS, ElastiCache, EKS, MSK) or id: implemented once per service client, so that
/// the reconciling below is written once.
#[async_trait]
pub(crate) trait Tagging: Sync {
    /// The tags `resource` carries now.
    async fn list(&self, resource: &str) -> Result<BTreeMap<String, String>, ProviderError>;
    /// Sets `tags` (added, or values replaced) on `resource`.
    async fn set(
        &self,
        resource: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), ProviderError>;
    /// Removes the tags `keys` from `resource`.
    async fn remove(&self, resource: &str, keys: &[String]) -> Result<(), ProviderError>;
}

/// Implements [`Tagging`] for the client `$client` of a service that tags a resource
/// by its ARN, in one of the two styles of AWS APIs:
///
/// - `by_name`: ListTagsForResource, AddTagsToResource and RemoveTagsFromResource
///   on `ResourceName`, tags as a `TagList` (RDS, ElastiCache);
/// - `by_arn`: ListTagsForResource, TagResource and UntagResource on `ResourceArn`,
///   tags as a string map (EKS, MSK, CloudWatch Logs).
///
/// `$map_err` maps every classified error (say, to make a service's "busy" codes
/// Retryable).
macro_rules! tagging {
    ($client:ty, by_name, $map_err:expr) => {
        $crate::kit::tags::tagging!(@impl $client, $map_err, resource_name,
            list: tag_list, from_sdk,
            set: add_tags_to_resource "AddTagsToResource", |t| $crate::kit::tags::to_sdk(t),
            remove: remove_tags_from_resource "RemoveTagsFromResource");
    };
    ($client:ty, by_arn, $map_err:expr) => {
        $crate::kit::tags::tagging!(@impl $client, $map_err, resource_arn,
            list: tags, from_map,
            set: tag_resource "TagResource", |t| Ok($crate::kit::tags::to_map(t)),
            remove: untag_resource "UntagResource");
    };
    (@impl $client:ty, $map_err:expr, $on:ident,
        list: $listed:ident, $from:ident,
        set: $set:ident $set_op:literal, $to:expr,
        remove: $remove:ident $remove_op:literal) => {
        #[async_trait::async_trait]
        impl $crate::kit::tags::Tagging for $client {
            async fn list(
                &self,
                arn: &str,
            ) -> Result<std::collections::BTreeMap<String, String>, glinfra_engine::ProviderError>
            {
                let out = self
                    .list_tags_for_resource()
                    .$on(arn)
                    .send()
                    .await
                    .map_err(|e| {
                        $map_err($crate::error::classify(
                            &format!("ListTagsForResource {arn}"),
                            e,
                        ))
                    })?;
                Ok($crate::kit::tags::$from(out.$listed()))
            }

            async fn set(
                &self,
                arn: &str,
                tags: &std::collections::BTreeMap<String, String>,
            ) -> Result<(), glinfra_engine::ProviderError> {
                let to: fn(
                    &std::collections::BTreeMap<String, String>,
                ) -> Result<_, glinfra_engine::ProviderError> = $to;
                self.$set()
                    .$on(arn)
                    .set_tags(Some(to(tags)?))
                    .send()
                    .await
                    .map_err(|e| $map_err($crate::error::classify(&format!("{} {arn}", $set_op), e)))?;
                Ok(())
            }

            async fn remove(
                &self,
                arn: &str,
                keys: &[String],
            ) -> Result<(), glinfra_engine::ProviderError> {
                self.$remove()
                    .$on(arn)
                    .set_tag_keys(Some(keys.to_vec()))
                    .send()
                    .await
                    .map_err(|e| {
                        $map_err($crate::error::classify(&format!("{} {arn}", $remove_op), e))
                    })?;
                Ok(())
            }
        }
    };
}
pub(crate) use tagging;

/// What brings a resource's tags to `want`: tags to set and keys to remove.
///
/// With its `live` tags known, only missing or different tags are set; keys to
/// remove are, on a `full` reconcile (after an adoption), every live key not wanted,
/// and otherwise only the keys of `prior` (the tags it was last given) that are
/// still there, so tags others put on the resource are spared. Without `live`, every
/// wanted tag is set and the keys of `prior` no longer wanted are removed. `aws:`
/// keys are AWS's own and are never removed (AWS refuses to).
pub(crate) fn reconcile(
    want: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    live: Option<&BTreeMap<String, String>>,
    full: bool,
) -> (BTreeMap<String, String>, Vec<String>) {
    let unwanted = |k: &&String| !want.contains_key(*k) && !k.starts_with("aws:");
    match live {
        Some(live) => {
            let (set, _) = delta(live, want);
            let remove = live
                .keys()
                .filter(unwanted)
                .filter(|k| full || prior.contains_key(*k))
                .cloned()
                .collect();
            (set, remove)
        }
        None => (
            want.clone(),
            prior.keys().filter(unwanted).cloned().collect(),
        ),
    }
}

/// Brings the tags of `resource` to `want` (see [`reconcile`]), reading its live
/// tags first when `full` (a whole-resource reconcile), else trusting `prior`.
pub(crate) async fn sync<T: Tagging + ?Sized>(
    api: &T,
    resource: &str,
    want: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    full: bool,
) -> Result<(), ProviderError> {
    let live = if full {
        Some(api.list(resource).await?)
    } else {
        None
    };
    sync_known(api, resource, want, prior, live.as_ref()).await
}

/// [`sync`] with the live tags already read (say, from a Describe), or unknown.
pub(crate) async fn sync_known<T: Tagging + ?Sized>(
    api: &T,
    resource: &str,
    want: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    live: Option<&BTreeMap<String, String>>,
) -> Result<(), ProviderError> {
    let (set, remove) = reconcile(want, prior, live, live.is_some());
    apply(api, resource, &set, &remove).await
}

/// Sets the tags `set` on `resource`, then removes the keys `remove` (no call for
/// either when it is empty): the changes [`reconcile`] or [`delta`] computed.
pub(crate) async fn apply<T: Tagging + ?Sized>(
    api: &T,
    resource: &str,
    set: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), ProviderError> {
    if !set.is_empty() {
        api.set(resource, set).await?;
    }
    if !remove.is_empty() {
        api.remove(resource, remove).await?;
    }
    Ok(())
}

/// How a service brings the tags of a resource from those it was last given
/// (`prior`) to `want`; `full` on a whole-resource reconcile (after an adoption),
/// when the record may not be what the resource carries. A [`Tagging`] service does
/// it by [`sync`]; EC2, in its own way (`crate::ec2`).
#[async_trait]
pub(crate) trait SyncTags: Sync {
    /// Brings the tags of `resource` from `prior` to `want`.
    async fn sync_tags(
        &self,
        resource: &str,
        want: &BTreeMap<String, String>,
        prior: &BTreeMap<String, String>,
        full: bool,
    ) -> Result<(), ProviderError>;
}

#[async_trait]
impl<T: Tagging> SyncTags for T {
    async fn sync_tags(
        &self,
        resource: &str,
        want: &BTreeMap<String, String>,
        prior: &BTreeMap<String, String>,
        full: bool,
    ) -> Result<(), ProviderError> {
        sync(self, resource, want, prior, full).await
    }
}

/// The tags part of an update: brings the tags of `resource` (through `api`) from
/// `prior`'s to `r`'s, ownership tags included, when `changed` names them.
pub(crate) async fn update<T: SyncTags + ?Sized, S: ResourceSpec>(
    api: &T,
    resource: &str,
    prior: &Recorded<S>,
    r: &Desired<S>,
    changed: Changed<'_>,
) -> Result<(), ProviderError> {
    if !changed.has("tags") {
        return Ok(());
    }
    let full = changed.everything();
    api.sync_tags(resource, &r.owned_tags(), &prior.tags, full)
        .await
}

/// `Ok` when the tags of `resource`, read through `api`, make `what` (say, "DB
/// subnet group `data`") `r`'s; otherwise the AlreadyExists error of
/// [`ensure_owned`](super::ensure_owned).
pub(crate) async fn ensure_ours<T: Tagging + ?Sized, S>(
    api: &T,
    what: &str,
    resource: &str,
    r: &Desired<S>,
) -> Result<(), ProviderError> {
    ensure_owned(what, &api.list(resource).await?, r)
}

/// `found`, what a Describe by name answered, when its tags (read through `api`
/// at the ARN `arn_of` gives) make `what` `r`'s; `None` when nothing was found;
/// otherwise the AlreadyExists error of [`ensure_ours`].
pub(crate) async fn ours<T: Tagging + ?Sized, G, S>(
    api: &T,
    what: &str,
    found: Option<G>,
    arn_of: impl FnOnce(&G) -> Result<&str, ProviderError>,
    r: &Desired<S>,
) -> Result<Option<G>, ProviderError> {
    let Some(found) = found else {
        return Ok(None);
    };
    ensure_ours(api, what, arn_of(&found)?, r).await?;
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tag map of `pairs`.
    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reconcile_trusts_live_tags_when_known_and_the_record_otherwise() {
        let want = map(&[("a", "1"), ("b", "2")]);
        let prior = map(&[("a", "1"), ("old", "x")]);
        let live = map(&[("a", "1"), ("b", "0"), ("stray", "y"), ("aws:cf", "z")]);
        assert_eq!(
            reconcile(&want, &prior, Some(&live), true),
            (map(&[("b", "2")]), vec!["stray".to_string()])
        );
        assert_eq!(
            reconcile(&want, &prior, None, false),
            (want.clone(), vec!["old".to_string()])
        );
    }

    #[test]
    fn round_trips_through_every_sdk_shape() {
        let tags = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "".into())]);
        let ec2: Vec<aws_sdk_ec2::types::Tag> = to_sdk(&tags).unwrap();
        assert_eq!(from_sdk(&ec2), tags);
        let kms: Vec<aws_sdk_kms::types::Tag> = to_sdk(&tags).unwrap();
        assert_eq!(from_sdk(&kms), tags);
        let s3: Vec<aws_sdk_s3::types::Tag> = to_sdk(&tags).unwrap();
        assert_eq!(from_sdk(&s3), tags);
        assert_eq!(from_map(Some(&to_map(&tags))), tags);
    }

    #[test]
    fn delta_sets_changed_and_removes_stale() {
        let live = BTreeMap::from([
            ("a".to_string(), "1".to_string()),
            ("old".into(), "x".into()),
        ]);
        let want = BTreeMap::from([
            ("a".to_string(), "2".to_string()),
            ("new".into(), "y".into()),
        ]);
        let (set, remove) = delta(&live, &want);
        assert_eq!(set, want);
        assert_eq!(remove, vec!["old".to_string()]);
    }

    #[test]
    fn reconcile_removes_only_recorded_keys_unless_full_and_never_aws_ones() {
        let live = map(&[("mine", "1"), ("theirs", "2"), ("aws:x", "3")]);
        let want = map(&[("new", "4")]);
        let prior = map(&[("mine", "1"), ("aws:x", "3")]);
        let (set, remove) = reconcile(&want, &prior, Some(&live), false);
        assert_eq!(set, want);
        assert_eq!(remove, vec!["mine".to_string()]);
        let (_, remove) = reconcile(&want, &prior, Some(&live), true);
        assert_eq!(remove, vec!["mine".to_string(), "theirs".to_string()]);
    }
}
