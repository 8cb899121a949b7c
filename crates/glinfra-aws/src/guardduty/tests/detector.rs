use crate::clients::Clients;
use crate::driver::Driver;
use crate::guardduty::DetectorDriver;
use crate::test_support::{
    all_used, assert_error, desired, interceptor, meta, mock_clients, ok_rule, owner_tags,
    recorded, recorder, scope,
};
use aws_sdk_guardduty::operation::create_detector::{
    CreateDetectorError, CreateDetectorInput, CreateDetectorOutput,
};
use aws_sdk_guardduty::operation::delete_detector::{DeleteDetectorInput, DeleteDetectorOutput};
use aws_sdk_guardduty::operation::get_detector::GetDetectorOutput;
use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
use aws_sdk_guardduty::operation::tag_resource::{TagResourceInput, TagResourceOutput};
use aws_sdk_guardduty::operation::update_detector::{UpdateDetectorInput, UpdateDetectorOutput};
use aws_sdk_guardduty::types::{
    DetectorFeatureConfigurationResult, DetectorFeatureResult, DetectorStatus, FeatureStatus,
    FindingPublishingFrequency,
};
use aws_sdk_guardduty::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::spec::guardduty::{
    DetectorFeature, FindingFrequency, GuardDutyDetectorOutputs, GuardDutyDetectorSpec,
};
use glinfra_engine::ErrorClass;
use std::collections::BTreeMap;

const REGION: &str = "eu-west-1";
const STACK: &str = "prod";
const ID: &str = "guardduty";
const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const ACCOUNT: &str = "111122223333";

/// GuardDuty mocked by `rules`, and STS answering the account id (any number of times).
fn mock(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    let c = mock_clients!(
        aws_sdk_guardduty,
        "guardduty",
        REGION,
        RuleMode::Sequential,
        &rules
    );
    let identity =
        aws_smithy_mocks::mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                .account(ACCOUNT)
                .build()
        });
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new(REGION))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "AKID", "SECRET", None, None, "test",
            ))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor(RuleMode::MatchAny, &[&identity]))
            .build(),
    );
    c.insert("sts", REGION, sts);
    c
}

fn spec() -> GuardDutyDetectorSpec {
    GuardDutyDetectorSpec {
        enable: true,
        finding_publishing_frequency: FindingFrequency::FifteenMinutes,
        features: vec![
            DetectorFeature::S3DataEvents,
            DetectorFeature::RuntimeMonitoring,
        ],
    }
}

fn outputs() -> GuardDutyDetectorOutputs {
    GuardDutyDetectorOutputs {
        detector_id: DETECTOR.into(),
        arn: format!("arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{DETECTOR}"),
    }
}

fn list(ids: &'static [&'static str]) -> Rule {
    mock!(Client::list_detectors).then_output(move || {
        ListDetectorsOutput::builder()
            .set_detector_ids(Some(ids.iter().map(|s| s.to_string()).collect()))
            .build()
    })
}

fn get(tags: BTreeMap<String, String>) -> Rule {
    mock!(Client::get_detector)
        .match_requests(|req| req.detector_id() == Some(DETECTOR))
        .then_output(move || {
            GetDetectorOutput::builder()
                .status(DetectorStatus::Enabled)
                .finding_publishing_frequency(FindingPublishingFrequency::FifteenMinutes)
                .features(
                    DetectorFeatureConfigurationResult::builder()
                        .name(DetectorFeatureResult::RuntimeMonitoring)
                        .status(FeatureStatus::Enabled)
                        .build(),
                )
                .features(
                    DetectorFeatureConfigurationResult::builder()
                        .name(DetectorFeatureResult::S3DataEvents)
                        .status(FeatureStatus::Enabled)
                        .build(),
                )
                .features(
                    DetectorFeatureConfigurationResult::builder()
                        .name(DetectorFeatureResult::EbsMalwareProtection)
                        .status(FeatureStatus::Disabled)
                        .build(),
                )
                .set_tags(Some(tags.clone().into_iter().collect()))
                .build()
        })
}

