use super::*;
use crate::driver::Driver;
use crate::securityhub::HubDriver;
use crate::test_support::{
    all_used, assert_error, desired, meta, ok_rule, owner_tags, recorded, recorder,
};
use aws_sdk_securityhub::operation::describe_hub::{DescribeHubError, DescribeHubOutput};
use aws_sdk_securityhub::operation::disable_security_hub::{
    DisableSecurityHubError, DisableSecurityHubInput, DisableSecurityHubOutput,
};
use aws_sdk_securityhub::operation::enable_security_hub::{
    EnableSecurityHubError, EnableSecurityHubInput, EnableSecurityHubOutput,
};
use aws_sdk_securityhub::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_securityhub::operation::update_security_hub_configuration::{
    UpdateSecurityHubConfigurationInput, UpdateSecurityHubConfigurationOutput,
};
use aws_sdk_securityhub::types::ControlFindingGenerator as SdkGenerator;
use aws_sdk_securityhub::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::securityhub::{
    ControlFindingGenerator, SecurityHubAccountOutputs, SecurityHubAccountSpec,
};
use glinfra_engine::ErrorClass;
use std::collections::BTreeMap;

const ID: &str = "securityhub";

fn spec() -> SecurityHubAccountSpec {
    SecurityHubAccountSpec {
        auto_enable_controls: false,
        control_finding_generator: ControlFindingGenerator::SecurityControl,
    }
}

fn describe() -> Rule {
    mock!(Client::describe_hub).then_output(|| {
        DescribeHubOutput::builder()
            .hub_arn(HUB_ARN)
            .auto_enable_controls(false)
            .control_finding_generator(SdkGenerator::SecurityControl)
            .build()
    })
}

fn not_subscribed() -> Rule {
    mock!(Client::describe_hub)
        .then_error(|| DescribeHubError::generic(meta("InvalidAccessException")))
}

fn tags(t: BTreeMap<String, String>) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(|req| req.resource_arn() == Some(HUB_ARN))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tags(Some(t.clone().into_iter().collect()))
                .build()
        })
}

#[tokio::test]
async fn create_enables_without_default_standards_then_configures() {
    let (enabled, see_enable) = recorder::<EnableSecurityHubInput>();
    let (configured, see_config) = recorder::<UpdateSecurityHubConfigurationInput>();
    let rules = [
        ok_rule!(Client::enable_security_hub(see_enable) -> EnableSecurityHubOutput),
        ok_rule!(Client::update_security_hub_configuration(see_config) -> UpdateSecurityHubConfigurationOutput),
        describe(),
    ];
    let c = mock(&rules);

    let out = HubDriver
        .create(&c, &desired(STACK, ID, REGION, spec()))
        .await
        .unwrap();

    assert_eq!(
        out,
        SecurityHubAccountOutputs {
            hub_arn: HUB_ARN.into()
        }
    );
    let e = &enabled.lock().unwrap()[0];
    assert_eq!(e.enable_default_standards(), Some(false));
    assert_eq!(
        e.control_finding_generator(),
        Some(&SdkGenerator::SecurityControl)
    );
    let t: BTreeMap<String, String> = e.tags().unwrap().clone().into_iter().collect();
    assert_eq!(t, owner_tags(STACK, ID));
    assert_eq!(
        configured.lock().unwrap()[0].auto_enable_controls(),
        Some(false)
    );
    all_used(&rules);
}

#[tokio::test]
async fn create_meeting_an_enabled_hub_adopts_ours_and_refuses_anothers() {
    let rules = [
        mock!(Client::enable_security_hub)
            .then_error(|| EnableSecurityHubError::generic(meta("ResourceConflictException"))),
        describe(),
        tags(owner_tags(STACK, ID)),
        mock!(Client::update_security_hub_configuration)
            .then_output(|| UpdateSecurityHubConfigurationOutput::builder().build()),
        describe(),
        mock!(Client::enable_security_hub)
            .then_error(|| EnableSecurityHubError::generic(meta("ResourceConflictException"))),
        describe(),
        tags(BTreeMap::new()),
    ];
    let c = mock(&rules);
    let r = desired(STACK, ID, REGION, spec());

    let out = HubDriver.create(&c, &r).await.unwrap();
    assert_eq!(out.hub_arn, HUB_ARN);
    let err = HubDriver.create(&c, &r).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "import");
    all_used(&rules);
}

#[tokio::test]
async fn find_where_security_hub_is_off_is_none() {
    let rules = [not_subscribed()];
    let c = mock(&rules);
    let found = HubDriver
        .find(&c, &desired(STACK, ID, REGION, spec()))
        .await
        .unwrap();
    assert_eq!(found, None);
    all_used(&rules);
}

#[tokio::test]
async fn delete_disables_and_a_disabled_hub_is_gone() {
    let (disabled, see) = recorder::<DisableSecurityHubInput>();
    let rules = [
        ok_rule!(Client::disable_security_hub(see) -> DisableSecurityHubOutput),
        mock!(Client::disable_security_hub)
            .then_error(|| DisableSecurityHubError::generic(meta("InvalidAccessException"))),
    ];
    let c = mock(&rules);
    let prior = recorded(
        &desired(STACK, ID, REGION, spec()),
        SecurityHubAccountOutputs {
            hub_arn: HUB_ARN.into(),
        },
    );
    HubDriver.delete(&c, &prior).await.unwrap();
    HubDriver.delete(&c, &prior).await.unwrap();
    assert_eq!(disabled.lock().unwrap().len(), 1);
    all_used(&rules);
}

#[tokio::test]
async fn observe_reads_the_hub_and_its_tags() {
    let rules = [describe(), tags(owner_tags(STACK, ID))];
    let c = mock(&rules);
    let prior = recorded(
        &desired(STACK, ID, REGION, spec()),
        SecurityHubAccountOutputs {
            hub_arn: HUB_ARN.into(),
        },
    );
    let live = HubDriver
        .observe(&c, &crate::test_support::scope(STACK, REGION, vec![prior]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].spec.as_ref(), Some(&spec()));
    all_used(&rules);
}
