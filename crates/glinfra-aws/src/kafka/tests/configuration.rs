//! SDK-mock tests of the MSK configuration driver.

use super::{mock_kafka, REGION};
use crate::driver::Driver;
use crate::kafka::configuration::{parse_properties, properties_text};
use crate::kafka::MskConfigurationDriver;
use crate::kit::{Changed, Desired, Recorded};
use crate::test_support::{all_used, delete_found, desired, meta, recorded, recorder};
use aws_sdk_kafka::operation::create_configuration::{
    CreateConfigurationError, CreateConfigurationInput, CreateConfigurationOutput,
};
use aws_sdk_kafka::operation::delete_configuration::{
    DeleteConfigurationError, DeleteConfigurationOutput,
};
use aws_sdk_kafka::operation::describe_configuration::{
    DescribeConfigurationError, DescribeConfigurationOutput,
};
use aws_sdk_kafka::operation::describe_configuration_revision::DescribeConfigurationRevisionOutput;
use aws_sdk_kafka::operation::list_configurations::ListConfigurationsOutput;
use aws_sdk_kafka::operation::update_configuration::{
    UpdateConfigurationInput, UpdateConfigurationOutput,
};
use aws_sdk_kafka::primitives::Blob;
use aws_sdk_kafka::types::{Configuration, ConfigurationRevision, ConfigurationState};
use aws_sdk_kafka::Client;
use aws_smithy_mocks::{mock, Rule};
use glinfra_core::spec::msk::{MskConfigurationOutputs, MskConfigurationSpec};
use glinfra_engine::ErrorClass;
use std::collections::BTreeMap;

const ARN: &str = "arn:aws:kafka:eu-west-1:111122223333:configuration/prod-kafka/abc-1";

fn spec() -> MskConfigurationSpec {
    MskConfigurationSpec {
        name: "prod-kafka".into(),
        kafka_versions: vec!["3.6.0".into()],
        server_properties: BTreeMap::from([
            ("log.retention.hours".to_string(), "168".to_string()),
            ("auto.create.topics.enable".to_string(), "false".to_string()),
        ]),
    }
}

const TEXT: &str = "auto.create.topics.enable=false\nlog.retention.hours=168\n";

fn resource(spec: &MskConfigurationSpec) -> Desired<MskConfigurationSpec> {
    desired("prod", "kafka-config", REGION, spec.clone())
}

fn state(
    spec: &MskConfigurationSpec,
    outputs: MskConfigurationOutputs,
) -> Recorded<MskConfigurationSpec> {
    recorded(&resource(spec), outputs)
}

fn outputs(arn: &str, latest_revision: i64) -> MskConfigurationOutputs {
    MskConfigurationOutputs {
        arn: arn.into(),
        latest_revision,
    }
}

fn listed(name: &str, arn: &str, revision: i64, state: ConfigurationState) -> Configuration {
    Configuration::builder()
        .name(name)
        .arn(arn)
        .kafka_versions("3.6.0")
        .latest_revision(ConfigurationRevision::builder().revision(revision).build())
        .state(state)
        .build()
}

fn list_rule(configs: Vec<Configuration>, next: Option<&'static str>) -> Rule {
    mock!(Client::list_configurations).then_output(move || {
        ListConfigurationsOutput::builder()
            .set_configurations(Some(configs.clone()))
            .set_next_token(next.map(str::to_owned))
            .build()
    })
}

fn describe_rule(revision: i64, state: ConfigurationState) -> Rule {
    mock!(Client::describe_configuration)
        .match_requests(|r| r.arn() == Some(ARN))
        .then_output(move || {
            DescribeConfigurationOutput::builder()
                .arn(ARN)
                .name("prod-kafka")
                .kafka_versions("3.6.0")
                .latest_revision(ConfigurationRevision::builder().revision(revision).build())
                .state(state.clone())
                .build()
        })
}

fn describe_missing() -> Rule {
    mock!(Client::describe_configuration)
        .then_error(|| DescribeConfigurationError::generic(meta("NotFoundException")))
}

