//! AWS errors, classified once, here; and for the refusals only AWS can know of
//! (capacity in a zone, what it offers there, the account's quotas), what to change.

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
    "BandwidthLimitExceeded",
];

/// Is `code` an account or resource quota (`VpcLimitExceeded`, `InstanceQuotaExceeded`,
/// `QuotaExceeded.DBSecurityGroup`, IAM's `LimitExceeded`)? A quota does not lift by
/// waiting, so it is never retried: it fails the operation at once with what to change
/// ([`remedy`]). Request-rate limits that look like quotas are in [`THROTTLED`] and stay
/// throttles (`RequestLimitExceeded`, `ProvisionedThroughputExceededException`).
///
/// `LimitExceededException` is a quota in every service glinfra drives: KMS answers it
/// for its resource and length quotas (keys, aliases, grants; its request-rate limit is
/// `ThrottlingException`), CloudWatch Logs for "the maximum number of resources" (its
/// rate limit is `ThrottlingException` too), and EKS, RDS, ElastiCache, MSK, Route 53,
/// S3 and EC2 never send it. (Where it is a rate limit, in services glinfra does not
/// use, such as Kinesis or Cognito, the SDK's own retry list treats it as one.)
pub fn is_quota(code: &str) -> bool {
    let exceeded = ["Exceeded", "ExceededFault", "ExceededException"]
        .iter()
        .any(|suffix| code.ends_with(suffix));
    !THROTTLED.contains(&code)
        && ((exceeded && (code.contains("Limit") || code.contains("Quota")))
            || code.starts_with("QuotaExceeded.")
            || (code.starts_with("TooMany") && !code.contains("Request")))
}

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

/// What to change when AWS refuses a call for a reason it alone knows when the call
/// is made: no capacity for a class in a zone, an offer missing there, an account
/// quota reached. One row per service error code (and operation, where the advice
/// depends on it); [`classify`] adds it to the error's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remedy {
    /// The service's error code.
    pub code: &'static str,
    /// The operation the row is about (`None`: any operation).
    pub operation: Option<&'static str>,
    /// The spec field to change, when the code tells which.
    pub field: Option<&'static str>,
    /// What to change.
    pub advice: &'static str,
}

/// The advice for an account quota: the service and the quota's name in Service
/// Quotas, and what else may be done.
macro_rules! quota {
    ($service:literal, $quota:literal, $or:literal) => {
        concat!(
            "an account quota: request an increase of ",
            $service,
            " \"",
            $quota,
            "\" in Service Quotas (console, or `aws service-quotas request-service-quota-increase`), or ",
            $or
        )
    };
}

const fn row(
    code: &'static str,
    operation: Option<&'static str>,
    field: Option<&'static str>,
    advice: &'static str,
) -> Remedy {
    Remedy {
        code,
        operation,
        field,
        advice,
    }
}

