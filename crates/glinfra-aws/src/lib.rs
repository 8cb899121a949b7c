//! The one glinfra crate that names `aws_sdk_*`: a driver per resource kind,
//! behind the engine's [`Provider`](glinfra_engine::Provider) trait.
//!
//! It honours the standard AWS configuration and nothing else: the credential
//! chain, profiles, `AWS_REGION`, `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>` variables. It knows nothing about emulators.

mod clients;
mod driver;
mod error;
mod kit;
mod metrics;
mod provider;

#[cfg(test)]
mod test_support;

// mod ec2; // MIGRATING
// mod eks; // MIGRATING
// mod elasticache; // MIGRATING
// mod iam; // MIGRATING
// mod kafka; // MIGRATING
// mod kms; // MIGRATING
mod logs;
// mod rds; // MIGRATING
// mod route53; // MIGRATING
// mod s3; // MIGRATING

pub use clients::Clients;
pub use error::classify;
pub use metrics::{ApiCallCounter, ApiCalls};
pub use provider::AwsProvider;
