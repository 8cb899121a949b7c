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
use crate::kit::{self, tags, Desired};
use async_trait::async_trait;
use aws_sdk_ec2::operation as op;
use aws_sdk_ec2::types::{
    Address, Filter, FlowLog, InternetGateway, NatGateway, ResourceType, RouteTable, SecurityGroup,
    Subnet, Tag, TagSpecification, Vpc, VpcEndpoint,
};
use aws_sdk_ec2::Client;
use glinfra_core::{Input, ResourceSpec, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::ProviderError;
use std::collections::{BTreeMap, HashMap};
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
pub(crate) fn owner_filters<S>(r: &Desired<S>) -> Vec<Filter> {
    vec![
        filter(&format!("tag:{TAG_STACK}"), &r.stack),
        filter(&format!("tag:{TAG_LOGICAL_ID}"), &r.id),
    ]
}

/// An EC2 resource as a Describe call lists it: its id and its tags.
pub(crate) trait Tagged {
    /// Its id (`vpc-…`, `subnet-…`; an address's allocation id).
    fn id(&self) -> Option<&str>;
    /// Its tags, as a map.
    fn tag_map(&self) -> BTreeMap<String, String>;
}

/// A paginated EC2 Describe call (its fluent builder) that lists one [`Tagged`] type.
pub(crate) trait DescribeTagged {
    /// What it lists.
    type Item: Tagged;
    /// Every item of every page of the answer to the call filtered by `filters`.
    fn all_filtered(
        self,
        filters: Vec<Filter>,
    ) -> impl Future<Output = Result<Vec<Self::Item>, ProviderError>> + Send;
}

/// Implements [`Tagged`] for each `$item` (its id read by `$id`).
macro_rules! tagged {
    ($($item:ty => $id:ident),* $(,)?) => {$(
        impl Tagged for $item {
            fn id(&self) -> Option<&str> {
                self.$id()
            }
            fn tag_map(&self) -> BTreeMap<String, String> {
                tags::from_sdk(self.tags())
            }
        }
    )*};
}

tagged!(
    Vpc => vpc_id,
    Subnet => subnet_id,
    InternetGateway => internet_gateway_id,
    NatGateway => nat_gateway_id,
    RouteTable => route_table_id,
    SecurityGroup => group_id,
    VpcEndpoint => vpc_endpoint_id,
    Address => allocation_id,
    FlowLog => flow_log_id,
);

/// Implements [`DescribeTagged`] for the builder of each Describe call `$op` (its
/// filters set by `$set_filters`).
macro_rules! describe_tagged {
    ($($builder:ty => $item:ty, $set_filters:ident, $op:literal);* $(;)?) => {$(
        impl DescribeTagged for $builder {
            type Item = $item;
            async fn all_filtered(self, filters: Vec<Filter>) -> Result<Vec<$item>, ProviderError> {
                self.$set_filters(Some(filters))
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| classify($op, e))
            }
        }
    )*};
}

describe_tagged!(
    op::describe_vpcs::builders::DescribeVpcsFluentBuilder => Vpc, set_filters, "DescribeVpcs";
    op::describe_subnets::builders::DescribeSubnetsFluentBuilder => Subnet, set_filters, "DescribeSubnets";
    op::describe_internet_gateways::builders::DescribeInternetGatewaysFluentBuilder =>
        InternetGateway, set_filters, "DescribeInternetGateways";
    op::describe_nat_gateways::builders::DescribeNatGatewaysFluentBuilder =>
        NatGateway, set_filter, "DescribeNatGateways";
    op::describe_route_tables::builders::DescribeRouteTablesFluentBuilder =>
        RouteTable, set_filters, "DescribeRouteTables";
    op::describe_security_groups::builders::DescribeSecurityGroupsFluentBuilder =>
        SecurityGroup, set_filters, "DescribeSecurityGroups";
    op::describe_vpc_endpoints::builders::DescribeVpcEndpointsFluentBuilder =>
        VpcEndpoint, set_filters, "DescribeVpcEndpoints";
    op::describe_flow_logs::builders::DescribeFlowLogsFluentBuilder =>
        FlowLog, set_filter, "DescribeFlowLogs";
);

/// DescribeAddresses is not paginated: one call answers every address that matches.
impl DescribeTagged for op::describe_addresses::builders::DescribeAddressesFluentBuilder {
    type Item = Address;
    async fn all_filtered(self, filters: Vec<Filter>) -> Result<Vec<Address>, ProviderError> {
        let out = self
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| classify("DescribeAddresses", e))?;
        Ok(out.addresses().to_vec())
    }
}

/// Every resource `describe` lists when filtered by `r`'s ownership tags, all
/// pages. The filters are not trusted: [`pick`] checks the tags again.
async fn describe_owned<D: DescribeTagged, S>(
    describe: D,
    r: &Desired<S>,
) -> Result<Vec<D::Item>, ProviderError> {
    describe.all_filtered(owner_filters(r)).await
}

/// Every resource `describe` lists carrying `stack`'s ownership tag, all pages: a
/// refresh's one batched read of a kind in a region. The filter is not trusted:
/// what lacks the tag is dropped here.
pub(crate) async fn describe_stack<D: DescribeTagged>(
    describe: D,
    stack: &str,
) -> Result<Vec<D::Item>, ProviderError> {
    let found = describe
        .all_filtered(vec![filter(&format!("tag:{TAG_STACK}"), stack)])
        .await?;
    Ok(found
        .into_iter()
        .filter(|x| x.tag_map().get(TAG_STACK).map(String::as_str) == Some(stack))
        .collect())
}

