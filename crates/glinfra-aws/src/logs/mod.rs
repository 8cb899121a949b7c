//! CloudWatch Logs log groups, and the VPC flow logs that deliver to them.
//!
//! A flow log is an EC2 resource (CreateFlowLogs, on the EC2 client); it lives
//! here, next to its destination, as the network's audit trail (seed 8.1,
//! `vpc_flow_logs: true`).

mod flow_log;
mod log_group;

#[cfg(test)]
mod tests;

pub(crate) use flow_log::FlowLogDriver;
pub(crate) use log_group::LogGroupDriver;

use crate::error::classify;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_engine::{ErrorClass, ProviderError};

/// Classifies a CloudWatch Logs error ([`logs_codes`]).
fn logs_error<E, R>(what: &str, err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    logs_codes(classify(what, err))
}

/// A classified CloudWatch Logs error, with the two of its codes that do not follow
/// the naming [`classify`] knows: `ResourceAlreadyExistsException` (a group of that
/// name exists) and `OperationAbortedException` (another call on the same group is
/// in progress; it passes).
fn logs_codes(err: ProviderError) -> ProviderError {
    if err.has_code(&["ResourceAlreadyExistsException"]) {
        err.reclassified(ErrorClass::AlreadyExists, "a log group of that name exists")
    } else if err.has_code(&["OperationAbortedException"]) {
        err.reclassified(
            ErrorClass::Retryable,
            "another call on the log group is in progress",
        )
    } else {
        err
    }
}

// CloudWatch Logs tags by ARN (ListTagsForResource, TagResource, UntagResource).
crate::kit::tags::tagging!(aws_sdk_cloudwatchlogs::Client, by_arn, logs_codes);
