//! Security groups and their rules.
//!
//! A group's rules are made exactly the spec's: nothing is open by default, so the
//! allow-all egress rule AWS adds to every new VPC group is revoked unless the spec
//! has it. Rules are compared one CIDR at a time (AWS's own rule model, as
//! DescribeSecurityGroupRules reports it): a rule is identified by direction,
//! protocol, port range and IPv4 CIDR; its description is updated in place.

use super::{arn, describe_owned, describe_stack, filter, pick, settle, tag_specification, Tagged};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{required, resolved_str, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, SecurityGroup, SecurityGroupRule};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{
    IpProtocol, SecurityGroupOutputs, SecurityGroupRule as RuleSpec, SecurityGroupSpec,
};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;

/// The driver of `aws:ec2/security-group`.
pub(crate) struct SecurityGroupDriver;

/// The identity of one rule: direction, protocol, port range and IPv4 CIDR.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct RuleKey {
    /// An egress rule (else ingress).
    pub(super) egress: bool,
    /// `tcp`, `udp`, `icmp`, `-1`, or a protocol number AWS reports.
    pub(super) protocol: String,
    /// First port (`-1` for all protocols).
    pub(super) from_port: i32,
    /// Last port (`-1` for all protocols).
    pub(super) to_port: i32,
    /// The IPv4 CIDR.
    pub(super) cidr: String,
}

/// Protocols as AWS reports them: names for tcp, udp and icmp; `-1` for all.
fn normalise_protocol(protocol: &str) -> String {
    match protocol.to_ascii_lowercase().as_str() {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "all" => "-1".into(),
        other => other.to_string(),
    }
}

impl RuleKey {
    fn new(egress: bool, protocol: &str, from_port: i32, to_port: i32, cidr: &str) -> RuleKey {
        let protocol = normalise_protocol(protocol);
        // AWS ignores the ports of an all-protocols rule and reports -1 for both.
        let (from_port, to_port) = if protocol == "-1" {
            (-1, -1)
        } else {
            (from_port, to_port)
        };
        RuleKey {
            egress,
            protocol,
            from_port,
            to_port,
            cidr: cidr.to_string(),
        }
    }

    /// The rule as an IpPermission for Authorize/Revoke/UpdateSecurityGroupRuleDescriptions.
    fn permission(&self, description: &str) -> IpPermission {
        let mut range = IpRange::builder().cidr_ip(&self.cidr);
        if !description.is_empty() {
            range = range.description(description);
        }
        let mut p = IpPermission::builder()
            .ip_protocol(&self.protocol)
            .ip_ranges(range.build());
        if self.protocol != "-1" {
            p = p.from_port(self.from_port).to_port(self.to_port);
        }
        p.build()
    }

    fn describe(&self) -> String {
        format!(
            "{} {} {}-{} {}",
            if self.egress { "egress" } else { "ingress" },
            self.protocol,
            self.from_port,
            self.to_port,
            self.cidr
        )
    }
}

/// The rules the spec asks for in one direction, with their descriptions
/// (one per CIDR; the first description of a repeated rule wins).
pub(super) fn desired_rules(egress: bool, rules: &[RuleSpec]) -> BTreeMap<RuleKey, String> {
    let mut out = BTreeMap::new();
    for rule in rules {
        for cidr in &rule.cidr_blocks {
            out.entry(RuleKey::new(
                egress,
                rule.protocol.as_str(),
                rule.from_port,
                rule.to_port,
                cidr,
            ))
            .or_insert_with(|| rule.description.clone());
        }
    }
    out
}

/// A live rule's key, when it is an IPv4 CIDR rule (the only kind a spec can hold).
fn live_key(rule: &SecurityGroupRule) -> Option<RuleKey> {
    Some(RuleKey::new(
        rule.is_egress()?,
        rule.ip_protocol()?,
        rule.from_port().unwrap_or(-1),
        rule.to_port().unwrap_or(-1),
        rule.cidr_ipv4()?,
    ))
}