fn revision_rule(revision: i64, text: &'static str) -> Rule {
    mock!(Client::describe_configuration_revision)
        .match_requests(move |r| r.arn() == Some(ARN) && r.revision() == Some(revision))
        .then_output(move || {
            DescribeConfigurationRevisionOutput::builder()
                .arn(ARN)
                .revision(revision)
                .server_properties(Blob::new(text))
                .build()
        })
}

#[test]
fn properties_are_sorted_key_value_lines_and_read_back() {
    let text = properties_text(&spec().server_properties, "c").unwrap();
    assert_eq!(text, TEXT);
    assert_eq!(parse_properties(&text), spec().server_properties);
    assert_eq!(
        parse_properties("# comment\n\n a.b = 1 \nc.d:2\ne.f 3\n! other\ng.h=x=y\n"),
        BTreeMap::from([
            ("a.b".to_string(), "1".to_string()),
            ("c.d".to_string(), "2".to_string()),
            ("e.f".to_string(), "3".to_string()),
            ("g.h".to_string(), "x=y".to_string()),
        ])
    );
    let bad = BTreeMap::from([("a b".to_string(), "1".to_string())]);
    assert_eq!(
        properties_text(&bad, "c").unwrap_err().class,
        ErrorClass::Invalid
    );
    let bad = BTreeMap::from([("a".to_string(), "1\nb=2".to_string())]);
    assert_eq!(
        properties_text(&bad, "c").unwrap_err().class,
        ErrorClass::Invalid
    );
}

#[tokio::test]
async fn create_sends_name_versions_and_sorted_properties() {
    let (seen, see) = recorder::<CreateConfigurationInput>();
    let rules = [mock!(Client::create_configuration)
        .match_requests(see)
        .then_output(|| {
            CreateConfigurationOutput::builder()
                .arn(ARN)
                .name("prod-kafka")
                .latest_revision(ConfigurationRevision::builder().revision(1).build())
                .state(ConfigurationState::Active)
                .build()
        })];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = MskConfigurationDriver
        .create(&c, &resource(&spec()))
        .await
        .unwrap();

    assert_eq!(out, outputs(ARN, 1));
    assert_eq!(out.latest_revision, 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].name(), Some("prod-kafka"));
    assert_eq!(seen[0].kafka_versions(), ["3.6.0".to_string()]);
    assert_eq!(
        seen[0].server_properties().map(|b| b.as_ref().to_vec()),
        Some(TEXT.as_bytes().to_vec())
    );
    all_used(&rules);
}

