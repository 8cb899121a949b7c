//! The WAF web ACL driver.
//!
//! CreateWebACL with the default action, the rules (one AWS managed rule group
//! each, with its priority, override action and visibility), the visibility
//! configuration and the tags; UpdateWebACL replaces the whole ACL and takes the
//! lock token of a GetWebACL just before (a change in between answers
//! `WAFOptimisticLockException`, which the executor retries); DeleteWebACL takes
//! one too. A web ACL is known by its name and scope: a find lists the scope's
//! ACLs (ListWebACLs), takes the one of that name and checks its ownership tags
//! (ListTagsForResource); a same-named ACL of someone else's is an AlreadyExists
//! error, never adopted.

use super::waf_error;
use crate::clients::Clients;
use crate::driver::Driver;
use crate::kit::live::{Live, Scope};
use crate::kit::tags::{self, Tagging};
use crate::kit::{build_error, ensure_importable, required, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_wafv2::types::{
    AllowAction, BlockAction, CountAction, DefaultAction, ManagedRuleGroupStatement, NoneAction,
    OverrideAction as SdkOverride, Rule, Scope as SdkScope, Statement, VisibilityConfig, WebAcl,
    WebAclSummary,
};
use aws_sdk_wafv2::Client;
use glinfra_core::spec::wafv2::{
    ManagedRuleGroup, OverrideAction, WafAction, WafVisibility, WebAclOutputs, WebAclSpec,
};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;

/// The driver of `aws:wafv2/web-acl`.
pub(crate) struct WebAclDriver;

fn scope(spec: &WebAclSpec) -> SdkScope {
    SdkScope::from(spec.scope.as_str())
}

/// Every web ACL of `scope` in the region (ListWebACLs, every page).
async fn list(waf: &Client, scope: SdkScope) -> Result<Vec<WebAclSummary>, ProviderError> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = waf
            .list_web_acls()
            .scope(scope.clone())
            .limit(100)
            .set_next_marker(marker.take())
            .send()
            .await
            .map_err(|e| waf_error("ListWebACLs", e))?;
        found.extend(out.web_acls().iter().cloned());
        match out.next_marker() {
            Some(m) if !m.is_empty() && !out.web_acls().is_empty() => marker = Some(m.to_string()),
            _ => return Ok(found),
        }
    }
}

/// The web ACL named `name`, if there is one.
async fn named(waf: &Client, spec: &WebAclSpec) -> Result<Option<WebAclSummary>, ProviderError> {
    Ok(list(waf, scope(spec))
        .await?
        .into_iter()
        .find(|s| s.name() == Some(spec.name.as_str())))
}

/// The web ACL and the lock token to change it with.
async fn get(
    waf: &Client,
    spec: &WebAclSpec,
    id: &str,
) -> Result<Option<(WebAcl, String)>, ProviderError> {
    let out = waf
        .get_web_acl()
        .name(&spec.name)
        .scope(scope(spec))
        .id(id)
        .send()
        .await
        .map_err(|e| waf_error(&format!("GetWebACL {}", spec.name), e))
        .or_absent()?;
    let Some(out) = out else { return Ok(None) };
    let acl = required(out.web_acl(), "GetWebACL WebACL")?.clone();
    let token = required(out.lock_token(), "GetWebACL LockToken")?.to_string();
    Ok(Some((acl, token)))
}

fn summary_outputs(s: &WebAclSummary) -> Result<WebAclOutputs, ProviderError> {
    Ok(WebAclOutputs {
        arn: required(s.arn(), "WebACLSummary ARN")?.to_string(),
        id: required(s.id(), "WebACLSummary Id")?.to_string(),
    })
}

fn visibility(v: &WafVisibility, metric_name: &str) -> Result<VisibilityConfig, ProviderError> {
    VisibilityConfig::builder()
        .sampled_requests_enabled(v.sampled_requests)
        .cloud_watch_metrics_enabled(v.cloudwatch_metrics)
        .metric_name(metric_name)
        .build()
        .map_err(build_error("WAF visibility config"))
}

fn default_action(spec: &WebAclSpec) -> DefaultAction {
    match spec.default_action {
        WafAction::Allow => DefaultAction::builder()
            .allow(AllowAction::builder().build())
            .build(),
        WafAction::Block => DefaultAction::builder()
            .block(BlockAction::builder().build())
            .build(),
    }
}

