//! Drivers for the EC2 networking kinds: VPC, subnet, internet gateway, elastic IP,
//! NAT gateway, route table, route, route table association, security group and
//! VPC endpoint.
//!
//! How every driver here keeps the [`Provider`](glinfra_engine::Provider) contract:
//!
//! - **find** looks a taggable resource up by its ownership tags
//!   (`tag:glinfra:stack`, `tag:glinfra:logical-id` filters on the Describe call),
//!   skipping resources on their way out (deleting, deleted, failed). The two
//!   untaggable kinds are found by natural key: a route by table and destination
//!   (and target), an association by table and subnet.
//! - **create** tags atomically (`TagSpecifications` on the create call itself), so
//!   a crash before the engine records the resource leaves something `find` sees.
//! - **update** changes only the fields named. With none named it reconciles
//!   everything but identity: every in-place field and tag, and also what a create
//!   cut short may have left undone (an internet gateway's attachment, a NAT
//!   gateway still pending), so the engine can call it after adopting.
//! - **delete** works from the recorded outputs; a resource already gone is success.
//!
//! No ClientToken is relied upon: emulators ignore it, and find-by-tag works everywhere.

mod endpoints;
mod gateways;
mod network;
mod routing;
mod security;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_security;

use crate::clients::Clients;
use crate::error::classify;
use crate::wait::{until, Poll};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::Input;
use glinfra_core::{Kind, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// First poll interval of every wait (it grows to 10 s in [`crate::wait::until`]).
const POLL: Duration = if cfg!(test) {
    Duration::from_millis(5)
} else {
    Duration::from_secs(1)
};

/// How long a VPC or subnet may stay `pending` after its create.
const READY_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// How long a NAT gateway may take to become `available` or `deleted`.
const NAT_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// How long a just-created resource may stay invisible to calls that name it.
const SETTLE_DEADLINE: Duration = Duration::from_secs(2 * 60);

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let ec2 = c.ec2(&r.region);
    match r.kind {
        Kind::Vpc => network::find_vpc(&ec2, r).await,
        Kind::Subnet => network::find_subnet(&ec2, r).await,
        Kind::InternetGateway => gateways::find_internet_gateway(&ec2, r).await,
        Kind::ElasticIp => gateways::find_elastic_ip(&ec2, r).await,
        Kind::NatGateway => gateways::find_nat_gateway(&ec2, r, true).await,
        Kind::RouteTable => routing::find_route_table(&ec2, r).await,
        Kind::Route => routing::find_route(&ec2, r).await,
        Kind::RouteTableAssociation => routing::find_association(&ec2, r).await,
        Kind::SecurityGroup => security::find_security_group(&ec2, r).await,
        Kind::VpcEndpoint => endpoints::find_vpc_endpoint(&ec2, r, true).await,
        other => Err(not_ec2(other)),
    }
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let ec2 = c.ec2(&r.region);
    match r.kind {
        Kind::Vpc => network::create_vpc(&ec2, r).await,
        Kind::Subnet => network::create_subnet(&ec2, r).await,
        Kind::InternetGateway => gateways::create_internet_gateway(&ec2, r).await,
        Kind::ElasticIp => gateways::create_elastic_ip(&ec2, r).await,
        Kind::NatGateway => gateways::create_nat_gateway(&ec2, r).await,
        Kind::RouteTable => routing::create_route_table(&ec2, r).await,
        Kind::Route => routing::create_route(&ec2, r).await,
        Kind::RouteTableAssociation => routing::create_association(&ec2, r).await,
        Kind::SecurityGroup => security::create_security_group(&ec2, r).await,
        Kind::VpcEndpoint => endpoints::create_vpc_endpoint(&ec2, r).await,
        other => Err(not_ec2(other)),
    }
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let ec2 = c.ec2(&r.region);
    let wants = Wants(changed);
    match r.kind {
        Kind::Vpc => network::update_vpc(&ec2, prior, r, wants).await?,
        Kind::Subnet => network::update_subnet(&ec2, prior, r, wants).await?,
        Kind::InternetGateway => gateways::update_internet_gateway(&ec2, prior, r, wants).await?,
        Kind::ElasticIp => {
            let id = output(r.kind, &prior.outputs, "allocation_id")?;
            update_tags(&ec2, id, prior, r, wants).await?;
        }
        Kind::NatGateway => gateways::update_nat_gateway(&ec2, prior, r, wants).await?,
        Kind::RouteTable => {
            let id = output(r.kind, &prior.outputs, "id")?;
            update_tags(&ec2, id, prior, r, wants).await?;
        }
        Kind::Route => routing::update_route(&ec2, prior, r, wants).await?,
        // Both fields of an association force replacement: nothing changes in place.
        Kind::RouteTableAssociation => {}
        Kind::SecurityGroup => security::update_security_group(&ec2, prior, r, wants).await?,
        Kind::VpcEndpoint => endpoints::update_vpc_endpoint(&ec2, prior, r, wants).await?,
        other => return Err(not_ec2(other)),
    }
    Ok(prior.outputs.clone())
}

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let ec2 = c.ec2(&prior.region);
    let mut outputs = prior.outputs.clone();
    if outputs.is_empty() {
        // A create that was interrupted before its outputs were recorded: delete
        // whatever carries its ownership tags (or its natural key), if anything.
        let stack = match prior.tags.get(TAG_STACK) {
            Some(stack) => stack.as_str(),
            None if prior.kind.taggable() => {
                return Err(ProviderError::new(
                    ErrorClass::Invalid,
                    format!(
                        "{} `{id}`: no outputs and no `{TAG_STACK}` tag recorded: cannot look it up to delete it",
                        prior.kind
                    ),
                ))
            }
            // Untaggable kinds are found by natural key; the stack name is not used.
            None => "",
        };
        let r = ResolvedResource::from_state(stack, id, prior);
        let found = match prior.kind {
            // Do not wait for a pending NAT gateway to become available just to delete it.
            Kind::NatGateway => gateways::find_nat_gateway(&ec2, &r, false).await?,
            Kind::VpcEndpoint => endpoints::find_vpc_endpoint(&ec2, &r, false).await?,
            _ => find(c, &r).await?,
        };
        match found {
            Some(found) => outputs = found,
            None => return Ok(()),
        }
    }
    let result = match prior.kind {
        Kind::Vpc => network::delete_vpc(&ec2, &outputs).await,
        Kind::Subnet => network::delete_subnet(&ec2, &outputs).await,
        Kind::InternetGateway => gateways::delete_internet_gateway(&ec2, &outputs).await,
        Kind::ElasticIp => gateways::delete_elastic_ip(&ec2, &outputs).await,
        Kind::NatGateway => gateways::delete_nat_gateway(&ec2, &outputs).await,
        Kind::RouteTable => routing::delete_route_table(&ec2, &outputs).await,
        Kind::Route => routing::delete_route(&ec2, prior, &outputs).await,
        Kind::RouteTableAssociation => routing::delete_association(&ec2, &outputs).await,
        Kind::SecurityGroup => security::delete_security_group(&ec2, &outputs).await,
        Kind::VpcEndpoint => endpoints::delete_vpc_endpoint(&ec2, &outputs).await,
        other => Err(not_ec2(other)),
    };
    gone_is_ok(result)
}

