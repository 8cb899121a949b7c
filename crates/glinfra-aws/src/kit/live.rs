//! What a refresh reads: the [`Scope`] a driver's `observe` gets (a stack, a
//! region, the recorded resources of its kind there) and the [`Live`] resources it
//! returns.
//!
//! A driver lists every resource of its kind carrying the stack's ownership tag in
//! one paginated call where the API allows it, or reads untaggable kinds through
//! their recorded parents, and says for each what it is as a spec. Fields it can
//! read come from AWS; fields it cannot read are taken from the record
//! ([`Scope::recorded_spec`]), so they never show as drift.

use super::tagged::Pending;
use super::Recorded;
use glinfra_core::{Declared, ResourceId, TAG_LOGICAL_ID, TAG_STACK};
use std::collections::BTreeMap;

/// The resources of one kind in one region that a refresh reads.
pub(crate) struct Scope<S: Declared> {
    /// The stack whose ownership tag selects them.
    pub stack: String,
    /// The region.
    pub region: String,
    /// The recorded resources of the kind in the region (those that exist).
    pub recorded: Vec<Recorded<S>>,
    /// For kinds read with the bulk tag read ([`crate::driver::Driver::TAGGING`]):
    /// that read, under way (the tags of the kind's service's resources carrying
    /// the stack's tag, by ARN, [`super::tagged`]); `None` when none is made.
    pub tagged: Option<Pending>,
}

/// One live resource, as a driver read it.
pub(crate) struct Live<S: Declared> {
    /// Its logical id.
    pub id: ResourceId,
    /// Its outputs.
    pub outputs: S::Outputs,
    /// Its tags (empty for kinds that take none).
    pub tags: BTreeMap<String, String>,
    /// What it is as a spec, or `None` when it cannot be read whole (a resource
    /// state does not know, of a kind whose spec is only partly readable).
    pub spec: Option<S>,
}

impl<S: Declared + Clone> Scope<S> {
    /// The logical id of a resource carrying `tags`, when they make it this stack's.
    pub fn owned(&self, tags: &BTreeMap<String, String>) -> Option<ResourceId> {
        (tags.get(TAG_STACK) == Some(&self.stack))
            .then(|| tags.get(TAG_LOGICAL_ID).cloned())
            .flatten()
    }

    /// The tags of the resource `arn` when the bulk tag read listed it; `None`:
    /// read them on their own (not listed, or no bulk read was made).
    pub async fn listed_tags(&self, arn: &str) -> Option<BTreeMap<String, String>> {
        self.tagged.as_ref()?.get().await?.get(arn).cloned()
    }

    /// The recorded resource `id`.
    pub fn recorded(&self, id: &str) -> Option<&Recorded<S>> {
        self.recorded.iter().find(|r| r.id == id)
    }

    /// The recorded spec of `id`, for kinds that read only part of it: the fields
    /// read replace their recorded values, the rest stay as recorded.
    pub fn recorded_spec(&self, id: &str) -> Option<S> {
        self.recorded(id).map(|r| r.spec.clone())
    }
}

/// `live` in the order of `recorded` when both hold the same items (AWS returns
/// sets in its own order, which is not drift); otherwise `live` as read.
pub(crate) fn like<T: PartialEq + Clone>(live: Vec<T>, recorded: Option<&[T]>) -> Vec<T> {
    match recorded {
        Some(r)
            if r.len() == live.len()
                && r.iter().all(|x| live.contains(x))
                && live.iter().all(|x| r.contains(x)) =>
        {
            r.to_vec()
        }
        _ => live,
    }
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn sets_read_in_another_order_keep_the_recorded_order() {
        assert_eq!(like(vec![2, 1], Some(&[1, 2][..])), vec![1, 2]);
        assert_eq!(like(vec![2, 3], Some(&[1, 2][..])), vec![2, 3]);
        assert_eq!(like(vec![1, 1, 2], Some(&[1, 2][..])), vec![1, 1, 2]);
        assert_eq!(like(vec![2, 1], None), vec![2, 1]);
    }
}
