//! SDK-mock tests of the Security Hub drivers: the hub (enabled without the
//! default standards, adopted by its tags) and the CIS standards subscription.

mod hub;
mod standards;

use crate::clients::Clients;
use crate::test_support::mock_clients;
use aws_smithy_mocks::{Rule, RuleMode};

const REGION: &str = "us-east-1";
const STACK: &str = "prod";
const HUB_ARN: &str = "arn:aws:securityhub:us-east-1:111122223333:hub/default";

fn mock(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(
        aws_sdk_securityhub,
        "securityhub",
        REGION,
        RuleMode::Sequential,
        &rules
    )
}
