use super::*;
use crate::driver::Driver;
use crate::securityhub::StandardsSubscriptionDriver;
use crate::test_support::{all_used, desired, recorded, recorder, scope};
use aws_sdk_securityhub::operation::batch_disable_standards::{
    BatchDisableStandardsInput, BatchDisableStandardsOutput,
};
use aws_sdk_securityhub::operation::batch_enable_standards::{
    BatchEnableStandardsInput, BatchEnableStandardsOutput,
};
use aws_sdk_securityhub::operation::get_enabled_standards::GetEnabledStandardsOutput;
use aws_sdk_securityhub::types::{StandardsStatus, StandardsSubscription};
use aws_sdk_securityhub::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::securityhub::{
    cis_standards_arn, StandardsSubscriptionOutputs, StandardsSubscriptionSpec,
};

const ID: &str = "securityhub-cis";
const SUB_ARN: &str =
    "arn:aws:securityhub:us-east-1:111122223333:subscription/cis-aws-foundations-benchmark/v/3.0.0";

fn spec() -> StandardsSubscriptionSpec {
    StandardsSubscriptionSpec {
        hub_arn: HUB_ARN.to_string().into(),
        standards_arn: cis_standards_arn(REGION, "3.0.0"),
    }
}

fn enabled(status: Option<StandardsStatus>) -> Rule {
    mock!(Client::get_enabled_standards).then_output(move || {
        let mut out = GetEnabledStandardsOutput::builder();
        if let Some(status) = status.clone() {
            out = out.standards_subscriptions(
                StandardsSubscription::builder()
                    .standards_subscription_arn(SUB_ARN)
                    .standards_arn(cis_standards_arn(REGION, "3.0.0"))
                    .standards_status(status)
                    .build(),
            );
        }
        out.build()
    })
}

fn outputs() -> StandardsSubscriptionOutputs {
    StandardsSubscriptionOutputs {
        subscription_arn: SUB_ARN.into(),
    }
}

#[tokio::test]
async fn create_enables_the_regional_cis_standard_and_waits_until_ready() {
    let (sent, see) = recorder::<BatchEnableStandardsInput>();
    let rules = [
        mock!(Client::batch_enable_standards)
            .match_requests(see)
            .then_output(|| BatchEnableStandardsOutput::builder().build()),
        enabled(Some(StandardsStatus::Pending)),
        enabled(Some(StandardsStatus::Ready)),
    ];
    let c = mock(&rules);

    let out = StandardsSubscriptionDriver
        .create(&c, &desired(STACK, ID, REGION, spec()))
        .await
        .unwrap();

    assert_eq!(out, outputs());
    let req = &sent.lock().unwrap()[0];
    let asked: Vec<&str> = req
        .standards_subscription_requests()
        .iter()
        .filter_map(|r| r.standards_arn())
        .collect();
    assert_eq!(
        asked,
        ["arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0"]
    );
    all_used(&rules);
}

#[tokio::test]
async fn find_adopts_the_enabled_standard_and_not_one_being_deleted() {
    let rules = [
        enabled(Some(StandardsStatus::Ready)),
        enabled(Some(StandardsStatus::Deleting)),
        enabled(None),
    ];
    let c = mock(&rules);
    let r = desired(STACK, ID, REGION, spec());
    assert_eq!(
        StandardsSubscriptionDriver.find(&c, &r).await.unwrap(),
        Some(outputs())
    );
    assert_eq!(
        StandardsSubscriptionDriver.find(&c, &r).await.unwrap(),
        None
    );
    assert_eq!(
        StandardsSubscriptionDriver.find(&c, &r).await.unwrap(),
        None
    );
    all_used(&rules);
}

#[tokio::test]
async fn delete_disables_by_subscription_arn_and_waits_until_gone() {
    let (sent, see) = recorder::<BatchDisableStandardsInput>();
    let rules = [
        enabled(Some(StandardsStatus::Ready)),
        mock!(Client::batch_disable_standards)
            .match_requests(see)
            .then_output(|| BatchDisableStandardsOutput::builder().build()),
        enabled(Some(StandardsStatus::Deleting)),
        enabled(None),
        enabled(None),
    ];
    let c = mock(&rules);
    let prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());

    StandardsSubscriptionDriver
        .delete(&c, &prior)
        .await
        .unwrap();
    // Gone already: success, no call but the read.
    StandardsSubscriptionDriver
        .delete(&c, &prior)
        .await
        .unwrap();

    assert_eq!(
        sent.lock().unwrap()[0].standards_subscription_arns(),
        [SUB_ARN.to_string()]
    );
    all_used(&rules);
}

#[tokio::test]
async fn observe_is_one_read_for_the_region() {
    let rules = [enabled(Some(StandardsStatus::Ready))];
    let c = mock(&rules);
    let prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());
    let live = StandardsSubscriptionDriver
        .observe(&c, &scope(STACK, REGION, vec![prior]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].outputs, outputs());
    all_used(&rules);
}
