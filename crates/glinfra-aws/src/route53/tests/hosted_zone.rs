//! Hosted zones: adoption by tags or CallerReference, create, delete.

use super::{added, change_info, insync, mock_any, mock_route53, resolved, tag_set, REGION};
use crate::driver::Driver;
use crate::kit::{Desired, Recorded};
use crate::route53::hosted_zone::{caller_reference, caller_reference_prefix};
use crate::route53::HostedZoneDriver;
use crate::test_support::{assert_error, desired, meta, ok_rule, recorded, recorder};
use aws_sdk_route53::operation::change_tags_for_resource::{
    ChangeTagsForResourceInput, ChangeTagsForResourceOutput,
};
use aws_sdk_route53::operation::create_hosted_zone::{
    CreateHostedZoneInput, CreateHostedZoneOutput,
};
use aws_sdk_route53::operation::delete_hosted_zone::DeleteHostedZoneError;
use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneOutput;
use aws_sdk_route53::operation::list_hosted_zones_by_name::ListHostedZonesByNameOutput;
use aws_sdk_route53::operation::list_tags_for_resources::{
    ListTagsForResourcesInput, ListTagsForResourcesOutput,
};
use aws_sdk_route53::types::{ChangeStatus, DelegationSet, HostedZone, TagResourceType};
use aws_sdk_route53::Client;
use aws_smithy_mocks::{mock, Rule};
use glinfra_core::spec::route53::{HostedZoneOutputs, HostedZoneSpec};
use glinfra_core::{Declared, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, IdempotencyToken};
use serde_json::json;
use std::collections::BTreeMap;

fn owner_tags() -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_STACK.to_string(), "prod".to_string()),
        (TAG_LOGICAL_ID.to_string(), "zone".to_string()),
    ])
}

fn zone_resource() -> Desired<HostedZoneSpec> {
    let spec = HostedZoneSpec {
        name: "greenlang.ai".into(),
        comment: "public zone".into(),
    };
    let mut r = desired("prod", "zone", REGION, spec);
    r.tags = owner_tags();
    r
}

fn zone_state() -> Recorded<HostedZoneSpec> {
    recorded(
        &zone_resource(),
        HostedZoneOutputs {
            zone_id: "Z111".into(),
            name_servers: vec![],
        },
    )
}

fn zone(id: &str, name: &str, caller_reference: &str) -> HostedZone {
    HostedZone::builder()
        .id(format!("/hostedzone/{id}"))
        .name(name)
        .caller_reference(caller_reference)
        .build()
        .unwrap()
}

fn delegation() -> DelegationSet {
    DelegationSet::builder()
        .name_servers("ns-1.awsdns-01.org")
        .name_servers("ns-2.awsdns-02.net")
        .build()
        .unwrap()
}

/// ListHostedZonesByName's answer: `zones`, on one page.
fn listed(zones: Vec<HostedZone>) -> ListHostedZonesByNameOutput {
    ListHostedZonesByNameOutput::builder()
        .set_hosted_zones(Some(zones))
        .is_truncated(false)
        .max_items(100)
        .build()
        .unwrap()
}

/// GetHostedZone of zone `id`, answering its delegation set.
fn get_zone(id: &'static str) -> Rule {
    mock!(Client::get_hosted_zone)
        .match_requests(move |r| r.id() == Some(id))
        .then_output(|| {
            GetHostedZoneOutput::builder()
                .delegation_set(delegation())
                .build()
        })
}

/// Looks for the zone of `zone_resource()` on clients answering from `rules`.
async fn find(rules: &[Rule]) -> Option<HostedZoneOutputs> {
    let c = mock_route53(&rules.iter().collect::<Vec<_>>());
    HostedZoneDriver.find(&c, &zone_resource()).await.unwrap()
}

fn name_servers() -> Vec<String> {
    vec!["ns-1.awsdns-01.org".into(), "ns-2.awsdns-02.net".into()]
}