fn not_ec2(kind: Kind) -> ProviderError {
    ProviderError::new(
        ErrorClass::Fatal,
        format!("{kind} is not an EC2 kind (dispatch error)"),
    )
}

/// Which fields an update should change: those named, or all when none are.
#[derive(Clone, Copy)]
pub(super) struct Wants<'a>(&'a [String]);

impl Wants<'_> {
    /// True when `field` is to be brought in line.
    fn field(&self, field: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|c| c == field)
    }

    /// True when every in-place field is to be brought in line (no field named).
    fn everything(&self) -> bool {
        self.0.is_empty()
    }
}

/// A resolved spec field that must hold a value.
fn input<'a>(
    r: &ResolvedResource,
    field: &str,
    input: &'a Input<String>,
) -> Result<&'a str, ProviderError> {
    input.value().map(String::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{} `{}`: `{field}` is still an unresolved output reference",
                r.kind, r.id
            ),
        )
    })
}

/// A recorded output that must be a string.
fn output<'a>(kind: Kind, outputs: &'a Outputs, name: &str) -> Result<&'a str, ProviderError> {
    outputs.get(name).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("{kind}: recorded outputs lack `{name}`"),
        )
    })
}

/// Builds outputs from name/value pairs.
fn outputs<const N: usize>(pairs: [(&str, String); N]) -> Outputs {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect()
}

/// A field the service must return, or a Fatal error naming it.
fn required<T>(value: Option<T>, what: &str) -> Result<T, ProviderError> {
    value.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("{what}: the response lacks a field it always carries"),
        )
    })
}

/// The ownership tags of `r`: its stack and logical id.
fn ownership(r: &ResolvedResource) -> (&str, &str) {
    let stack = r
        .tags
        .get(TAG_STACK)
        .map_or(r.stack.as_str(), String::as_str);
    let logical = r
        .tags
        .get(TAG_LOGICAL_ID)
        .map_or(r.id.as_str(), String::as_str);
    (stack, logical)
}

