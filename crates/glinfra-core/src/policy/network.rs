//! Network rules: buckets block public access, no ingress from anywhere, flow logs.

use super::baseline::undeclared;
use super::{Baseline, Finding, Subject};
use crate::spec::ec2::{FlowLogSpec, SecurityGroupSpec, VpcSpec};
use crate::spec::s3::BucketSpec;
use std::collections::BTreeSet;

/// Every bucket blocks public access (all four settings).
pub(super) fn bucket_public_access(s: &Subject<'_>, _: &Baseline) -> Vec<Finding> {
    s.specs::<BucketSpec>()
        .filter(|(_, b)| !b.block_public_access)
        .map(|(d, _)| {
            Finding::new(
                &d.id,
                "block_public_access",
                "the bucket does not block public access: set `block_public_access`",
            )
        })
        .collect()
}

/// True for a CIDR block that means anywhere.
fn anywhere(cidr: &str) -> bool {
    matches!(cidr.trim(), "0.0.0.0/0" | "::/0")
}

/// No security-group ingress from 0.0.0.0/0 or ::/0, except in the groups
/// `public_ingress` names.
pub(super) fn open_ingress(s: &Subject<'_>, p: &Baseline) -> Vec<Finding> {
    let mut out = undeclared(s, &p.public_ingress, "public_ingress");
    for (d, sg) in s.specs::<SecurityGroupSpec>() {
        if p.public_ingress.contains(&d.id) {
            continue;
        }
        for (i, rule) in sg.ingress.iter().enumerate() {
            for cidr in rule.cidr_blocks.iter().filter(|c| anywhere(c)) {
                out.push(Finding::new(
                    &d.id,
                    format!("ingress[{i}].cidr_blocks"),
                    format!(
                        "ports {}-{} are open to {cidr}: narrow the source, or name `{}` in the policy's public-ingress exceptions if it must be public",
                        rule.from_port, rule.to_port, d.id
                    ),
                ));
            }
        }
    }
    out
}

/// Every VPC has a flow log (a declared flow log whose `vpc_id` is its id).
pub(super) fn flow_logs(s: &Subject<'_>, _: &Baseline) -> Vec<Finding> {
    let logged: BTreeSet<&str> = s
        .declarations()
        .iter()
        .filter(|d| d.kind == <FlowLogSpec as crate::Declared>::KIND)
        .flat_map(|d| d.references())
        .filter(|r| r.output == "id")
        .filter_map(|r| s.get(&r.resource))
        .filter(|d| d.kind == <VpcSpec as crate::Declared>::KIND)
        .map(|d| d.id.as_str())
        .collect();
    s.specs::<VpcSpec>()
        .filter(|(d, _)| !logged.contains(d.id.as_str()))
        .map(|(d, _)| {
            Finding::new(
                &d.id,
                "",
                "the VPC has no flow log: declare a flow log of it (`FlowLogSpec`)",
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{findings, findings_with};
    use super::super::{Baseline, Rule};
    use crate::spec::ec2::{
        FlowLogSpec, FlowLogTraffic, IpProtocol, SecurityGroupRule, SecurityGroupSpec, VpcSpec,
    };
    use crate::spec::s3::BucketSpec;
    use crate::{Input, Stack};

    fn group(vpc: Input<String>, name: &str, cidr: &str) -> SecurityGroupSpec {
        SecurityGroupSpec {
            vpc_id: vpc,
            name: name.into(),
            description: "d".into(),
            ingress: vec![SecurityGroupRule {
                protocol: IpProtocol::Tcp,
                from_port: 443,
                to_port: 443,
                cidr_blocks: vec![cidr.into()],
                description: "d".into(),
            }],
            egress: Vec::new(),
        }
    }

    #[test]
    fn ingress_from_anywhere_is_refused_unless_excepted() {
        let mut stack = Stack::new("t", "us-east-1");
        let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
        stack.add("sg-private", group(vpc.id(), "a", "10.0.0.0/16"));
        stack.add("sg-v4", group(vpc.id(), "b", "0.0.0.0/0"));
        stack.add("sg-v6", group(vpc.id(), "c", "::/0"));
        stack.add("sg-lb", group(vpc.id(), "d", "0.0.0.0/0"));
        let mut params = Baseline::strict();
        params.public_ingress.insert("sg-lb".into());
        params.public_ingress.insert("sg-gone".into());
        let found = findings_with(&stack, Rule::OpenIngress, &params);
        assert_eq!(
            found,
            vec![
                ("sg-gone".into(), "".into()),
                ("sg-v4".into(), "ingress[0].cidr_blocks".into()),
                ("sg-v6".into(), "ingress[0].cidr_blocks".into()),
            ]
        );
    }

    #[test]
    fn every_vpc_needs_a_flow_log() {
        let mut stack = Stack::new("t", "us-east-1");
        let logged = stack.add("vpc-logged", VpcSpec::new("10.0.0.0/16"));
        stack.add("vpc-dark", VpcSpec::new("10.1.0.0/16"));
        stack.add(
            "flow",
            FlowLogSpec {
                vpc_id: logged.id(),
                traffic_type: FlowLogTraffic::All,
                log_group_arn: Input::from("arn:aws:logs:us-east-1:1:log-group:x"),
                delivery_role_arn: Input::from("arn:aws:iam::1:role/x"),
                max_aggregation_interval: 600,
            },
        );
        assert_eq!(
            findings(&stack, Rule::VpcFlowLogs),
            vec![("vpc-dark".into(), "".into())]
        );
    }

    #[test]
    fn buckets_block_public_access() {
        let mut stack = Stack::new("t", "us-east-1");
        let mut closed = BucketSpec::new("closed-bucket-1");
        closed.block_public_access = true;
        stack.add("closed", closed);
        let mut open = BucketSpec::new("open-bucket-1");
        open.block_public_access = false;
        stack.add("open", open);
        assert_eq!(
            findings(&stack, Rule::BucketPublicAccess),
            vec![("open".into(), "block_public_access".into())]
        );
    }
}
