//! SDK clients, one per service and region, built once from the standard configuration.

use crate::metrics::ApiCallCounter;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::region::Region;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Clients by (service, region), type-erased.
type ClientCache = HashMap<(&'static str, String), Box<dyn std::any::Any + Send + Sync>>;

/// Lazily built SDK clients for every service and region a stack touches.
#[derive(Clone)]
pub struct Clients {
    base: SdkConfig,
    counter: ApiCallCounter,
    cache: Arc<Mutex<ClientCache>>,
}

impl Clients {
    /// Loads the standard AWS configuration (credential chain, profile, endpoint
    /// variables). `region` is the fallback when the configuration names none.
    pub async fn from_env(counter: ApiCallCounter) -> Clients {
        let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Clients::from_config(base, counter)
    }

    /// Builds clients from an explicit configuration (tests pass mocks this way).
    pub fn from_config(base: SdkConfig, counter: ApiCallCounter) -> Clients {
        Clients {
            base,
            counter,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The counter every client reports its calls to.
    pub fn counter(&self) -> &ApiCallCounter {
        &self.counter
    }

    /// Puts a ready-made client in the cache (tests use this for SDK mocks).
    /// `service` is `ec2`, `s3`, `route53`, `iam` or `kms`; the global services use `us-east-1`.
    #[doc(hidden)]
    pub fn insert<C: Clone + Send + Sync + 'static>(
        &self,
        service: &'static str,
        region: &str,
        client: C,
    ) {
        self.cache
            .lock()
            .expect("client cache lock")
            .insert((service, region.to_string()), Box::new(client));
    }

    fn config_for(&self, region: &str) -> SdkConfig {
        self.base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    fn cached<C: Clone + Send + Sync + 'static>(
        &self,
        service: &'static str,
        region: &str,
        make: impl FnOnce(&SdkConfig, ApiCallCounter) -> C,
    ) -> C {
        let key = (service, region.to_string());
        let mut cache = self.cache.lock().expect("client cache lock");
        if let Some(c) = cache.get(&key).and_then(|c| c.downcast_ref::<C>()) {
            return c.clone();
        }
        let client = make(&self.config_for(region), self.counter.clone());
        cache.insert(key, Box::new(client.clone()));
        client
    }

    /// The EC2 client for `region`.
    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        self.cached("ec2", region, |c, counter| {
            aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }

    /// The S3 client for `region`.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        self.cached("s3", region, |c, counter| {
            aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }

    /// The Route 53 client (a global service, signed for us-east-1).
    pub fn route53(&self) -> aws_sdk_route53::Client {
        self.cached("route53", "us-east-1", |c, counter| {
            aws_sdk_route53::Client::from_conf(
                aws_sdk_route53::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }

    /// The IAM client (a global service, signed for us-east-1).
    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.cached("iam", "us-east-1", |c, counter| {
            aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }

    /// The KMS client for `region`.
    pub fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        self.cached("kms", region, |c, counter| {
            aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }

    /// The EKS client for `region`.
    pub fn eks(&self, region: &str) -> aws_sdk_eks::Client {
        self.cached("eks", region, |c, counter| {
            aws_sdk_eks::Client::from_conf(
                aws_sdk_eks::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }

    /// The RDS client for `region`.
    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        self.cached("rds", region, |c, counter| {
            aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }

    /// The ElastiCache client for `region`.
    pub fn elasticache(&self, region: &str) -> aws_sdk_elasticache::Client {
        self.cached("elasticache", region, |c, counter| {
            aws_sdk_elasticache::Client::from_conf(
                aws_sdk_elasticache::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }

    /// The MSK (Kafka) client for `region`.
    pub fn kafka(&self, region: &str) -> aws_sdk_kafka::Client {
        self.cached("kafka", region, |c, counter| {
            aws_sdk_kafka::Client::from_conf(
                aws_sdk_kafka::config::Builder::from(c)
                    .interceptor(counter)
                    .build(),
            )
        })
    }
}