/// Every tag the resource must carry: `r.tags`, with the ownership tags always present.
fn desired_tags(r: &ResolvedResource) -> BTreeMap<String, String> {
    let (stack, logical) = ownership(r);
    let mut tags = r.tags.clone();
    tags.entry(TAG_STACK.to_string())
        .or_insert_with(|| stack.to_string());
    tags.entry(TAG_LOGICAL_ID.to_string())
        .or_insert_with(|| logical.to_string());
    tags
}

/// One Describe filter.
fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The filters that select resources carrying `r`'s ownership tags.
fn owner_filters(r: &ResolvedResource) -> Vec<Filter> {
    let (stack, logical) = ownership(r);
    vec![
        filter(&format!("tag:{TAG_STACK}"), stack),
        filter(&format!("tag:{TAG_LOGICAL_ID}"), logical),
    ]
}

/// The `TagSpecifications` that tag a new resource with every desired tag at creation.
fn tag_specification(resource_type: ResourceType, r: &ResolvedResource) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(
            desired_tags(r)
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Brings the tags of the resource `resource_id` from `prior.tags` to `r`'s tags:
/// CreateTags for new and changed values, DeleteTags for removed keys.
async fn update_tags(
    ec2: &aws_sdk_ec2::Client,
    resource_id: &str,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<(), ProviderError> {
    if !wants.field("tags") {
        return Ok(());
    }
    let desired = desired_tags(r);
    let set: Vec<Tag> = desired
        .iter()
        // With no field named (a resumed update), set every tag: CreateTags is idempotent.
        .filter(|(k, v)| wants.everything() || prior.tags.get(*k) != Some(*v))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let removed: Vec<Tag> = prior
        .tags
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if !removed.is_empty() {
        ec2.delete_tags()
            .resources(resource_id)
            .set_tags(Some(removed))
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteTags {resource_id}"), e))?;
    }
    if !set.is_empty() {
        ec2.create_tags()
            .resources(resource_id)
            .set_tags(Some(set))
            .send()
            .await
            .map_err(|e| classify(&format!("CreateTags {resource_id}"), e))?;
    }
    Ok(())
}

/// The AWS partition of a region, for ARNs.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// `arn:<partition>:ec2:<region>:<account>:<resource>/<id>`.
fn arn(region: &str, account: &str, resource: &str, id: &str) -> String {
    format!(
        "arn:{}:ec2:{region}:{account}:{resource}/{id}",
        partition(region)
    )
}

/// Runs `op` until it does not fail with NotFound, for up to [`SETTLE_DEADLINE`].
///
/// EC2 is eventually consistent: a resource created a moment ago (this create's
/// own, or a dependency the engine just made) can be unknown to the next call that
/// names it. Only calls that make nothing when they fail NotFound go through here.
async fn settle<T, F, Fut>(what: &str, mut op: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    until(what, SETTLE_DEADLINE, POLL, || {
        let attempt = op();
        async move {
            match attempt.await {
                Ok(v) => Ok(Poll::Ready(v)),
                Err(e) if e.class == ErrorClass::NotFound => Ok(Poll::Pending(e.message)),
                Err(e) => Err(e),
            }
        }
    })
    .await
}

/// The service's error code, when the error is a service error.
fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// A delete that found nothing to delete succeeded.
fn gone_is_ok(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    match result {
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        other => other,
    }
}

/// Picks the one resource carrying `r`'s ownership tags. The tags are checked here
/// as well as in the Describe filters, so a service that ignores a filter (LocalStack
/// does for DescribeNatGateways) cannot make us adopt another stack's resource.
/// More than one means something outside glinfra copied the tags; the lowest id is
/// taken, deterministically, and the others are reported.
fn pick_one<T>(
    r: &ResolvedResource,
    found: Vec<T>,
    id_of: impl Fn(&T) -> &str,
    tags_of: impl Fn(&T) -> &[Tag],
) -> Option<T> {
    let (stack, logical) = ownership(r);
    let carries = |tags: &[Tag], key: &str, value: &str| {
        tags.iter()
            .any(|t| t.key() == Some(key) && t.value() == Some(value))
    };
    let mut found: Vec<T> = found
        .into_iter()
        .filter(|x| {
            carries(tags_of(x), TAG_STACK, stack) && carries(tags_of(x), TAG_LOGICAL_ID, logical)
        })
        .collect();
    if found.len() > 1 {
        found.sort_by(|a, b| id_of(a).cmp(id_of(b)));
        let ids: Vec<&str> = found.iter().map(&id_of).collect();
        tracing::warn!(
            kind = %r.kind,
            resource = %r.id,
            ?ids,
            "several resources carry the same ownership tags; adopting the first"
        );
    }
    found.into_iter().next()
}
