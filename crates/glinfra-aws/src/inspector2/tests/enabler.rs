use crate::clients::Clients;
use crate::driver::Driver;
use crate::inspector2::EnablerDriver;
use crate::test_support::{all_used, desired, mock_clients, recorded, recorder, scope};
use aws_sdk_inspector2::operation::batch_get_account_status::BatchGetAccountStatusOutput;
use aws_sdk_inspector2::operation::disable::{DisableInput, DisableOutput};
use aws_sdk_inspector2::operation::enable::{EnableInput, EnableOutput};
use aws_sdk_inspector2::types::{
    AccountState, ErrorCode, FailedAccount, ResourceScanType, ResourceState, State, Status,
};
use aws_sdk_inspector2::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::spec::inspector2::{InspectorEnablerOutputs, InspectorEnablerSpec, ScanType};
use glinfra_engine::ErrorClass;

const REGION: &str = "us-east-1";
const STACK: &str = "prod";
const ID: &str = "inspector";
const ACCOUNT: &str = "111122223333";

fn mock_ins(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(
        aws_sdk_inspector2,
        "inspector2",
        REGION,
        RuleMode::Sequential,
        &rules
    )
}

fn spec(types: &[ScanType]) -> InspectorEnablerSpec {
    InspectorEnablerSpec {
        resource_types: types.to_vec(),
    }
}

fn state(s: Status) -> State {
    State::builder()
        .status(s)
        .error_code(ErrorCode::AlreadyEnabled)
        .error_message("")
        .build()
        .unwrap()
}

/// BatchGetAccountStatus answering EC2 and ECR with these statuses.
fn status(ec2: Status, ecr: Status) -> Rule {
    mock!(Client::batch_get_account_status).then_output(move || {
        BatchGetAccountStatusOutput::builder()
            .accounts(
                AccountState::builder()
                    .account_id(ACCOUNT)
                    .state(state(Status::Enabled))
                    .resource_state(
                        ResourceState::builder()
                            .ec2(state(ec2.clone()))
                            .ecr(state(ecr.clone()))
                            .lambda(state(Status::Disabled))
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    })
}

fn outputs() -> InspectorEnablerOutputs {
    InspectorEnablerOutputs {
        account_id: ACCOUNT.into(),
    }
}

#[tokio::test]
async fn create_enables_ec2_and_ecr_and_waits_until_both_are_enabled() {
    let (sent, see) = recorder::<EnableInput>();
    let rules = [
        mock!(Client::enable).match_requests(see).then_output(|| {
            EnableOutput::builder()
                .set_accounts(Some(Vec::new()))
                .build()
                .unwrap()
        }),
        status(Status::Enabling, Status::Enabled),
        status(Status::Enabled, Status::Enabled),
    ];
    let c = mock_ins(&rules);

    let out = EnablerDriver
        .create(
            &c,
            &desired(STACK, ID, REGION, spec(&[ScanType::Ec2, ScanType::Ecr])),
        )
        .await
        .unwrap();

    assert_eq!(out, outputs());
    assert_eq!(
        sent.lock().unwrap()[0].resource_types(),
        [ResourceScanType::Ec2, ResourceScanType::Ecr]
    );
    all_used(&rules);
}

#[tokio::test]
async fn a_failed_account_is_an_error_naming_it() {
    let rules = [mock!(Client::enable).then_output(|| {
        EnableOutput::builder()
            .set_accounts(Some(Vec::new()))
            .failed_accounts(
                FailedAccount::builder()
                    .account_id(ACCOUNT)
                    .error_code(ErrorCode::AccessDenied)
                    .error_message("not allowed")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    })];
    let c = mock_ins(&rules);
    let err = EnablerDriver
        .create(&c, &desired(STACK, ID, REGION, spec(&[ScanType::Ec2])))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(
        err.message.contains(ACCOUNT) && err.message.contains("not allowed"),
        "{err}"
    );
    all_used(&rules);
}

#[tokio::test]
async fn find_adopts_enabled_types_only() {
    let rules = [
        status(Status::Enabled, Status::Enabled),
        status(Status::Enabled, Status::Enabled),
        status(Status::Enabled, Status::Disabled),
    ];
    let c = mock_ins(&rules);
    let r = desired(STACK, ID, REGION, spec(&[ScanType::Ec2, ScanType::Ecr]));
    assert_eq!(EnablerDriver.find(&c, &r).await.unwrap(), Some(outputs()));
    assert_eq!(EnablerDriver.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

#[tokio::test]
async fn update_disables_the_types_dropped() {
    let (enabled, see_enable) = recorder::<EnableInput>();
    let (disabled, see_disable) = recorder::<DisableInput>();
    let rules = [
        mock!(Client::enable)
            .match_requests(see_enable)
            .then_output(|| {
                EnableOutput::builder()
                    .set_accounts(Some(Vec::new()))
                    .build()
                    .unwrap()
            }),
        mock!(Client::disable)
            .match_requests(see_disable)
            .then_output(|| {
                DisableOutput::builder()
                    .set_accounts(Some(Vec::new()))
                    .build()
                    .unwrap()
            }),
        status(Status::Disabled, Status::Enabled),
        status(Status::Disabled, Status::Enabled),
    ];
    let c = mock_ins(&rules);
    let prior = recorded(
        &desired(STACK, ID, REGION, spec(&[ScanType::Ec2, ScanType::Ecr])),
        outputs(),
    );
    let r = desired(STACK, ID, REGION, spec(&[ScanType::Ecr]));
    crate::test_support::update(&EnablerDriver, &c, &prior, &r, &["resource_types"])
        .await
        .unwrap();
    assert_eq!(
        enabled.lock().unwrap()[0].resource_types(),
        [ResourceScanType::Ecr]
    );
    assert_eq!(
        disabled.lock().unwrap()[0].resource_types(),
        [ResourceScanType::Ec2]
    );
    all_used(&rules);
}

#[tokio::test]
async fn delete_disables_and_waits_and_disabled_types_are_gone() {
    let (disabled, see) = recorder::<DisableInput>();
    let rules = [
        status(Status::Enabled, Status::Enabled),
        mock!(Client::disable).match_requests(see).then_output(|| {
            DisableOutput::builder()
                .set_accounts(Some(Vec::new()))
                .build()
                .unwrap()
        }),
        status(Status::Disabling, Status::Disabled),
        status(Status::Disabled, Status::Disabled),
        status(Status::Disabled, Status::Disabled),
    ];
    let c = mock_ins(&rules);
    let prior = recorded(
        &desired(STACK, ID, REGION, spec(&[ScanType::Ec2, ScanType::Ecr])),
        outputs(),
    );
    EnablerDriver.delete(&c, &prior).await.unwrap();
    EnablerDriver.delete(&c, &prior).await.unwrap();
    assert_eq!(disabled.lock().unwrap().len(), 1);
    all_used(&rules);
}

#[tokio::test]
async fn observe_reads_the_enabled_types_in_the_recorded_order() {
    let rules = [status(Status::Enabled, Status::Enabled)];
    let c = mock_ins(&rules);
    let prior = recorded(
        &desired(STACK, ID, REGION, spec(&[ScanType::Ecr, ScanType::Ec2])),
        outputs(),
    );
    let live = EnablerDriver
        .observe(&c, &scope(STACK, REGION, vec![prior]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live[0].spec, Some(spec(&[ScanType::Ecr, ScanType::Ec2])));
    all_used(&rules);
}
