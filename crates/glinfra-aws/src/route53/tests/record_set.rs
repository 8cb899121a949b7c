//! Record sets: UPSERT and DELETE shapes, latency routing, find by natural key.

use super::{change_info, insync, mock_any, mock_route53, REGION};
use crate::driver::Driver;
use crate::kit::{Desired, Recorded};
use crate::route53::record_set::{record_outputs, record_set, LOOKUP_PAGE};
use crate::route53::RecordSetDriver;
use crate::test_support::{desired, recorded, recorder, Seen};
use aws_sdk_route53::operation::change_resource_record_sets::{
    ChangeResourceRecordSetsError, ChangeResourceRecordSetsInput, ChangeResourceRecordSetsOutput,
};
use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
use aws_sdk_route53::types::error::InvalidChangeBatch;
use aws_sdk_route53::types::{
    ChangeAction, ChangeStatus, ResourceRecord, ResourceRecordSet, ResourceRecordSetRegion, RrType,
};
use aws_sdk_route53::Client;
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::error::ErrorMetadata;
use glinfra_core::spec::route53::{RecordSetSpec, RecordType, Routing};
use glinfra_engine::ErrorClass;
use serde_json::json;

fn record_spec() -> RecordSetSpec {
    serde_json::from_value(json!({
        "zone_id": "/hostedzone/Z111",
        "name": "api.greenlang.ai",
        "record_type": "A",
        "ttl": 300,
        "records": ["192.0.2.10", "192.0.2.11"],
        "set_identifier": "blue"
    }))
    .unwrap()
}

fn record_resource(spec: &RecordSetSpec) -> Desired<RecordSetSpec> {
    desired("prod", "api", REGION, spec.clone())
}

fn record_state(spec: &RecordSetSpec) -> Recorded<RecordSetSpec> {
    recorded(&record_resource(spec), record_outputs(spec))
}

fn rrset(name: &str, rtype: RrType, id: Option<&str>) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(rtype)
        .ttl(60)
        .set_set_identifier(id.map(str::to_owned))
        .resource_records(
            ResourceRecord::builder()
                .value("192.0.2.1")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// A change batch (each request recorded) answered as `status`, then the change
/// reported INSYNC.
fn change_then_insync(status: ChangeStatus) -> (Seen<ChangeResourceRecordSetsInput>, [Rule; 2]) {
    let (seen, see) = recorder::<ChangeResourceRecordSetsInput>();
    let rules = [
        mock!(Client::change_resource_record_sets)
            .match_requests(see)
            .then_output(move || {
                ChangeResourceRecordSetsOutput::builder()
                    .change_info(change_info(status.clone()))
                    .build()
            }),
        insync(),
    ];
    (seen, rules)
}

/// A change batch refused as invalid, with `message`.
fn invalid_batch(message: &'static str) -> Rule {
    mock!(Client::change_resource_record_sets).then_error(move || {
        ChangeResourceRecordSetsError::InvalidChangeBatch(
            InvalidChangeBatch::builder()
                .messages(message)
                .meta(ErrorMetadata::builder().code("InvalidChangeBatch").build())
                .build(),
        )
    })
}

#[test]
fn record_types_keep_their_route53_names() {
    let spec = record_spec();
    assert_eq!(spec.record_type, RecordType::A);
    assert_eq!(
        serde_json::to_value(&spec).unwrap()["record_type"],
        json!("A")
    );
    for (t, name) in [(RecordType::Aaaa, "AAAA"), (RecordType::Cname, "CNAME")] {
        assert_eq!(serde_json::to_value(t).unwrap(), json!(name));
        assert_eq!(t.as_str(), name);
    }
    assert!(serde_json::from_value::<RecordType>(json!("A6")).is_err());
    assert_eq!(record_spec().routing(), Routing::Incomplete);
    assert_eq!(
        latency_record_spec().routing(),
        Routing::Latency {
            set_identifier: "use1",
            region: "us-east-1"
        }
    );
}

#[tokio::test]
async fn record_upsert_sends_the_values_ttl_and_set_identifier() {
    let spec = record_spec();
    let (seen, rules) = change_then_insync(ChangeStatus::Pending);
    let c = mock_route53(&rules.iter().collect::<Vec<_>>());

    let out = RecordSetDriver
        .create(&c, &record_resource(&spec))
        .await
        .unwrap();

    assert_eq!(out.fqdn, "api.greenlang.ai");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].hosted_zone_id(), Some("Z111"));
    let change = &seen[0].change_batch().unwrap().changes()[0];
    assert_eq!(change.action(), &ChangeAction::Upsert);
    let set = change.resource_record_set().unwrap();
    assert_eq!(set.name(), "api.greenlang.ai");
    assert_eq!(set.r#type(), &RrType::A);
    assert_eq!(set.ttl(), Some(300));
    assert_eq!(set.set_identifier(), Some("blue"));
    let values: Vec<&str> = set.resource_records().iter().map(|r| r.value()).collect();
    assert_eq!(values, ["192.0.2.10", "192.0.2.11"]);
}

