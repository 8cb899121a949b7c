//! The security services (seed 8.1) and the KMS key rotation changed behind
//! glinfra's back, against the emulator named by `AWS_ENDPOINT_URL`: after an
//! apply, a change made through the AWS SDK shows in the refreshed plan as drift
//! naming the field (`field: recorded → live`, or the resource deleted), the next
//! apply repairs it, and the plan after is empty. Nothing here skips: without an
//! endpoint, the tests fail.
//!
//! GuardDuty, Security Hub and Inspector are one per account and region, so each
//! test runs in an emulator account of its own (`common::own_account`) in us-east-2:
//! the session's provider and the SDK clients that make the changes are built from
//! one configuration with that account's credentials (`Clients::from_config`,
//! `Session::with_backend`), never from the process environment's account.

mod common;
#[path = "common/security_stack.rs"]
mod security_stack;

use aws_sdk_kms::config::{Credentials, SharedCredentialsProvider};
use common::{nonce, own_account, Run};
use glinfra::aws::{ApiCallCounter, AwsProvider, Clients};

use glinfra::spec::securityhub::cis_standards_arn;
use glinfra::{Action, DriftKind, Plan, Reason, Session, Stack};
use security_stack::{GROUPS, REGION};
use std::sync::Arc;

/// Every security service the seed declares but Shield (account-wide, and it cannot
/// be ended), and a key rotating every 90 days.
fn stack(test: &str) -> Stack {
    let name = format!("it-secdrift-{test}-{}", nonce());
    security_stack::services(&name, "security-drift", false)
}

/// A run in an emulator account of its own: the session's provider and `config`
/// (for the SDK clients that change things behind its back) share its credentials.
struct Account {
    run: Run,
    config: aws_config::SdkConfig,
    calls: ApiCallCounter,
}

impl Account {
    async fn new() -> Account {
        let mut run = Run::new().await;
        let id = own_account();
        let config = common::sdk()
            .await
            .to_builder()
            .region(aws_config::Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                &id,
                "test",
                None,
                None,
                "security-drift",
            )))
            .build();
        let calls = ApiCallCounter::new();
        let provider = AwsProvider::new(Clients::from_config(config.clone(), calls.clone()));
        // The same state directory as the run's own session: `Run::state` reads it.
        run.session = Session::with_backend(Arc::new(provider), run.session.backend().clone());
        Account { run, config, calls }
    }

    /// Applies `stack` and checks that a refresh right after finds nothing.
    async fn applied(&self, stack: &Stack) {
        let (plan, report) = self.run.up(stack).await;
        assert_eq!(plan.summary.create, stack.declarations().len());
        assert!(report.is_success());
        self.quiet(stack).await;
    }

    /// The refreshed plan is empty: no drift, no step.
    async fn quiet(&self, stack: &Stack) {
        let plan = self.run.plan_live(stack).await;
        assert!(plan.drift.is_empty(), "{}", glinfra::render::text(&plan));
        assert!(plan.is_empty(), "{}", glinfra::render::text(&plan));
    }

    fn output(&self, stack: &Stack, key: &str) -> String {
        self.run.outputs(stack)[key].clone()
    }
}

/// The refreshed plan shows exactly one drift, of `id`, changed in `fields` (the
/// text has each of `shown`), and updates `id` alone because of it; the apply
/// repairs it and the plan after is empty.
async fn changed_then_repaired(
    a: &Account,
    stack: &Stack,
    id: &str,
    fields: &[&str],
    shown: &[&str],
) {
    let plan = a.run.plan_live(stack).await;
    let text = glinfra::render::text(&plan);
    assert_eq!(plan.drift.len(), 1, "{text}");
    assert_eq!(plan.drift[0].resource, id, "{text}");
    let DriftKind::Changed { changes } = &plan.drift[0].what else {
        panic!("{text}")
    };
    let named: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(named, fields, "{text}");
    for line in shown {
        assert!(text.contains(line), "`{line}` in\n{text}");
    }
    assert_eq!(
        plan.step(id).map(|s| (s.action, s.reason)),
        Some((Action::Update, Some(Reason::ChangedOutside))),
        "{text}"
    );
    only_steps(&plan, (0, 1));
    let (applied, _) = a.run.up(stack).await;
    only_steps(&applied, (0, 1));
    a.quiet(stack).await;
}