#[test]
fn caller_references_without_a_token_are_unique_but_share_a_prefix() {
    let a = caller_reference("prod", "zone", None);
    let b = caller_reference("prod", "zone", None);
    assert_ne!(a, b);
    assert!(a.starts_with("glinfra/prod/zone/"), "{a}");
    let long = "x".repeat(120);
    let c = caller_reference(&long, "zone", None);
    assert!(c.len() <= 128, "{}", c.len());
    assert!(c.starts_with(&caller_reference_prefix(&long, "zone")));
}

#[test]
fn a_create_with_a_token_sends_the_prefix_and_the_token_within_128_characters() {
    let t = token(1);
    let a = caller_reference("prod", "zone", Some(&t));
    assert_eq!(a, format!("glinfra/prod/zone/{t}"));
    assert_eq!(
        a,
        caller_reference("prod", "zone", Some(&t)),
        "the same request"
    );
    assert_ne!(a, caller_reference("prod", "zone", Some(&token(2))));
    let long = "x".repeat(120);
    let c = caller_reference(&long, "zone", Some(&t));
    assert!(c.len() <= 128, "{}", c.len());
    assert!(c.starts_with(&caller_reference_prefix(&long, "zone")));
}

fn token(serial: u64) -> IdempotencyToken {
    IdempotencyToken::for_create("prod", "zone", serial, &json!({}), &owner_tags())
}

#[test]
fn zone_outputs_keep_their_recorded_json_shape() {
    let state = ResourceState {
        kind: HostedZoneSpec::KIND,
        region: REGION.into(),
        props: json!({"name": "greenlang.ai", "comment": ""}),
        tags: owner_tags(),
        outputs: [
            ("zone_id".to_string(), json!("Z111")),
            ("name_servers".to_string(), json!(["ns-1.awsdns-01.org"])),
        ]
        .into_iter()
        .collect(),
        dependencies: Default::default(),
        pending: None,
        lifecycle: Default::default(),
    };
    let prior = Recorded::<HostedZoneSpec>::from_state("zone", &state).unwrap();
    assert_eq!(prior.outputs.name_servers, ["ns-1.awsdns-01.org"]);
    assert_eq!(
        serde_json::to_value(&prior.outputs).unwrap(),
        json!({"zone_id": "Z111", "name_servers": ["ns-1.awsdns-01.org"]})
    );
}

#[tokio::test]
async fn zone_find_matches_by_ownership_tags_among_zones_of_the_same_name() {
    let (asked, see) = recorder::<ListTagsForResourcesInput>();
    let rules = [
        mock!(Client::list_hosted_zones_by_name)
            .match_requests(|r| r.dns_name() == Some("greenlang.ai."))
            .then_output(|| {
                listed(vec![
                    zone("ZOTHER", "greenlang.ai.", "console-1"),
                    zone("ZOURS", "greenlang.ai.", "terraform-2"),
                    zone("ZNEXT", "greenlang.com.", "x"),
                ])
            }),
        mock!(Client::list_tags_for_resources)
            .match_requests(see)
            .then_output(|| {
                ListTagsForResourcesOutput::builder()
                    .resource_tag_sets(tag_set(
                        "ZOTHER",
                        &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "zone")],
                    ))
                    .resource_tag_sets(tag_set(
                        "ZOURS",
                        &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "zone")],
                    ))
                    .build()
                    .unwrap()
            }),
        get_zone("ZOURS"),
    ];

    let out = find(&rules).await.unwrap();

    assert_eq!(out.zone_id, "ZOURS");
    assert_eq!(out.name_servers, name_servers());
    assert_eq!(asked.lock().unwrap()[0].resource_ids(), ["ZOTHER", "ZOURS"]);
}

