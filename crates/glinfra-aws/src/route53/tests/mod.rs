//! SDK-mock tests of the Route 53 drivers: request shapes, adoption by
//! CallerReference and tags, INSYNC waits, deletes.
//!
//! `mock_route53` runs its rules in `RuleMode::Sequential` (the calls must come in
//! the order listed); `mock_any` in `RuleMode::MatchAny` (each call takes the
//! first rule that matches it).

mod health_check;
mod hosted_zone;
mod record_set;

use super::{bare_id, normalise};
use crate::clients::Clients;
use crate::kit::Desired;
use crate::test_support::mock_clients;
use aws_sdk_route53::operation::get_change::GetChangeOutput;
use aws_sdk_route53::types::{ChangeInfo, ChangeStatus, ResourceTagSet, Tag, TagResourceType};
use aws_sdk_route53::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use aws_smithy_types::DateTime;
use glinfra_core::ResourceSpec;
use glinfra_engine::ResolvedResource;
use std::collections::BTreeMap;

/// The region every resource under test declares (Route 53 itself is global).
const REGION: &str = "us-east-1";

fn mock_route53(rules: &[&Rule]) -> Clients {
    mock_clients!(
        aws_sdk_route53,
        "route53",
        "us-east-1",
        RuleMode::Sequential,
        rules
    )
}

fn mock_any(rules: &[&Rule]) -> Clients {
    mock_clients!(
        aws_sdk_route53,
        "route53",
        "us-east-1",
        RuleMode::MatchAny,
        rules
    )
}

fn change_info(status: ChangeStatus) -> ChangeInfo {
    ChangeInfo::builder()
        .id("/change/C1")
        .status(status)
        .submitted_at(DateTime::from_secs(0))
        .build()
        .unwrap()
}

fn insync() -> Rule {
    mock!(Client::get_change)
        .match_requests(|r| r.id() == Some("C1"))
        .then_output(|| {
            GetChangeOutput::builder()
                .change_info(change_info(ChangeStatus::Insync))
                .build()
        })
}

fn tag_set(id: &str, tags: &[(&str, &str)]) -> ResourceTagSet {
    ResourceTagSet::builder()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(id)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .build()
}

/// `r` as the provider hands it to the erased driver.
fn resolved<S: ResourceSpec>(r: &Desired<S>) -> ResolvedResource {
    ResolvedResource {
        stack: r.stack.clone(),
        id: r.id.clone(),
        kind: S::KIND,
        region: r.region.clone(),
        props: serde_json::to_value(&r.spec).unwrap(),
        tags: r.tags.clone(),
        token: r.token.clone(),
        superseded: r.superseded.clone(),
    }
}

/// The tags of a ChangeTagsForResource call's `AddTags`.
fn added(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect()
}

#[test]
fn names_are_compared_normalised() {
    assert_eq!(normalise("API.GreenLang.ai"), "api.greenlang.ai.");
    assert_eq!(normalise("api.greenlang.ai."), "api.greenlang.ai.");
    assert_eq!(normalise("\\052.greenlang.ai."), "*.greenlang.ai.");
    assert_eq!(bare_id("/hostedzone/Z111"), "Z111");
    assert_eq!(bare_id("Z111"), "Z111");
}
