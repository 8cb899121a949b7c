//! The refresh of IAM roles from two account-wide reads, whatever the number of
//! roles: GetAccountAuthorizationDetails filtered to roles (path, name, ARN, trust
//! policy, inline policies with their documents, attached managed policies, tags)
//! and ListRoles for the description, which the first lacks. Both are paginated
//! (`IsTruncated`/`Marker`, up to 1,000 roles a page) and run at once.

use crate::error::classify;
use crate::kit::live::{like, Live, Scope};
use crate::kit::{all_items, claimed_elsewhere, policy, tags};
use aws_sdk_iam::types::{EntityType, RoleDetail};
use aws_sdk_iam::Client;
use glinfra_core::spec::iam::{IamRoleOutputs, IamRoleSpec};
use glinfra_core::ResourceId;
use glinfra_engine::ProviderError;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The most items IAM returns on one page (`MaxItems`).
const PAGE: i32 = 1000;

/// One role of the account, as the two listings have it.
struct Listed {
    detail: RoleDetail,
    name: String,
    arn: String,
    tags: BTreeMap<String, String>,
    /// From ListRoles; `None` when the role was not in it (made between the two reads).
    description: Option<String>,
}

/// Every role of the account: both listings, every page, at once.
async fn every_role(iam: &Client) -> Result<Vec<Listed>, ProviderError> {
    let details = async {
        iam.get_account_authorization_details()
            .filter(EntityType::Role)
            .max_items(PAGE)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("GetAccountAuthorizationDetails", e))
    };
    let roles = async { all_items!(iam.list_roles().max_items(PAGE), "ListRoles") };
    let (pages, roles) = tokio::try_join!(details, roles)?;
    let mut descriptions: BTreeMap<String, String> = roles
        .into_iter()
        .map(|r| {
            let description = r.description().unwrap_or_default().to_string();
            (r.role_name, description)
        })
        .collect();
    let mut listed: Vec<Listed> = pages
        .into_iter()
        .flat_map(|page| page.role_detail_list.unwrap_or_default())
        .filter_map(|detail| {
            let name = detail.role_name()?.to_string();
            let arn = detail.arn()?.to_string();
            Some(Listed {
                tags: tags::from_sdk(detail.tags()),
                description: descriptions.remove(&name),
                detail,
                name,
                arn,
            })
        })
        .collect();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listed)
}

/// The roles of `scope`: a recorded role is the role of its recorded name unless
/// its tags name another stack or resource; a role state does not know is ours
/// when it carries the stack's ownership tags (one per logical id: the first by
/// name). A recorded role in neither is gone.
pub(super) async fn observe(
    iam: &Client,
    scope: &Scope<IamRoleSpec>,
) -> Result<Vec<Live<IamRoleSpec>>, ProviderError> {
    let listed = every_role(iam).await?;
    let recorded: BTreeMap<&str, &ResourceId> = scope
        .recorded
        .iter()
        .map(|r| (r.outputs.name.as_str(), &r.id))
        .collect();
    let mut ours: BTreeMap<ResourceId, &Listed> = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for role in &listed {
        match recorded.get(role.name.as_str()) {
            Some(id) if !claimed_elsewhere(&role.tags, &scope.stack, id) => {
                ours.insert((*id).clone(), role);
                taken.insert(role.name.as_str());
            }
            _ => {}
        }
    }
    for role in listed.iter().filter(|r| !taken.contains(r.name.as_str())) {
        if let Some(id) = scope.owned(&role.tags) {
            ours.entry(id).or_insert(role);
        }
    }
    Ok(ours
        .into_iter()
        .map(|(id, role)| {
            let recorded = scope.recorded(&id).map(|r| &r.spec);
            Live {
                outputs: IamRoleOutputs {
                    arn: role.arn.clone(),
                    name: role.name.clone(),
                },
                tags: role.tags.clone(),
                spec: Some(spec_of(role, recorded)),
                id,
            }
        })
        .collect())
}

/// The role as a spec; documents and lists as `recorded` has them when they mean
/// the same.
fn spec_of(role: &Listed, recorded: Option<&IamRoleSpec>) -> IamRoleSpec {
    let d = &role.detail;
    let trust = d
        .assume_role_policy_document()
        .map(policy::parse)
        .unwrap_or(Value::Null);
    let attached = d
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect();
    let inline = d
        .role_policy_list()
        .iter()
        .filter_map(|p| {
            let name = p.policy_name()?;
            let doc = policy::parse(p.policy_document().unwrap_or_default());
            let was = recorded.and_then(|r| r.inline_policies.get(name));
            Some((name.to_string(), policy::like(doc, was)))
        })
        .collect();
    let description = match (&role.description, recorded) {
        (Some(live), _) => live.clone(),
        (None, Some(r)) => r.description.clone(),
        (None, None) => String::new(),
    };
    IamRoleSpec {
        name: role.name.clone(),
        path: d.path().unwrap_or("/").to_string(),
        assume_role_policy: policy::like(trust, recorded.map(|r| &r.assume_role_policy)),
        description,
        managed_policy_arns: like(attached, recorded.map(|r| &r.managed_policy_arns[..])),
        inline_policies: inline,
    }
}