/// The spec's rules as WAF takes them; each rule's metric is its own name.
fn rules(spec: &WebAclSpec) -> Result<Vec<Rule>, ProviderError> {
    spec.rules
        .iter()
        .map(|g| {
            let statement = ManagedRuleGroupStatement::builder()
                .vendor_name(&g.vendor)
                .name(&g.name)
                .build()
                .map_err(build_error("WAF managed rule group statement"))?;
            let action = match g.override_action {
                OverrideAction::None => SdkOverride::builder().none(NoneAction::builder().build()),
                OverrideAction::Count => {
                    SdkOverride::builder().count(CountAction::builder().build())
                }
            }
            .build();
            Rule::builder()
                .name(&g.name)
                .priority(g.priority)
                .statement(
                    Statement::builder()
                        .managed_rule_group_statement(statement)
                        .build(),
                )
                .override_action(action)
                .visibility_config(visibility(&spec.visibility, &g.name)?)
                .build()
                .map_err(build_error("WAF rule"))
        })
        .collect()
}

/// What the web ACL is as a spec. Rules other than managed rule groups (added
/// outside glinfra) have no spelling in the spec and are left out, which shows as drift.
fn live_spec(acl: &WebAcl, recorded: &WebAclSpec) -> WebAclSpec {
    let rules = acl
        .rules()
        .iter()
        .filter_map(|r| {
            let g = r.statement()?.managed_rule_group_statement()?;
            Some(ManagedRuleGroup {
                name: g.name().to_string(),
                vendor: g.vendor_name().to_string(),
                priority: r.priority(),
                override_action: if r.override_action().and_then(|o| o.count()).is_some() {
                    OverrideAction::Count
                } else {
                    OverrideAction::None
                },
            })
        })
        .collect();
    let v = acl.visibility_config();
    WebAclSpec {
        name: acl.name().to_string(),
        scope: recorded.scope,
        default_action: if acl.default_action().and_then(|d| d.block()).is_some() {
            WafAction::Block
        } else {
            WafAction::Allow
        },
        description: acl
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        rules,
        visibility: WafVisibility {
            sampled_requests: v.is_some_and(|v| v.sampled_requests_enabled()),
            cloudwatch_metrics: v.is_some_and(|v| v.cloud_watch_metrics_enabled()),
            metric_name: v.map(|v| v.metric_name().to_string()).unwrap_or_default(),
        },
    }
}

/// UpdateWebACL with the whole spec, with the lock token of a read just before.
async fn put(waf: &Client, spec: &WebAclSpec, id: &str) -> Result<(), ProviderError> {
    let (_, token) = get(waf, spec, id).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("WAF web ACL `{}` not found", spec.name),
        )
    })?;
    waf.update_web_acl()
        .name(&spec.name)
        .scope(scope(spec))
        .id(id)
        .default_action(default_action(spec))
        .set_rules(Some(rules(spec)?))
        .visibility_config(visibility(&spec.visibility, &spec.visibility.metric_name)?)
        .set_description(spec.description.clone())
        .lock_token(token)
        .send()
        .await
        .map_err(|e| waf_error(&format!("UpdateWebACL {}", spec.name), e))?;
    Ok(())
}