/// The resources of `ids` that `describe` finds, by id: one call (all pages)
/// filtered by `id_filter` (`nat-gateway-id`, `vpc-endpoint-id`). A filter, unlike
/// a list of ids, leaves out an id AWS does not know (yet, or any more) instead of
/// failing the whole call: what a shared poll of many waits needs
/// ([`crate::kit::wait::until_shared`]).
pub(crate) async fn describe_ids<D: DescribeTagged>(
    describe: D,
    id_filter: &str,
    ids: Vec<String>,
) -> Result<HashMap<String, D::Item>, ProviderError> {
    let by_id = Filter::builder()
        .name(id_filter)
        .set_values(Some(ids))
        .build();
    let found = describe.all_filtered(vec![by_id]).await?;
    Ok(found
        .into_iter()
        .filter_map(|x| Some((x.id()?.to_string(), x)))
        .collect())
}

/// An id field of a live resource's spec (its VPC, subnet, ...): as the answer
/// has it, or as state `recorded` it when the answer lacks it; `None` when
/// neither has it (the spec cannot be read whole).
pub(crate) fn read_id(
    live: Option<&str>,
    recorded: Option<&Input<String>>,
) -> Option<Input<String>> {
    live.map(Input::from).or_else(|| recorded.cloned())
}

/// The one of `found` that carries `r`'s ownership tags; more than one is an
/// error naming each ([`kit::pick_owned`]).
pub(crate) fn pick<T: Tagged, S>(
    r: &Desired<S>,
    found: impl IntoIterator<Item = T>,
) -> Result<Option<T>, ProviderError> {
    kit::pick_owned(
        r,
        found.into_iter().collect(),
        |x| x.id().unwrap_or_default(),
        Tagged::tag_map,
    )
}

/// The first of `found` that carries `r`'s ownership tags, several allowed: for
/// resources on their way out, of which replacements may leave more than one.
pub(crate) fn first_owned<T: Tagged, S>(
    r: &Desired<S>,
    found: impl IntoIterator<Item = T>,
) -> Option<T> {
    found
        .into_iter()
        .find(|x| kit::owned(&x.tag_map(), &r.stack, &r.id))
}

/// The `TagSpecifications` that tag a new resource with every desired tag at creation.
pub(crate) fn tag_specification<S: ResourceSpec>(
    resource_type: ResourceType,
    r: &Desired<S>,
) -> Result<TagSpecification, ProviderError> {
    Ok(TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
        .build())
}

/// EC2 tags any resource by its id, with CreateTags and DeleteTags. It trusts the
/// record: keys recorded but no longer wanted are deleted, then new and changed
/// tags created; a full reconcile creates every tag (the record may not be what the
/// resource carries, and CreateTags is idempotent).
#[async_trait]
impl tags::SyncTags for Client {
    async fn sync_tags(
        &self,
        resource_id: &str,
        want: &BTreeMap<String, String>,
        prior: &BTreeMap<String, String>,
        full: bool,
    ) -> Result<(), ProviderError> {
        let recorded = (!full).then_some(prior);
        let (set, remove) = tags::reconcile(want, prior, recorded, false);
        delete_tags(self, resource_id, &remove).await?;
        create_tags(self, resource_id, &set).await
    }
}

/// Puts `r`'s ownership tags on the EC2 resource `aws_id` that carries `tags` now,
/// for an import: refused when another stack's tags are on it.
async fn import_tags<S: ResourceSpec>(
    ec2: &Client,
    aws_id: &str,
    tags: &BTreeMap<String, String>,
    r: &Desired<S>,
) -> Result<(), ProviderError> {
    kit::ensure_importable(aws_id, tags, r)?;
    let ownership = r
        .owned_tags()
        .into_iter()
        .filter(|(k, _)| k == TAG_STACK || k == TAG_LOGICAL_ID)
        .collect();
    create_tags(ec2, aws_id, &ownership).await
}

/// CreateTags of `tags` on the resource `resource_id` (no call when there are none).
pub(crate) async fn create_tags(
    ec2: &Client,
    resource_id: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    if tags.is_empty() {
        return Ok(());
    }
    ec2.create_tags()
        .resources(resource_id)
        .set_tags(Some(tags::to_sdk(tags)?))
        .send()
        .await
        .map_err(|e| classify(&format!("CreateTags {resource_id}"), e))?;
    Ok(())
}

/// DeleteTags of the keys `keys` from the resource `resource_id` (no call when
/// there are none).
pub(crate) async fn delete_tags(
    ec2: &Client,
    resource_id: &str,
    keys: &[String],
) -> Result<(), ProviderError> {
    if keys.is_empty() {
        return Ok(());
    }
    let keys = keys.iter().map(|k| Tag::builder().key(k).build());
    ec2.delete_tags()
        .resources(resource_id)
        .set_tags(Some(keys.collect()))
        .send()
        .await
        .map_err(|e| classify(&format!("DeleteTags {resource_id}"), e))?;
    Ok(())
}

/// `arn:<partition>:ec2:<region>:<account>:<resource>/<id>`.
fn arn(region: &str, account: &str, resource: &str, id: &str) -> String {
    format!(
        "arn:{}:ec2:{region}:{account}:{resource}/{id}",
        kit::partition(region)
    )
}
