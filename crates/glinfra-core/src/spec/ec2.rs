//! EC2 networking: VPC, subnets, gateways, elastic IPs, route tables and routes.

use super::closed_set;
use crate::input::Input;
use crate::kind::{ChangeRule, FieldValues};
use crate::regions;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// Parses an IPv4 CIDR block that AWS accepts for a VPC or subnet (/16 to /28,
/// no host bits set), reporting the problem through `cx`.
pub(crate) fn check_cidr(cx: &mut SpecCheck<'_>, field: &str, cidr: &str) -> Option<Ipv4Net> {
    match cidr.parse::<Ipv4Net>() {
        Err(_) => {
            cx.error(field, format!("`{cidr}` is not a valid IPv4 CIDR block"));
            None
        }
        Ok(net) if net.network() != net.addr() => {
            cx.error(
                field,
                format!(
                    "`{cidr}` has host bits set; the network address is {}",
                    net.trunc()
                ),
            );
            None
        }
        Ok(net) if !(16..=28).contains(&net.prefix_len()) => {
            cx.error(
                field,
                format!("`{cidr}`: AWS accepts prefix lengths /16 to /28 only"),
            );
            None
        }
        Ok(net) => Some(net),
    }
}

/// A VPC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/vpc", outputs(id: String, arn: String))]
pub struct VpcSpec {
    #[resource(replace)]
    /// Primary IPv4 CIDR block. Forces replacement.
    pub cidr_block: String,
    /// Whether the Amazon DNS server resolves names in the VPC.
    pub enable_dns_support: bool,
    /// Whether instances get public DNS host names.
    pub enable_dns_hostnames: bool,
}

impl VpcSpec {
    /// A VPC with DNS support and host names on.
    pub fn new(cidr_block: impl Into<String>) -> Self {
        VpcSpec {
            cidr_block: cidr_block.into(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
        }
    }
}

impl ResourceSpec for VpcSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        check_cidr(cx, "cidr_block", &self.cidr_block);
    }
}

/// A subnet of a VPC in one availability zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/subnet", outputs(id: String, arn: String))]
pub struct SubnetSpec {
    #[resource(replace, unique)]
    /// The VPC. Forces replacement.
    pub vpc_id: Input<String>,
    #[resource(replace)]
    /// IPv4 CIDR block, inside the VPC's. Forces replacement.
    pub cidr_block: String,
    #[resource(replace)]
    /// Availability zone name (`us-east-1a`). Forces replacement.
    pub availability_zone: String,
    /// Whether instances launched here get a public IP.
    pub map_public_ip_on_launch: bool,
}

impl SubnetSpec {
    /// A private subnet.
    pub fn new(
        vpc_id: Input<String>,
        cidr_block: impl Into<String>,
        availability_zone: impl Into<String>,
    ) -> Self {
        SubnetSpec {
            vpc_id,
            cidr_block: cidr_block.into(),
            availability_zone: availability_zone.into(),
            map_public_ip_on_launch: false,
        }
    }
}

impl ResourceSpec for SubnetSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        let zones = regions::availability_zones(cx.region());
        if !zones.is_empty() && !zones.contains(&self.availability_zone) {
            let region = cx.region().to_string();
            cx.error(
                "availability_zone",
                format!(
                    "unknown availability zone `{}` for region {region} (known: {})",
                    self.availability_zone,
                    zones.join(", ")
                ),
            );
        }
        let Some(net) = check_cidr(cx, "cidr_block", &self.cidr_block) else {
            return;
        };
        let Some(vpc) = cx.referenced(&self.vpc_id).cloned() else {
            return;
        };
        let vpc_net = vpc
            .spec::<VpcSpec>()
            .ok()
            .and_then(|v| v.cidr_block.parse::<Ipv4Net>().ok());
        if let Some(vpc_net) = vpc_net {
            if !vpc_net.contains(&net) {
                cx.error(
                    "cidr_block",
                    format!("subnet {net} is outside its VPC `{}` ({vpc_net})", vpc.id),
                );
            }
        }
        // Report each overlapping pair once, on the later declaration.
        let me = cx.id().to_string();
        let mut overlaps = Vec::new();
        for (other, other_net) in cx.subnets_in(&self.vpc_id) {
            if *other == me {
                break;
            }
            if other_net.contains(&net) || net.contains(other_net) {
                overlaps.push(format!("`{other}` ({other_net})"));
            }
        }
        for o in overlaps {
            cx.error(
                "cidr_block",
                format!("subnet {net} overlaps subnet {o} in the same VPC"),
            );
        }
    }
}

