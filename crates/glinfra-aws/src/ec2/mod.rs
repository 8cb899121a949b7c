//! Drivers for the EC2 networking kinds: VPC, subnet, internet gateway, elastic IP,
//! NAT gateway, route table, route, route table association, security group and
//! VPC endpoint, one file each.
//!
//! How every driver here keeps the [`Driver`](crate::driver::Driver) contract:
//!
//! - **find** looks a taggable resource up by its ownership tags
//!   (`tag:glinfra:stack`, `tag:glinfra:logical-id` filters on the Describe call),
//!   skipping resources on their way out (deleting, deleted, failed). The tags are
//!   checked again on what comes back ([`pick_owned`](crate::kit::pick_owned)):
//!   a service that ignores the filters (LocalStack does for DescribeNatGateways)
//!   cannot make us adopt another stack's resource. The two untaggable kinds are
//!   found by natural key: a route by table and destination (and target), an
//!   association by table and subnet.
//! - **create** tags atomically (`TagSpecifications` on the create call itself), so
//!   a crash before the engine records the resource leaves something `find` sees.
//! - **update** changes only the fields named. With none named it reconciles
//!   everything but identity: every in-place field and tag, and also what a create
//!   cut short may have left undone (an internet gateway's attachment, a NAT
//!   gateway still pending), so the engine can call it after adopting.
//! - **delete** works from the recorded outputs; a resource already gone is success.
//!
//! No ClientToken is relied upon: emulators ignore it, and find-by-tag works everywhere.
//!
//! EC2 is eventually consistent: a resource created a moment ago (this create's
//! own, or a dependency the engine just made) can be unknown to the next call
//! that names it, so such calls go through [`settle`].

mod elastic_ip;
mod internet_gateway;
mod nat_gateway;
mod route;
mod route_table;
mod route_table_association;
mod security_group;
mod subnet;
#[cfg(test)]
mod tests;
mod vpc;
mod vpc_endpoint;

pub(crate) use elastic_ip::ElasticIpDriver;
pub(crate) use internet_gateway::InternetGatewayDriver;
pub(crate) use nat_gateway::NatGatewayDriver;
pub(crate) use route::RouteDriver;
pub(crate) use route_table::RouteTableDriver;
pub(crate) use route_table_association::RouteTableAssociationDriver;
pub(crate) use security_group::SecurityGroupDriver;
pub(crate) use subnet::SubnetDriver;
pub(crate) use vpc::VpcDriver;
pub(crate) use vpc_endpoint::VpcEndpointDriver;

use crate::error::classify;
use crate::kit::{self, tags, Changed, Desired, Recorded};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_sdk_ec2::Client;
use glinfra_core::{ResourceSpec, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::ProviderError;
use std::future::Future;
use std::time::Duration;

/// How long a VPC or subnet may stay `pending` after its create.
const READY_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// How long a just-created resource may stay invisible to calls that name it.
const SETTLE_DEADLINE: Duration = Duration::from_secs(2 * 60);

/// Runs `op` until it does not fail with NotFound, for up to [`SETTLE_DEADLINE`]
/// (see [`kit::wait::settle`]).
async fn settle<T, F, Fut>(what: &str, op: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    kit::wait::settle(what, SETTLE_DEADLINE, op).await
}

/// One Describe filter.
fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The filters that select resources carrying `r`'s ownership tags.
fn owner_filters<S>(r: &Desired<S>) -> Vec<Filter> {
    vec![
        filter(&format!("tag:{TAG_STACK}"), &r.stack),
        filter(&format!("tag:{TAG_LOGICAL_ID}"), &r.id),
    ]
}

/// The `TagSpecifications` that tag a new resource with every desired tag at creation.
fn tag_specification<S: ResourceSpec>(
    resource_type: ResourceType,
    r: &Desired<S>,
) -> Result<TagSpecification, ProviderError> {
    Ok(TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
        .build())
}

/// Brings the tags of the resource `resource_id` from `prior.tags` to `r`'s:
/// DeleteTags for removed keys, then CreateTags for new and changed values.
async fn update_tags<S: ResourceSpec>(
    ec2: &Client,
    resource_id: &str,
    prior: &Recorded<S>,
    r: &Desired<S>,
    changed: Changed<'_>,
) -> Result<(), ProviderError> {
    if !changed.has("tags") {
        return Ok(());
    }
    let want = r.owned_tags();
    let (mut set, remove) = tags::delta(&prior.tags, &want);
    if changed.everything() {
        // A full reconcile sets every tag: the recorded ones may not be the live
        // ones, and CreateTags is idempotent.
        set = want;
    }
    if !remove.is_empty() {
        let keys = remove.iter().map(|k| Tag::builder().key(k).build());
        ec2.delete_tags()
            .resources(resource_id)
            .set_tags(Some(keys.collect()))
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteTags {resource_id}"), e))?;
    }
    if !set.is_empty() {
        ec2.create_tags()
            .resources(resource_id)
            .set_tags(Some(tags::to_sdk(&set)?))
            .send()
            .await
            .map_err(|e| classify(&format!("CreateTags {resource_id}"), e))?;
    }
    Ok(())
}

/// `arn:<partition>:ec2:<region>:<account>:<resource>/<id>`.
fn arn(region: &str, account: &str, resource: &str, id: &str) -> String {
    format!(
        "arn:{}:ec2:{region}:{account}:{resource}/{id}",
        kit::partition(region)
    )
}