/// The remedies, most particular first (a row naming an operation before the
/// code's row for any operation).
pub const REMEDIES: &[Remedy] = &[
    // Capacity and offers, per zone or combination (EC2, RDS, ElastiCache, EKS).
    row("Unsupported", Some("CreateSubnet"), Some("availability_zone"),
        "AWS does not offer this in that availability zone now: choose another zone"),
    row("Unsupported", None, None,
        "AWS does not offer what was asked in that availability zone or account: choose another zone, instance type or option, as AWS's message says"),
    row("InsufficientFreeAddressesInSubnet", Some("CreateNatGateway"), Some("subnet_id"),
        "the subnet has no free IP address: give it a larger CIDR block or free addresses in it"),
    row("InsufficientFreeAddressesInSubnet", None, Some("subnet_ids"),
        "a subnet has no free IP address: give it a larger CIDR block or free addresses in it"),
    row("InsufficientDBInstanceCapacity", None, Some("instance_class"),
        "RDS has no capacity for this instance class in the zone now: choose another instance class, or a DB subnet group with subnets in other availability zones"),
    row("InvalidParameterCombination", Some("CreateDBInstance"), None,
        "RDS does not offer this combination of instance class, engine version and storage: change the one AWS's message names; `aws rds describe-orderable-db-instance-options --engine <engine> --engine-version <version>` lists what is offered"),
    row("InvalidParameterCombination", Some("CreateDBInstanceReadReplica"), None,
        "RDS does not offer this combination for a replica in its region: change the instance class or storage AWS's message names; `aws rds describe-orderable-db-instance-options` in that region lists what is offered"),
    row("InvalidParameterCombination", Some("ModifyDBInstance"), None,
        "RDS does not offer this combination of instance class, engine version and storage: change the one AWS's message names; `aws rds describe-orderable-db-instance-options` lists what is offered"),
    row("InvalidVPCNetworkStateFault", Some("ModifyDBInstance"), Some("db_subnet_group_name"),
        "RDS moves an instance only to a DB subnet group in another VPC, only a Single-AZ instance without read replicas, and only to a group with a subnet in the instance's availability zone: change what AWS's message names"),
    row("StorageTypeNotSupported", None, Some("storage_type"),
        "this instance class or engine does not take that storage type: choose another storage type (gp3, io1, io2) or instance class"),
    row("StorageTypeNotAvailableFault", None, Some("storage_type"),
        "that storage type is not offered here: choose another storage type"),
    row("ProvisionedIopsNotAvailableInAZFault", None, Some("iops"),
        "provisioned IOPS are not offered in that availability zone: use gp3 storage, or subnets in other zones"),
    row("DBSubnetGroupDoesNotCoverEnoughAZs", None, Some("subnet_ids"),
        "the subnets are in fewer than two availability zones: list subnets in at least two"),
    row("KMSKeyNotAccessibleFault", None, Some("kms_key_id"),
        "the KMS key is disabled, pending deletion, or its policy does not let RDS use it: enable it or allow RDS in its key policy"),
    row("InsufficientCacheClusterCapacity", None, Some("node_type"),
        "ElastiCache has no capacity for this node type in the zone now: choose another node type, or a subnet group with subnets in other availability zones"),
    row("UnsupportedAvailabilityZoneException", None, Some("subnet_ids"),
        "EKS cannot use one of the subnets' availability zones now (AWS's message lists the zones it can): choose subnets in those zones"),
    // Account quotas.
    row("VpcLimitExceeded", None, None,
        quota!("Amazon VPC", "VPCs per Region", "delete VPCs this region no longer needs")),
    row("AddressLimitExceeded", None, None,
        quota!("Amazon EC2", "EC2-VPC Elastic IPs", "release addresses no longer used, or declare fewer NAT gateways")),
    row("InternetGatewayLimitExceeded", None, None,
        quota!("Amazon VPC", "Internet gateways per Region", "delete gateways no longer used")),
    row("NatGatewayLimitExceeded", None, None,
        quota!("Amazon VPC", "NAT gateways per Availability Zone", "declare fewer NAT gateways")),
    row("SecurityGroupLimitExceeded", None, None,
        quota!("Amazon VPC", "VPC security groups per Region", "delete groups no longer used")),
    row("RulesPerSecurityGroupLimitExceeded", Some("AuthorizeSecurityGroupIngress"), Some("ingress"),
        quota!("Amazon VPC", "Inbound or outbound rules per security group", "merge CIDR blocks, or split the rules over more groups")),
    row("RulesPerSecurityGroupLimitExceeded", Some("AuthorizeSecurityGroupEgress"), Some("egress"),
        quota!("Amazon VPC", "Inbound or outbound rules per security group", "merge CIDR blocks, or split the rules over more groups")),
    row("RouteLimitExceeded", None, None,
        quota!("Amazon VPC", "Routes per route table", "declare fewer routes")),
    row("RouteTableLimitExceeded", None, None,
        quota!("Amazon VPC", "Route tables per VPC", "declare fewer route tables")),
    row("SubnetLimitExceeded", None, None,
        quota!("Amazon VPC", "Subnets per VPC", "declare fewer subnets")),
    row("VpcEndpointLimitExceeded", None, None,
        quota!("Amazon VPC", "Gateway VPC endpoints per Region\" or \"Interface VPC endpoints per VPC", "declare fewer endpoints")),
    row("FlowLogsLimitExceeded", None, None,
        quota!("Amazon VPC", "Flow logs per single network interface, single subnet, or single VPC in a Region", "delete flow logs of this VPC no longer needed")),
    row("InstanceQuotaExceeded", None, None,
        quota!("Amazon RDS", "DB instances", "delete instances no longer used, or declare fewer read replicas")),
    row("StorageQuotaExceeded", None, Some("allocated_storage"),
        quota!("Amazon RDS", "Total storage for all DB instances", "allocate less storage")),
    row("DBSubnetGroupQuotaExceeded", None, None,
        quota!("Amazon RDS", "DB subnet groups", "delete subnet groups no longer used")),
    row("DBSubnetQuotaExceededFault", None, Some("subnet_ids"),
        quota!("Amazon RDS", "Subnets per DB subnet group", "list fewer subnets")),
    row("DBParameterGroupQuotaExceeded", None, None,
        quota!("Amazon RDS", "Parameter groups", "delete parameter groups no longer used")),
    row("NodeQuotaForClusterExceeded", None, Some("num_node_groups"),
        quota!("Amazon ElastiCache", "Nodes per cluster (cluster mode enabled)", "declare fewer shards or replicas per shard")),
    row("NodeGroupsPerReplicationGroupQuotaExceeded", None, Some("num_node_groups"),
        quota!("Amazon ElastiCache", "Nodes per cluster (cluster mode enabled)", "declare fewer shards")),
    row("NodeQuotaForCustomerExceeded", None, None,
        quota!("Amazon ElastiCache", "Nodes per Region", "declare fewer shards or replicas")),
    row("ClusterQuotaForCustomerExceeded", None, None,
        quota!("Amazon ElastiCache", "Clusters per Region", "delete clusters no longer used")),
    row("CacheSubnetGroupQuotaExceeded", None, None,
        quota!("Amazon ElastiCache", "Subnet groups per Region", "delete subnet groups no longer used")),
    row("CacheSubnetQuotaExceededFault", None, Some("subnet_ids"),
        quota!("Amazon ElastiCache", "Subnets per subnet group", "list fewer subnets")),
    row("CacheParameterGroupQuotaExceeded", None, None,
        quota!("Amazon ElastiCache", "Parameter groups per Region", "delete parameter groups no longer used")),
    row("ResourceLimitExceededException", Some("CreateCluster"), None,
        quota!("Amazon EKS", "Clusters", "delete clusters no longer used")),
    row("ResourceLimitExceededException", Some("CreateNodegroup"), None,
        quota!("Amazon EKS", "Managed node groups per cluster", "declare fewer node groups")),
    row("ResourceLimitExceededException", Some("UpdateNodegroupConfig"), Some("max_size"),
        quota!("Amazon EKS", "Nodes per managed node group", "lower max_size, or split the pool into more node groups")),
    row("LimitExceeded", Some("CreateRole"), None,
        quota!("IAM", "Roles per account", "delete roles no longer used")),
    row("LimitExceeded", Some("AttachRolePolicy"), Some("managed_policy_arns"),
        quota!("IAM", "Managed policies per role", "attach fewer managed policies")),
    row("LimitExceeded", Some("PutRolePolicy"), Some("inline_policies"),
        "the role's inline policies together are larger than IAM allows (\"Role policy size\"): move statements into a managed policy"),
    row("TooManyHostedZones", None, None,
        quota!("Amazon Route 53", "Hosted zones", "delete zones no longer used")),
    row("TooManyHealthChecks", None, None,
        quota!("Amazon Route 53", "Health checks", "delete health checks no longer used")),
    row("TooManyBuckets", None, None,
        quota!("Amazon S3", "General purpose buckets", "delete buckets no longer used")),
];