#[tokio::test]
async fn zone_find_recognises_an_untagged_zone_by_its_caller_reference() {
    let rules = [
        mock!(Client::list_hosted_zones_by_name).then_output(|| {
            listed(vec![zone(
                "ZNEW",
                "greenlang.ai.",
                "glinfra/prod/zone/18c0ffee-42",
            )])
        }),
        get_zone("ZNEW"),
    ];
    let out = find(&rules).await.unwrap();
    assert_eq!(out.zone_id, "ZNEW");
}

#[tokio::test]
async fn zone_find_ignores_zones_of_others() {
    let rules = [
        mock!(Client::list_hosted_zones_by_name).then_output(|| {
            listed(vec![zone(
                "ZOTHER",
                "greenlang.ai.",
                "glinfra/staging/zone/1",
            )])
        }),
        mock!(Client::list_tags_for_resources).then_output(|| {
            ListTagsForResourcesOutput::builder()
                .resource_tag_sets(tag_set(
                    "ZOTHER",
                    &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "zone")],
                ))
                .build()
                .unwrap()
        }),
    ];
    assert_eq!(find(&rules).await, None);
}

#[tokio::test]
async fn zone_create_tags_the_zone_and_waits_for_the_change() {
    let (created, see_created) = recorder::<CreateHostedZoneInput>();
    let (tagged, see_tagged) = recorder::<ChangeTagsForResourceInput>();
    let rules = [
        mock!(Client::create_hosted_zone)
            .match_requests(see_created)
            .then_output(|| {
                CreateHostedZoneOutput::builder()
                    .hosted_zone(zone("ZNEW", "greenlang.ai.", "glinfra/prod/zone/1"))
                    .change_info(change_info(ChangeStatus::Pending))
                    .delegation_set(delegation())
                    .location("https://route53.amazonaws.com/2013-04-01/hostedzone/ZNEW")
                    .build()
                    .unwrap()
            }),
        ok_rule!(Client::change_tags_for_resource(see_tagged) -> ChangeTagsForResourceOutput),
        insync(),
    ];
    let c = mock_route53(&rules.iter().collect::<Vec<_>>());

    // Through the erased driver, as the provider calls it: the outputs recorded.
    let out = crate::driver::AnyDriver::create(&HostedZoneDriver, &c, &resolved(&zone_resource()))
        .await
        .unwrap();

    assert_eq!(out["zone_id"], json!("ZNEW"));
    assert_eq!(
        out["name_servers"],
        json!(["ns-1.awsdns-01.org", "ns-2.awsdns-02.net"])
    );
    let created = created.lock().unwrap();
    assert_eq!(created[0].name(), Some("greenlang.ai"));
    assert!(created[0]
        .caller_reference()
        .unwrap()
        .starts_with("glinfra/prod/zone/"));
    let config = created[0].hosted_zone_config().unwrap();
    assert_eq!(config.comment(), Some("public zone"));
    assert!(!config.private_zone());
    let tagged = tagged.lock().unwrap();
    assert_eq!(tagged[0].resource_id(), Some("ZNEW"));
    assert_eq!(
        tagged[0].resource_type(),
        Some(&TagResourceType::Hostedzone)
    );
    assert_eq!(added(tagged[0].add_tags()), owner_tags());
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

/// A retried create (after a lost response) sends the same CallerReference, the
/// prefix and the engine's token; Route 53 answers it with HostedZoneAlreadyExists
/// instead of a second zone, which the engine follows with `find` (by prefix).
#[tokio::test]
async fn zone_create_retried_sends_the_same_caller_reference_and_makes_no_second_zone() {
    let (created, see_created) = recorder::<CreateHostedZoneInput>();
    let rules = [
        mock!(Client::create_hosted_zone)
            .match_requests(see_created)
            .sequence()
            .output(|| {
                CreateHostedZoneOutput::builder()
                    .hosted_zone(zone("ZNEW", "greenlang.ai.", "glinfra/prod/zone/1"))
                    .change_info(change_info(ChangeStatus::Insync))
                    .delegation_set(delegation())
                    .location("https://route53.amazonaws.com/2013-04-01/hostedzone/ZNEW")
                    .build()
                    .unwrap()
            })
            .error(|| {
                aws_sdk_route53::operation::create_hosted_zone::CreateHostedZoneError::generic(
                    meta("HostedZoneAlreadyExists"),
                )
            })
            .build(),
        mock!(Client::change_tags_for_resource)
            .then_output(|| ChangeTagsForResourceOutput::builder().build()),
        insync(),
    ];
    let c = mock_any(&rules.iter().collect::<Vec<_>>());
    let r = resolved(&crate::test_support::with_token(zone_resource(), 8));

    crate::driver::AnyDriver::create(&HostedZoneDriver, &c, &r)
        .await
        .unwrap();
    let err = crate::driver::AnyDriver::create(&HostedZoneDriver, &c, &r)
        .await
        .unwrap_err();

    assert_eq!(err.class, ErrorClass::AlreadyExists, "{err}");
    let token = r.token.unwrap();
    let references: Vec<_> = created
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.caller_reference().unwrap().to_string())
        .collect();
    assert_eq!(references, vec![format!("glinfra/prod/zone/{token}"); 2]);
}