#[async_trait]
impl Driver for WebAclDriver {
    type Spec = WebAclSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<WebAclSpec>,
    ) -> Result<Option<WebAclOutputs>, ProviderError> {
        let waf = c.wafv2(&r.region);
        let found = named(&waf, &r.spec).await?;
        let found = tags::ours(
            &waf,
            &format!("WAF web ACL `{}`", r.spec.name),
            found,
            |s| required(s.arn(), "WebACLSummary ARN"),
            r,
        )
        .await?;
        found.as_ref().map(summary_outputs).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<WebAclSpec>,
    ) -> Result<WebAclOutputs, ProviderError> {
        let spec = &r.spec;
        let waf = c.wafv2(&r.region);
        let out = waf
            .create_web_acl()
            .name(&spec.name)
            .scope(scope(spec))
            .default_action(default_action(spec))
            .set_rules(Some(rules(spec)?))
            .visibility_config(visibility(&spec.visibility, &spec.visibility.metric_name)?)
            .set_description(spec.description.clone())
            .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
            .send()
            .await
            .map_err(|e| waf_error(&format!("CreateWebACL {}", spec.name), e))?;
        summary_outputs(required(out.summary(), "CreateWebACL Summary")?)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<WebAclSpec>,
        r: &Desired<WebAclSpec>,
        changed: Changed<'_>,
    ) -> Result<WebAclOutputs, ProviderError> {
        let waf = c.wafv2(&r.region);
        if changed.any(&["default_action", "description", "rules", "visibility"]) {
            put(&waf, &r.spec, &prior.outputs.id).await?;
        }
        tags::update(&waf, &prior.outputs.arn, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// ListWebACLs of each scope recorded (one paginated call), then, for each
    /// recorded ACL listed, ListTagsForResource and GetWebACL: WAF lists no tags
    /// and no rules. ACLs state does not know are not looked for (telling whether
    /// one is the stack's would take a tag call for every ACL of the account).
    async fn observe(
        &self,
        c: &Clients,
        scope_: &Scope<WebAclSpec>,
    ) -> Result<Option<Vec<Live<WebAclSpec>>>, ProviderError> {
        let waf = c.wafv2(&scope_.region);
        let mut listed: BTreeMap<&str, Vec<WebAclSummary>> = BTreeMap::new();
        for r in &scope_.recorded {
            let key = r.spec.scope.as_str();
            if !listed.contains_key(key) {
                listed.insert(key, list(&waf, scope(&r.spec)).await?);
            }
        }
        let mut live = Vec::new();
        for r in &scope_.recorded {
            let Some(s) = listed[r.spec.scope.as_str()]
                .iter()
                .find(|s| s.id() == Some(r.outputs.id.as_str()))
            else {
                continue;
            };
            let out = summary_outputs(s)?;
            let tags = waf.list(&out.arn).await.or_absent()?.unwrap_or_default();
            if crate::kit::claimed_elsewhere(&tags, &scope_.stack, &r.id) {
                continue;
            }
            let Some((acl, _)) = get(&waf, &r.spec, &out.id).await? else {
                continue;
            };
            live.push(Live {
                id: r.id.clone(),
                spec: Some(live_spec(&acl, &r.spec)),
                outputs: out,
                tags,
            });
        }
        Ok(Some(live))
    }

    async fn delete(&self, c: &Clients, prior: &Recorded<WebAclSpec>) -> Result<(), ProviderError> {
        let waf = c.wafv2(&prior.region);
        let Some((_, token)) = get(&waf, &prior.spec, &prior.outputs.id).await? else {
            return Ok(());
        };
        waf.delete_web_acl()
            .name(&prior.spec.name)
            .scope(scope(&prior.spec))
            .id(&prior.outputs.id)
            .lock_token(token)
            .send()
            .await
            .map_err(|e| waf_error(&format!("DeleteWebACL {}", prior.spec.name), e))
            .or_gone()
    }

    /// Takes the web ACL of the spec's name and scope (`aws_id` is its id).
    async fn import(
        &self,
        c: &Clients,
        r: &Desired<WebAclSpec>,
        aws_id: &str,
    ) -> Result<Option<Live<WebAclSpec>>, ProviderError> {
        let waf = c.wafv2(&r.region);
        let Some(s) = named(&waf, &r.spec)
            .await?
            .filter(|s| s.id() == Some(aws_id))
        else {
            return Ok(None);
        };
        let out = summary_outputs(&s)?;
        let live = waf.list(&out.arn).await?;
        ensure_importable(aws_id, &live, r)?;
        // The ownership tags are added; the resource's own tags stay.
        let (set, _) = tags::delta(&live, &r.owned_tags());
        tags::apply(&waf, &out.arn, &set, &[]).await?;
        let Some((acl, _)) = get(&waf, &r.spec, aws_id).await? else {
            return Ok(None);
        };
        Ok(Some(Live {
            id: r.id.clone(),
            spec: Some(live_spec(&acl, &r.spec)),
            outputs: out,
            tags: live.into_iter().chain(r.owned_tags()).collect(),
        }))
    }
}
