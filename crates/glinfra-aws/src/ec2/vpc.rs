//! VPCs. The DNS attributes are set one per ModifyVpcAttribute call (an AWS
//! rule), in an order AWS accepts: host names need DNS support.

use super::{
    arn, describe_owned, describe_stack, import_tags, pick, settle, tag_specification, Tagged,
    READY_DEADLINE,
};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::wait::{self, Poll};
use crate::kit::{required, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Vpc, VpcAttributeName, VpcState};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{VpcOutputs, VpcSpec};
use glinfra_engine::ProviderError;

/// The driver of `aws:ec2/vpc`.
pub(crate) struct VpcDriver;

fn outputs(region: &str, vpc: &Vpc) -> Result<VpcOutputs, ProviderError> {
    let id = required(vpc.vpc_id(), "VPC id")?;
    let account = required(vpc.owner_id(), "VPC owner id")?;
    Ok(VpcOutputs {
        id: id.to_string(),
        arn: arn(region, account, "vpc", id),
    })
}

async fn wait_available(ec2: &Client, id: &str) -> Result<(), ProviderError> {
    wait::until(
        &format!("VPC {id} to become available"),
        READY_DEADLINE,
        wait::POLL,
        || async {
            let out = ec2
                .describe_vpcs()
                .vpc_ids(id)
                .send()
                .await
                .map_err(|e| classify(&format!("DescribeVpcs {id}"), e))
                // Eventual consistency: a new VPC may not be visible at once.
                .or_absent()?;
            match out.as_ref().and_then(|o| o.vpcs().first()?.state()) {
                Some(VpcState::Available) => Ok(Poll::Ready(())),
                Some(state) => Ok(Poll::Pending(state.as_str().to_string())),
                None => Ok(Poll::Pending("not visible yet".into())),
            }
        },
    )
    .await
}

/// Sets the DNS attributes asked for, one per ModifyVpcAttribute call (an AWS
/// rule), in an order AWS accepts: host names need DNS support, so support goes
/// on first and comes off last.
async fn set_dns_attributes(
    ec2: &Client,
    id: &str,
    spec: &VpcSpec,
    support: bool,
    hostnames: bool,
) -> Result<(), ProviderError> {
    let set_support = || async {
        ec2.modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(
                AttributeBooleanValue::builder()
                    .value(spec.enable_dns_support)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&format!("ModifyVpcAttribute {id} EnableDnsSupport"), e))
    };
    let set_hostnames = || async {
        ec2.modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(
                AttributeBooleanValue::builder()
                    .value(spec.enable_dns_hostnames)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&format!("ModifyVpcAttribute {id} EnableDnsHostnames"), e))
    };
    if spec.enable_dns_support {
        if support {
            set_support().await?;
        }
        if hostnames {
            set_hostnames().await?;
        }
    } else {
        if hostnames {
            set_hostnames().await?;
        }
        if support {
            set_support().await?;
        }
    }
    Ok(())
}

/// One DNS attribute of VPC `id` (DescribeVpcAttribute reads one per call).
async fn dns_attribute(
    ec2: &Client,
    id: &str,
    attribute: VpcAttributeName,
) -> Result<bool, ProviderError> {
    let out = ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(attribute.clone())
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeVpcAttribute {id} {attribute}"), e))?;
    let value = match attribute {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        _ => out.enable_dns_hostnames(),
    };
    Ok(value.and_then(|v| v.value()).unwrap_or(false))
}

