//! Health checks: create shapes, adoption by CallerReference or tags, versioned
//! updates, tag sync, deletes.

use super::{added, mock_any, tag_set, REGION};
use crate::driver::Driver;
use crate::kit::{Changed, Desired, Recorded};
use crate::route53::health_check::health_check_reference_prefix;
use crate::route53::{with_nonce, HealthCheckDriver};
use crate::test_support::{delete_found, desired, meta, ok_rule, owner_tags, recorded, recorder};
use aws_sdk_route53::operation::change_tags_for_resource::{
    ChangeTagsForResourceInput, ChangeTagsForResourceOutput,
};
use aws_sdk_route53::operation::create_health_check::{
    CreateHealthCheckInput, CreateHealthCheckOutput,
};
use aws_sdk_route53::operation::delete_health_check::{
    DeleteHealthCheckError, DeleteHealthCheckOutput,
};
use aws_sdk_route53::operation::get_health_check::GetHealthCheckOutput;
use aws_sdk_route53::operation::list_health_checks::ListHealthChecksOutput;
use aws_sdk_route53::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_route53::operation::list_tags_for_resources::{
    ListTagsForResourcesInput, ListTagsForResourcesOutput,
};
use aws_sdk_route53::operation::update_health_check::{
    UpdateHealthCheckError, UpdateHealthCheckInput, UpdateHealthCheckOutput,
};
use aws_sdk_route53::types::{
    HealthCheck, HealthCheckConfig, HealthCheckType, ResettableElementName, ResourceTagSet,
    TagResourceType,
};
use aws_sdk_route53::Client;
use aws_smithy_mocks::{mock, Rule};
use glinfra_core::spec::route53::{HealthCheckOutputs, HealthCheckSpec};
use glinfra_core::{TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::ErrorClass;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn hc_tags() -> BTreeMap<String, String> {
    owner_tags("prod", "api-health")
}

fn hc_props(check_type: &str, path: &str) -> Value {
    json!({
        "fqdn": "api.greenlang.ai",
        "port": 443,
        "check_type": check_type,
        "resource_path": path,
        "request_interval": 30,
        "failure_threshold": 3
    })
}

fn hc_resource(props: Value) -> Desired<HealthCheckSpec> {
    let spec: HealthCheckSpec = serde_json::from_value(props).unwrap();
    let r = desired("prod", "api-health", REGION, spec);
    assert_eq!(r.tags, hc_tags());
    r
}

fn hc_state(id: &str) -> Recorded<HealthCheckSpec> {
    recorded(
        &hc_resource(hc_props("HTTPS", "/healthz")),
        HealthCheckOutputs { id: id.into() },
    )
}

fn outputs(id: &str) -> HealthCheckOutputs {
    HealthCheckOutputs { id: id.into() }
}

fn health_check(id: &str, caller_reference: &str, version: i64) -> HealthCheck {
    HealthCheck::builder()
        .id(id)
        .caller_reference(caller_reference)
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Https)
                .build()
                .unwrap(),
        )
        .health_check_version(version)
        .build()
        .unwrap()
}

/// CreateHealthCheck answering the new check `id` (each request recorded by `see`).
fn create_rule(
    id: &'static str,
    see: impl Fn(&CreateHealthCheckInput) -> bool + Send + Sync + 'static,
) -> Rule {
    mock!(Client::create_health_check)
        .match_requests(see)
        .then_output(move || {
            CreateHealthCheckOutput::builder()
                .health_check(health_check(id, "glinfra/prod/api-health/1", 1))
                .location(format!(
                    "https://route53.amazonaws.com/2013-04-01/healthcheck/{id}"
                ))
                .build()
                .unwrap()
        })
}

/// GetHealthCheck of `hc-1`, at `version`.
fn get_rule(version: i64) -> Rule {
    mock!(Client::get_health_check)
        .match_requests(|r| r.health_check_id() == Some("hc-1"))
        .then_output(move || {
            GetHealthCheckOutput::builder()
                .health_check(health_check("hc-1", "x", version))
                .build()
        })
}

