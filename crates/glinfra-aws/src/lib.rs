//! The one glinfra crate that names `aws_sdk_*`: a driver per resource kind,
//! behind the engine's [`Provider`](glinfra_engine::Provider) trait.
//!
//! It honours the standard AWS configuration and nothing else: the credential
//! chain, profiles, `AWS_REGION`, `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>` variables. It knows nothing about emulators.

#![warn(missing_docs)]

pub mod backend;
mod clients;
mod driver;
mod error;
mod kit;
mod metrics;
mod provider;

#[cfg(test)]
mod test_support;

mod ec2;
mod eks;
mod elasticache;
mod iam;
mod kafka;
mod kms;
mod logs;
mod rds;
mod route53;
mod s3;
// Security services (seed 8.1).
mod guardduty;
mod inspector2;
mod securityhub;
mod shield;
mod wafv2;

pub use clients::Clients;
pub use error::classify;
pub use metrics::{ApiCallCounter, ApiCalls};
pub use provider::{read_each, AwsProvider, ReadEach};