#[tokio::test]
async fn create_adopts_the_configuration_of_its_name_on_conflict() {
    let rules = [
        mock!(Client::create_configuration)
            .then_error(|| CreateConfigurationError::generic(meta("ConflictException"))),
        list_rule(
            vec![listed("prod-kafka", ARN, 3, ConfigurationState::Active)],
            None,
        ),
        describe_rule(3, ConfigurationState::Active),
        // Same properties, written differently: no new revision.
        revision_rule(
            3,
            "log.retention.hours = 168\nauto.create.topics.enable=false\n",
        ),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = MskConfigurationDriver
        .create(&c, &resource(&spec()))
        .await
        .unwrap();

    assert_eq!(out, outputs(ARN, 3));
    all_used(&rules);
}

#[tokio::test]
async fn find_matches_the_exact_name_across_pages() {
    let other = "arn:aws:kafka:eu-west-1:111122223333:configuration/prod-kafka-2/x-1";
    let rules = [
        list_rule(
            vec![listed("prod-kafka-2", other, 1, ConfigurationState::Active)],
            Some("t1"),
        ),
        mock!(Client::list_configurations)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(|| {
                ListConfigurationsOutput::builder()
                    .configurations(listed("prod-kafka", ARN, 2, ConfigurationState::Active))
                    .build()
            }),
        list_rule(
            vec![listed("prod-kafka-2", other, 1, ConfigurationState::Active)],
            None,
        ),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let r = resource(&spec());

    assert_eq!(
        MskConfigurationDriver.find(&c, &r).await.unwrap(),
        Some(outputs(ARN, 2))
    );
    assert_eq!(MskConfigurationDriver.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

#[tokio::test]
async fn find_waits_for_a_deleting_configuration_to_go() {
    let rules = [
        list_rule(
            vec![listed("prod-kafka", ARN, 1, ConfigurationState::Deleting)],
            None,
        ),
        describe_rule(1, ConfigurationState::Deleting),
        describe_missing(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    assert_eq!(
        MskConfigurationDriver
            .find(&c, &resource(&spec()))
            .await
            .unwrap(),
        None
    );
    all_used(&rules);
}

#[tokio::test]
async fn update_of_server_properties_makes_a_new_revision() {
    let before = spec();
    let mut after = spec();
    after
        .server_properties
        .insert("num.partitions".into(), "6".into());
    let (seen, see) = recorder::<UpdateConfigurationInput>();
    let rules = [
        describe_rule(1, ConfigurationState::Active),
        revision_rule(1, TEXT),
        mock!(Client::update_configuration)
            .match_requests(see)
            .then_output(|| {
                UpdateConfigurationOutput::builder()
                    .arn(ARN)
                    .latest_revision(ConfigurationRevision::builder().revision(2).build())
                    .build()
            }),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = MskConfigurationDriver
        .update(
            &c,
            &state(&before, outputs(ARN, 1)),
            &resource(&after),
            Changed(&["server_properties".into()]),
        )
        .await
        .unwrap();

    assert_eq!(out.latest_revision, 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].arn(), Some(ARN));
    assert_eq!(
        seen[0].server_properties().map(|b| b.as_ref().to_vec()),
        Some(
            "auto.create.topics.enable=false\nlog.retention.hours=168\nnum.partitions=6\n"
                .as_bytes()
                .to_vec()
        )
    );
    all_used(&rules);
}

#[tokio::test]
async fn update_with_properties_in_line_makes_no_revision() {
    // The recorded revision is stale (1); the configuration is at 2 already.
    let rules = [
        describe_rule(2, ConfigurationState::Active),
        revision_rule(2, TEXT),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = MskConfigurationDriver
        .update(
            &c,
            &state(&spec(), outputs(ARN, 1)),
            &resource(&spec()),
            Changed(&[]),
        )
        .await
        .unwrap();

    assert_eq!(out, outputs(ARN, 2));
    all_used(&rules);
}

#[tokio::test]
async fn delete_waits_until_the_configuration_is_gone() {
    let rules = [
        mock!(Client::delete_configuration)
            .match_requests(|r| r.arn() == Some(ARN))
            .then_output(|| {
                DeleteConfigurationOutput::builder()
                    .arn(ARN)
                    .state(ConfigurationState::Deleting)
                    .build()
            }),
        describe_rule(1, ConfigurationState::Deleting),
        describe_rule(1, ConfigurationState::Deleting),
        describe_missing(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    MskConfigurationDriver
        .delete(&c, &state(&spec(), outputs(ARN, 1)))
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_gone_configuration_succeeds_and_one_in_use_is_retryable() {
    let rules = [
        mock!(Client::delete_configuration)
            .then_error(|| DeleteConfigurationError::generic(meta("NotFoundException"))),
        mock!(Client::delete_configuration)
            .then_error(|| DeleteConfigurationError::generic(meta("BadRequestException"))),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let prior = state(&spec(), outputs(ARN, 1));

    MskConfigurationDriver.delete(&c, &prior).await.unwrap();
    let err = MskConfigurationDriver.delete(&c, &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(
        err.message.contains("BadRequestException"),
        "{}",
        err.message
    );
    all_used(&rules);
}

/// A deletion that ends DELETE_FAILED ends the wait at once, Retryable: the
/// executor calls DeleteConfiguration again later.
#[tokio::test]
async fn delete_that_ends_delete_failed_is_retryable_at_once() {
    let rules = [
        mock!(Client::delete_configuration)
            .match_requests(|r| r.arn() == Some(ARN))
            .then_output(|| DeleteConfigurationOutput::builder().arn(ARN).build()),
        describe_rule(1, ConfigurationState::Deleting),
        describe_rule(1, ConfigurationState::DeleteFailed),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let err = MskConfigurationDriver
        .delete(&c, &state(&spec(), outputs(ARN, 1)))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(err.message.contains("DELETE_FAILED"), "{}", err.message);
    all_used(&rules);
}

/// What the executor does for a create whose end was not recorded: `find`, then
/// `delete` what it found, recorded with the found outputs.
#[tokio::test]
async fn delete_without_outputs_deletes_what_the_name_finds() {
    let rules = [
        list_rule(
            vec![listed("prod-kafka", ARN, 1, ConfigurationState::Active)],
            None,
        ),
        mock!(Client::delete_configuration)
            .match_requests(|r| r.arn() == Some(ARN))
            .then_output(|| DeleteConfigurationOutput::builder().arn(ARN).build()),
        describe_missing(),
        list_rule(vec![], None),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let r = resource(&spec());

    delete_found(&MskConfigurationDriver, &c, &r).await;
    // Nothing of that name: nothing to do.
    assert_eq!(MskConfigurationDriver.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

/// Recorded: ours (`kafka-config`, edited outside glinfra into revision 3), one
/// being deleted, and one deleted since. Listed too: a configuration state does
/// not know (without tags it cannot be told ours, so it is not read).
#[tokio::test]
async fn observe_lists_the_configurations_once_and_reads_the_recorded_ones() {
    const OLD: &str = "arn:aws:kafka:eu-west-1:111122223333:configuration/old/abc-2";
    const GONE: &str = "arn:aws:kafka:eu-west-1:111122223333:configuration/gone/abc-3";
    let rules = [
        list_rule(
            vec![
                listed(
                    "someone-elses",
                    "arn:aws:kafka:eu-west-1:111122223333:configuration/someone-elses/abc-4",
                    1,
                    ConfigurationState::Active,
                ),
                listed("prod-kafka", ARN, 3, ConfigurationState::Active),
                listed("old", OLD, 1, ConfigurationState::Deleting),
            ],
            None,
        ),
        revision_rule(
            3,
            "auto.create.topics.enable=false\nlog.retention.hours=72\n",
        ),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let mut old = spec();
    old.name = "old".into();
    let mut gone = spec();
    gone.name = "gone".into();
    let scope = crate::test_support::scope(
        "prod",
        REGION,
        vec![
            state(&spec(), outputs(ARN, 1)),
            recorded(&desired("prod", "old-config", REGION, old), outputs(OLD, 1)),
            recorded(
                &desired("prod", "gone-config", REGION, gone),
                outputs(GONE, 1),
            ),
        ],
    );

    let live = MskConfigurationDriver
        .observe(&c, &scope)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, "kafka-config");
    assert_eq!(live[0].outputs, outputs(ARN, 3), "the latest revision");
    assert!(live[0].tags.is_empty());
    let read = live[0].spec.as_ref().unwrap();
    assert_eq!(
        read.server_properties["log.retention.hours"], "72",
        "the live value"
    );
    assert_eq!(read.kafka_versions, spec().kafka_versions);
    all_used(&rules);
}

#[tokio::test]
async fn observe_of_an_unchanged_configuration_reads_exactly_the_recorded_spec() {
    let rules = [
        list_rule(
            vec![listed("prod-kafka", ARN, 1, ConfigurationState::Active)],
            None,
        ),
        revision_rule(1, TEXT),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let scope = crate::test_support::scope("prod", REGION, vec![state(&spec(), outputs(ARN, 1))]);

    let live = MskConfigurationDriver
        .observe(&c, &scope)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(spec()).unwrap()
    );
    all_used(&rules);
}

#[tokio::test]
async fn observe_with_nothing_recorded_makes_no_call() {
    let c = mock_kafka(&[]);
    let scope = crate::test_support::scope::<MskConfigurationSpec>("prod", REGION, vec![]);
    let live = MskConfigurationDriver.observe(&c, &scope).await.unwrap();
    assert!(live.unwrap().is_empty());
}