/// ListHealthChecks' answer: `checks`, on one page.
fn listed(checks: Vec<HealthCheck>) -> ListHealthChecksOutput {
    ListHealthChecksOutput::builder()
        .set_health_checks(Some(checks))
        .marker("")
        .is_truncated(false)
        .max_items(100)
        .build()
        .unwrap()
}

fn hc_tag_set(id: &str, tags: &[(&str, &str)]) -> ResourceTagSet {
    let mut set = tag_set(id, tags);
    set.resource_type = Some(TagResourceType::Healthcheck);
    set
}

#[test]
fn health_check_references_fit_in_64_characters() {
    let short = with_nonce(health_check_reference_prefix("prod", "api-health"));
    assert!(short.starts_with("glinfra/prod/api-health/"), "{short}");
    assert!(short.len() <= 64, "{}", short.len());
    let long = with_nonce(health_check_reference_prefix(&"s".repeat(40), "api-health"));
    assert!(long.len() <= 64, "{}", long.len());
    assert!(long.starts_with(&health_check_reference_prefix(
        &"s".repeat(40),
        "api-health"
    )));
}

#[tokio::test]
async fn health_check_create_maps_every_field_and_tags_it() {
    let (created, see_created) = recorder::<CreateHealthCheckInput>();
    let (tagged, see_tagged) = recorder::<ChangeTagsForResourceInput>();
    let rules = [
        create_rule("hc-new", see_created),
        ok_rule!(Client::change_tags_for_resource(see_tagged) -> ChangeTagsForResourceOutput),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());

    let out = HealthCheckDriver
        .create(&c, &hc_resource(hc_props("HTTPS", "/healthz")))
        .await
        .unwrap();

    assert_eq!(out.id, "hc-new");
    let created = created.lock().unwrap();
    let reference = created[0].caller_reference().unwrap();
    assert!(
        reference.starts_with("glinfra/prod/api-health/"),
        "{reference}"
    );
    assert!(reference.len() <= 64);
    let config = created[0].health_check_config().unwrap();
    assert_eq!(config.r#type(), &HealthCheckType::Https);
    assert_eq!(
        config.fully_qualified_domain_name(),
        Some("api.greenlang.ai")
    );
    assert_eq!(config.port(), Some(443));
    assert_eq!(config.resource_path(), Some("/healthz"));
    assert_eq!(config.request_interval(), Some(30));
    assert_eq!(config.failure_threshold(), Some(3));
    let tagged = tagged.lock().unwrap();
    assert_eq!(
        tagged[0].resource_type(),
        Some(&TagResourceType::Healthcheck)
    );
    assert_eq!(tagged[0].resource_id(), Some("hc-new"));
    assert_eq!(added(tagged[0].add_tags()), hc_tags());
}

#[tokio::test]
async fn health_check_create_of_a_tcp_check_sends_no_path() {
    let (created, see_created) = recorder::<CreateHealthCheckInput>();
    let rules = [
        create_rule("hc-tcp", see_created),
        mock!(Client::change_tags_for_resource)
            .then_output(|| ChangeTagsForResourceOutput::builder().build()),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());
    HealthCheckDriver
        .create(&c, &hc_resource(hc_props("TCP", "/ignored")))
        .await
        .unwrap();
    let config = created.lock().unwrap()[0]
        .health_check_config()
        .cloned()
        .unwrap();
    assert_eq!(config.r#type(), &HealthCheckType::Tcp);
    assert_eq!(config.resource_path(), None);
}

#[tokio::test]
async fn health_check_find_recognises_our_caller_reference_across_pages() {
    let rules = [
        mock!(Client::list_health_checks)
            .match_requests(|r| r.marker().is_none())
            .then_output(|| {
                ListHealthChecksOutput::builder()
                    .health_checks(health_check("hc-a", "console-1", 1))
                    .marker("")
                    .is_truncated(true)
                    .next_marker("hc-a")
                    .max_items(1)
                    .build()
                    .unwrap()
            }),
        mock!(Client::list_health_checks)
            .match_requests(|r| r.marker() == Some("hc-a"))
            .then_output(|| {
                ListHealthChecksOutput::builder()
                    .health_checks(health_check("hc-ours", "glinfra/prod/api-health/18c-1", 1))
                    .marker("hc-a")
                    .is_truncated(false)
                    .max_items(1)
                    .build()
                    .unwrap()
            }),
    ];
    // No ListTagsForResources rule: the reference is enough.
    let c = mock_any(&rules.iter().collect::<Vec<_>>());
    let out = HealthCheckDriver
        .find(&c, &hc_resource(hc_props("HTTPS", "/")))
        .await
        .unwrap();
    assert_eq!(out, Some(outputs("hc-ours")));
}

#[tokio::test]
async fn health_check_find_checks_tags_in_batches_and_rejects_foreign_ones() {
    let (asked, see) = recorder::<ListTagsForResourcesInput>();
    let rules = [
        mock!(Client::list_health_checks).then_output(|| {
            listed(
                (0..12)
                    .map(|i| health_check(&format!("hc-{i:02}"), "other", 1))
                    .collect(),
            )
        }),
        mock!(Client::list_tags_for_resources)
            .match_requests(see)
            .then_compute_output(|req| {
                let mut out = ListTagsForResourcesOutput::builder();
                for id in req.resource_ids() {
                    let tags: &[(&str, &str)] = match id.as_str() {
                        "hc-11" => &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "api-health")],
                        "hc-03" => &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "api-health")],
                        _ => &[],
                    };
                    out = out.resource_tag_sets(hc_tag_set(id, tags));
                }
                out.build().unwrap()
            }),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());

    let out = HealthCheckDriver
        .find(&c, &hc_resource(hc_props("HTTPS", "/")))
        .await
        .unwrap();
    assert_eq!(out, Some(outputs("hc-11")));
    {
        let asked = asked.lock().unwrap();
        assert_eq!(asked.len(), 2);
        assert_eq!(asked[0].resource_ids().len(), 10);
        assert_eq!(
            asked[0].resource_type(),
            Some(&TagResourceType::Healthcheck)
        );
        assert_eq!(asked[1].resource_ids(), ["hc-10", "hc-11"]);
    }

    // Only another stack's check: nothing is ours.
    let mut r = hc_resource(hc_props("HTTPS", "/"));
    r.id = "other-health".into();
    assert_eq!(HealthCheckDriver.find(&c, &r).await.unwrap(), None);
}