/// The refreshed plan shows `ids` deleted (and nothing else) and creates them
/// again because of it; the apply does, and the plan after is empty.
async fn deleted_then_recreated(a: &Account, stack: &Stack, ids: &[&str]) {
    let plan = a.run.plan_live(stack).await;
    let text = glinfra::render::text(&plan);
    let gone: Vec<&str> = plan
        .drift
        .iter()
        .filter(|d| d.what == DriftKind::Deleted)
        .map(|d| d.resource.as_str())
        .collect();
    assert_eq!(gone, ids, "{text}");
    assert_eq!(plan.drift.len(), ids.len(), "{text}");
    for id in ids {
        assert!(
            text.contains(&format!("`{id}` ({REGION}): deleted")),
            "{text}"
        );
        assert_eq!(
            plan.step(id).map(|s| (s.action, s.reason)),
            Some((Action::Create, Some(Reason::DeletedOutside))),
            "{text}"
        );
    }
    only_steps(&plan, (ids.len(), 0));
    let (applied, _) = a.run.up(stack).await;
    only_steps(&applied, (ids.len(), 0));
    a.quiet(stack).await;
}

/// The plan creates and updates these many, and replaces and deletes nothing.
fn only_steps(plan: &Plan, (create, update): (usize, usize)) {
    let s = &plan.summary;
    assert_eq!(
        (s.create, s.update, s.replace, s.delete),
        (create, update, 0, 0),
        "{}",
        glinfra::render::text(plan)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_of_the_security_services_reads_each_kind_once_and_finds_nothing() {
    let a = Account::new().await;
    let stack = stack("noop");
    a.applied(&stack).await;
    let before = a.calls.snapshot();
    let started = std::time::Instant::now();
    let plan = a.run.plan_live(&stack).await;
    let took = started.elapsed();
    let after = a.calls.snapshot();
    eprintln!(
        "refresh and plan of the security services: {} calls in {took:.2?}",
        after.total - before.total
    );
    assert!(plan.is_empty() && plan.drift.is_empty());
    // KMS: ListAliases, DescribeKey, GetKeyRotationStatus, ListResourceTags;
    // GuardDuty: ListDetectors, GetDetector; Security Hub: DescribeHub,
    // ListTagsForResource, GetEnabledStandards; Inspector: BatchGetAccountStatus;
    // WAF: ListWebACLs, ListTagsForResource, GetWebACL.
    assert_eq!(
        (after.total - before.total, after.mutating - before.mutating),
        (13, 0),
        "calls of the refresh"
    );
    a.run.destroy(&stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn guardduty_changed_outside_is_drift_and_repaired() {
    use aws_sdk_guardduty::types::{
        DetectorFeature as Feature, DetectorFeatureConfiguration, FeatureStatus,
        FindingPublishingFrequency,
    };
    let a = Account::new().await;
    let stack = stack("gd");
    a.applied(&stack).await;
    let gd = aws_sdk_guardduty::Client::new(&a.config);
    let id = a.output(&stack, "guardduty.detector_id");

    // The finding publishing frequency.
    gd.update_detector()
        .detector_id(&id)
        .finding_publishing_frequency(FindingPublishingFrequency::SixHours)
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "guardduty",
        &["finding_publishing_frequency"],
        &[r#"finding_publishing_frequency: "FIFTEEN_MINUTES" → "SIX_HOURS""#],
    )
    .await;
    let d = gd.get_detector().detector_id(&id).send().await.unwrap();
    assert_eq!(
        d.finding_publishing_frequency(),
        Some(&FindingPublishingFrequency::FifteenMinutes)
    );

    // The detector suspended.
    gd.update_detector()
        .detector_id(&id)
        .enable(false)
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "guardduty",
        &["enable"],
        &["enable: true → false"],
    )
    .await;
    let d = gd.get_detector().detector_id(&id).send().await.unwrap();
    assert_eq!(d.status().map(|s| s.as_str()), Some("ENABLED"));

    // One feature turned off (UpdateDetector changes only the features it names).
    gd.update_detector()
        .detector_id(&id)
        .features(
            DetectorFeatureConfiguration::builder()
                .name(Feature::EksAuditLogs)
                .status(FeatureStatus::Disabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "guardduty",
        &["features"],
        &[r#"features: ["S3_DATA_EVENTS","EKS_AUDIT_LOGS"] → ["S3_DATA_EVENTS"]"#],
    )
    .await;
    let d = gd.get_detector().detector_id(&id).send().await.unwrap();
    let eks = d
        .features()
        .iter()
        .find(|f| f.name().map(|n| n.as_str()) == Some("EKS_AUDIT_LOGS"))
        .and_then(|f| f.status());
    assert_eq!(eks, Some(&FeatureStatus::Enabled));

    // The detector deleted: the next apply makes a new one.
    gd.delete_detector().detector_id(&id).send().await.unwrap();
    deleted_then_recreated(&a, &stack, &["guardduty"]).await;
    let again = a.output(&stack, "guardduty.detector_id");
    assert_ne!(again, id);
    let listed = gd.list_detectors().send().await.unwrap();
    assert_eq!(listed.detector_ids(), std::slice::from_ref(&again));
    a.run.destroy(&stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn security_hub_changed_outside_is_drift_and_repaired() {
    use aws_sdk_securityhub::types::ControlFindingGenerator as Generator;
    let a = Account::new().await;
    let stack = stack("hub");
    a.applied(&stack).await;
    let hub = aws_sdk_securityhub::Client::new(&a.config);
    let cis = cis_standards_arn(REGION, "3.0.0");
    let subscribed = || async {
        let got = hub.get_enabled_standards().send().await.unwrap();
        got.standards_subscriptions()
            .iter()
            .filter_map(|s| s.standards_arn().map(str::to_owned))
            .collect::<Vec<_>>()
    };

    // The CIS standard unsubscribed.
    hub.batch_disable_standards()
        .standards_subscription_arns(a.output(&stack, "securityhub-cis.subscription_arn"))
        .send()
        .await
        .unwrap();
    deleted_then_recreated(&a, &stack, &["securityhub-cis"]).await;
    assert_eq!(subscribed().await, std::slice::from_ref(&cis));

    // The control finding generator, then the auto-enabling of new controls.
    hub.update_security_hub_configuration()
        .control_finding_generator(Generator::StandardControl)
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "securityhub",
        &["control_finding_generator"],
        &[r#"control_finding_generator: "SECURITY_CONTROL" → "STANDARD_CONTROL""#],
    )
    .await;
    hub.update_security_hub_configuration()
        .auto_enable_controls(false)
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "securityhub",
        &["auto_enable_controls"],
        &["auto_enable_controls: true → false"],
    )
    .await;
    let d = hub.describe_hub().send().await.unwrap();
    assert_eq!(
        (d.auto_enable_controls(), d.control_finding_generator()),
        (Some(true), Some(&Generator::SecurityControl))
    );

    // Security Hub disabled, its standards with it: both made again.
    hub.disable_security_hub().send().await.unwrap();
    deleted_then_recreated(&a, &stack, &["securityhub", "securityhub-cis"]).await;
    assert!(hub.describe_hub().send().await.is_ok());
    assert_eq!(subscribed().await, [cis]);
    a.run.destroy(&stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn inspector_scanning_disabled_outside_is_drift_and_repaired() {
    use aws_sdk_inspector2::types::{ResourceScanType, Status};
    let a = Account::new().await;
    let stack = stack("ins");
    a.applied(&stack).await;
    let ins = aws_sdk_inspector2::Client::new(&a.config);
    ins.disable()
        .resource_types(ResourceScanType::Ecr)
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "inspector",
        &["resource_types"],
        &[r#"resource_types: ["EC2","ECR"] → ["EC2"]"#],
    )
    .await;
    let status = ins.batch_get_account_status().send().await.unwrap();
    let r = status.accounts()[0].resource_state().unwrap();
    assert_eq!(
        (r.ec2().unwrap().status(), r.ecr().unwrap().status()),
        (&Status::Enabled, &Status::Enabled)
    );
    a.run.destroy(&stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_acl_changed_outside_is_drift_and_repaired() {
    use aws_sdk_wafv2::types::{BlockAction, DefaultAction, Scope};
    let a = Account::new().await;
    let stack = stack("waf");
    a.applied(&stack).await;
    let waf = aws_sdk_wafv2::Client::new(&a.config);
    let id = a.output(&stack, "waf.id");
    let name = format!("{}-regional", stack.name());
    let read = |id: String| {
        let (waf, name) = (waf.clone(), name.clone());
        async move {
            let out = waf
                .get_web_acl()
                .name(name)
                .scope(Scope::Regional)
                .id(id)
                .send()
                .await
                .unwrap();
            (
                out.web_acl().unwrap().clone(),
                out.lock_token().unwrap().to_string(),
            )
        }
    };
    // UpdateWebACL replaces the whole ACL: what is not changed is sent as read.
    let update = |acl: aws_sdk_wafv2::types::WebAcl, token: String| {
        waf.update_web_acl()
            .name(acl.name())
            .scope(Scope::Regional)
            .id(acl.id())
            .set_default_action(acl.default_action().cloned())
            .set_rules(Some(acl.rules().to_vec()))
            .set_visibility_config(acl.visibility_config().cloned())
            .set_description(acl.description().map(str::to_owned))
            .lock_token(token)
    };

    // A managed rule group removed.
    let (acl, token) = read(id.clone()).await;
    let kept: Vec<_> = acl.rules()[..2].to_vec();
    update(acl, token)
        .set_rules(Some(kept))
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "waf",
        &["rules"],
        &[
            "rules: recorded → live",
            r#"-     "name": "AWSManagedRulesKnownBadInputsRuleSet","#,
        ],
    )
    .await;
    let (acl, _) = read(id.clone()).await;
    let names: Vec<&str> = acl.rules().iter().map(|r| r.name()).collect();
    assert_eq!(names, GROUPS);

    // The default action.
    let (acl, token) = read(id.clone()).await;
    update(acl, token)
        .default_action(
            DefaultAction::builder()
                .block(BlockAction::builder().build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "waf",
        &["default_action"],
        &[r#"default_action: "ALLOW" → "BLOCK""#],
    )
    .await;
    let (acl, token) = read(id.clone()).await;
    assert!(acl.default_action().unwrap().allow().is_some());

    // The web ACL deleted: made again, with a new id.
    waf.delete_web_acl()
        .name(&name)
        .scope(Scope::Regional)
        .id(&id)
        .lock_token(token)
        .send()
        .await
        .unwrap();
    deleted_then_recreated(&a, &stack, &["waf"]).await;
    let again = a.output(&stack, "waf.id");
    assert_ne!(again, id);
    let (acl, _) = read(again).await;
    assert_eq!(acl.rules().len(), GROUPS.len());
    a.run.destroy(&stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn key_rotation_changed_outside_is_drift_and_repaired() {
    let a = Account::new().await;
    let stack = stack("kms");
    a.applied(&stack).await;
    let kms = aws_sdk_kms::Client::new(&a.config);
    let key = a.output(&stack, "kms.key_id");
    let rotation = || async {
        let r = kms
            .get_key_rotation_status()
            .key_id(&key)
            .send()
            .await
            .unwrap();
        (r.key_rotation_enabled(), r.rotation_period_in_days())
    };

    // Rotation turned off: the period is not drift (KMS shows none while it is off).
    kms.disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "kms",
        &["enable_key_rotation"],
        &["enable_key_rotation: true → false"],
    )
    .await;
    assert_eq!(rotation().await, (true, Some(90)));

    // The period changed.
    kms.enable_key_rotation()
        .key_id(&key)
        .rotation_period_in_days(365)
        .send()
        .await
        .unwrap();
    changed_then_repaired(
        &a,
        &stack,
        "kms",
        &["rotation_period_days"],
        &["rotation_period_days: 90 → 365"],
    )
    .await;
    assert_eq!(rotation().await, (true, Some(90)));
    a.run.destroy(&stack).await;
}