/// The IPv4 CIDR rules of `permissions` (one direction, as DescribeSecurityGroups
/// lists them: one permission per protocol and port range, holding several
/// ranges), one per CIDR with its description, in the order AWS lists them. IPv6,
/// prefix-list and group-reference rules are left out: a spec cannot hold them.
fn permission_rules(egress: bool, permissions: &[IpPermission]) -> Vec<(RuleKey, String)> {
    let mut rules: Vec<(RuleKey, String)> = Vec::new();
    for p in permissions {
        let protocol = p.ip_protocol().unwrap_or("-1");
        let (from, to) = (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
        for range in p.ip_ranges() {
            let Some(cidr) = range.cidr_ip() else {
                continue;
            };
            let key = RuleKey::new(egress, protocol, from, to, cidr);
            if !rules.iter().any(|(k, _)| *k == key) {
                let description = range.description().unwrap_or_default().to_string();
                rules.push((key, description));
            }
        }
    }
    rules
}

/// The rules of one direction of a live group, as a spec's list: the `recorded`
/// list itself when the group has exactly its rules (AWS groups and orders them
/// its own way, which is not drift); otherwise each recorded rule with the CIDRs
/// it still has (same protocol, ports and description), in the recorded order,
/// then the group's other rules, one per protocol, port range and description.
/// A rule of a protocol the spec cannot name (say, `50`) is left out.
fn live_rule_list(
    egress: bool,
    permissions: &[IpPermission],
    recorded: Option<&[RuleSpec]>,
) -> Vec<RuleSpec> {
    let mut rest = permission_rules(egress, permissions);
    if let Some(recorded) = recorded {
        let live: BTreeMap<RuleKey, String> = rest.iter().cloned().collect();
        if desired_rules(egress, recorded) == live {
            return recorded.to_vec();
        }
    }
    let mut rules = Vec::new();
    for rule in recorded.unwrap_or_default() {
        let mut cidrs = Vec::new();
        for cidr in &rule.cidr_blocks {
            let key = RuleKey::new(
                egress,
                rule.protocol.as_str(),
                rule.from_port,
                rule.to_port,
                cidr,
            );
            if let Some(at) = rest
                .iter()
                .position(|(k, d)| *k == key && *d == rule.description)
            {
                rest.remove(at);
                cidrs.push(cidr.clone());
            }
        }
        if !cidrs.is_empty() {
            rules.push(RuleSpec {
                cidr_blocks: cidrs,
                ..rule.clone()
            });
        }
    }
    // The other rules are gathered in rules of their own, after the recorded ones.
    let kept = rules.len();
    for (key, description) in rest {
        let same = |r: &&mut RuleSpec| {
            r.protocol.as_str() == key.protocol
                && (r.from_port, r.to_port) == (key.from_port, key.to_port)
                && r.description == description
        };
        if let Some(r) = rules[kept..].iter_mut().find(same) {
            r.cidr_blocks.push(key.cidr);
        } else if let Ok(protocol) = key.protocol.parse::<IpProtocol>() {
            rules.push(RuleSpec {
                protocol,
                from_port: key.from_port,
                to_port: key.to_port,
                cidr_blocks: vec![key.cidr],
                description,
            });
        }
    }
    rules
}

/// What must change to make the live rules of one direction the desired ones.
#[derive(Debug, Default, PartialEq)]
pub(super) struct RuleDiff {
    /// Rules to authorize, with their descriptions.
    pub(super) authorize: Vec<(RuleKey, String)>,
    /// Rules whose description must change, with the new one.
    pub(super) describe: Vec<(RuleKey, String)>,
    /// Ids of live rules to revoke (every rule the spec does not have, IPv6,
    /// prefix-list and group-reference rules included).
    pub(super) revoke: Vec<String>,
}

/// What turns the `live` rules of one direction into the `desired` ones.
pub(super) fn diff_rules(
    egress: bool,
    desired: &BTreeMap<RuleKey, String>,
    live: &[SecurityGroupRule],
) -> RuleDiff {
    let mut diff = RuleDiff::default();
    let mut seen = BTreeMap::new();
    for rule in live.iter().filter(|r| r.is_egress() == Some(egress)) {
        match live_key(rule).filter(|k| desired.contains_key(k)) {
            Some(key) => {
                seen.insert(key, rule.description().unwrap_or_default().to_string());
            }
            None => diff
                .revoke
                .extend(rule.security_group_rule_id().map(str::to_string)),
        }
    }
    for (key, description) in desired {
        match seen.get(key) {
            None => diff.authorize.push((key.clone(), description.clone())),
            Some(live) if live != description => {
                diff.describe.push((key.clone(), description.clone()))
            }
            Some(_) => {}
        }
    }
    diff
}

/// Every rule of the group (both directions).
async fn live_rules(ec2: &Client, group_id: &str) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    ec2.describe_security_group_rules()
        .filters(filter("group-id", group_id))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify(&format!("DescribeSecurityGroupRules {group_id}"), e))
}

/// One direction (ingress or egress) of one security group: what the rule calls
/// below change.
struct Direction<'a> {
    ec2: &'a Client,
    group_id: &'a str,
    egress: bool,
}

/// Sends the egress or the ingress call of a pair (`$egress_op` / `$ingress_op`),
/// as `$dir` says: the two are distinct operations with distinct builder types
/// whose requests are built alike, by `$build` from `$req`. The error is
/// classified as `$what`.
macro_rules! send_directed {
    ($dir:expr, $egress_op:ident / $ingress_op:ident, $what:expr, |$req:ident| $build:expr) => {
        if $dir.egress {
            let $req = $dir.ec2.$egress_op().group_id($dir.group_id);
            $build
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify($what, e))
        } else {
            let $req = $dir.ec2.$ingress_op().group_id($dir.group_id);
            $build
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify($what, e))
        }
    };
}