#[tokio::test]
async fn health_check_update_sends_each_field_with_the_current_version() {
    let (seen, see) = recorder::<UpdateHealthCheckInput>();
    let rules = [
        get_rule(7),
        mock!(Client::update_health_check)
            .match_requests(see)
            .then_output(|| {
                UpdateHealthCheckOutput::builder()
                    .health_check(health_check("hc-1", "x", 8))
                    .build()
            }),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());
    let mut props = hc_props("HTTPS", "/v2/health");
    props["fqdn"] = json!("api2.greenlang.ai");
    props["port"] = json!(8443);
    props["failure_threshold"] = json!(5);
    let r = hc_resource(props);
    let prior = hc_state("hc-1");

    for field in ["fqdn", "port", "resource_path", "failure_threshold"] {
        let out = HealthCheckDriver
            .update(&c, &prior, &r, Changed(&[field.to_string()]))
            .await
            .unwrap();
        assert_eq!(out, outputs("hc-1"));
    }

    let seen = seen.lock().unwrap();
    assert!(seen
        .iter()
        .all(|u| u.health_check_id() == Some("hc-1") && u.health_check_version() == Some(7)));
    assert_eq!(
        seen[0].fully_qualified_domain_name(),
        Some("api2.greenlang.ai")
    );
    assert_eq!(seen[0].port(), None);
    assert_eq!(seen[1].port(), Some(8443));
    assert_eq!(seen[1].fully_qualified_domain_name(), None);
    assert_eq!(seen[2].resource_path(), Some("/v2/health"));
    assert_eq!(seen[3].failure_threshold(), Some(5));
    assert_eq!(seen[3].resource_path(), None);
}

