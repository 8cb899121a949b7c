use crate::clients::Clients;
use crate::driver::Driver;
use crate::shield::SubscriptionDriver;
use crate::test_support::{
    all_used, assert_error, desired, meta, mock_clients, recorded, recorder,
};
use aws_sdk_shield::operation::create_subscription::{
    CreateSubscriptionError, CreateSubscriptionOutput,
};
use aws_sdk_shield::operation::describe_subscription::{
    DescribeSubscriptionError, DescribeSubscriptionOutput,
};
use aws_sdk_shield::operation::update_subscription::{
    UpdateSubscriptionInput, UpdateSubscriptionOutput,
};
use aws_sdk_shield::types::{AutoRenew as SdkAutoRenew, Subscription, SubscriptionLimits};
use aws_sdk_shield::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::spec::shield::{AutoRenew, ShieldSubscriptionOutputs, ShieldSubscriptionSpec};
use glinfra_engine::ErrorClass;

const ARN: &str = "arn:aws:shield::111122223333:subscription/1234567890ab";

fn mock_shield(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    // Shield is served from us-east-1 whatever the stack's region.
    mock_clients!(
        aws_sdk_shield,
        "shield",
        "us-east-1",
        RuleMode::Sequential,
        &rules
    )
}

fn describe(renew: SdkAutoRenew) -> Rule {
    mock!(Client::describe_subscription).then_output(move || {
        DescribeSubscriptionOutput::builder()
            .subscription(
                Subscription::builder()
                    .subscription_arn(ARN)
                    .auto_renew(renew.clone())
                    .subscription_limits(SubscriptionLimits::builder().build())
                    .build(),
            )
            .build()
    })
}

fn spec() -> ShieldSubscriptionSpec {
    ShieldSubscriptionSpec {
        auto_renew: AutoRenew::Enabled,
    }
}

fn outputs() -> ShieldSubscriptionOutputs {
    ShieldSubscriptionOutputs {
        subscription_arn: ARN.into(),
    }
}

#[tokio::test]
async fn create_subscribes_then_sets_the_renewal_it_lacks() {
    let (updated, see) = recorder::<UpdateSubscriptionInput>();
    let rules = [
        mock!(Client::create_subscription)
            .then_output(|| CreateSubscriptionOutput::builder().build()),
        describe(SdkAutoRenew::Disabled),
        mock!(Client::update_subscription)
            .match_requests(see)
            .then_output(|| UpdateSubscriptionOutput::builder().build()),
    ];
    let c = mock_shield(&rules);
    let out = SubscriptionDriver
        .create(&c, &desired("prod", "shield-advanced", "eu-west-1", spec()))
        .await
        .unwrap();
    assert_eq!(out, outputs());
    assert_eq!(
        updated.lock().unwrap()[0].auto_renew(),
        Some(&SdkAutoRenew::Enabled)
    );
    all_used(&rules);
}

#[tokio::test]
async fn create_meeting_the_accounts_subscription_adopts_it() {
    let rules = [
        mock!(Client::create_subscription).then_error(|| {
            CreateSubscriptionError::generic(meta("ResourceAlreadyExistsException"))
        }),
        describe(SdkAutoRenew::Enabled),
    ];
    let c = mock_shield(&rules);
    let out = SubscriptionDriver
        .create(&c, &desired("prod", "shield-advanced", "eu-west-1", spec()))
        .await
        .unwrap();
    assert_eq!(out, outputs());
    all_used(&rules);
}

#[tokio::test]
async fn find_without_a_subscription_is_none() {
    let rules = [mock!(Client::describe_subscription)
        .then_error(|| DescribeSubscriptionError::generic(meta("ResourceNotFoundException")))];
    let c = mock_shield(&rules);
    let found = SubscriptionDriver
        .find(&c, &desired("prod", "shield-advanced", "eu-west-1", spec()))
        .await
        .unwrap();
    assert_eq!(found, None);
    all_used(&rules);
}

#[tokio::test]
async fn delete_is_refused_with_what_to_do_and_makes_no_call() {
    let c = mock_shield(&[]);
    let prior = recorded(
        &desired("prod", "shield-advanced", "eu-west-1", spec()),
        outputs(),
    );
    let err = SubscriptionDriver.delete(&c, &prior).await.unwrap_err();
    assert_error(&err, ErrorClass::Fatal, "AWS Support");
    assert!(err.message.contains("retain_on_delete"), "{err}");
}