#[tokio::test]
async fn record_delete_sends_the_recorded_values() {
    let spec = record_spec();
    let (seen, rules) = change_then_insync(ChangeStatus::Pending);
    let c = mock_route53(&rules.iter().collect::<Vec<_>>());

    RecordSetDriver
        .delete(&c, &record_state(&spec))
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    let change = &seen[0].change_batch().unwrap().changes()[0];
    assert_eq!(change.action(), &ChangeAction::Delete);
    assert_eq!(
        change.resource_record_set().unwrap(),
        &record_set(&spec).unwrap()
    );
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn record_delete_of_a_missing_record_is_success() {
    let rule = invalid_batch("Tried to delete resource record set [name='api.greenlang.ai.', type='A', set-identifier='blue'] but it was not found");
    let c = mock_route53(&[&rule]);
    RecordSetDriver
        .delete(&c, &record_state(&record_spec()))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn record_delete_with_other_batch_errors_fails() {
    let rule = invalid_batch("Tried to delete resource record set [name='api.greenlang.ai.', type='A'] but the values provided do not match the current values");
    let c = mock_route53(&[&rule]);
    let err = RecordSetDriver
        .delete(&c, &record_state(&record_spec()))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
}

#[tokio::test]
async fn record_find_matches_name_type_and_set_identifier_exactly() {
    let spec = record_spec();
    let rules = [
        mock!(Client::list_resource_record_sets)
            .match_requests(|r| {
                r.hosted_zone_id() == Some("Z111")
                    && r.start_record_name() == Some("api.greenlang.ai.")
                    && r.start_record_type() == Some(&RrType::A)
                    && r.start_record_identifier() == Some("blue")
                    && r.max_items() == Some(LOOKUP_PAGE)
            })
            .then_output(|| {
                ListResourceRecordSetsOutput::builder()
                    .resource_record_sets(rrset("API.greenlang.ai.", RrType::A, Some("blue")))
                    .is_truncated(false)
                    .max_items(100)
                    .build()
                    .unwrap()
            }),
        // Only a neighbour: not found.
        mock!(Client::list_resource_record_sets).then_output(|| {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(rrset("api.greenlang.ai.", RrType::A, Some("green")))
                .resource_record_sets(rrset("apx.greenlang.ai.", RrType::A, None))
                .is_truncated(true)
                .next_record_name("apy.greenlang.ai.")
                .max_items(2)
                .build()
                .unwrap()
        }),
    ];
    let c = mock_route53(&rules.iter().collect::<Vec<_>>());
    let r = record_resource(&spec);

    assert_eq!(
        RecordSetDriver.find(&c, &r).await.unwrap(),
        Some(record_outputs(&spec))
    );
    assert_eq!(RecordSetDriver.find(&c, &r).await.unwrap(), None);
}

// ------------------------------------------------------------ latency routing

fn latency_record_spec() -> RecordSetSpec {
    serde_json::from_value(json!({
        "zone_id": "Z111",
        "name": "api.greenlang.ai",
        "record_type": "A",
        "ttl": 60,
        "records": ["192.0.2.10"],
        "set_identifier": "use1",
        "latency_region": "us-east-1",
        "health_check_id": "hc-1"
    }))
    .unwrap()
}

#[tokio::test]
async fn record_upsert_and_delete_carry_the_latency_region_and_health_check() {
    let spec = latency_record_spec();
    let (seen, rules) = change_then_insync(ChangeStatus::Insync);
    let c = mock_any(&rules.iter().collect::<Vec<_>>());

    RecordSetDriver
        .create(&c, &record_resource(&spec))
        .await
        .unwrap();
    RecordSetDriver
        .delete(&c, &record_state(&spec))
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    for (req, action) in seen
        .iter()
        .zip([ChangeAction::Upsert, ChangeAction::Delete])
    {
        let change = &req.change_batch().unwrap().changes()[0];
        assert_eq!(change.action(), &action);
        let set = change.resource_record_set().unwrap();
        assert_eq!(set.set_identifier(), Some("use1"));
        assert_eq!(set.region(), Some(&ResourceRecordSetRegion::UsEast1));
        assert_eq!(set.health_check_id(), Some("hc-1"));
    }
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn record_find_matches_a_latency_record_by_its_set_identifier() {
    let spec = latency_record_spec();
    let rule = mock!(Client::list_resource_record_sets)
        .match_requests(|r| r.start_record_identifier() == Some("use1"))
        .then_output(|| {
            let mut other = rrset("api.greenlang.ai.", RrType::A, Some("euw1"));
            other.region = Some(ResourceRecordSetRegion::EuWest1);
            let mut ours = rrset("api.greenlang.ai.", RrType::A, Some("use1"));
            ours.region = Some(ResourceRecordSetRegion::UsEast1);
            ours.health_check_id = Some("hc-1".into());
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(other)
                .resource_record_sets(ours)
                .is_truncated(false)
                .max_items(100)
                .build()
                .unwrap()
        });
    let c = mock_any(&[&rule]);
    assert_eq!(
        RecordSetDriver
            .find(&c, &record_resource(&spec))
            .await
            .unwrap(),
        Some(record_outputs(&spec))
    );
}

// ------------------------------------------------------------------ refresh

mod observe {
    use super::*;
    use crate::test_support::{meta, scope};
    use aws_sdk_route53::operation::list_resource_record_sets::{
        ListResourceRecordSetsError, ListResourceRecordSetsInput,
    };

    fn state_of(id: &str, spec: serde_json::Value) -> Recorded<RecordSetSpec> {
        let spec: RecordSetSpec = serde_json::from_value(spec).unwrap();
        recorded(
            &desired("prod", id, REGION, spec.clone()),
            record_outputs(&spec),
        )
    }

    fn page(sets: Vec<ResourceRecordSet>, next: Option<&str>) -> ListResourceRecordSetsOutput {
        ListResourceRecordSetsOutput::builder()
            .set_resource_record_sets(Some(sets))
            .is_truncated(next.is_some())
            .set_next_record_name(next.map(str::to_owned))
            .set_next_record_type(next.map(|_| RrType::Cname))
            .max_items(300)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn record_sets_are_read_through_their_zones_one_listing_each() {
        let latency = latency_record_spec();
        let www = json!({
            "zone_id": "Z111", "name": "www.greenlang.ai", "record_type": "CNAME",
            "ttl": 300, "records": ["lb.greenlang.ai"]
        });
        let recorded = vec![
            state_of("api", serde_json::to_value(&latency).unwrap()),
            state_of("www", www.clone()),
            state_of(
                "deleted",
                json!({"zone_id": "Z111", "name": "old.greenlang.ai", "record_type": "A",
                       "ttl": 60, "records": ["192.0.2.9"]}),
            ),
            state_of(
                "in-a-gone-zone",
                json!({"zone_id": "/hostedzone/Z222", "name": "x.example.org", "record_type": "A",
                       "ttl": 60, "records": ["192.0.2.9"]}),
            ),
        ];
        let (seen, see) = recorder::<ListResourceRecordSetsInput>();
        let api = ResourceRecordSet::builder()
            .name("api.greenlang.ai.")
            .r#type(RrType::A)
            .ttl(30) // changed outside
            .set_identifier("use1")
            .region(ResourceRecordSetRegion::UsEast1)
            .health_check_id("hc-1")
            .resource_records(
                ResourceRecord::builder()
                    .value("192.0.2.10")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        // Route 53 spells names its way (a trailing dot, another case): not drift.
        let www_live = ResourceRecordSet::builder()
            .name("www.greenlang.ai.")
            .r#type(RrType::Cname)
            .ttl(300)
            .resource_records(
                ResourceRecord::builder()
                    .value("LB.greenlang.ai.")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let first = mock!(Client::list_resource_record_sets)
            .match_requests(|r| {
                r.hosted_zone_id() == Some("Z111") && r.start_record_name().is_none()
            })
            .then_output(move || {
                page(
                    vec![
                        api.clone(),
                        rrset("api.greenlang.ai.", RrType::A, Some("euw1")),
                    ],
                    Some("www.greenlang.ai."),
                )
            });
        let second = mock!(Client::list_resource_record_sets)
            .match_requests(|r| r.start_record_name() == Some("www.greenlang.ai."))
            .then_output(move || page(vec![www_live.clone()], None));
        let gone = mock!(Client::list_resource_record_sets)
            .match_requests(see)
            .then_error(|| ListResourceRecordSetsError::generic(meta("NoSuchHostedZone")));
        let c = mock_any(&[&first, &second, &gone]);

        let live = RecordSetDriver
            .observe(&c, &scope("prod", REGION, recorded))
            .await
            .unwrap()
            .unwrap();

        assert_eq!(
            (first.num_calls(), second.num_calls()),
            (1, 1),
            "zone Z111: two pages"
        );
        assert_eq!(gone.num_calls(), 1);
        assert_eq!(seen.lock().unwrap()[0].hosted_zone_id(), Some("Z222"));
        let ids: Vec<&str> = live.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["api", "www"],
            "the deleted record and the gone zone's are not returned"
        );
        assert!(live.iter().all(|l| l.tags.is_empty()));

        let mut expected = serde_json::to_value(&latency).unwrap();
        expected["ttl"] = json!(30);
        assert_eq!(
            serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
            expected
        );
        assert_eq!(live[0].outputs.fqdn, "api.greenlang.ai");
        assert_eq!(
            serde_json::to_value(live[1].spec.as_ref().unwrap()).unwrap(),
            www,
            "an unchanged record set round-trips exactly"
        );
    }

    #[tokio::test]
    async fn values_in_another_order_keep_the_recorded_order_and_new_ones_read_live() {
        let spec = record_spec(); // 192.0.2.10, 192.0.2.11 in zone /hostedzone/Z111
        let list = mock!(Client::list_resource_record_sets)
            .match_requests(|r| r.hosted_zone_id() == Some("Z111"))
            .then_output(|| {
                let set = |values: &[&str], id: &str| {
                    ResourceRecordSet::builder()
                        .name("api.greenlang.ai.")
                        .r#type(RrType::A)
                        .ttl(300)
                        .set_identifier(id)
                        .set_resource_records(Some(
                            values
                                .iter()
                                .map(|v| ResourceRecord::builder().value(*v).build().unwrap())
                                .collect(),
                        ))
                        .build()
                        .unwrap()
                };
                page(vec![set(&["192.0.2.11", "192.0.2.10"], "blue")], None)
            });
        let c = mock_any(&[&list]);
        let live = RecordSetDriver
            .observe(&c, &scope("prod", REGION, vec![record_state(&spec)]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
            serde_json::to_value(&spec).unwrap()
        );
        assert_eq!(list.num_calls(), 1);
    }
}

#[tokio::test]
async fn a_new_type_or_set_identifier_is_one_atomic_batch_deleting_then_creating() {
    let before = record_spec();
    for (field, after) in [
        (
            "record_type",
            RecordSetSpec {
                record_type: RecordType::Aaaa,
                records: vec!["2001:db8::10".into()],
                ..before.clone()
            },
        ),
        (
            "set_identifier",
            RecordSetSpec {
                set_identifier: Some("green".into()),
                ..before.clone()
            },
        ),
    ] {
        let (seen, rules) = change_then_insync(ChangeStatus::Pending);
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());

        let out = crate::test_support::update(
            &RecordSetDriver,
            &c,
            &record_state(&before),
            &record_resource(&after),
            &[field],
        )
        .await
        .unwrap();

        assert_eq!(out, record_outputs(&after));
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{field}: one call");
        let changes = seen[0].change_batch().unwrap().changes();
        let shape: Vec<(&ChangeAction, &ResourceRecordSet)> = changes
            .iter()
            .map(|c| (c.action(), c.resource_record_set().unwrap()))
            .collect();
        assert_eq!(
            shape,
            [
                (&ChangeAction::Delete, &record_set(&before).unwrap()),
                (&ChangeAction::Create, &record_set(&after).unwrap()),
            ],
            "{field}"
        );
        assert!(rules.iter().all(|r| r.num_calls() == 1), "{field}");
    }
}

#[tokio::test]
async fn a_swap_whose_old_record_is_gone_already_writes_the_new_one() {
    // A resumed update whose batch went through: the DELETE finds nothing, and the
    // new record set is written with UPSERT.
    let before = record_spec();
    let after = RecordSetSpec {
        set_identifier: Some("green".into()),
        ..before.clone()
    };
    let gone = invalid_batch("Tried to delete resource record set [name='api.greenlang.ai.', type='A', set-identifier='blue'] but it was not found");
    let (seen, rules) = change_then_insync(ChangeStatus::Insync);
    let c = mock_route53(&[&gone, &rules[0], &rules[1]]);

    crate::test_support::update(
        &RecordSetDriver,
        &c,
        &record_state(&before),
        &record_resource(&after),
        &["set_identifier"],
    )
    .await
    .unwrap();

    let seen = seen.lock().unwrap();
    let changes = seen[0].change_batch().unwrap().changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].action(), &ChangeAction::Upsert);
    assert_eq!(
        changes[0].resource_record_set().unwrap(),
        &record_set(&after).unwrap()
    );
}