#[tokio::test]
async fn health_check_update_of_everything_resets_an_emptied_path_and_syncs_tags() {
    let (seen, see) = recorder::<UpdateHealthCheckInput>();
    let (tagged, see_tagged) = recorder::<ChangeTagsForResourceInput>();
    let rules = [
        get_rule(2),
        mock!(Client::update_health_check)
            .match_requests(see)
            .then_output(|| {
                UpdateHealthCheckOutput::builder()
                    .health_check(health_check("hc-1", "x", 3))
                    .build()
            }),
        mock!(Client::list_tags_for_resource)
            .match_requests(|r| {
                r.resource_id() == Some("hc-1")
                    && r.resource_type() == Some(&TagResourceType::Healthcheck)
            })
            .then_output(|| {
                ListTagsForResourceOutput::builder()
                    .resource_tag_set(hc_tag_set("hc-1", &[("stray", "x"), ("team", "platform")]))
                    .build()
            }),
        ok_rule!(Client::change_tags_for_resource(see_tagged) -> ChangeTagsForResourceOutput),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());
    let r = hc_resource(hc_props("HTTPS", ""));

    HealthCheckDriver
        .update(&c, &hc_state("hc-1"), &r, Changed(&[]))
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].reset_elements(),
        [ResettableElementName::ResourcePath]
    );
    assert_eq!(seen[0].resource_path(), None);
    assert_eq!(
        seen[0].fully_qualified_domain_name(),
        Some("api.greenlang.ai")
    );
    assert_eq!(seen[0].port(), Some(443));
    assert_eq!(seen[0].failure_threshold(), Some(3));
    let tagged = tagged.lock().unwrap();
    assert!(tagged
        .iter()
        .all(|t| t.resource_type() == Some(&TagResourceType::Healthcheck)));
    let removed: Vec<String> = tagged
        .iter()
        .flat_map(|t| t.remove_tag_keys().to_vec())
        .collect();
    assert_eq!(removed, ["stray"]);
}