/// The advice for an error code that names a quota and has no row of its own.
const ANY_QUOTA: &str = "an account quota: find the quota AWS's message names in Service Quotas and request an increase, or remove resources that count against it";

/// The field to change (when the code tells) and what to change, for an error
/// `code` of `operation`; `None` when glinfra has nothing to add. Throttling codes
/// that look like quotas (`RequestLimitExceeded`) get none.
pub fn remedy(code: &str, operation: &str) -> Option<(Option<&'static str>, &'static str)> {
    if let Some(r) = REMEDIES.iter().find(|r| {
        r.code == code
            && match r.operation {
                None => true,
                Some(o) => o == operation,
            }
    }) {
        return Some((r.field, r.advice));
    }
    is_quota(code).then_some((None, ANY_QUOTA))
}

/// `message` with what to change appended, when [`remedy`] has something to say.
fn with_remedy(message: String, code: &str, operation: &str) -> String {
    match remedy(code, operation) {
        Some((Some(field), advice)) => {
            format!("{message}. What to change (field `{field}`): {advice}")
        }
        Some((None, advice)) => format!("{message}. What to change: {advice}"),
        None => message,
    }
}

/// Classifies an error code (and HTTP status) the way the executor needs it. A
/// quota ([`is_quota`]) is Fatal whatever the status: waiting does not lift it.
pub fn classify_code(code: &str, status: Option<u16>) -> ErrorClass {
    if THROTTLED.contains(&code) {
        ErrorClass::Throttled
    } else if is_quota(code) {
        ErrorClass::Fatal
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
                with_remedy(
                    format!("{what}: {code}: {message}"),
                    &code,
                    operation_of(what),
                ),
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

    #[test]
    fn capacity_and_offer_errors_name_the_field_and_what_to_change() {
        let (field, advice) = remedy("InsufficientDBInstanceCapacity", "CreateDBInstance").unwrap();
        assert_eq!(field, Some("instance_class"));
        assert!(advice.contains("choose another instance class"), "{advice}");
        let (field, advice) = remedy("StorageTypeNotSupported", "ModifyDBInstance").unwrap();
        assert_eq!(field, Some("storage_type"));
        assert!(advice.contains("another storage type"), "{advice}");
        let (field, advice) = remedy("InvalidParameterCombination", "CreateDBInstance").unwrap();
        assert_eq!(field, None);
        assert!(
            advice.contains("describe-orderable-db-instance-options"),
            "{advice}"
        );
        assert_eq!(
            remedy("Unsupported", "CreateSubnet").unwrap().0,
            Some("availability_zone")
        );
        assert_eq!(
            remedy("UnsupportedAvailabilityZoneException", "CreateCluster")
                .unwrap()
                .0,
            Some("subnet_ids")
        );
        // An InvalidParameterCombination of another service is left as AWS said it.
        assert_eq!(
            remedy("InvalidParameterCombination", "CreateReplicationGroup"),
            None
        );
    }

    #[test]
    fn quota_errors_say_which_quota_to_raise() {
        let cases = [
            ("VpcLimitExceeded", "CreateVpc", None, "\"VPCs per Region\""),
            (
                "AddressLimitExceeded",
                "AllocateAddress",
                None,
                "\"EC2-VPC Elastic IPs\"",
            ),
            (
                "InstanceQuotaExceeded",
                "CreateDBInstanceReadReplica",
                None,
                "\"DB instances\"",
            ),
            (
                "NodeQuotaForClusterExceeded",
                "CreateReplicationGroup",
                Some("num_node_groups"),
                "Nodes per cluster",
            ),
            (
                "RulesPerSecurityGroupLimitExceeded",
                "AuthorizeSecurityGroupIngress",
                Some("ingress"),
                "rules per security group",
            ),
            (
                "RulesPerSecurityGroupLimitExceeded",
                "AuthorizeSecurityGroupEgress",
                Some("egress"),
                "rules per security group",
            ),
            (
                "ResourceLimitExceededException",
                "CreateNodegroup",
                None,
                "\"Managed node groups per cluster\"",
            ),
            (
                "ResourceLimitExceededException",
                "UpdateNodegroupConfig",
                Some("max_size"),
                "\"Nodes per managed node group\"",
            ),
            (
                "LimitExceeded",
                "AttachRolePolicy",
                Some("managed_policy_arns"),
                "\"Managed policies per role\"",
            ),
            (
                "TooManyHostedZones",
                "CreateHostedZone",
                None,
                "\"Hosted zones\"",
            ),
        ];
        for (code, operation, field, says) in cases {
            let (f, advice) = remedy(code, operation).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(f, field, "{code} {operation}");
            assert!(advice.contains(says), "{code}: {advice}");
            assert!(advice.contains("request an increase"), "{code}: {advice}");
        }
        // A quota code without a row of its own still says it is a quota.
        let (field, advice) = remedy("DBInstanceAutomatedBackupQuotaExceeded", "X").unwrap();
        assert_eq!(field, None);
        assert!(advice.contains("Service Quotas"), "{advice}");
        assert!(remedy("QuotaExceeded.DBSecurityGroup", "X").is_some());
    }

    #[test]
    fn throttles_that_look_like_quotas_stay_throttles_without_advice() {
        for code in [
            "RequestLimitExceeded",
            "TooManyRequestsException",
            "Throttling",
        ] {
            assert_eq!(classify_code(code, Some(400)), ErrorClass::Throttled);
            assert!(!is_quota(code), "{code}");
            assert_eq!(remedy(code, "CreateKey"), None, "{code}");
        }
        assert_eq!(remedy("InvalidVpcID.NotFound", "DescribeVpcs"), None);
        // Every row's field and advice are there to be read.
        for r in REMEDIES {
            assert!(!r.advice.is_empty() && r.field != Some(""), "{r:?}");
        }
    }

    /// A quota does not lift by waiting: it is never retried as throttling (which
    /// would spend ten attempts and minutes of backoff), whatever status it came with.
    #[test]
    fn quotas_are_not_retried() {
        for code in [
            "VpcLimitExceeded",
            "AddressLimitExceeded",
            "NatGatewayLimitExceeded",
            "InstanceQuotaExceeded",
            "StorageQuotaExceeded",
            "DBSubnetGroupQuotaExceeded",
            "NodeQuotaForClusterExceeded",
            "ClusterQuotaForCustomerExceeded",
            "ResourceLimitExceededException",
            "LimitExceeded",
            "LimitExceededException",
            "QuotaExceeded.DBSecurityGroup",
            "TooManyHostedZones",
            "TooManyBuckets",
        ] {
            for status in [Some(400), Some(403), Some(503), None] {
                let class = classify_code(code, status);
                assert_eq!(class, ErrorClass::Fatal, "{code} {status:?}");
                assert!(!class.is_retryable(), "{code}");
            }
        }
        // KMS and CloudWatch Logs send LimitExceededException for resource quotas
        // (their rate limit is ThrottlingException): it says which quota to raise.
        let (field, advice) = remedy("LimitExceededException", "CreateKey").unwrap();
        assert_eq!(field, None);
        assert!(advice.contains("Service Quotas"), "{advice}");
        assert!(remedy("LimitExceededException", "CreateLogGroup").is_some());
    }

    #[test]
    fn classify_adds_the_remedy_to_what_aws_said() {
        use aws_sdk_rds::operation::create_db_instance::CreateDBInstanceError;
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let service = |code: &str| {
            let meta = ErrorMetadata::builder()
                .code(code)
                .message("Cannot create a db.r6g.2xlarge DB instance in us-east-1e")
                .build();
            SdkError::service_error(
                CreateDBInstanceError::generic(meta),
                Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty()),
            )
        };
        let err = classify(
            "CreateDBInstance greenlang-prod-primary",
            service("InsufficientDBInstanceCapacity"),
        );
        assert_eq!(err.class, ErrorClass::Fatal);
        assert_eq!(err.code.as_deref(), Some("InsufficientDBInstanceCapacity"));
        assert!(
            err.message.starts_with(
                "CreateDBInstance greenlang-prod-primary: InsufficientDBInstanceCapacity: Cannot create a db.r6g.2xlarge DB instance in us-east-1e. What to change (field `instance_class`): RDS has no capacity"
            ),
            "{}",
            err.message
        );
        let err = classify(
            "CreateDBInstance greenlang-prod-primary",
            service("InstanceQuotaExceeded"),
        );
        assert!(
            err.message.contains(". What to change: an account quota: request an increase of Amazon RDS \"DB instances\""),
            "{}",
            err.message
        );
        let err = classify("CreateDBInstance x", service("SomethingElse"));
        assert!(!err.message.contains("What to change"), "{}", err.message);
    }
}