#[async_trait]
impl Driver for VpcDriver {
    type Spec = VpcSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<VpcSpec>,
    ) -> Result<Option<VpcOutputs>, ProviderError> {
        let vpcs = describe_owned(c.ec2(&r.region).describe_vpcs(), r).await?;
        let live = vpcs
            .into_iter()
            .filter(|v| !matches!(v.state(), Some(VpcState::Deleting)));
        pick(r, live)?.map(|v| outputs(&r.region, &v)).transpose()
    }

    async fn create(&self, c: &Clients, r: &Desired<VpcSpec>) -> Result<VpcOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let spec = &r.spec;
        let created = ec2
            .create_vpc()
            .cidr_block(&spec.cidr_block)
            .tag_specifications(tag_specification(ResourceType::Vpc, r)?)
            .send()
            .await
            .map_err(|e| classify("CreateVpc", e))?;
        let vpc = required(created.vpc(), "CreateVpc")?;
        let out = outputs(&r.region, vpc)?;
        let id = out.id.as_str();
        if !matches!(vpc.state(), Some(VpcState::Available)) {
            wait_available(&ec2, id).await?;
        }
        settle(&format!("VPC {id} DNS attributes"), || {
            set_dns_attributes(&ec2, id, spec, true, true)
        })
        .await?;
        Ok(out)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<VpcSpec>,
        r: &Desired<VpcSpec>,
        changed: Changed<'_>,
    ) -> Result<VpcOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let id = &prior.outputs.id;
        let support = changed.has("enable_dns_support");
        let hostnames = changed.has("enable_dns_hostnames");
        set_dns_attributes(&ec2, id, &r.spec, support, hostnames).await?;
        tags::update(&ec2, id, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeVpcs for the stack, then the two DNS attributes of each VPC
    /// (AWS reads them one per call; a stack has a VPC or two per region).
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<VpcSpec>,
    ) -> Result<Option<Vec<Live<VpcSpec>>>, ProviderError> {
        let ec2 = c.ec2(&scope.region);
        let mut live = Vec::new();
        for vpc in describe_stack(ec2.describe_vpcs(), &scope.stack).await? {
            let (Some(id), Some(cidr)) = (scope.owned(&vpc.tag_map()), vpc.cidr_block()) else {
                continue;
            };
            if matches!(vpc.state(), Some(VpcState::Deleting)) {
                continue;
            }
            let out = outputs(&scope.region, &vpc)?;
            let support = dns_attribute(&ec2, &out.id, VpcAttributeName::EnableDnsSupport);
            let hostnames = dns_attribute(&ec2, &out.id, VpcAttributeName::EnableDnsHostnames);
            let (support, hostnames) = tokio::try_join!(support, hostnames)?;
            live.push(Live {
                id,
                spec: Some(VpcSpec {
                    cidr_block: cidr.to_string(),
                    enable_dns_support: support,
                    enable_dns_hostnames: hostnames,
                }),
                tags: vpc.tag_map(),
                outputs: out,
            });
        }
        Ok(Some(live))
    }

    /// DescribeVpcs of `aws_id`, CreateTags of the ownership tags, then its DNS
    /// attributes.
    async fn import(
        &self,
        c: &Clients,
        r: &Desired<VpcSpec>,
        aws_id: &str,
    ) -> Result<Option<Live<VpcSpec>>, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let found = ec2
            .describe_vpcs()
            .vpc_ids(aws_id)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeVpcs {aws_id}"), e))?;
        let vpc = required(found.vpcs().first(), "DescribeVpcs")?;
        import_tags(&ec2, aws_id, &vpc.tag_map(), r).await?;
        let out = outputs(&r.region, vpc)?;
        let support = dns_attribute(&ec2, aws_id, VpcAttributeName::EnableDnsSupport);
        let hostnames = dns_attribute(&ec2, aws_id, VpcAttributeName::EnableDnsHostnames);
        let (support, hostnames) = tokio::try_join!(support, hostnames)?;
        Ok(Some(Live {
            id: r.id.clone(),
            spec: Some(VpcSpec {
                cidr_block: required(vpc.cidr_block(), "VPC CIDR block")?.to_string(),
                enable_dns_support: support,
                enable_dns_hostnames: hostnames,
            }),
            tags: r.owned_tags().into_iter().chain(vpc.tag_map()).collect(),
            outputs: out,
        }))
    }

    async fn delete(&self, c: &Clients, prior: &Recorded<VpcSpec>) -> Result<(), ProviderError> {
        let id = &prior.outputs.id;
        // DependencyViolation (subnets, gateways still going away) is Retryable.
        c.ec2(&prior.region)
            .delete_vpc()
            .vpc_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteVpc {id}"), e))
            .or_gone()
    }
}
