//! The tags of a stack's resources, read in bulk for a refresh: one GetResources
//! of the Resource Groups Tagging API a region answers, for every kind whose
//! service lists no tags with its resources (S3 buckets, KMS keys, RDS and
//! ElastiCache groups), what would otherwise be one tag read per resource.
//!
//! The refreshes of those kinds in one region share the call the way waits share a
//! poll ([`glinfra_engine::batch`]): the first to ask opens a round, the others
//! join it for a moment, and one GetResources (every page) names all their
//! services and stacks in its filters. Every answer was read after its caller
//! asked, so nothing is served from an earlier refresh.
//!
//! The tagging API is an index that AWS updates shortly after a change. A driver
//! takes from it the tags of what it lists and reads the tags of any recorded
//! resource it does not list on its own, as before: a resource just made, one
//! whose stack tag was removed, or one gone. A failed GetResources (a role without
//! `tag:GetResources`, say) costs only the calls it would have saved: the drivers
//! then read every resource's tags on their own.

use crate::clients::Clients;
use crate::kit::tags;
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::{Declared, Kind, TAG_STACK};
use glinfra_engine::ProviderError;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::watch;

/// Tags by resource ARN.
pub(crate) type TagsByArn = HashMap<String, BTreeMap<String, String>>;

/// The rounds of the bulk tag read are keyed by region alone: every kind that
/// reads its tags this way joins the same round, under this one kind.
const ROUND_KIND: Kind = BucketSpec::KIND;

/// Most services one GetResources may name in `ResourceTypeFilters`.
const MOST_FILTERS: usize = 100;

/// Separates the stack from the service in the id of a caller's part of a round.
const SEP: char = '\u{1f}';

/// The bulk tag read of one kind's refresh: started as the refresh of the kind
/// begins ([`Pending::start`], a task of its own), so that it runs while the driver
/// makes its own listing, and awaited where the driver needs the tags.
#[derive(Clone)]
pub(crate) struct Pending(watch::Receiver<Option<Option<Arc<TagsByArn>>>>);

impl Pending {
    /// Starts the read of [`of_stack`] for `service` in `region`.
    pub fn start(c: &Clients, region: &str, stack: &str, service: &'static str) -> Pending {
        let (tx, rx) = watch::channel(None);
        let (c, region, stack) = (c.clone(), region.to_string(), stack.to_string());
        tokio::spawn(async move {
            let found = of_stack(&c, &region, &stack, service).await;
            let _ = tx.send(Some(found));
        });
        Pending(rx)
    }

    /// A read already answered with `tags` (tests).
    #[cfg(test)]
    pub fn ready(tags: TagsByArn) -> Pending {
        Pending(watch::channel(Some(Some(Arc::new(tags)))).1)
    }

    /// What the read found; `None` when it failed (or its task ended without an
    /// answer): the driver reads the tags on its own.
    pub async fn get(&self) -> Option<Arc<TagsByArn>> {
        let mut rx = self.0.clone();
        let answered = rx.wait_for(Option::is_some).await.ok()?;
        answered.clone().flatten()
    }
}

/// The tags, by ARN, of every resource of `service` (the tagging API's name of it:
/// `s3`, `kms`, `rds`, `elasticache`) in `region` that carries `stack`'s ownership
/// tag, as the tagging API lists them; `None` when GetResources failed (logged),
/// and the caller reads its resources' tags one by one.
pub(crate) async fn of_stack(
    c: &Clients,
    region: &str,
    stack: &str,
    service: &str,
) -> Option<Arc<TagsByArn>> {
    let id = format!("{stack}{SEP}{service}");
    let tagging = c.tagging(region);
    let describe = |ids: Vec<String>| get_resources(tagging, ids);
    let polls = c.polls::<Arc<TagsByArn>>();
    match polls
        .observe(ROUND_KIND, region, &id, MOST_FILTERS, describe)
        .await
    {
        Ok(found) => Some(found.unwrap_or_default()),
        Err(e) => {
            tracing::warn!(
                region,
                error = %e,
                "GetResources failed: reading each resource's tags on its own"
            );
            None
        }
    }
}

