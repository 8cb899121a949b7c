//! The security services (seed 8.1) against the emulator named by `AWS_ENDPOINT_URL`
//! (started by `scripts/test`): a KMS key rotating every 90 days, the GuardDuty
//! detector, Security Hub with the CIS standard, Inspector, the regional WAF web ACL
//! and Shield Advanced are applied through `glinfra::Session`, read back through the
//! AWS SDK, re-planned to no changes, changed in place, and destroyed. Nothing here
//! skips: without an endpoint, the test fails.
//!
//! These services are one per account and region, so the stack lives in a region no
//! other test uses (us-east-2). Shield Advanced cannot be ended through the API: the
//! destroy forgets it (`retain_on_delete`) and it stays in the emulator's account.

mod common;
#[path = "common/security_stack.rs"]
mod security_stack;

use common::{nonce, sdk, Run};
use glinfra::core::{Lifecycle, ResourceOptions};
use glinfra::spec::shield::{AutoRenew, ShieldSubscriptionSpec};
use glinfra::Stack;
use security_stack::{GROUPS, REGION};

/// The focused stack, with Shield Advanced (kept in AWS by a destroy); `changed`
/// moves one setting of each kind that changes in place.
fn stack(name: &str, changed: bool) -> Stack {
    let mut stack = security_stack::services(name, "security-services", changed);
    stack.add_with(
        "shield",
        ShieldSubscriptionSpec {
            auto_renew: AutoRenew::Enabled,
        },
        ResourceOptions {
            lifecycle: Lifecycle {
                retain_on_delete: true,
                ..Lifecycle::default()
            },
            ..ResourceOptions::default()
        },
    );
    stack
}

