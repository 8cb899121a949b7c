//! Resource kinds and their schema: outputs, and which fields force replacement.
//!
//! Which fields force replacement follows what the AWS modify/put calls can change:
//! a field no update call can change is `Replace`; everything else is `InPlace`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether changing a field can be done in place or needs a new resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateBehavior {
    /// An AWS update call changes the field on the existing resource.
    InPlace,
    /// No AWS call can change it: the resource is deleted and created again.
    Replace,
}

/// Every kind of resource glinfra manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// `AWS::EC2::VPC`.
    #[serde(rename = "aws:ec2/vpc")]
    Vpc,
    /// `AWS::EC2::Subnet`.
    #[serde(rename = "aws:ec2/subnet")]
    Subnet,
    /// `AWS::EC2::InternetGateway`, attached to one VPC.
    #[serde(rename = "aws:ec2/internet-gateway")]
    InternetGateway,
    /// `AWS::EC2::EIP` in the VPC domain.
    #[serde(rename = "aws:ec2/elastic-ip")]
    ElasticIp,
    /// `AWS::EC2::NatGateway`.
    #[serde(rename = "aws:ec2/nat-gateway")]
    NatGateway,
    /// `AWS::EC2::RouteTable`.
    #[serde(rename = "aws:ec2/route-table")]
    RouteTable,
    /// One route in a route table.
    #[serde(rename = "aws:ec2/route")]
    Route,
    /// The association of a subnet with a route table.
    #[serde(rename = "aws:ec2/route-table-association")]
    RouteTableAssociation,
    /// An S3 bucket with its versioning, lifecycle, encryption, lock, policy and replication.
    #[serde(rename = "aws:s3/bucket")]
    Bucket,
    /// A Route 53 public hosted zone.
    #[serde(rename = "aws:route53/hosted-zone")]
    HostedZone,
    /// A Route 53 record set.
    #[serde(rename = "aws:route53/record-set")]
    RecordSet,
    /// An IAM role with its trust policy and policies.
    #[serde(rename = "aws:iam/role")]
    IamRole,
    /// A KMS symmetric key, with rotation and an alias.
    #[serde(rename = "aws:kms/key")]
    KmsKey,
    /// `AWS::EC2::SecurityGroup` with its rules.
    #[serde(rename = "aws:ec2/security-group")]
    SecurityGroup,
    /// A gateway or interface VPC endpoint.
    #[serde(rename = "aws:ec2/vpc-endpoint")]
    VpcEndpoint,
    /// An EKS cluster.
    #[serde(rename = "aws:eks/cluster")]
    EksCluster,
    /// An EKS managed node group.
    #[serde(rename = "aws:eks/node-group")]
    EksNodeGroup,
    /// An RDS DB subnet group.
    #[serde(rename = "aws:rds/db-subnet-group")]
    DbSubnetGroup,
    /// An RDS DB parameter group.
    #[serde(rename = "aws:rds/db-parameter-group")]
    DbParameterGroup,
    /// An RDS DB instance or read replica.
    #[serde(rename = "aws:rds/db-instance")]
    DbInstance,
    /// An ElastiCache subnet group.
    #[serde(rename = "aws:elasticache/subnet-group")]
    CacheSubnetGroup,
    /// An ElastiCache parameter group.
    #[serde(rename = "aws:elasticache/parameter-group")]
    CacheParameterGroup,
    /// An ElastiCache Redis replication group (cluster mode).
    #[serde(rename = "aws:elasticache/replication-group")]
    ReplicationGroup,
    /// An MSK configuration.
    #[serde(rename = "aws:msk/configuration")]
    MskConfiguration,
    /// An MSK provisioned cluster.
    #[serde(rename = "aws:msk/cluster")]
    MskCluster,
    /// A Route 53 health check.
    #[serde(rename = "aws:route53/health-check")]
    HealthCheck,
}

