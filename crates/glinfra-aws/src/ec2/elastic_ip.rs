//! Elastic IP addresses, allocated in the VPC domain.

use super::{describe_owned, describe_stack, pick, tag_specification, Tagged};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{required, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{Address, DomainType, ResourceType};
use glinfra_core::spec::ec2::{ElasticIpOutputs, ElasticIpSpec};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:ec2/elastic-ip`.
pub(crate) struct ElasticIpDriver;

fn outputs(address: &Address) -> Result<ElasticIpOutputs, ProviderError> {
    Ok(ElasticIpOutputs {
        allocation_id: required(address.allocation_id(), "address allocation id")?.to_string(),
        public_ip: required(address.public_ip(), "address public ip")?.to_string(),
    })
}

#[async_trait]
impl Driver for ElasticIpDriver {
    type Spec = ElasticIpSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<ElasticIpSpec>,
    ) -> Result<Option<ElasticIpOutputs>, ProviderError> {
        let found = describe_owned(c.ec2(&r.region).describe_addresses(), r).await?;
        pick(r, found)?.map(|a| outputs(&a)).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<ElasticIpSpec>,
    ) -> Result<ElasticIpOutputs, ProviderError> {
        let created = c
            .ec2(&r.region)
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_specification(ResourceType::ElasticIp, r)?)
            .send()
            .await
            .map_err(|e| classify("AllocateAddress", e))?;
        Ok(ElasticIpOutputs {
            allocation_id: required(created.allocation_id(), "AllocateAddress allocation id")?
                .to_string(),
            public_ip: required(created.public_ip(), "AllocateAddress public ip")?.to_string(),
        })
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<ElasticIpSpec>,
        r: &Desired<ElasticIpSpec>,
        changed: Changed<'_>,
    ) -> Result<ElasticIpOutputs, ProviderError> {
        let id = &prior.outputs.allocation_id;
        tags::update(&c.ec2(&r.region), id, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeAddresses for the stack (not paginated: one answer holds every
    /// address). An address's spec has no field: it is there, or it is not.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<ElasticIpSpec>,
    ) -> Result<Option<Vec<Live<ElasticIpSpec>>>, ProviderError> {
        let ec2 = c.ec2(&scope.region);
        let mut live = Vec::new();
        for address in describe_stack(ec2.describe_addresses(), &scope.stack).await? {
            let tags = address.tag_map();
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            live.push(Live {
                id,
                outputs: outputs(&address)?,
                tags,
                spec: Some(ElasticIpSpec {}),
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<ElasticIpSpec>,
    ) -> Result<(), ProviderError> {
        let ec2 = c.ec2(&prior.region);
        let id = &prior.outputs.allocation_id;
        let described = ec2
            .describe_addresses()
            .allocation_ids(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeAddresses {id}"), e))
            .or_absent()?;
        let Some(address) = described.as_ref().and_then(|d| d.addresses().first()) else {
            return Ok(());
        };
        // An address still associated (with a NAT gateway being deleted, say) cannot be
        // released: AWS refuses with InvalidIPAddress.InUse, or with AuthFailure for a
        // moment after the NAT gateway that used it is deleted. DescribeAddresses just
        // succeeded with the same credentials, so both are that transient conflict, not
        // a credentials problem: retryable. The service decides, not a stale association.
        let res = ec2.release_address().allocation_id(id).send().await;
        let Err(err) = res else { return Ok(()) };
        let err = classify(&format!("ReleaseAddress {id}"), err);
        if !err.has_code(&["InvalidIPAddress.InUse", "AuthFailure"]) {
            return Err::<(), _>(err).or_gone();
        }
        Err(match address.association_id() {
            Some(association) => err.reclassified(
                ErrorClass::Retryable,
                &format!(
                    "associated: {association}{}; waiting for its user to go",
                    address
                        .network_interface_id()
                        .map(|n| format!(", interface {n}"))
                        .unwrap_or_default()
                ),
            ),
            None => ProviderError {
                class: ErrorClass::Retryable,
                ..err
            },
        })
    }
}