/// Each feature of a request with its status.
fn features(f: &[aws_sdk_guardduty::types::DetectorFeatureConfiguration]) -> Vec<(String, String)> {
    f.iter()
        .map(|c| {
            (
                c.name().unwrap().as_str().to_string(),
                c.status().unwrap().as_str().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn create_sends_the_token_tags_frequency_and_every_feature_on_or_off() {
    let (created, see) = recorder::<CreateDetectorInput>();
    let rules = [mock!(Client::create_detector)
        .match_requests(see)
        .then_output(|| {
            CreateDetectorOutput::builder()
                .detector_id(DETECTOR)
                .build()
        })];
    let c = mock(&rules);
    let r = crate::test_support::with_token(desired(STACK, ID, REGION, spec()), 4);

    let out = DetectorDriver.create(&c, &r).await.unwrap();

    assert_eq!(out, outputs());
    let req = &created.lock().unwrap()[0];
    assert_eq!(req.enable(), Some(true));
    assert_eq!(req.client_token(), r.token().as_deref());
    assert_eq!(
        req.finding_publishing_frequency(),
        Some(&FindingPublishingFrequency::FifteenMinutes)
    );
    let tags: BTreeMap<String, String> = req.tags().unwrap().clone().into_iter().collect();
    assert_eq!(tags, owner_tags(STACK, ID));
    // RUNTIME_MONITORING, not EKS_RUNTIME_MONITORING: one of the two per request.
    assert_eq!(
        features(req.features()),
        vec![
            ("S3_DATA_EVENTS".into(), "ENABLED".into()),
            ("EKS_AUDIT_LOGS".into(), "DISABLED".into()),
            ("EBS_MALWARE_PROTECTION".into(), "DISABLED".into()),
            ("RDS_LOGIN_EVENTS".into(), "DISABLED".into()),
            ("LAMBDA_NETWORK_LOGS".into(), "DISABLED".into()),
            ("RUNTIME_MONITORING".into(), "ENABLED".into()),
        ]
    );
    all_used(&rules);
}

#[tokio::test]
async fn create_meeting_our_detector_adopts_and_updates_it() {
    let (updated, see) = recorder::<UpdateDetectorInput>();
    let rules = [
        mock!(Client::create_detector)
            .then_error(|| CreateDetectorError::generic(meta("BadRequestException"))),
        list(&[DETECTOR]),
        get(owner_tags(STACK, ID)),
        ok_rule!(Client::update_detector(see) -> UpdateDetectorOutput),
    ];
    let c = mock(&rules);

    let out = DetectorDriver
        .create(&c, &desired(STACK, ID, REGION, spec()))
        .await
        .unwrap();

    assert_eq!(out, outputs());
    assert_eq!(updated.lock().unwrap()[0].detector_id(), Some(DETECTOR));
    all_used(&rules);
}

#[tokio::test]
async fn a_detector_without_our_tags_is_refused_with_how_to_import_it() {
    let rules = [list(&[DETECTOR]), get(BTreeMap::new())];
    let c = mock(&rules);

    let err = DetectorDriver
        .find(&c, &desired(STACK, ID, REGION, spec()))
        .await
        .unwrap_err();

    assert_error(&err, ErrorClass::AlreadyExists, "import");
    assert!(err.message.contains(DETECTOR), "{err}");
    all_used(&rules);
}

#[tokio::test]
async fn find_without_a_detector_is_none() {
    let rules = [list(&[])];
    let c = mock(&rules);
    let found = DetectorDriver
        .find(&c, &desired(STACK, ID, REGION, spec()))
        .await
        .unwrap();
    assert_eq!(found, None);
    all_used(&rules);
}

#[tokio::test]
async fn update_changes_the_settings_then_the_tags_by_arn() {
    let (updated, see_update) = recorder::<UpdateDetectorInput>();
    let (tagged, see_tag) = recorder::<TagResourceInput>();
    let rules = [
        ok_rule!(Client::update_detector(see_update) -> UpdateDetectorOutput),
        ok_rule!(Client::tag_resource(see_tag) -> TagResourceOutput),
    ];
    let c = mock(&rules);
    let mut want = spec();
    want.finding_publishing_frequency = FindingFrequency::OneHour;
    let r = desired(STACK, ID, REGION, want);
    let mut prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());
    prior.tags.remove("team");
    let out = crate::test_support::update(
        &DetectorDriver,
        &c,
        &prior,
        &r,
        &["finding_publishing_frequency", "tags"],
    )
    .await
    .unwrap();

    assert_eq!(out, outputs());
    let u = &updated.lock().unwrap()[0];
    assert_eq!(
        u.finding_publishing_frequency(),
        Some(&FindingPublishingFrequency::OneHour)
    );
    let t = &tagged.lock().unwrap()[0];
    assert_eq!(t.resource_arn(), Some(outputs().arn.as_str()));
    all_used(&rules);
}

#[tokio::test]
async fn delete_deletes_the_listed_detector_and_a_gone_one_is_success() {
    let (deleted, see) = recorder::<DeleteDetectorInput>();
    let rules = [
        list(&[DETECTOR]),
        ok_rule!(Client::delete_detector(see) -> DeleteDetectorOutput),
        list(&[]),
    ];
    let c = mock(&rules);
    let prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());

    DetectorDriver.delete(&c, &prior).await.unwrap();
    DetectorDriver.delete(&c, &prior).await.unwrap();

    assert_eq!(deleted.lock().unwrap()[0].detector_id(), Some(DETECTOR));
    all_used(&rules);
}

#[tokio::test]
async fn observe_reads_the_one_detector_by_its_tags() {
    let rules = [list(&[DETECTOR]), get(owner_tags(STACK, ID))];
    let c = mock(&rules);
    let prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());

    let live = DetectorDriver
        .observe(&c, &scope(STACK, REGION, vec![prior]))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, ID);
    assert_eq!(live[0].outputs, outputs());
    // Read in another order than recorded: the recorded order.
    assert_eq!(live[0].spec.as_ref(), Some(&spec()));
    all_used(&rules);
}