#[tokio::test]
async fn health_check_update_of_tags_only_makes_no_health_check_call() {
    let rule = mock!(Client::change_tags_for_resource)
        .then_output(|| ChangeTagsForResourceOutput::builder().build());
    let c = mock_any(&[&rule]);
    HealthCheckDriver
        .update(
            &c,
            &hc_state("hc-1"),
            &hc_resource(hc_props("HTTPS", "/healthz")),
            Changed(&["tags".to_string()]),
        )
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn health_check_update_version_mismatch_is_retryable() {
    let rules = [
        get_rule(2),
        mock!(Client::update_health_check)
            .then_error(|| UpdateHealthCheckError::generic(meta("HealthCheckVersionMismatch"))),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());
    let err = HealthCheckDriver
        .update(
            &c,
            &hc_state("hc-1"),
            &hc_resource(hc_props("HTTPS", "/healthz")),
            Changed(&["port".to_string()]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
}

#[tokio::test]
async fn health_check_delete_in_use_is_retryable_and_gone_is_success() {
    let rule = mock!(Client::delete_health_check)
        .match_requests(|r| r.health_check_id() == Some("hc-1"))
        .sequence()
        .error(|| DeleteHealthCheckError::generic(meta("HealthCheckInUse")))
        .output(|| DeleteHealthCheckOutput::builder().build())
        .error(|| DeleteHealthCheckError::generic(meta("NoSuchHealthCheck")))
        .build();
    let c = mock_any(&[&rule]);
    let prior = hc_state("hc-1");

    let err = HealthCheckDriver.delete(&c, &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    HealthCheckDriver.delete(&c, &prior).await.unwrap();
    HealthCheckDriver.delete(&c, &prior).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
}

/// A create cut short before its outputs were recorded: the next run's `find`
/// adopts the check by its CallerReference, and its delete removes that check.
#[tokio::test]
async fn health_check_of_a_cut_short_create_is_found_then_deleted_by_its_id() {
    let rules = [
        mock!(Client::list_health_checks)
            .then_output(|| listed(vec![health_check("hc-9", "glinfra/prod/api-health/1-2", 1)])),
        mock!(Client::delete_health_check)
            .match_requests(|r| r.health_check_id() == Some("hc-9"))
            .then_output(|| DeleteHealthCheckOutput::builder().build()),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());
    let r = hc_resource(hc_props("HTTPS", "/healthz"));
    delete_found(&HealthCheckDriver, &c, &r).await;
    assert_eq!(rules[1].num_calls(), 1);
}

// ------------------------------------------------------------------ refresh

#[tokio::test]
async fn health_check_observe_lists_once_and_reads_tags_in_one_batch() {
    let check = |id: &str, threshold: i32| {
        let mut h = health_check(id, "ref", 1);
        h.health_check_config = Some(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Https)
                .fully_qualified_domain_name("api.greenlang.ai")
                .port(443)
                .resource_path("/healthz")
                .request_interval(30)
                .failure_threshold(threshold)
                .build()
                .unwrap(),
        );
        h
    };
    let list = mock!(Client::list_health_checks).then_output(move || {
        listed(vec![
            check("hc-1", 5),
            check("hc-2", 3),
            check("hc-3", 3),
            check("hc-4", 3),
        ])
    });
    let (seen, see) = recorder::<ListTagsForResourcesInput>();
    let tags = mock!(Client::list_tags_for_resources)
        .match_requests(see)
        .then_output(|| {
            ListTagsForResourcesOutput::builder()
                .resource_tag_sets(hc_tag_set(
                    "hc-1",
                    &[
                        (TAG_STACK, "prod"),
                        (TAG_LOGICAL_ID, "api-health"),
                        ("team", "platform"),
                    ],
                ))
                .resource_tag_sets(hc_tag_set(
                    "hc-2",
                    &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "api-health")],
                ))
                .resource_tag_sets(hc_tag_set(
                    "hc-3",
                    &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "new-health")],
                ))
                .resource_tag_sets(hc_tag_set("hc-4", &[]))
                .build()
                .unwrap()
        });
    let c = mock_any(&[&list, &tags]);
    let before = hc_state("hc-1");
    let live = HealthCheckDriver
        .observe(
            &c,
            &crate::test_support::scope("prod", REGION, vec![before.clone()]),
        )
        .await
        .unwrap()
        .unwrap();

    assert_eq!(list.num_calls(), 1);
    assert_eq!(tags.num_calls(), 1);
    let req = &seen.lock().unwrap()[0];
    assert_eq!(req.resource_type(), Some(&TagResourceType::Healthcheck));
    assert_eq!(req.resource_ids(), ["hc-1", "hc-2", "hc-3", "hc-4"]);
    let ids: Vec<(&str, &str)> = live
        .iter()
        .map(|l| (l.id.as_str(), l.outputs.id.as_str()))
        .collect();
    assert_eq!(ids, vec![("api-health", "hc-1"), ("new-health", "hc-3")]);
    assert_eq!(live[0].tags, hc_tags());
    // Every field but the one changed outside reads as recorded.
    let mut expected = serde_json::to_value(&before.spec).unwrap();
    expected["failure_threshold"] = json!(5);
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        expected
    );
    assert!(
        live[1].spec.is_some(),
        "a check state does not know is read whole"
    );
}

/// The CallerReference of a create is the prefix and the engine's token: the
/// same on a retry after a lost response (Route 53 then answers with the check
/// it made), within 64 characters even with the longest prefix.
#[tokio::test]
async fn health_check_create_sends_the_prefix_and_the_engines_token_on_every_try() {
    let (created, see_created) = recorder::<CreateHealthCheckInput>();
    let rules = [
        create_rule("hc-new", see_created),
        mock!(Client::change_tags_for_resource)
            .then_output(|| ChangeTagsForResourceOutput::builder().build()),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());
    let r = crate::test_support::with_token(hc_resource(hc_props("HTTPS", "/healthz")), 12);

    for _ in 0..2 {
        assert_eq!(HealthCheckDriver.create(&c, &r).await.unwrap().id, "hc-new");
    }

    let token = r.token().unwrap();
    let references: Vec<_> = created
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.caller_reference().unwrap().to_string())
        .collect();
    assert_eq!(
        references,
        vec![format!("glinfra/prod/api-health/{token}"); 2]
    );
    let longest = health_check_reference_prefix(&"s".repeat(200), "api-health");
    assert!(longest.len() + token.len() <= 64);
}
