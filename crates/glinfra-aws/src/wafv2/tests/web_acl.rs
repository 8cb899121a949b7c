use crate::clients::Clients;
use crate::driver::Driver;
use crate::test_support::{
    all_used, assert_error, desired, meta, mock_clients, owner_tags, recorded, recorder, scope,
};
use crate::wafv2::WebAclDriver;
use aws_sdk_wafv2::operation::create_web_acl::{CreateWebAclInput, CreateWebAclOutput};
use aws_sdk_wafv2::operation::delete_web_acl::{
    DeleteWebACLError, DeleteWebAclInput, DeleteWebAclOutput,
};
use aws_sdk_wafv2::operation::get_web_acl::{GetWebACLError, GetWebAclOutput};
use aws_sdk_wafv2::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_wafv2::operation::list_web_acls::ListWebAcLsOutput;
use aws_sdk_wafv2::operation::update_web_acl::{UpdateWebAclInput, UpdateWebAclOutput};
use aws_sdk_wafv2::types::{
    AllowAction, DefaultAction, ManagedRuleGroupStatement, NoneAction,
    OverrideAction as SdkOverride, Rule as WafRule, Scope, Statement, Tag, TagInfoForResource,
    VisibilityConfig, WebAcl, WebAclSummary,
};
use aws_sdk_wafv2::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::spec::wafv2::{
    ManagedRuleGroup, OverrideAction, WafAction, WafScope, WafVisibility, WebAclOutputs, WebAclSpec,
};
use glinfra_engine::ErrorClass;
use std::collections::BTreeMap;

const REGION: &str = "us-east-1";
const STACK: &str = "prod";
const ID: &str = "waf-regional";
const NAME: &str = "greenlang-prod-regional";
const ACL_ID: &str = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";
const ARN: &str = "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/greenlang-prod-regional/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";

fn mock_waf(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(aws_sdk_wafv2, "wafv2", REGION, RuleMode::Sequential, &rules)
}

fn group(name: &str, priority: i32) -> ManagedRuleGroup {
    ManagedRuleGroup {
        name: name.into(),
        vendor: "AWS".into(),
        priority,
        override_action: OverrideAction::None,
    }
}

fn spec() -> WebAclSpec {
    WebAclSpec {
        name: NAME.into(),
        scope: WafScope::Regional,
        default_action: WafAction::Allow,
        description: Some("load balancers".into()),
        rules: vec![
            group("AWSManagedRulesAmazonIpReputationList", 10),
            group("AWSManagedRulesCommonRuleSet", 20),
            group("AWSManagedRulesKnownBadInputsRuleSet", 30),
        ],
        visibility: WafVisibility {
            sampled_requests: true,
            cloudwatch_metrics: true,
            metric_name: NAME.into(),
        },
    }
}

fn outputs() -> WebAclOutputs {
    WebAclOutputs {
        arn: ARN.into(),
        id: ACL_ID.into(),
    }
}

fn summary() -> WebAclSummary {
    WebAclSummary::builder()
        .name(NAME)
        .id(ACL_ID)
        .arn(ARN)
        .lock_token("token-1")
        .build()
}

fn list() -> Rule {
    mock!(Client::list_web_acls)
        .match_requests(|req| req.scope() == Some(&Scope::Regional))
        .then_output(|| ListWebAcLsOutput::builder().web_acls(summary()).build())
}

fn tags(t: BTreeMap<String, String>) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(|req| req.resource_arn() == Some(ARN))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .tag_info_for_resource(
                    TagInfoForResource::builder()
                        .resource_arn(ARN)
                        .set_tag_list(Some(
                            t.iter()
                                .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
                                .collect(),
                        ))
                        .build(),
                )
                .build()
        })
}

fn vis(name: &str) -> VisibilityConfig {
    VisibilityConfig::builder()
        .sampled_requests_enabled(true)
        .cloud_watch_metrics_enabled(true)
        .metric_name(name)
        .build()
        .unwrap()
}

/// The ACL as GetWebACL answers it, with the lock token `token`.
fn get(token: &'static str) -> Rule {
    mock!(Client::get_web_acl)
        .match_requests(|req| req.id() == Some(ACL_ID) && req.name() == Some(NAME))
        .then_output(move || {
            let rules = spec()
                .rules
                .iter()
                .map(|g| {
                    WafRule::builder()
                        .name(&g.name)
                        .priority(g.priority)
                        .statement(
                            Statement::builder()
                                .managed_rule_group_statement(
                                    ManagedRuleGroupStatement::builder()
                                        .vendor_name("AWS")
                                        .name(&g.name)
                                        .build()
                                        .unwrap(),
                                )
                                .build(),
                        )
                        .override_action(
                            SdkOverride::builder()
                                .none(NoneAction::builder().build())
                                .build(),
                        )
                        .visibility_config(vis(&g.name))
                        .build()
                        .unwrap()
                })
                .collect();
            GetWebAclOutput::builder()
                .web_acl(
                    WebAcl::builder()
                        .name(NAME)
                        .id(ACL_ID)
                        .arn(ARN)
                        .description("load balancers")
                        .default_action(
                            DefaultAction::builder()
                                .allow(AllowAction::builder().build())
                                .build(),
                        )
                        .set_rules(Some(rules))
                        .visibility_config(vis(NAME))
                        .build()
                        .unwrap(),
                )
                .lock_token(token)
                .build()
        })
}

