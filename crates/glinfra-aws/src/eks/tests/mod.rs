//! SDK-mock tests of the EKS drivers: request shapes, adoption, waits, updates, deletes.
//!
//! Every test runs its rules in `RuleMode::Sequential`: the calls must come in
//! exactly the order listed, and `all_used` checks that every listed call happened.

mod addon;
mod cluster;
mod node_group;
mod pod_identity;
mod upgrade;

use crate::clients::Clients;
use crate::kit::{Desired, Recorded};
use crate::test_support::{desired, mock_clients, recorded};
use aws_sdk_eks::operation::describe_update::DescribeUpdateOutput;
use aws_sdk_eks::types::{Update, UpdateStatus};
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::{Input, ResourceSpec, TAG_LOGICAL_ID, TAG_STACK};
use std::collections::{BTreeMap, HashMap};

const REGION: &str = "eu-west-1";
const CLUSTER: &str = "prod";
const CLUSTER_ARN: &str = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";
const ENDPOINT: &str = "https://ABC.gr7.eu-west-1.eks.amazonaws.com";
const NODEGROUP: &str = "workers";
const NODEGROUP_ARN: &str = "arn:aws:eks:eu-west-1:111122223333:nodegroup/prod/workers/1a2b";
const KEY_ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/k1";

const OURS_CLUSTER: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "cluster")];
const OURS_NODEGROUP: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "workers")];
const THEIRS: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "cluster")];

fn mock_eks(rules: &[Rule]) -> Clients {
    mock_clients!(
        aws_sdk_eks,
        "eks",
        REGION,
        RuleMode::Sequential,
        &rules.iter().collect::<Vec<_>>()
    )
}

fn v(s: &str) -> Input<String> {
    Input::Value(s.to_string())
}

/// The ownership tags of resource `id` of stack `prod`, and no other tag.
fn owner_tags(id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_STACK.to_string(), "prod".to_string()),
        (TAG_LOGICAL_ID.to_string(), id.to_string()),
    ])
}

/// Resource `id` of stack `prod` with `spec`, carrying its ownership tags only.
fn resource<S: ResourceSpec>(id: &str, spec: &S) -> Desired<S> {
    let mut r = desired("prod", id, REGION, spec.clone());
    r.tags = owner_tags(id);
    r
}

/// Resource `id` as recorded with `spec` and `outputs`.
fn state<S: ResourceSpec>(id: &str, spec: &S, outputs: S::Outputs) -> Recorded<S> {
    recorded(&resource(id, spec), outputs)
}

fn tag_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn an_update(id: &str, status: UpdateStatus) -> Update {
    Update::builder().id(id).status(status).build()
}

fn describe_update(
    nodegroup: Option<&'static str>,
    id: &'static str,
    status: UpdateStatus,
) -> Rule {
    mock!(aws_sdk_eks::Client::describe_update)
        .match_requests(move |r| {
            r.name() == Some(CLUSTER)
                && r.update_id() == Some(id)
                && r.nodegroup_name() == nodegroup
        })
        .then_output(move || {
            DescribeUpdateOutput::builder()
                .update(an_update(id, status.clone()))
                .build()
        })
}