fn in_region(config: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    config
        .to_builder()
        .region(aws_config::Region::new(REGION))
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn security_services_apply_read_back_change_in_place_and_destroy() {
    let name = format!("it-sec-{}", nonce());
    let first = stack(&name, false);
    let run = Run::new().await;

    let (plan, _) = run.up(&first).await;
    assert_eq!(plan.summary.create, first.declarations().len());
    let out = run.outputs(&first);
    let config = in_region(&sdk().await);

    // KMS: rotation every 90 days.
    let kms = aws_sdk_kms::Client::new(&config);
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&out["kms.key_id"])
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());
    assert_eq!(rotation.rotation_period_in_days(), Some(90));

    // GuardDuty: the account's one detector, ours by its tags.
    let gd = aws_sdk_guardduty::Client::new(&config);
    let detector = &out["guardduty.detector_id"];
    assert_eq!(
        gd.list_detectors().send().await.unwrap().detector_ids(),
        std::slice::from_ref(detector)
    );
    let d = gd
        .get_detector()
        .detector_id(detector)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.finding_publishing_frequency().map(|f| f.as_str()),
        Some("FIFTEEN_MINUTES")
    );
    assert_eq!(d.tags().unwrap()["glinfra:stack"], name);
    let mut on: Vec<&str> = d
        .features()
        .iter()
        .filter(|f| f.status().map(|s| s.as_str()) == Some("ENABLED"))
        .filter_map(|f| f.name().map(|n| n.as_str()))
        .collect();
    on.sort();
    assert_eq!(on, ["EKS_AUDIT_LOGS", "S3_DATA_EVENTS"]);
    assert!(out["guardduty.arn"].ends_with(&format!(":detector/{detector}")));

    // Security Hub: enabled without AWS's default standards, the CIS standard READY.
    let hub = aws_sdk_securityhub::Client::new(&config);
    let described = hub.describe_hub().send().await.unwrap();
    assert_eq!(
        described.hub_arn(),
        Some(out["securityhub.hub_arn"].as_str())
    );
    assert_eq!(described.auto_enable_controls(), Some(true));
    let standards = hub.get_enabled_standards().send().await.unwrap();
    let subscribed: Vec<(&str, &str)> = standards
        .standards_subscriptions()
        .iter()
        .map(|s| {
            (
                s.standards_arn().unwrap(),
                s.standards_status().unwrap().as_str(),
            )
        })
        .collect();
    assert_eq!(
        subscribed,
        [(
            "arn:aws:securityhub:us-east-2::standards/cis-aws-foundations-benchmark/v/3.0.0",
            "READY"
        )]
    );
    let hub_tags = hub
        .list_tags_for_resource()
        .resource_arn(&out["securityhub.hub_arn"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        hub_tags.tags().unwrap()["glinfra:logical-id"],
        "securityhub"
    );

    // Inspector: EC2 and ECR scanned.
    let ins = aws_sdk_inspector2::Client::new(&config);
    let scanning = |status: aws_sdk_inspector2::operation::batch_get_account_status::BatchGetAccountStatusOutput| {
        let r = status.accounts()[0].resource_state().unwrap().clone();
        (
            r.ec2().unwrap().status().as_str().to_string(),
            r.ecr().unwrap().status().as_str().to_string(),
        )
    };
    let status = ins.batch_get_account_status().send().await.unwrap();
    assert_eq!(scanning(status), ("ENABLED".into(), "ENABLED".into()));

    // WAF: the regional web ACL with the three managed rule groups in order.
    let waf = aws_sdk_wafv2::Client::new(&config);
    let acl_name = format!("{name}-regional");
    let acl = waf
        .get_web_acl()
        .name(&acl_name)
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .id(&out["waf.id"])
        .send()
        .await
        .unwrap();
    let acl = acl.web_acl().unwrap();
    assert_eq!(acl.arn(), out["waf.arn"]);
    assert!(acl.default_action().unwrap().allow().is_some());
    let rules: Vec<(&str, i32)> = acl
        .rules()
        .iter()
        .map(|r| {
            (
                r.statement()
                    .unwrap()
                    .managed_rule_group_statement()
                    .unwrap()
                    .name(),
                r.priority(),
            )
        })
        .collect();
    assert_eq!(rules, [(GROUPS[0], 10), (GROUPS[1], 20), (GROUPS[2], 30)]);

    // Shield Advanced: the account's subscription (account-wide, us-east-1).
    let shield = aws_sdk_shield::Client::new(&sdk().await);
    let sub = shield.describe_subscription().send().await.unwrap();
    assert_eq!(
        sub.subscription().unwrap().subscription_arn(),
        Some(out["shield.subscription_arn"].as_str())
    );

    // A refresh reads everything back as declared: nothing to change.
    let quiet = run.plan_live(&first).await;
    assert!(quiet.is_empty(), "{}", glinfra::render::text(&quiet));

    // In place: the key's period, the detector's frequency, the hub's controls,
    // Inspector's types, one rule group's action.
    let second = stack(&name, true);
    let (plan, _) = run.up(&second).await;
    assert_eq!(
        (
            plan.summary.create,
            plan.summary.update,
            plan.summary.replace
        ),
        (0, 5, 0),
        "{}",
        glinfra::render::text(&plan)
    );
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&out["kms.key_id"])
        .send()
        .await
        .unwrap();
    assert_eq!(rotation.rotation_period_in_days(), Some(180));
    let d = gd
        .get_detector()
        .detector_id(detector)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.finding_publishing_frequency().map(|f| f.as_str()),
        Some("ONE_HOUR")
    );
    assert_eq!(
        hub.describe_hub()
            .send()
            .await
            .unwrap()
            .auto_enable_controls(),
        Some(false)
    );
    let status = ins.batch_get_account_status().send().await.unwrap();
    assert_eq!(scanning(status), ("DISABLED".into(), "ENABLED".into()));
    let acl = waf
        .get_web_acl()
        .name(&acl_name)
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .id(&out["waf.id"])
        .send()
        .await
        .unwrap();
    let counted: Vec<&str> = acl
        .web_acl()
        .unwrap()
        .rules()
        .iter()
        .filter(|r| r.override_action().and_then(|o| o.count()).is_some())
        .map(|r| r.name())
        .collect();
    assert_eq!(counted, [GROUPS[1]]);
    let quiet = run.plan_live(&second).await;
    assert!(quiet.is_empty(), "{}", glinfra::render::text(&quiet));

    // Destroy: every service off; Shield forgotten, still subscribed.
    run.destroy(&second).await;
    assert!(gd
        .list_detectors()
        .send()
        .await
        .unwrap()
        .detector_ids()
        .is_empty());
    assert!(hub.describe_hub().send().await.is_err());
    let status = ins.batch_get_account_status().send().await.unwrap();
    assert_eq!(scanning(status), ("DISABLED".into(), "DISABLED".into()));
    let acls = waf
        .list_web_acls()
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .send()
        .await
        .unwrap();
    assert!(!acls
        .web_acls()
        .iter()
        .any(|a| a.name() == Some(acl_name.as_str())));
    assert!(shield.describe_subscription().send().await.is_ok());
    assert!(run.state(&second).resources.is_empty());
}
