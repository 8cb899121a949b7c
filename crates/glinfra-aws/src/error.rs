//! AWS errors, classified once, here.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_engine::{ErrorClass, ProviderError};

const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
];

const RETRYABLE: &[&str] = &[
    "DependencyViolation",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "IncorrectState",
    "InvalidState",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "OperationAborted",
    "InvalidChangeBatch.Conflict",
    "ResourceInUseException",
];

const ALREADY_EXISTS: &[&str] = &[
    "BucketAlreadyOwnedByYou",
    "EntityAlreadyExists",
    "HostedZoneAlreadyExists",
    "AlreadyExistsException",
    "RouteAlreadyExists",
    "Resource.AlreadyAssociated",
];

/// Classifies an error code (and HTTP status) the way the executor needs it.
pub fn classify_code(code: &str, status: Option<u16>) -> ErrorClass {
    if THROTTLED.contains(&code) {
        ErrorClass::Throttled
    } else if RETRYABLE.contains(&code) {
        ErrorClass::Retryable
    } else if ALREADY_EXISTS.contains(&code)
        || code.ends_with(".Duplicate")
        || code.ends_with("AlreadyExists")
    {
        ErrorClass::AlreadyExists
    } else if code.contains("NotFound") || code.starts_with("NoSuch") {
        ErrorClass::NotFound
    } else if code.starts_with("Invalid")
        || code.starts_with("Malformed")
        || code.starts_with("Validation")
        || code == "MissingParameter"
        || code == "InvalidRequest"
    {
        ErrorClass::Invalid
    } else if status.is_some_and(|s| s >= 500) {
        ErrorClass::Retryable
    } else if status == Some(404) {
        ErrorClass::NotFound
    } else {
        ErrorClass::Fatal
    }
}

/// Classifies an SDK error once: transport failures and timeouts are retryable;
/// service errors by their code.
pub fn classify<E, R>(what: &str, err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProviderError::new(
                ErrorClass::Retryable,
                format!(
                    "{what}: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                ),
            )
            .operation(operation_of(what))
            .with_source(err)
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_string();
            let message = service.err().message().unwrap_or("").to_string();
            let status = service_status(service.raw());
            ProviderError::new(
                classify_code(&code, status),
                format!("{what}: {code}: {message}"),
            )
            .operation(operation_of(what))
            .code(code)
            .with_source(err)
        }
        _ => ProviderError::new(
            ErrorClass::Fatal,
            format!(
                "{what}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&err)
            ),
        )
        .with_source(err),
    }
}

/// The API operation named at the start of `what` (`CreateVpc vpc-1` → `CreateVpc`).
fn operation_of(what: &str) -> &str {
    what.split_whitespace().next().unwrap_or(what)
}

fn service_status<R: std::fmt::Debug + 'static>(raw: &R) -> Option<u16> {
    let any: &dyn std::any::Any = raw;
    any.downcast_ref::<aws_smithy_runtime_api::http::Response>()
        .map(|r| r.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(
            classify_code("InvalidVpcID.NotFound", Some(400)),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify_code("NoSuchBucket", Some(404)),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify_code("RequestLimitExceeded", Some(503)),
            ErrorClass::Throttled
        );
        assert_eq!(
            classify_code("DependencyViolation", Some(400)),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify_code("BucketAlreadyOwnedByYou", Some(409)),
            ErrorClass::AlreadyExists
        );
        assert_eq!(
            classify_code("InvalidParameterValue", Some(400)),
            ErrorClass::Invalid
        );
        assert_eq!(classify_code("Whatever", Some(502)), ErrorClass::Retryable);
        assert_eq!(classify_code("AccessDenied", Some(403)), ErrorClass::Fatal);
    }
}