#[tokio::test]
async fn zone_delete_with_foreign_records_is_fatal_and_a_missing_zone_is_success() {
    let rules = [
        mock!(Client::delete_hosted_zone)
            .match_requests(|r| r.id() == Some("Z111"))
            .then_error(|| DeleteHostedZoneError::generic(meta("HostedZoneNotEmpty"))),
        mock!(Client::delete_hosted_zone)
            .then_error(|| DeleteHostedZoneError::generic(meta("NoSuchHostedZone"))),
    ];
    let c = mock_route53(&rules.iter().collect::<Vec<_>>());

    let err = HostedZoneDriver
        .delete(&c, &zone_state())
        .await
        .unwrap_err();
    assert_error(&err, ErrorClass::Fatal, "does not manage");

    HostedZoneDriver.delete(&c, &zone_state()).await.unwrap();
}

// ------------------------------------------------------------------ refresh

mod observe {
    use super::*;
    use crate::route53::tests::mock_any;
    use crate::test_support::scope;
    use aws_sdk_route53::operation::list_hosted_zones::{
        ListHostedZonesInput, ListHostedZonesOutput,
    };
    use aws_sdk_route53::types::HostedZoneConfig;
    use std::sync::{Arc, Mutex};

    fn zone_with(id: &str, name: &str, comment: &str, private: bool) -> HostedZone {
        let mut z = zone(id, name, "ref");
        z.config = Some(
            HostedZoneConfig::builder()
                .comment(comment)
                .private_zone(private)
                .build(),
        );
        z
    }

    /// ListTagsForResources answering each id asked for from `tags`, each
    /// request's ids recorded in `seen`.
    fn tags_rule(
        tags: BTreeMap<&'static str, Vec<(&'static str, &'static str)>>,
        seen: Arc<Mutex<Vec<ListTagsForResourcesInput>>>,
    ) -> Rule {
        mock!(Client::list_tags_for_resources).then_compute_output(move |req| {
            seen.lock().unwrap().push(req.clone());
            let sets = req
                .resource_ids()
                .iter()
                .map(|id| tag_set(id, tags.get(id.as_str()).map(Vec::as_slice).unwrap_or(&[])))
                .collect();
            ListTagsForResourcesOutput::builder()
                .set_resource_tag_sets(Some(sets))
                .build()
                .unwrap()
        })
    }

    fn recorded_zone(comment: &str) -> Recorded<HostedZoneSpec> {
        let mut spec = zone_resource().spec;
        spec.comment = comment.into();
        recorded(
            &desired("prod", "zone", REGION, spec),
            HostedZoneOutputs {
                zone_id: "Z111".into(),
                name_servers: vec!["ns-recorded.awsdns-00.com".into()],
            },
        )
    }