/// One GetResources (every page) for the round's `ids` (`stack SEP service`):
/// resources carrying any of their stacks' tags, of any of their services; each
/// id's part of the answer is the resources of its stack and service.
async fn get_resources(
    tagging: aws_sdk_resourcegroupstagging::Client,
    ids: Vec<String>,
) -> Result<HashMap<String, Arc<TagsByArn>>, ProviderError> {
    let split: Vec<(&str, &str)> = ids.iter().filter_map(|id| id.split_once(SEP)).collect();
    let stacks: BTreeSet<&str> = split.iter().map(|(stack, _)| *stack).collect();
    let services: BTreeSet<&str> = split.iter().map(|(_, service)| *service).collect();
    let by_stack = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
        .key(TAG_STACK)
        .set_values(Some(stacks.iter().map(|s| s.to_string()).collect()))
        .build();
    let mappings: Vec<_> = crate::kit::all_items!(
        tagging
            .get_resources()
            .tag_filters(by_stack)
            .set_resource_type_filters(Some(services.iter().map(|s| s.to_string()).collect())),
        "GetResources"
    )?;
    let mut answer: HashMap<String, TagsByArn> = ids
        .iter()
        .map(|id| (id.clone(), TagsByArn::new()))
        .collect();
    for m in mappings {
        let Some(arn) = m.resource_arn() else {
            continue;
        };
        let tags = tags::from_sdk(m.tags());
        let (Some(stack), Some(service)) = (tags.get(TAG_STACK), arn.split(':').nth(2)) else {
            continue;
        };
        if let Some(part) = answer.get_mut(&format!("{stack}{SEP}{service}")) {
            part.insert(arn.to_string(), tags);
        }
    }
    Ok(answer
        .into_iter()
        .map(|(id, tags)| (id, Arc::new(tags)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{meta, mock_clients, recorder};
    use aws_sdk_resourcegroupstagging::operation::get_resources::{
        GetResourcesError, GetResourcesInput, GetResourcesOutput,
    };
    use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
    use aws_sdk_resourcegroupstagging::Client;
    use aws_smithy_mocks::{mock, Rule, RuleMode};
    use glinfra_core::TAG_LOGICAL_ID;

    const REGION: &str = "us-east-1";

    fn clients(rules: &[Rule]) -> Clients {
        let rules: Vec<&Rule> = rules.iter().collect();
        mock_clients!(
            aws_sdk_resourcegroupstagging,
            "tagging",
            REGION,
            RuleMode::Sequential,
            &rules
        )
    }

    fn mapping(arn: &str, stack: &str, id: &str) -> ResourceTagMapping {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        ResourceTagMapping::builder()
            .resource_arn(arn)
            .tags(tag(TAG_STACK, stack))
            .tags(tag(TAG_LOGICAL_ID, id))
            .build()
    }

    const BUCKET: &str = "arn:aws:s3:::gl-prod-logs";
    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";
    const STAGING_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k2";

    // A paused clock: the round gathers until every read has joined it.
    #[tokio::test(start_paused = true)]
    async fn reads_in_one_region_share_one_get_resources_split_by_service_and_stack() {
        let (seen, see) = recorder::<GetResourcesInput>();
        let rules = [mock!(Client::get_resources)
            .match_requests(see)
            .then_output(|| {
                GetResourcesOutput::builder()
                    .resource_tag_mapping_list(mapping(BUCKET, "prod", "logs"))
                    .resource_tag_mapping_list(mapping(KEY, "prod", "kms-data"))
                    .resource_tag_mapping_list(mapping(STAGING_KEY, "staging", "kms-data"))
                    .build()
            })];
        let c = clients(&rules);

        // In sequence, one rule: a second GetResources would fail the test.
        let (s3, kms, staging) = tokio::join!(
            of_stack(&c, REGION, "prod", "s3"),
            of_stack(&c, REGION, "prod", "kms"),
            of_stack(&c, REGION, "staging", "kms"),
        );

        let (s3, kms, staging) = (s3.unwrap(), kms.unwrap(), staging.unwrap());
        assert_eq!(s3.keys().collect::<Vec<_>>(), [BUCKET]);
        assert_eq!(s3[BUCKET][TAG_LOGICAL_ID], "logs");
        assert_eq!(kms.keys().collect::<Vec<_>>(), [KEY]);
        assert_eq!(staging.keys().collect::<Vec<_>>(), [STAGING_KEY]);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let mut services = seen[0].resource_type_filters().to_vec();
        services.sort();
        assert_eq!(services, ["kms", "s3"]);
        let filters = seen[0].tag_filters();
        assert_eq!(filters.len(), 1);
        assert_eq!(filters[0].key(), Some(TAG_STACK));
        let mut stacks = filters[0].values().to_vec();
        stacks.sort();
        assert_eq!(stacks, ["prod", "staging"]);
    }

    /// A read started on its own task answers every `get`, once.
    #[tokio::test]
    async fn a_started_read_answers_each_get_with_one_call() {
        let rules = [mock!(Client::get_resources).then_output(|| {
            GetResourcesOutput::builder()
                .resource_tag_mapping_list(mapping(BUCKET, "prod", "logs"))
                .build()
        })];
        let c = clients(&rules);
        let pending = Pending::start(&c, REGION, "prod", "s3");
        let other = pending.clone();
        let (a, b) = tokio::join!(pending.get(), other.get());
        assert_eq!(a.unwrap().keys().collect::<Vec<_>>(), [BUCKET]);
        assert_eq!(b.unwrap().len(), 1);
        assert_eq!(rules[0].num_calls(), 1);
    }

    #[tokio::test]
    async fn a_service_with_nothing_tagged_gets_an_empty_answer() {
        let rules =
            [mock!(Client::get_resources).then_output(|| GetResourcesOutput::builder().build())];
        let c = clients(&rules);
        let found = of_stack(&c, REGION, "prod", "rds").await.unwrap();
        assert!(found.is_empty());
    }

    /// Without `tag:GetResources` (or on any failure) the drivers read each
    /// resource's tags on their own: `None`, not an error.
    #[tokio::test]
    async fn a_failed_get_resources_leaves_the_tags_to_be_read_one_by_one() {
        let rules = [mock!(Client::get_resources)
            .then_error(|| GetResourcesError::generic(meta("AccessDeniedException")))];
        let c = clients(&rules);
        assert!(of_stack(&c, REGION, "prod", "s3").await.is_none());
        assert_eq!(rules[0].num_calls(), 1);
    }
}