impl Kind {
    /// Every kind, in a stable order.
    pub const ALL: &'static [Kind] = &[
        Kind::Vpc,
        Kind::Subnet,
        Kind::InternetGateway,
        Kind::ElasticIp,
        Kind::NatGateway,
        Kind::RouteTable,
        Kind::Route,
        Kind::RouteTableAssociation,
        Kind::Bucket,
        Kind::HostedZone,
        Kind::RecordSet,
        Kind::IamRole,
        Kind::KmsKey,
        Kind::SecurityGroup,
        Kind::VpcEndpoint,
        Kind::EksCluster,
        Kind::EksNodeGroup,
        Kind::DbSubnetGroup,
        Kind::DbParameterGroup,
        Kind::DbInstance,
        Kind::CacheSubnetGroup,
        Kind::CacheParameterGroup,
        Kind::ReplicationGroup,
        Kind::MskConfiguration,
        Kind::MskCluster,
        Kind::HealthCheck,
    ];

    /// The type name used in plans and state (`aws:ec2/vpc`).
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Vpc => "aws:ec2/vpc",
            Kind::Subnet => "aws:ec2/subnet",
            Kind::InternetGateway => "aws:ec2/internet-gateway",
            Kind::ElasticIp => "aws:ec2/elastic-ip",
            Kind::NatGateway => "aws:ec2/nat-gateway",
            Kind::RouteTable => "aws:ec2/route-table",
            Kind::Route => "aws:ec2/route",
            Kind::RouteTableAssociation => "aws:ec2/route-table-association",
            Kind::Bucket => "aws:s3/bucket",
            Kind::HostedZone => "aws:route53/hosted-zone",
            Kind::RecordSet => "aws:route53/record-set",
            Kind::IamRole => "aws:iam/role",
            Kind::KmsKey => "aws:kms/key",
            Kind::SecurityGroup => "aws:ec2/security-group",
            Kind::VpcEndpoint => "aws:ec2/vpc-endpoint",
            Kind::EksCluster => "aws:eks/cluster",
            Kind::EksNodeGroup => "aws:eks/node-group",
            Kind::DbSubnetGroup => "aws:rds/db-subnet-group",
            Kind::DbParameterGroup => "aws:rds/db-parameter-group",
            Kind::DbInstance => "aws:rds/db-instance",
            Kind::CacheSubnetGroup => "aws:elasticache/subnet-group",
            Kind::CacheParameterGroup => "aws:elasticache/parameter-group",
            Kind::ReplicationGroup => "aws:elasticache/replication-group",
            Kind::MskConfiguration => "aws:msk/configuration",
            Kind::MskCluster => "aws:msk/cluster",
            Kind::HealthCheck => "aws:route53/health-check",
        }
    }

    /// The outputs a resource of this kind has once created.
    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            Kind::Vpc => &["id", "arn"],
            Kind::Subnet => &["id", "arn"],
            Kind::InternetGateway => &["id"],
            Kind::ElasticIp => &["allocation_id", "public_ip"],
            Kind::NatGateway => &["id"],
            Kind::RouteTable => &["id"],
            Kind::Route => &["id"],
            Kind::RouteTableAssociation => &["id"],
            Kind::Bucket => &["name", "arn", "region"],
            Kind::HostedZone => &["zone_id", "name_servers"],
            Kind::RecordSet => &["fqdn"],
            Kind::IamRole => &["arn", "name"],
            Kind::KmsKey => &["key_id", "arn"],
            Kind::SecurityGroup => &["id", "arn"],
            Kind::VpcEndpoint => &["id"],
            Kind::EksCluster => &["name", "arn", "endpoint"],
            Kind::EksNodeGroup => &["name", "arn"],
            Kind::DbSubnetGroup => &["name", "arn"],
            Kind::DbParameterGroup => &["name", "arn"],
            Kind::DbInstance => &["identifier", "arn", "endpoint", "port"],
            Kind::CacheSubnetGroup => &["name", "vpc_id"],
            Kind::CacheParameterGroup => &["name"],
            Kind::ReplicationGroup => &["id", "arn", "configuration_endpoint"],
            Kind::MskConfiguration => &["arn", "latest_revision"],
            Kind::MskCluster => &["arn", "bootstrap_brokers_tls"],
            Kind::HealthCheck => &["id"],
        }
    }

    /// The spec fields that no AWS update call can change (besides `region`).
    ///
    /// Sources: the EC2, S3, Route 53, IAM and KMS API references, cross-checked
    /// with the `ForceNew` markers of terraform-provider-aws.
    pub fn replace_fields(self) -> &'static [&'static str] {
        match self {
            // ModifyVpcAttribute changes DNS settings only; the primary CIDR is fixed.
            Kind::Vpc => &["cidr_block"],
            // ModifySubnetAttribute changes launch behaviour only.
            Kind::Subnet => &["vpc_id", "cidr_block", "availability_zone"],
            Kind::InternetGateway => &["vpc_id"],
            Kind::ElasticIp => &[],
            // No ModifyNatGateway exists.
            Kind::NatGateway => &["subnet_id", "allocation_id"],
            Kind::RouteTable => &["vpc_id"],
            // ReplaceRoute changes the target, not the table or destination.
            Kind::Route => &["route_table_id", "destination_cidr_block"],
            Kind::RouteTableAssociation => &["subnet_id", "route_table_id"],
            // Object lock can be turned on but never off; the name is the identity.
            Kind::Bucket => &["bucket", "object_lock_enabled"],
            Kind::HostedZone => &["name"],
            Kind::RecordSet => &["zone_id", "name", "record_type", "set_identifier"],
            Kind::IamRole => &["name", "path"],
            Kind::KmsKey => &["key_spec", "key_usage", "multi_region"],
            // EKS: UpdateClusterConfig/Version and UpdateNodegroupConfig/Version change the rest.
            // RDS: ModifyDBInstance changes class, storage, IOPS, multi-AZ, backups, window,
            // protection, parameter group and security groups. ElastiCache: ModifyReplicationGroup,
            // shard and replica-count calls. MSK: UpdateBrokerCount/Storage/Type and
            // UpdateClusterConfiguration. Route 53: UpdateHealthCheck.
            Kind::SecurityGroup => &["vpc_id", "name", "description"],
            Kind::VpcEndpoint => &["vpc_id", "service_name", "endpoint_type"],
            Kind::EksCluster => &[
                "name",
                "role_arn",
                "subnet_ids",
                "security_group_ids",
                "secrets_kms_key_arn",
            ],
            Kind::EksNodeGroup => &[
                "cluster_name",
                "name",
                "node_role_arn",
                "subnet_ids",
                "instance_types",
                "capacity_type",
                "disk_size",
            ],
            Kind::DbSubnetGroup => &["name", "vpc_id"],
            Kind::DbParameterGroup => &["name", "family", "description"],
            Kind::DbInstance => &[
                "identifier",
                "engine",
                "storage_encrypted",
                "kms_key_id",
                "db_subnet_group_name",
                "master_username",
                "replicate_from",
            ],
            Kind::CacheSubnetGroup => &["name", "vpc_id"],
            Kind::CacheParameterGroup => &["name", "family", "description"],
            Kind::ReplicationGroup => &[
                "id",
                "cache_subnet_group_name",
                "at_rest_encryption",
                "kms_key_id",
                "transit_encryption",
                "port",
            ],
            Kind::MskConfiguration => &["name", "kafka_versions"],
            Kind::MskCluster => &[
                "name",
                "client_subnets",
                "security_groups",
                "kms_key_arn",
                "client_broker_encryption",
            ],
            Kind::HealthCheck => &["check_type", "request_interval"],
        }
    }

    /// Whether changing `field` can be done in place.
    pub fn field_behavior(self, field: &str) -> UpdateBehavior {
        if field == "region" || self.replace_fields().contains(&field) {
            UpdateBehavior::Replace
        } else {
            UpdateBehavior::InPlace
        }
    }

    /// Whether resources of this kind carry tags (and can be found by them).
    pub fn taggable(self) -> bool {
        !matches!(
            self,
            Kind::Route | Kind::RouteTableAssociation | Kind::RecordSet | Kind::MskConfiguration
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_match_serde_names() {
        for kind in Kind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json.as_str(), Some(kind.type_name()));
        }
    }

    #[test]
    fn subnet_cidr_replaces_and_map_public_ip_is_in_place() {
        assert_eq!(
            Kind::Subnet.field_behavior("cidr_block"),
            UpdateBehavior::Replace
        );
        assert_eq!(
            Kind::Subnet.field_behavior("map_public_ip_on_launch"),
            UpdateBehavior::InPlace
        );
        assert_eq!(
            Kind::Bucket.field_behavior("lifecycle_rules"),
            UpdateBehavior::InPlace
        );
        assert_eq!(
            Kind::Bucket.field_behavior("region"),
            UpdateBehavior::Replace
        );
    }
}
