//! [`AwsProvider`]: dispatches each resource kind to its service's driver.

use crate::clients::Clients;
use crate::metrics::{ApiCallCounter, ApiCalls};
use crate::{ec2, eks, elasticache, iam, kafka, kms, rds, route53, s3};
use async_trait::async_trait;
use glinfra_core::{Kind, ResourceState};
use glinfra_engine::{Outputs, Provider, ProviderError, ResolvedResource};

/// The AWS implementation of the engine's [`Provider`].
#[derive(Clone)]
pub struct AwsProvider {
    clients: Clients,
}

#[derive(Clone, Copy)]
enum Service {
    Ec2,
    S3,
    Route53,
    Iam,
    Kms,
    Eks,
    Rds,
    ElastiCache,
    Kafka,
}

fn service(kind: Kind) -> Service {
    match kind {
        Kind::Vpc
        | Kind::Subnet
        | Kind::InternetGateway
        | Kind::ElasticIp
        | Kind::NatGateway
        | Kind::RouteTable
        | Kind::Route
        | Kind::RouteTableAssociation
        | Kind::SecurityGroup
        | Kind::VpcEndpoint => Service::Ec2,
        Kind::Bucket => Service::S3,
        Kind::HostedZone | Kind::RecordSet | Kind::HealthCheck => Service::Route53,
        Kind::IamRole => Service::Iam,
        Kind::KmsKey => Service::Kms,
        Kind::EksCluster | Kind::EksNodeGroup => Service::Eks,
        Kind::DbSubnetGroup | Kind::DbParameterGroup | Kind::DbInstance => Service::Rds,
        Kind::CacheSubnetGroup | Kind::CacheParameterGroup | Kind::ReplicationGroup => {
            Service::ElastiCache
        }
        Kind::MskConfiguration | Kind::MskCluster => Service::Kafka,
    }
}

impl AwsProvider {
    /// A provider using the standard AWS configuration of this process.
    pub async fn from_env() -> AwsProvider {
        AwsProvider {
            clients: Clients::from_env(ApiCallCounter::new()).await,
        }
    }

    /// A provider over explicit clients.
    pub fn new(clients: Clients) -> AwsProvider {
        AwsProvider { clients }
    }

    /// The API calls made so far.
    pub fn api_calls(&self) -> ApiCalls {
        self.clients.counter().snapshot()
    }

    /// The clients (for reading resources back in tests and tools).
    pub fn clients(&self) -> &Clients {
        &self.clients
    }
}

#[async_trait]
impl Provider for AwsProvider {
    async fn find(&self, r: &ResolvedResource) -> Result<Option<Outputs>, ProviderError> {
        let c = &self.clients;
        match service(r.kind) {
            Service::Ec2 => ec2::find(c, r).await,
            Service::S3 => s3::find(c, r).await,
            Service::Route53 => route53::find(c, r).await,
            Service::Iam => iam::find(c, r).await,
            Service::Kms => kms::find(c, r).await,
            Service::Eks => eks::find(c, r).await,
            Service::Rds => rds::find(c, r).await,
            Service::ElastiCache => elasticache::find(c, r).await,
            Service::Kafka => kafka::find(c, r).await,
        }
    }

    async fn create(&self, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
        let c = &self.clients;
        match service(r.kind) {
            Service::Ec2 => ec2::create(c, r).await,
            Service::S3 => s3::create(c, r).await,
            Service::Route53 => route53::create(c, r).await,
            Service::Iam => iam::create(c, r).await,
            Service::Kms => kms::create(c, r).await,
            Service::Eks => eks::create(c, r).await,
            Service::Rds => rds::create(c, r).await,
            Service::ElastiCache => elasticache::create(c, r).await,
            Service::Kafka => kafka::create(c, r).await,
        }
    }

    async fn update(
        &self,
        prior: &ResourceState,
        r: &ResolvedResource,
        changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        let c = &self.clients;
        match service(r.kind) {
            Service::Ec2 => ec2::update(c, prior, r, changed).await,
            Service::S3 => s3::update(c, prior, r, changed).await,
            Service::Route53 => route53::update(c, prior, r, changed).await,
            Service::Iam => iam::update(c, prior, r, changed).await,
            Service::Kms => kms::update(c, prior, r, changed).await,
            Service::Eks => eks::update(c, prior, r, changed).await,
            Service::Rds => rds::update(c, prior, r, changed).await,
            Service::ElastiCache => elasticache::update(c, prior, r, changed).await,
            Service::Kafka => kafka::update(c, prior, r, changed).await,
        }
    }

    async fn delete(&self, id: &str, prior: &ResourceState) -> Result<(), ProviderError> {
        let c = &self.clients;
        match service(prior.kind) {
            Service::Ec2 => ec2::delete(c, id, prior).await,
            Service::S3 => s3::delete(c, id, prior).await,
            Service::Route53 => route53::delete(c, id, prior).await,
            Service::Iam => iam::delete(c, id, prior).await,
            Service::Kms => kms::delete(c, id, prior).await,
            Service::Eks => eks::delete(c, id, prior).await,
            Service::Rds => rds::delete(c, id, prior).await,
            Service::ElastiCache => elasticache::delete(c, id, prior).await,
            Service::Kafka => kafka::delete(c, id, prior).await,
        }
    }
}
