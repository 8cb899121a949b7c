//! SDK-mock tests of the IAM role driver: request shapes, adoption, deletes,
//! the refresh.
//!
//! Every test runs its rules in `RuleMode::Sequential`: the calls must come in
//! exactly the order listed (a different call panics); the refresh's, whose
//! reads run at once, in `RuleMode::MatchAny`.

mod refresh;
mod role;

use crate::clients::Clients;
use crate::kit::Desired;
use crate::test_support::{desired, mock_clients};
use aws_sdk_iam::types::{Role, Tag};
use aws_smithy_mocks::{Rule, RuleMode};
use aws_smithy_types::DateTime;
use glinfra_core::spec::iam::{IamRoleOutputs, IamRoleSpec};
use serde_json::json;
use std::collections::BTreeMap;

const ARN: &str = "arn:aws:iam::111122223333:role/service/replicator";

fn mock_iam(rules: &[&Rule]) -> Clients {
    mock_clients!(aws_sdk_iam, "iam", "us-east-1", RuleMode::Sequential, rules)
}

/// The tags every role under test carries: ours, and one of the user's.
fn owner_tags() -> BTreeMap<String, String> {
    crate::test_support::owner_tags("prod", "replicator")
}

fn spec() -> IamRoleSpec {
    let mut spec = IamRoleSpec::for_service("replicator", "s3.amazonaws.com");
    spec.path = "/service/".into();
    spec.description = "S3 replication".into();
    spec.managed_policy_arns = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
    spec.inline_policies = BTreeMap::from([(
        "replicate".to_string(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Replicate*", "Resource": "*"}]}),
    )]);
    spec
}

fn resource(spec: IamRoleSpec) -> Desired<IamRoleSpec> {
    desired("prod", "replicator", "us-east-1", spec)
}

fn outputs() -> IamRoleOutputs {
    IamRoleOutputs {
        arn: ARN.into(),
        name: "replicator".into(),
    }
}

fn role(tags: &[(&str, &str)]) -> Role {
    Role::builder()
        .path("/service/")
        .role_name("replicator")
        .role_id("AROAEXAMPLE")
        .arn(ARN)
        .create_date(DateTime::from_secs(0))
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
                .collect(),
        ))
        .build()
        .unwrap()
}