impl Direction<'_> {
    /// `operation`'s call in this direction and the group, as errors name it
    /// (`AuthorizeSecurityGroupEgress sg-1`).
    fn call(&self, operation: &str) -> String {
        let direction = if self.egress { "Egress" } else { "Ingress" };
        format!("{operation}{direction} {}", self.group_id)
    }

    /// Authorizes `rules` in one call; when one of them exists already (a retry, or a
    /// CIDR AWS stored in another spelling), one call per rule, each tolerating that.
    async fn authorize(&self, rules: &[(RuleKey, String)]) -> Result<(), ProviderError> {
        if rules.is_empty() {
            return Ok(());
        }
        let what = &self.call("AuthorizeSecurityGroup");
        let send = |perms: Vec<IpPermission>| async move {
            let res = send_directed!(
                self,
                authorize_security_group_egress / authorize_security_group_ingress,
                what,
                |req| req.set_ip_permissions(Some(perms))
            );
            match res {
                Err(e) if e.has_code(&["InvalidPermission.Duplicate"]) => Ok(false),
                Err(e) => Err(e),
                Ok(()) => Ok(true),
            }
        };
        let all = rules.iter().map(|(k, d)| k.permission(d)).collect();
        if send(all).await? || rules.len() == 1 {
            return Ok(());
        }
        for (key, description) in rules {
            send(vec![key.permission(description)]).await?;
        }
        Ok(())
    }

    /// Revokes the rules `ids` in one call; when one is gone already, one call per
    /// rule, each tolerating that.
    async fn revoke(&self, ids: &[String]) -> Result<(), ProviderError> {
        if ids.is_empty() {
            return Ok(());
        }
        let send = |ids: Vec<String>| async move {
            let what = format!("{} {ids:?}", self.call("RevokeSecurityGroup"));
            send_directed!(
                self,
                revoke_security_group_egress / revoke_security_group_ingress,
                &what,
                |req| req.set_security_group_rule_ids(Some(ids))
            )
        };
        match send(ids.to_vec()).await {
            Err(e) if e.class == ErrorClass::NotFound && ids.len() > 1 => {
                for id in ids {
                    send(vec![id.clone()]).await.or_gone()?;
                }
                Ok(())
            }
            other => other.or_gone(),
        }
    }

    /// Sets (or, with an empty description, removes) the descriptions of existing rules.
    async fn update_descriptions(&self, rules: &[(RuleKey, String)]) -> Result<(), ProviderError> {
        if rules.is_empty() {
            return Ok(());
        }
        let perms: Vec<IpPermission> = rules.iter().map(|(k, d)| k.permission(d)).collect();
        send_directed!(
            self,
            update_security_group_rule_descriptions_egress
                / update_security_group_rule_descriptions_ingress,
            &self.call("UpdateSecurityGroupRuleDescriptions"),
            |req| req.set_ip_permissions(Some(perms))
        )
    }
}

/// Makes the group's rules of the directions asked for exactly the spec's:
/// authorize what is missing first (so a changed rule never leaves a gap), then
/// fix descriptions, then revoke what the spec does not have.
async fn reconcile_rules(
    ec2: &Client,
    group_id: &str,
    spec: &SecurityGroupSpec,
    ingress: bool,
    egress: bool,
) -> Result<(), ProviderError> {
    if !ingress && !egress {
        return Ok(());
    }
    let live = live_rules(ec2, group_id).await?;
    for (is_egress, wanted, rules) in [
        (false, ingress, &spec.ingress),
        (true, egress, &spec.egress),
    ] {
        if !wanted {
            continue;
        }
        let diff = diff_rules(is_egress, &desired_rules(is_egress, rules), &live);
        if !diff.authorize.is_empty() || !diff.revoke.is_empty() {
            tracing::debug!(
                group = group_id,
                authorize = ?diff.authorize.iter().map(|(k, _)| k.describe()).collect::<Vec<_>>(),
                revoke = ?diff.revoke,
                "security group rules"
            );
        }
        let direction = Direction {
            ec2,
            group_id,
            egress: is_egress,
        };
        direction.authorize(&diff.authorize).await?;
        direction.update_descriptions(&diff.describe).await?;
        direction.revoke(&diff.revoke).await?;
    }
    Ok(())
}