/// An internet gateway attached to a VPC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/internet-gateway", outputs(id: String))]
pub struct InternetGatewaySpec {
    #[resource(change_rule = crate::spec::rules::moved_in_place_to_what_exists, unique)]
    /// The VPC it is attached to. Another VPC that exists: moved in place
    /// (DetachInternetGateway, AttachInternetGateway; the gateway keeps its id); a
    /// VPC made by the same plan: a replacement (see
    /// [`crate::spec::rules::moved_in_place_to_what_exists`]).
    pub vpc_id: Input<String>,
}

impl ResourceSpec for InternetGatewaySpec {}

/// An elastic IP address in the VPC domain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/elastic-ip", outputs(allocation_id: String, public_ip: String))]
pub struct ElasticIpSpec {}

impl ResourceSpec for ElasticIpSpec {}

/// A public NAT gateway in a subnet, with an elastic IP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/nat-gateway", outputs(id: String))]
pub struct NatGatewaySpec {
    #[resource(replace)]
    /// The (public) subnet it lives in. Forces replacement.
    pub subnet_id: Input<String>,
    #[resource(replace, unique)]
    /// The elastic IP allocation. Forces replacement.
    pub allocation_id: Input<String>,
}

impl ResourceSpec for NatGatewaySpec {}

/// A route table of a VPC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/route-table", outputs(id: String))]
pub struct RouteTableSpec {
    #[resource(replace)]
    /// The VPC. Forces replacement.
    pub vpc_id: Input<String>,
}

impl ResourceSpec for RouteTableSpec {}

/// One route: a destination and exactly one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/route", outputs(id: String))]
#[resource(untagged)]
pub struct RouteSpec {
    #[resource(replace)]
    /// The route table. Forces replacement.
    pub route_table_id: Input<String>,
    #[resource(replace)]
    /// The destination. Forces replacement.
    pub destination_cidr_block: String,
    /// Target: an internet gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<Input<String>>,
    /// Target: a NAT gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_gateway_id: Option<Input<String>>,
}

impl RouteSpec {
    /// A route to an internet gateway.
    pub fn to_gateway(table: Input<String>, destination: &str, gateway: Input<String>) -> Self {
        RouteSpec {
            route_table_id: table,
            destination_cidr_block: destination.to_string(),
            gateway_id: Some(gateway),
            nat_gateway_id: None,
        }
    }

    /// A route to a NAT gateway.
    pub fn to_nat(table: Input<String>, destination: &str, nat: Input<String>) -> Self {
        RouteSpec {
            route_table_id: table,
            destination_cidr_block: destination.to_string(),
            gateway_id: None,
            nat_gateway_id: Some(nat),
        }
    }
}

impl ResourceSpec for RouteSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if self.destination_cidr_block.parse::<Ipv4Net>().is_err() {
            cx.error(
                "destination_cidr_block",
                format!(
                    "`{}` is not a valid IPv4 CIDR block",
                    self.destination_cidr_block
                ),
            );
        }
        if self.gateway_id.is_some() == self.nat_gateway_id.is_some() {
            cx.error(
                "gateway_id",
                "a route needs exactly one target: gateway_id or nat_gateway_id",
            );
        }
    }
}

/// The association of a subnet with a route table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/route-table-association", outputs(id: String))]
#[resource(untagged)]
pub struct RouteTableAssociationSpec {
    #[resource(change_rule = crate::spec::rules::moved_in_place_to_what_exists)]
    /// The route table. Another table that exists: moved in place
    /// (ReplaceRouteTableAssociation: the subnet is never without a table; AWS gives
    /// the association a new id); a table made by the same plan: a replacement (see
    /// [`crate::spec::rules::moved_in_place_to_what_exists`]).
    pub route_table_id: Input<String>,
    #[resource(replace)]
    /// The subnet. Forces replacement.
    pub subnet_id: Input<String>,
}

impl ResourceSpec for RouteTableAssociationSpec {}

closed_set! {
    /// The protocol of a security group rule, spelt as AWS's `IpProtocol` takes it.
    IpProtocol, "IP protocol" {
        /// `tcp`.
        Tcp = "tcp",
        /// `udp`.
        Udp = "udp",
        /// `icmp`.
        Icmp = "icmp",
        /// `-1`: every protocol, every port.
        All = "-1",
    }
}

/// One security group rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub protocol: IpProtocol,
    /// First port.
    pub from_port: i32,
    /// Last port.
    pub to_port: i32,
    /// IPv4 ranges allowed.
    #[serde(default)]
    pub cidr_blocks: Vec<String>,
    /// A description.
    #[serde(default)]
    pub description: String,
}

/// `description` of a security group: refused. EC2 has no call that changes it,
/// and a replacement (delete, then create) cannot delete a group while anything
/// uses it, and would replace what takes its security groups only at creation (an
/// MSK cluster, with its topics).
pub fn security_group_description_change(_: &FieldValues<'_>) -> ChangeRule {
    ChangeRule::Refuse(
        "EC2 cannot change a security group's description, and replacing the group would replace what uses it (an MSK cluster takes its security groups only at creation). Keep the description (each rule has its own, which changes in place), or declare a new group (another logical id and name), move its users to it, then remove this one".into(),
    )
}