#[tokio::test]
async fn create_sends_the_managed_rule_groups_with_priorities_and_visibility() {
    let (sent, see) = recorder::<CreateWebAclInput>();
    let rules = [mock!(Client::create_web_acl)
        .match_requests(see)
        .then_output(|| CreateWebAclOutput::builder().summary(summary()).build())];
    let c = mock_waf(&rules);

    let out = WebAclDriver
        .create(&c, &desired(STACK, ID, REGION, spec()))
        .await
        .unwrap();

    assert_eq!(out, outputs());
    let req = &sent.lock().unwrap()[0];
    assert_eq!(req.name(), Some(NAME));
    assert_eq!(req.scope(), Some(&Scope::Regional));
    assert!(req.default_action().unwrap().allow().is_some());
    let groups: Vec<(String, i32, String, bool)> = req
        .rules()
        .iter()
        .map(|r| {
            let g = r
                .statement()
                .unwrap()
                .managed_rule_group_statement()
                .unwrap();
            (
                format!("{}/{}", g.vendor_name(), g.name()),
                r.priority(),
                r.visibility_config().unwrap().metric_name().to_string(),
                r.override_action().unwrap().none().is_some(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            (
                "AWS/AWSManagedRulesAmazonIpReputationList".into(),
                10,
                "AWSManagedRulesAmazonIpReputationList".into(),
                true
            ),
            (
                "AWS/AWSManagedRulesCommonRuleSet".into(),
                20,
                "AWSManagedRulesCommonRuleSet".into(),
                true
            ),
            (
                "AWS/AWSManagedRulesKnownBadInputsRuleSet".into(),
                30,
                "AWSManagedRulesKnownBadInputsRuleSet".into(),
                true
            ),
        ]
    );
    let v = req.visibility_config().unwrap();
    assert!(v.sampled_requests_enabled() && v.cloud_watch_metrics_enabled());
    assert_eq!(v.metric_name(), NAME);
    let t: BTreeMap<String, String> = req
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(t, owner_tags(STACK, ID));
    all_used(&rules);
}

#[tokio::test]
async fn find_adopts_our_acl_by_name_and_refuses_anothers() {
    let rules = [
        list(),
        tags(owner_tags(STACK, ID)),
        list(),
        tags(owner_tags("staging", ID)),
    ];
    let c = mock_waf(&rules);
    let r = desired(STACK, ID, REGION, spec());
    assert_eq!(WebAclDriver.find(&c, &r).await.unwrap(), Some(outputs()));
    let err = WebAclDriver.find(&c, &r).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "staging");
    all_used(&rules);
}

#[tokio::test]
async fn update_puts_the_whole_acl_with_the_lock_token_just_read() {
    let (sent, see) = recorder::<UpdateWebAclInput>();
    let rules = [
        get("token-7"),
        mock!(Client::update_web_acl)
            .match_requests(see)
            .then_output(|| {
                UpdateWebAclOutput::builder()
                    .next_lock_token("token-8")
                    .build()
            }),
    ];
    let c = mock_waf(&rules);
    let prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());
    let mut want = spec();
    want.rules[1].override_action = OverrideAction::Count;
    let r = desired(STACK, ID, REGION, want);

    crate::test_support::update(&WebAclDriver, &c, &prior, &r, &["rules"])
        .await
        .unwrap();

    let req = &sent.lock().unwrap()[0];
    assert_eq!(req.lock_token(), Some("token-7"));
    assert_eq!(req.id(), Some(ACL_ID));
    assert_eq!(req.rules().len(), 3);
    assert!(req.rules()[1].override_action().unwrap().count().is_some());
    all_used(&rules);
}

#[tokio::test]
async fn a_stale_lock_token_is_retryable() {
    let rules = [
        get("token-7"),
        mock!(Client::update_web_acl).then_error(|| {
            aws_sdk_wafv2::operation::update_web_acl::UpdateWebACLError::generic(meta(
                "WAFOptimisticLockException",
            ))
        }),
    ];
    let c = mock_waf(&rules);
    let prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());
    let err = crate::test_support::update(
        &WebAclDriver,
        &c,
        &prior,
        &desired(STACK, ID, REGION, spec()),
        &["default_action"],
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    all_used(&rules);
}

#[tokio::test]
async fn delete_takes_the_lock_token_and_a_gone_acl_is_success() {
    let (sent, see) = recorder::<DeleteWebAclInput>();
    let rules = [
        get("token-3"),
        mock!(Client::delete_web_acl)
            .match_requests(see)
            .then_output(|| DeleteWebAclOutput::builder().build()),
        mock!(Client::get_web_acl)
            .then_error(|| GetWebACLError::generic(meta("WAFNonexistentItemException"))),
        get("token-4"),
        mock!(Client::delete_web_acl)
            .then_error(|| DeleteWebACLError::generic(meta("WAFNonexistentItemException"))),
    ];
    let c = mock_waf(&rules);
    let prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());
    WebAclDriver.delete(&c, &prior).await.unwrap();
    WebAclDriver.delete(&c, &prior).await.unwrap();
    WebAclDriver.delete(&c, &prior).await.unwrap();
    let req = &sent.lock().unwrap()[0];
    assert_eq!(req.lock_token(), Some("token-3"));
    assert_eq!(req.scope(), Some(&Scope::Regional));
    all_used(&rules);
}

#[tokio::test]
async fn observe_reads_the_recorded_acl_back_as_its_spec() {
    let rules = [list(), tags(owner_tags(STACK, ID)), get("t")];
    let c = mock_waf(&rules);
    let prior = recorded(&desired(STACK, ID, REGION, spec()), outputs());
    let live = WebAclDriver
        .observe(&c, &scope(STACK, REGION, vec![prior]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].spec, Some(spec()));
    assert_eq!(live[0].outputs, outputs());
    all_used(&rules);
}
