//! Tags: one conversion between a tag map and each SDK's tag type.

use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::{BTreeMap, HashMap};

/// An SDK's tag type (each service generates its own).
pub(crate) trait SdkTag: Sized {
    /// Key and value (an absent value reads as empty).
    fn pair(&self) -> Option<(&str, &str)>;
    /// A tag of `key` and `value`.
    fn make(key: &str, value: &str) -> Result<Self, ProviderError>;
}

fn build_error(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorClass::Invalid, format!("tag: {e}"))
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
                <$ty>::builder().$key(key).$value(value).build().map_err(build_error)
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
    aws_sdk_kms::types::Tag => tag_key, tag_value
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

/// Like [`delta`], but sparing tags that others put on the resource: the keys to
/// remove are those recorded before (`prior`) or, when reconciling everything
/// (`full`), every live key; a key starting with `aws:` belongs to AWS and is never
/// removed (AWS refuses to).
pub(crate) fn reconcile(
    live: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    full: bool,
) -> (BTreeMap<String, String>, Vec<String>) {
    let (set, _) = delta(live, want);
    let remove = live
        .keys()
        .filter(|k| !want.contains_key(*k) && !k.starts_with("aws:"))
        .filter(|k| full || prior.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let live = map(&[("mine", "1"), ("theirs", "2"), ("aws:x", "3")]);
        let want = map(&[("new", "4")]);
        let prior = map(&[("mine", "1"), ("aws:x", "3")]);
        let (set, remove) = reconcile(&live, &want, &prior, false);
        assert_eq!(set, want);
        assert_eq!(remove, vec!["mine".to_string()]);
        let (_, remove) = reconcile(&live, &want, &prior, true);
        assert_eq!(remove, vec!["mine".to_string(), "theirs".to_string()]);
    }
}