/// A security group. Nothing is open by default: with no egress rules, the
/// default allow-all egress rule AWS adds is removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/security-group", outputs(id: String, arn: String))]
pub struct SecurityGroupSpec {
    #[resource(replace, unique)]
    /// The VPC. Forces replacement.
    pub vpc_id: Input<String>,
    #[resource(replace, unique)]
    /// Group name. Forces replacement.
    pub name: String,
    #[resource(change_rule = security_group_description_change)]
    /// Description. A change is refused: no API changes it, and replacing the group
    /// would replace what takes its groups only at creation (MSK clusters) or fail
    /// to delete it while in use.
    pub description: String,
    /// Ingress rules (Authorize/RevokeSecurityGroupIngress).
    #[serde(default)]
    pub ingress: Vec<SecurityGroupRule>,
    /// Egress rules (Authorize/RevokeSecurityGroupEgress).
    #[serde(default)]
    pub egress: Vec<SecurityGroupRule>,
}

/// The rules a security group holds in each direction by default (Amazon VPC User
/// Guide, "Amazon VPC quotas": "Inbound or outbound rules per security group", 60,
/// adjustable). Each CIDR block of a rule is a rule of its own to EC2.
pub const MAX_RULES_PER_DIRECTION: usize = 60;

impl ResourceSpec for SecurityGroupSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        use crate::names::{SECURITY_GROUP, SECURITY_GROUP_DESCRIPTION};
        SECURITY_GROUP.check(cx, "name", &self.name);
        SECURITY_GROUP_DESCRIPTION.check(cx, "description", &self.description);
        for (dir, rules) in [("ingress", &self.ingress), ("egress", &self.egress)] {
            let count: usize = rules.iter().map(|r| r.cidr_blocks.len().max(1)).sum();
            if count > MAX_RULES_PER_DIRECTION {
                cx.error(
                    dir,
                    format!(
                        "{count} {dir} rules (one per CIDR block): a security group holds at most {MAX_RULES_PER_DIRECTION} in each direction by default (Amazon VPC quotas: \"Inbound or outbound rules per security group\", 60); merge CIDR blocks or split the rules over more groups"
                    ),
                );
            }
            for (i, r) in rules.iter().enumerate() {
                let at = format!("{dir}[{i}]");
                if !r.description.is_empty() {
                    crate::names::SECURITY_GROUP_RULE_DESCRIPTION.check(
                        cx,
                        &format!("{at}.description"),
                        &r.description,
                    );
                }
                if r.protocol != IpProtocol::All
                    && (r.from_port > r.to_port || r.from_port < 0 || r.to_port > 65535)
                {
                    cx.error(
                        &format!("{at}.from_port"),
                        format!("invalid port range {}-{}", r.from_port, r.to_port),
                    );
                }
                if r.cidr_blocks.is_empty() {
                    cx.error(
                        &format!("{at}.cidr_blocks"),
                        "a rule needs at least one CIDR block",
                    );
                }
                for c in &r.cidr_blocks {
                    if c.parse::<Ipv4Net>().is_err() {
                        cx.error(
                            &format!("{at}.cidr_blocks"),
                            format!("`{c}` is not a valid IPv4 CIDR block"),
                        );
                    }
                }
            }
        }
    }
}

closed_set! {
    /// The type of a VPC endpoint, spelt as AWS's `VpcEndpointType` takes it.
    VpcEndpointType, "VPC endpoint type" {
        /// `Gateway`: S3 or DynamoDB, reached through route tables.
        Gateway = "Gateway",
        /// `Interface`: PrivateLink network interfaces in subnets.
        Interface = "Interface",
    }
}

/// A VPC endpoint: `Gateway` (S3, DynamoDB) on route tables, or `Interface` in subnets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/vpc-endpoint", outputs(id: String))]
pub struct VpcEndpointSpec {
    #[resource(replace, unique)]
    /// The VPC. Forces replacement.
    pub vpc_id: Input<String>,
    #[resource(replace, unique)]
    /// Service name (`com.amazonaws.us-east-1.s3`). Forces replacement.
    pub service_name: String,
    #[resource(replace)]
    /// `Gateway` or `Interface`. Forces replacement.
    pub endpoint_type: VpcEndpointType,
    /// Route tables of a gateway endpoint (ModifyVpcEndpoint).
    #[serde(default)]
    pub route_table_ids: Vec<Input<String>>,
    /// Subnets of an interface endpoint (ModifyVpcEndpoint).
    #[serde(default)]
    pub subnet_ids: Vec<Input<String>>,
    /// Security groups of an interface endpoint (ModifyVpcEndpoint).
    #[serde(default)]
    pub security_group_ids: Vec<Input<String>>,
    /// Private DNS for an interface endpoint (ModifyVpcEndpoint).
    #[serde(default)]
    pub private_dns_enabled: bool,
}

