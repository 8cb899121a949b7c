//! Cluster upgrades go one minor version at a time, bringing the cluster's node
//! groups along between steps, because EKS refuses a cluster upgrade while a node
//! group lags; after the last step, the node groups' own updates follow.

use super::cluster::{
    cluster, cluster_outputs, cluster_resource, cluster_spec, cluster_state, describe_cluster,
    update_version,
};
use super::*;
use crate::driver::Driver;
use crate::eks::EksClusterDriver;
use crate::kit::Changed;
use crate::test_support::{all_used, recorder};
use aws_sdk_eks::operation::describe_nodegroup::DescribeNodegroupOutput;
use aws_sdk_eks::operation::list_nodegroups::ListNodegroupsOutput;
use aws_sdk_eks::operation::update_nodegroup_version::{
    UpdateNodegroupVersionInput, UpdateNodegroupVersionOutput,
};
use aws_sdk_eks::types::{ClusterStatus, Nodegroup};

/// ListNodegroups of the cluster answering `names`.
fn node_groups(names: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_eks::Client::list_nodegroups)
        .match_requests(|r| r.cluster_name() == Some(CLUSTER))
        .then_output(move || {
            ListNodegroupsOutput::builder()
                .set_nodegroups(Some(names.iter().map(|n| n.to_string()).collect()))
                .build()
        })
}

/// ListNodegroups of a cluster with none.
pub(super) fn no_node_groups() -> Rule {
    node_groups(&[])
}

/// DescribeNodegroup answering the group at `version`.
fn node_group_at(version: &'static str) -> Rule {
    mock!(aws_sdk_eks::Client::describe_nodegroup)
        .match_requests(|r| {
            r.cluster_name() == Some(CLUSTER) && r.nodegroup_name() == Some(NODEGROUP)
        })
        .then_output(move || {
            DescribeNodegroupOutput::builder()
                .nodegroup(
                    Nodegroup::builder()
                        .nodegroup_name(NODEGROUP)
                        .cluster_name(CLUSTER)
                        .version(version)
                        .build(),
                )
                .build()
        })
}

/// UpdateNodegroupVersion of the group to `version`, answering update `id`.
fn update_node_group_to(
    version: &'static str,
    id: &'static str,
    seen: impl Fn(&UpdateNodegroupVersionInput) -> bool + Send + Sync + 'static,
) -> Rule {
    mock!(aws_sdk_eks::Client::update_nodegroup_version)
        .match_requests(move |r| {
            r.cluster_name() == Some(CLUSTER)
                && r.nodegroup_name() == Some(NODEGROUP)
                && r.version() == Some(version)
                && seen(r)
        })
        .then_output(move || {
            UpdateNodegroupVersionOutput::builder()
                .update(an_update(id, UpdateStatus::InProgress))
                .build()
        })
}

#[tokio::test]
async fn a_two_step_upgrade_brings_node_groups_along_between_the_steps() {
    let mut spec = cluster_spec();
    spec.version = "1.31".into();
    let (asked, see) = recorder::<UpdateNodegroupVersionInput>();
    let see = std::sync::Arc::new(see);
    let see1 = see.clone();
    let rules = vec![
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        // Before the first step the node group is at the cluster's version: nothing to do.
        node_groups(&[NODEGROUP]),
        node_group_at("1.29"),
        update_version("1.30", "c1", |_| true),
        describe_update(None, "c1", UpdateStatus::Successful),
        describe_cluster(cluster(ClusterStatus::Active, "1.30", OURS_CLUSTER)),
        // The cluster is at 1.30, the node group lags: it follows before the next step.
        node_groups(&[NODEGROUP]),
        node_group_at("1.29"),
        update_node_group_to("1.30", "n1", move |r| see1(r)),
        describe_update(Some(NODEGROUP), "n1", UpdateStatus::Successful),
        update_version("1.31", "c2", |_| true),
        describe_update(None, "c2", UpdateStatus::Successful),
        describe_cluster(cluster(ClusterStatus::Active, "1.31", OURS_CLUSTER)),
        // Not after the last step: the node group's own update (planned after the
        // cluster's) takes it to the version it declares.
    ];
    let c = mock_eks(&rules);

    let out = EksClusterDriver
        .update(
            &c,
            &cluster_state(&cluster_spec()),
            &cluster_resource(&spec),
            Changed(&["version".into()]),
        )
        .await
        .unwrap();

    assert_eq!(out, cluster_outputs());
    let versions: Vec<_> = asked
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.version().unwrap().to_string())
        .collect();
    assert_eq!(versions, ["1.30"]);
    all_used(&rules);
}