fn outputs(region: &str, group: &SecurityGroup) -> Result<SecurityGroupOutputs, ProviderError> {
    let id = required(group.group_id(), "security group id")?;
    let arn = match group.security_group_arn() {
        Some(arn) => arn.to_string(),
        None => arn(
            region,
            required(group.owner_id(), "security group owner id")?,
            "security-group",
            id,
        ),
    };
    Ok(SecurityGroupOutputs {
        id: id.to_string(),
        arn,
    })
}

/// Describes one group; NotFound while it is not visible yet (or gone).
async fn describe_group(ec2: &Client, id: &str) -> Result<SecurityGroup, ProviderError> {
    let out = ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeSecurityGroups {id}"), e))?;
    out.security_groups().first().cloned().ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("security group {id} is not visible"),
        )
    })
}

#[async_trait]
impl Driver for SecurityGroupDriver {
    type Spec = SecurityGroupSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<SecurityGroupSpec>,
    ) -> Result<Option<SecurityGroupOutputs>, ProviderError> {
        let found = describe_owned(c.ec2(&r.region).describe_security_groups(), r).await?;
        pick(r, found)?.map(|g| outputs(&r.region, &g)).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<SecurityGroupSpec>,
    ) -> Result<SecurityGroupOutputs, ProviderError> {
        let ec2 = &c.ec2(&r.region);
        let spec = &r.spec;
        let vpc_id = resolved_str(&spec.vpc_id, "vpc_id")?;
        let tags = &tag_specification(ResourceType::SecurityGroup, r)?;
        // The VPC was made a moment ago: it may not be visible yet.
        let created = settle("CreateSecurityGroup", || async move {
            let res = ec2
                .create_security_group()
                .group_name(&spec.name)
                .description(&spec.description)
                .vpc_id(vpc_id)
                .tag_specifications(tags.clone())
                .send()
                .await;
            res.map_err(|e| {
                let err = classify(&format!("CreateSecurityGroup {}", spec.name), e);
                if err.class != ErrorClass::AlreadyExists {
                    return err;
                }
                // `find` looked for our ownership tags first and saw none.
                let why = format!(
                    "a security group named `{}` exists in {vpc_id} without this resource's ownership tags: it belongs to someone else",
                    spec.name
                );
                err.reclassified(ErrorClass::AlreadyExists, &why)
            })
        })
        .await?;
        let id = required(created.group_id(), "CreateSecurityGroup group id")?;
        // A new group may not be visible at once; once it is, it carries AWS's
        // default egress rule, which the reconcile below revokes unless the spec has it.
        let group = settle(&format!("security group {id} to be visible"), || {
            describe_group(ec2, id)
        })
        .await?;
        let out = outputs(&r.region, &group)?;
        reconcile_rules(ec2, id, spec, true, true).await?;
        Ok(out)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<SecurityGroupSpec>,
        r: &Desired<SecurityGroupSpec>,
        changed: Changed<'_>,
    ) -> Result<SecurityGroupOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let id = &prior.outputs.id;
        let (ingress, egress) = (changed.has("ingress"), changed.has("egress"));
        reconcile_rules(&ec2, id, &r.spec, ingress, egress).await?;
        tags::update(&ec2, id, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeSecurityGroups for the stack: name, description, VPC and every
    /// rule are in it (rules as AWS groups them, mapped back to the spec's list,
    /// see [`live_rule_list`]). Rules a spec cannot hold (IPv6, prefix lists,
    /// other groups, other protocols) are not read, so they never show as drift.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<SecurityGroupSpec>,
    ) -> Result<Option<Vec<Live<SecurityGroupSpec>>>, ProviderError> {
        let ec2 = c.ec2(&scope.region);
        let mut live = Vec::new();
        for group in describe_stack(ec2.describe_security_groups(), &scope.stack).await? {
            let tags = group.tag_map();
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            let recorded = scope.recorded_spec(&id);
            let was = recorded.as_ref();
            let spec = SecurityGroupSpec {
                vpc_id: required(group.vpc_id(), "security group VPC id")?
                    .to_string()
                    .into(),
                name: required(group.group_name(), "security group name")?.to_string(),
                description: group.description().unwrap_or_default().to_string(),
                ingress: live_rule_list(false, group.ip_permissions(), was.map(|s| &s.ingress[..])),
                egress: live_rule_list(
                    true,
                    group.ip_permissions_egress(),
                    was.map(|s| &s.egress[..]),
                ),
            };
            live.push(Live {
                id,
                outputs: outputs(&scope.region, &group)?,
                tags,
                spec: Some(spec),
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<SecurityGroupSpec>,
    ) -> Result<(), ProviderError> {
        let id = &prior.outputs.id;
        // DependencyViolation (network interfaces of deleted services linger for a
        // while, or another group's rule still references this one) is Retryable.
        c.ec2(&prior.region)
            .delete_security_group()
            .group_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteSecurityGroup {id}"), e))
            .or_gone()
    }
}