    #[tokio::test]
    async fn zones_are_listed_once_and_their_tags_read_ten_at_a_time() {
        let (listed, see_list) = recorder::<ListHostedZonesInput>();
        let mut zones = vec![
            zone_with("Z111", "GreenLang.ai.", "changed outside", false),
            zone_with("Z222", "extra.greenlang.ai.", "", false),
            zone_with("Z333", "greenlang.ai.", "theirs", false),
            // A private zone is not one glinfra makes, whatever its tags say.
            zone_with("Z999", "internal.greenlang.ai.", "", true),
        ];
        for i in 0..9 {
            zones.push(zone_with(&format!("Z5{i}"), "other.example.", "", false));
        }
        let list = mock!(Client::list_hosted_zones)
            .match_requests(see_list)
            .then_output(move || {
                ListHostedZonesOutput::builder()
                    .set_hosted_zones(Some(zones.clone()))
                    .marker("")
                    .is_truncated(false)
                    .max_items(100)
                    .build()
                    .unwrap()
            });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tags = tags_rule(
            BTreeMap::from([
                ("Z111", vec![(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "zone")]),
                ("Z222", vec![(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "extra")]),
                (
                    "Z333",
                    vec![(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "zone")],
                ),
                (
                    "Z999",
                    vec![(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "private")],
                ),
            ]),
            seen.clone(),
        );
        // Only the zone state does not know needs GetHostedZone for its name servers.
        let get = get_zone("Z222");
        let c = mock_any(&[&list, &tags, &get]);

        let live = HostedZoneDriver
            .observe(
                &c,
                &scope("prod", REGION, vec![recorded_zone("public zone")]),
            )
            .await
            .unwrap()
            .unwrap();

        assert_eq!(listed.lock().unwrap().len(), 1);
        let batches: Vec<usize> = seen
            .lock()
            .unwrap()
            .iter()
            .inspect(|r| assert_eq!(r.resource_type(), Some(&TagResourceType::Hostedzone)))
            .map(|r| r.resource_ids().len())
            .collect();
        assert_eq!(batches, vec![10, 2], "12 public zones, ten per call");
        assert_eq!(get.num_calls(), 1);
        let ids: Vec<&str> = live.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, vec!["extra", "zone"], "the others' zone is dropped");

        let extra = &live[0];
        assert_eq!(extra.outputs.zone_id, "Z222");
        assert_eq!(extra.outputs.name_servers, name_servers());
        let spec = extra.spec.as_ref().expect("a zone is readable whole");
        assert_eq!(spec.name, "extra.greenlang.ai");

        let zone = &live[1];
        assert_eq!(
            zone.outputs,
            recorded_zone("").outputs,
            "name servers as recorded"
        );
        let spec = zone.spec.as_ref().unwrap();
        assert_eq!(spec.comment, "changed outside", "the live value");
        assert_eq!(spec.name, "greenlang.ai", "the name is spelled as recorded");
        assert_eq!(zone.tags, owner_tags());
    }

    #[tokio::test]
    async fn an_unchanged_zone_round_trips_exactly() {
        let list = mock!(Client::list_hosted_zones).then_output(|| {
            ListHostedZonesOutput::builder()
                .hosted_zones(zone_with("Z111", "greenlang.ai.", "public zone", false))
                .marker("")
                .is_truncated(false)
                .max_items(100)
                .build()
                .unwrap()
        });
        let tags = tags_rule(
            BTreeMap::from([("Z111", vec![(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "zone")])]),
            Arc::new(Mutex::new(Vec::new())),
        );
        let c = mock_any(&[&list, &tags]);
        let before = recorded_zone("public zone");
        let live = HostedZoneDriver
            .observe(&c, &scope("prod", REGION, vec![before.clone()]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
            serde_json::to_value(&before.spec).unwrap()
        );
        assert_eq!(tags.num_calls(), 1);
    }
}
