//! SDK clients, one per service and region, built once from the standard configuration.

use crate::metrics::ApiCallCounter;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::region::Region;
use glinfra_engine::batch::Batcher;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Clients by (service, region), type-erased.
type ClientCache = HashMap<(&'static str, String), Box<dyn std::any::Any + Send + Sync>>;

/// The shared polls ([`Batcher`]) by the type of what their describe answers.
type PollCache = HashMap<TypeId, Arc<dyn std::any::Any + Send + Sync>>;

/// How long a shared poll gathers the waits of its kind and region before its
/// describe: a small part of the 2 s between a wait's first polls.
const GATHER: Duration = if cfg!(test) {
    Duration::from_millis(1)
} else {
    Duration::from_millis(200)
};

/// Lazily built SDK clients for every service and region a stack touches.
#[derive(Clone)]
pub struct Clients {
    base: SdkConfig,
    counter: ApiCallCounter,
    cache: Arc<Mutex<ClientCache>>,
    polls: Arc<Mutex<PollCache>>,
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
            polls: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The shared polls of the waits whose describe answers `S` (one batcher per
    /// answer type, so per kind; it keys its rounds by kind and region).
    pub(crate) fn polls<S: Clone + Send + Sync + 'static>(&self) -> Arc<Batcher<S>> {
        let mut polls = self.polls.lock().expect("shared polls lock");
        let batcher = polls
            .entry(TypeId::of::<S>())
            .or_insert_with(|| Arc::new(Batcher::<S>::new(GATHER)))
            .clone();
        batcher
            .downcast::<Batcher<S>>()
            .unwrap_or_else(|_| unreachable!("the batcher of a type is of that type"))
    }

    /// The same configuration with its own client cache, reporting calls to
    /// `counter` (the state backend's calls are counted apart from the drivers').
    pub fn with_counter(&self, counter: ApiCallCounter) -> Clients {
        Clients::from_config(self.base.clone(), counter)
    }

    /// The configured region, if any.
    pub fn region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
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

    /// A client of service `name` for `region`, built once from the region's
    /// configuration with the retry and timeout settings of [`client_config`].
    fn client<C: Clone + Send + Sync + 'static>(
        &self,
        name: &'static str,
        region: &str,
        build: impl FnOnce(&SdkConfig) -> C,
    ) -> C {
        let key = (name, region.to_string());
        let mut cache = self.cache.lock().expect("client cache lock");
        if let Some(c) = cache.get(&key).and_then(|c| c.downcast_ref::<C>()) {
            return c.clone();
        }
        let client = build(&client_config(&self.config_for(region)));
        cache.insert(key, Box::new(client.clone()));
        client
    }
}

/// The one retry layer is the executor's (see ARCHITECTURE.md): the SDK does not
/// retry, so a throttled or failed call reaches the executor at once, which backs
/// off with jitter, reports the retry, and repeats the whole idempotent operation.
/// Timeouts are explicit: a connection that cannot be made in 5 s, or an attempt
/// that takes over 60 s, fails as a transient error.
fn client_config(base: &SdkConfig) -> SdkConfig {
    base.to_builder()
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
        .build()
}

/// Declares the accessor of each service's client: regional ones take the region;
/// global ones are signed for us-east-1.
macro_rules! clients {
    ($($(#[$doc:meta])* $name:ident => $sdk:ident, $scope:ident;)*) => {
        impl Clients {
            $( clients!(@one $(#[$doc])* $name, $sdk, $scope); )*
        }
    };
    (@one $(#[$doc:meta])* $name:ident, $sdk:ident, regional) => {
        $(#[$doc])*
        pub fn $name(&self, region: &str) -> $sdk::Client {
            let counter = self.counter.clone();
            self.client(stringify!($name), region, |c| {
                $sdk::Client::from_conf($sdk::config::Builder::from(c).interceptor(counter).build())
            })
        }
    };
    (@one $(#[$doc:meta])* $name:ident, $sdk:ident, global) => {
        $(#[$doc])*
        pub fn $name(&self) -> $sdk::Client {
            let counter = self.counter.clone();
            self.client(stringify!($name), "us-east-1", |c| {
                $sdk::Client::from_conf($sdk::config::Builder::from(c).interceptor(counter).build())
            })
        }
    };
}

clients! {
    /// The EC2 client for `region`.
    ec2 => aws_sdk_ec2, regional;
    /// The S3 client for `region`.
    s3 => aws_sdk_s3, regional;
    /// The Route 53 client (a global service, signed for us-east-1).
    route53 => aws_sdk_route53, global;
    /// The IAM client (a global service, signed for us-east-1).
    iam => aws_sdk_iam, global;
    /// The KMS client for `region`.
    kms => aws_sdk_kms, regional;
    /// The EKS client for `region`.
    eks => aws_sdk_eks, regional;
    /// The RDS client for `region`.
    rds => aws_sdk_rds, regional;
    /// The ElastiCache client for `region`.
    elasticache => aws_sdk_elasticache, regional;
    /// The MSK (Kafka) client for `region`.
    kafka => aws_sdk_kafka, regional;
    /// The Resource Groups Tagging API client for `region` (a refresh's bulk tag read).
    tagging => aws_sdk_resourcegroupstagging, regional;
    /// The CloudWatch Logs client for `region`.
    logs => aws_sdk_cloudwatchlogs, regional;
    // Security services (seed 8.1).
    /// The STS client for `region` (the account id, for ARNs a service does not return).
    sts => aws_sdk_sts, regional;
    /// The GuardDuty client for `region`.
    guardduty => aws_sdk_guardduty, regional;
    /// The Security Hub client for `region`.
    securityhub => aws_sdk_securityhub, regional;
    /// The Inspector (inspector2) client for `region`.
    inspector2 => aws_sdk_inspector2, regional;
    /// The WAF (wafv2) client for `region`.
    wafv2 => aws_sdk_wafv2, regional;
    /// The Shield client (the Shield Advanced API is served from us-east-1).
    shield => aws_sdk_shield, global;
}
