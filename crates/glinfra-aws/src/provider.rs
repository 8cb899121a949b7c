//! [`AwsProvider`]: the engine's [`Provider`] over the driver registry.

use crate::clients::Clients;
use crate::driver::{AnyDriver, Registry};
use crate::metrics::{ApiCallCounter, ApiCalls};
use async_trait::async_trait;
use glinfra_core::{Kind, Observed, ResourceId, ResourceState};
use glinfra_engine::{Outputs, Provider, ProviderError, ResolvedResource};
use std::sync::Arc;

/// Every kind's driver. Adding a kind adds one line here.
fn drivers() -> Vec<Box<dyn AnyDriver>> {
    vec![
        // One line per kind, grouped by service.
        Box::new(crate::ec2::VpcDriver),
        Box::new(crate::ec2::SubnetDriver),
        Box::new(crate::ec2::InternetGatewayDriver),
        Box::new(crate::ec2::ElasticIpDriver),
        Box::new(crate::ec2::NatGatewayDriver),
        Box::new(crate::ec2::RouteTableDriver),
        Box::new(crate::ec2::RouteDriver),
        Box::new(crate::ec2::RouteTableAssociationDriver),
        Box::new(crate::ec2::SecurityGroupDriver),
        Box::new(crate::ec2::VpcEndpointDriver),
        Box::new(crate::s3::BucketDriver),
        Box::new(crate::route53::HostedZoneDriver),
        Box::new(crate::route53::RecordSetDriver),
        Box::new(crate::route53::HealthCheckDriver),
        Box::new(crate::iam::IamRoleDriver),
        Box::new(crate::kms::KmsKeyDriver),
        Box::new(crate::eks::EksClusterDriver),
        Box::new(crate::eks::EksNodeGroupDriver),
        Box::new(crate::eks::EksAddonDriver),
        Box::new(crate::eks::EksPodIdentityDriver),
        Box::new(crate::rds::DbSubnetGroupDriver),
        Box::new(crate::rds::DbParameterGroupDriver),
        Box::new(crate::rds::DbInstanceDriver),
        Box::new(crate::elasticache::CacheSubnetGroupDriver),
        Box::new(crate::elasticache::CacheParameterGroupDriver),
        Box::new(crate::elasticache::ReplicationGroupDriver),
        Box::new(crate::kafka::MskConfigurationDriver),
        Box::new(crate::kafka::MskClusterDriver),
        Box::new(crate::logs::LogGroupDriver),
        Box::new(crate::logs::FlowLogDriver),
        // Security services (seed 8.1).
        Box::new(crate::guardduty::DetectorDriver),
        Box::new(crate::securityhub::HubDriver),
        Box::new(crate::securityhub::StandardsSubscriptionDriver),
        Box::new(crate::inspector2::EnablerDriver),
        Box::new(crate::wafv2::WebAclDriver),
        Box::new(crate::shield::SubscriptionDriver),
    ]
}

/// The AWS implementation of the engine's [`Provider`].
#[derive(Clone)]
pub struct AwsProvider {
    clients: Clients,
    registry: Arc<Registry>,
}

impl AwsProvider {
    /// A provider using the standard AWS configuration of this process.
    pub async fn from_env() -> AwsProvider {
        AwsProvider::new(Clients::from_env(ApiCallCounter::new()).await)
    }

    /// A provider over explicit clients.
    pub fn new(clients: Clients) -> AwsProvider {
        AwsProvider {
            clients,
            registry: Arc::new(Registry::of(drivers())),
        }
    }

    /// The API calls made so far.
    pub fn api_calls(&self) -> ApiCalls {
        self.clients.counter().snapshot()
    }

    /// The clients (for reading resources back in tests and tools).
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The kinds this provider has a driver for.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut kinds: Vec<Kind> = self.registry.kinds().collect();
        kinds.sort();
        kinds
    }
}

#[async_trait]
impl Provider for AwsProvider {
    async fn find(&self, r: &ResolvedResource) -> Result<Option<Outputs>, ProviderError> {
        self.registry.get(r.kind)?.find(&self.clients, r).await
    }

    async fn create(&self, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
        self.registry.get(r.kind)?.create(&self.clients, r).await
    }

    async fn update(
        &self,
        prior: &ResourceState,
        r: &ResolvedResource,
        changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        self.registry
            .get(r.kind)?
            .update(&self.clients, prior, r, changed)
            .await
    }

    async fn delete(&self, id: &str, prior: &ResourceState) -> Result<(), ProviderError> {
        self.registry
            .get(prior.kind)?
            .delete(&self.clients, id, prior)
            .await
    }

    async fn observe(
        &self,
        stack: &str,
        kind: Kind,
        region: &str,
        recorded: &[(ResourceId, ResourceState)],
    ) -> Result<Option<Vec<Observed>>, ProviderError> {
        self.registry
            .get(kind)?
            .observe(&self.clients, stack, region, recorded)
            .await
    }

    async fn import(
        &self,
        r: &ResolvedResource,
        aws_id: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        self.registry
            .get(r.kind)?
            .import(&self.clients, r, aws_id)
            .await
    }
}

/// How [`read_each`] reads one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadEach {
    /// The driver's `find`: one targeted Describe, Get or List by name. For kinds
    /// whose Describe returns every field (subnets, security groups, record sets)
    /// this is what a per-resource refresh costs.
    Lookup,
    /// The kind's full read (what a refresh compares) with only that resource in
    /// scope: the same information as glinfra's refresh, one resource at a time.
    FullRead,
}

/// The refresh Terraform and Pulumi do, for comparison in measurements: every
/// recorded resource of `state` read on its own, `parallelism` at a time, as
/// `terraform -parallelism=N` does. Returns the number of resources read. glinfra
/// itself never reads this way.
pub async fn read_each(
    provider: &AwsProvider,
    state: &glinfra_core::State,
    parallelism: usize,
    how: ReadEach,
) -> Result<usize, ProviderError> {
    let gate = Arc::new(tokio::sync::Semaphore::new(parallelism.max(1)));
    let mut reads = tokio::task::JoinSet::new();
    for (id, r) in &state.resources {
        let one = vec![(id.clone(), r.clone())];
        let resource = ResolvedResource::from_state(&state.stack, id, r);
        let (provider, gate, stack) = (provider.clone(), gate.clone(), state.stack.clone());
        reads.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            match how {
                ReadEach::Lookup => provider.find(&resource).await.map(|_| ()),
                ReadEach::FullRead => provider
                    .observe(&stack, resource.kind, &resource.region, &one)
                    .await
                    .map(|_| ()),
            }
        });
    }
    let mut n = 0;
    while let Some(done) = reads.join_next().await {
        done.expect("reads do not panic")?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_exactly_one_driver() {
        let provider = AwsProvider::new(crate::test_support::empty_clients());
        let mut all = Kind::all().to_vec();
        all.sort();
        assert_eq!(provider.kinds(), all);
    }
}