impl ResourceSpec for VpcEndpointSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        match self.endpoint_type {
            VpcEndpointType::Gateway => {
                if self.route_table_ids.is_empty() {
                    cx.error("route_table_ids", "a gateway endpoint needs route tables");
                }
            }
            VpcEndpointType::Interface => {
                if self.subnet_ids.is_empty() {
                    cx.error("subnet_ids", "an interface endpoint needs subnets");
                }
            }
        }
        let prefix = format!("com.amazonaws.{}.", cx.region());
        if !self.service_name.starts_with(&prefix) {
            let region = cx.region().to_string();
            cx.error(
                "service_name",
                format!(
                    "`{}` is not a service of {region} (expected `{prefix}...`)",
                    self.service_name
                ),
            );
        }
    }
}

closed_set! {
    /// The traffic a flow log records (AWS spelling: `ALL`, `ACCEPT`, `REJECT`).
    FlowLogTraffic, "flow log traffic type" {
        /// Accepted and rejected traffic.
        All = "ALL",
        /// Accepted traffic only.
        Accept = "ACCEPT",
        /// Rejected traffic only.
        Reject = "REJECT",
    }
}

/// The aggregation intervals, in seconds, that CreateFlowLogs accepts.
pub const FLOW_LOG_INTERVALS: [i32; 2] = [60, 600];

/// A VPC flow log delivered to a CloudWatch Logs log group.
///
/// AWS has no call that modifies a flow log: every field forces replacement, and
/// only its tags change in place (CreateTags / DeleteTags on its `fl-` id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:ec2/flow-log", outputs(id: String))]
pub struct FlowLogSpec {
    #[resource(replace, unique)]
    /// The VPC whose traffic is recorded. Forces replacement.
    pub vpc_id: Input<String>,
    #[resource(replace)]
    /// `ALL`, `ACCEPT` or `REJECT`. Forces replacement.
    pub traffic_type: FlowLogTraffic,
    #[resource(replace, unique)]
    /// The destination log group's ARN (same region). Forces replacement.
    pub log_group_arn: Input<String>,
    #[resource(replace)]
    /// The role the flow logs service assumes to write to the group (trusting
    /// `vpc-flow-logs.amazonaws.com`). Forces replacement.
    pub delivery_role_arn: Input<String>,
    #[resource(replace)]
    /// Seconds over which a flow record is aggregated: 60 or 600. Forces replacement.
    pub max_aggregation_interval: i32,
}

impl FlowLogSpec {
    /// A flow log of every packet of `vpc_id`, aggregated over 10 minutes (AWS's default).
    pub fn all_traffic(
        vpc_id: Input<String>,
        log_group_arn: Input<String>,
        delivery_role_arn: Input<String>,
    ) -> Self {
        FlowLogSpec {
            vpc_id,
            traffic_type: FlowLogTraffic::All,
            log_group_arn,
            delivery_role_arn,
            max_aggregation_interval: 600,
        }
    }
}

impl ResourceSpec for FlowLogSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if !FLOW_LOG_INTERVALS.contains(&self.max_aggregation_interval) {
            cx.error(
                "max_aggregation_interval",
                format!(
                    "must be 60 or 600 seconds, got {}",
                    self.max_aggregation_interval
                ),
            );
        }
        // The VPC and the log group must be in the flow log's own region.
        let region = cx.region().to_string();
        let elsewhere: Vec<(&str, String, String)> = [
            ("vpc_id", &self.vpc_id),
            ("log_group_arn", &self.log_group_arn),
        ]
        .into_iter()
        .filter_map(|(field, input)| {
            let decl = cx.referenced(input)?;
            (decl.region != region).then(|| (field, decl.id.clone(), decl.region.clone()))
        })
        .collect();
        for (field, id, other) in elsewhere {
            cx.error(
                field,
                format!("`{id}` is in {other}; a flow log in {region} needs it in {region}"),
            );
        }
        if let Some(decl) = cx.referenced(&self.vpc_id) {
            if decl.kind != <VpcSpec as crate::stack::Declared>::KIND {
                let (id, kind) = (decl.id.clone(), decl.kind);
                cx.error("vpc_id", format!("`{id}` ({kind}) is not a VPC"));
            }
        }
        if let Input::Value(arn) = &self.log_group_arn {
            if !arn.starts_with("arn:") || !arn.contains(":log-group:") {
                cx.error(
                    "log_group_arn",
                    format!("`{arn}` is not a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>)"),
                );
            }
        }
    }
}
