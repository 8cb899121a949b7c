//! The program of `docs/writing-a-stack.md`: a small stack written by hand, run
//! through the ready-made command line.
//!
//! `cargo run --example first-stack -- plan` (with `AWS_ENDPOINT_URL` set to an
//! emulator, or `--aws` for the account of the standard AWS configuration); no
//! subcommand plans and applies; `destroy --yes` removes it. The stack has no
//! environment file: `--env` is ignored.

use glinfra::core::lifecycle::Timeouts;
use glinfra::core::policy::{Finding, Severity, Subject};
use glinfra::spec::ec2::{IpProtocol, SecurityGroupRule, SecurityGroupSpec, SubnetSpec, VpcSpec};
use glinfra::spec::iam::IamRoleSpec;
use glinfra::spec::kms::KmsKeySpec;
use glinfra::spec::s3::{BucketEncryption, BucketSpec};
use glinfra::{Diagnostics, Input, ResourceGraph, ResourceOptions, Stack};
use serde_json::json;
use std::process::ExitCode;

/// A policy of our own: every bucket keeps its object versions.
fn versioned_buckets(subject: &Subject<'_>) -> Vec<Finding> {
    subject
        .specs::<BucketSpec>()
        .filter(|(_, bucket)| !bucket.versioning)
        .map(|(decl, _)| Finding::new(&decl.id, "versioning", "turn versioning on"))
        .collect()
}

/// Declares the stack. Pure: no AWS call, nothing read.
pub fn declare() -> Stack {
    let mut stack = Stack::new("first-stack", "us-east-1");
    // Checked with the other validation, and again on every plan: a mandatory
    // violation stops the run before any AWS call.
    stack.add_policy("versioned-buckets", Severity::Mandatory, versioned_buckets);
    // Tags every resource declared after this line carries.
    stack.tag("environment", "dev").tag("team", "platform");

    // A network: passing `vpc.id()` makes each subnet wait for the VPC.
    let vpc = stack.add("vpc", VpcSpec::new("10.30.0.0/16"));
    let mut subnets = Vec::new();
    for (i, zone) in ["us-east-1a", "us-east-1b"].into_iter().enumerate() {
        let subnet = SubnetSpec::new(vpc.id(), format!("10.30.{}.0/24", i), zone);
        subnets.push(stack.add(format!("subnet-{zone}"), subnet));
    }
    stack.add(
        "sg-app",
        SecurityGroupSpec {
            vpc_id: vpc.id(),
            name: "first-stack-app".into(),
            description: "HTTPS from inside the VPC".into(),
            ingress: vec![SecurityGroupRule {
                protocol: IpProtocol::Tcp,
                from_port: 443,
                to_port: 443,
                cidr_blocks: vec!["10.30.0.0/16".into()],
                description: "HTTPS".into(),
            }],
            egress: Vec::new(),
        },
    );

    // A key and a bucket encrypted with it. The key is protected: a plan that
    // would delete or replace it is refused as a whole, before any change.
    let key = stack.add_with(
        "data-key",
        KmsKeySpec::new("first-stack-data", "first-stack data"),
        ResourceOptions::protected(),
    );
    let mut data = BucketSpec::new("first-stack-data-dev-example");
    data.versioning = true;
    data.encryption = Some(BucketEncryption {
        kms_key_arn: Some(key.arn()),
        bucket_key_enabled: true,
    });
    data.policy = Some(BucketSpec::ssl_only_policy(&data.bucket));
    let bucket = stack.add("data", data);

    // Lifecycle options on a resource already declared: leave the bucket in AWS
    // when it is removed from the program, and bound its create and delete.
    if let Some(lifecycle) = stack.lifecycle_mut("data") {
        lifecycle.retain_on_delete = true;
        lifecycle.timeouts = Timeouts {
            create: Some(300),
            update: None,
            delete: Some(600),
        };
    }

    // A role whose inline policy names the bucket's objects: `Input::format` makes
    // the string at apply time from the bucket's ARN, and `to_json` places it in
    // the document (which makes the role wait for the bucket).
    let mut reader = IamRoleSpec::for_service("first-stack-reader", "ec2.amazonaws.com");
    reader.inline_policies.insert(
        "read-data".into(),
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": bucket.arn().format("{}/*").to_json(),
            }]
        }),
    );
    // A changed trust policy would be updated in place; ask for a new role instead.
    stack.add_with(
        "reader",
        reader,
        ResourceOptions {
            lifecycle: glinfra::core::Lifecycle {
                replace_on_changes: vec!["assume_role_policy".into()],
                delete_before_replace: true,
                ..Default::default()
            },
            ..Default::default()
        },
    );

    // Stack outputs, printed after an apply.
    stack.export("vpc_id", vpc.id());
    stack.export(
        "subnet_ids",
        Input::concat([subnets[0].id(), ",".into(), subnets[1].id()]),
    );
    stack.export("bucket_arn", bucket.arn());
    stack
}

/// Validates the declarations: every problem at once, before any AWS call.
pub fn build() -> Result<(Stack, ResourceGraph), Diagnostics> {
    let stack = declare();
    let graph = ResourceGraph::build(&stack)?;
    Ok((stack, graph))
}

fn main() -> ExitCode {
    // `run` hands the `--env` path to the closure; this program has no
    // environment file and ignores it.
    glinfra::cli::run("first-stack", |_env_file| build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stack_is_valid() {
        let (stack, graph) = super::build().expect("valid");
        assert_eq!(stack.declarations().len(), 7);
        assert!(graph.get("reader").is_some());
        // The role's policy refers to the bucket's ARN: it waits for the bucket.
        assert!(stack.get("reader").unwrap().dependencies().contains("data"));
    }

    #[test]
    fn the_policy_refuses_an_unversioned_bucket() {
        let mut stack = super::declare();
        stack.add(
            "scratch",
            super::BucketSpec::new("first-stack-scratch-dev-example"),
        );
        let err = glinfra::ResourceGraph::build(&stack).unwrap_err();
        assert!(
            err.to_string().contains(
                "resource `scratch`, field `versioning`: policy `versioned-buckets`: turn versioning on"
            ),
            "{err}"
        );
    }
}
