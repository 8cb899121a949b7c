//! The IAM role driver: a role with its trust policy, managed policy attachments
//! and inline policies.
//!
//! Role names are unique per account, so the name is the natural key and the
//! ownership tags (set atomically by CreateRole) say whose role it is. Attaching a
//! policy and putting an inline policy are idempotent; detaching and deleting
//! something already gone counts as done.

use super::listing;
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{ensure_owned, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_iam::types::Role;
use aws_sdk_iam::Client;
use glinfra_core::spec::iam::{IamRoleOutputs, IamRoleSpec};
use glinfra_engine::{ErrorClass, ProviderError};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The driver of `aws:iam/role`.
pub(crate) struct IamRoleDriver;

fn outputs(role: &Role) -> IamRoleOutputs {
    IamRoleOutputs {
        arn: role.arn().to_string(),
        name: role.role_name().to_string(),
    }
}

/// The role named `name`, if there is one.
async fn get_role(iam: &Client, name: &str) -> Result<Option<Role>, ProviderError> {
    Ok(iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| classify(&format!("GetRole {name}"), e))
        .or_absent()?
        .and_then(|out| out.role().cloned()))
}

/// Every tag of the role (GetRole returns them; ListRoleTags is asked only when it returned none).
async fn role_tags(iam: &Client, role: &Role) -> Result<BTreeMap<String, String>, ProviderError> {
    if !role.tags().is_empty() {
        return Ok(tags::from_sdk(role.tags()));
    }
    let name = role.role_name();
    let mut found = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .list_role_tags()
            .role_name(name)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListRoleTags {name}"), e))?;
        found.extend(tags::from_sdk(page.tags()));
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_string()),
            _ => return Ok(found),
        }
    }
}

/// The role's outputs when it is this resource's; an AlreadyExists error when it is someone else's.
async fn adopt(
    iam: &Client,
    role: &Role,
    r: &Desired<IamRoleSpec>,
) -> Result<IamRoleOutputs, ProviderError> {
    let tags = role_tags(iam, role).await?;
    ensure_owned(&format!("IAM role `{}`", role.role_name()), &tags, r)?;
    Ok(outputs(role))
}

#[async_trait]
impl Driver for IamRoleDriver {
    type Spec = IamRoleSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<IamRoleSpec>,
    ) -> Result<Option<IamRoleOutputs>, ProviderError> {
        let iam = c.iam();
        match get_role(&iam, &r.spec.name).await? {
            None => Ok(None),
            Some(role) => adopt(&iam, &role, r).await.map(Some),
        }
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<IamRoleSpec>,
    ) -> Result<IamRoleOutputs, ProviderError> {
        let spec = &r.spec;
        let iam = c.iam();
        let name = spec.name.as_str();
        let tags = r.owned_tags();
        let created = iam
            .create_role()
            .role_name(name)
            .path(&spec.path)
            .assume_role_policy_document(spec.assume_role_policy.to_string())
            .set_description((!spec.description.is_empty()).then(|| spec.description.clone()))
            .set_tags(Some(tags::to_sdk(&tags)?))
            .send()
            .await
            .map_err(|e| classify(&format!("CreateRole {name}"), e));
        match created {
            Ok(out) => {
                let role = out.role().ok_or_else(|| {
                    ProviderError::new(
                        ErrorClass::Fatal,
                        format!("CreateRole {name}: no role returned"),
                    )
                })?;
                let out = outputs(role);
                converge(&iam, spec, &tags, None, Changed(&[]), Mode::Fresh).await?;
                Ok(out)
            }
            Err(err) if err.has_code(&["EntityAlreadyExists"]) => {
                // An earlier attempt made it, or someone else did: only ours is adopted,
                // and then brought in line with the spec.
                let Some(role) = get_role(&iam, name).await? else {
                    return Err(ProviderError::new(
                        ErrorClass::Retryable,
                        format!("IAM role `{name}` was reported to exist, then not found"),
                    )
                    .with_source(err));
                };
                let out = adopt(&iam, &role, r).await?;
                converge(&iam, spec, &tags, None, Changed(&[]), Mode::Full).await?;
                Ok(out)
            }
            Err(err) => Err(err),
        }
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<IamRoleSpec>,
        r: &Desired<IamRoleSpec>,
        changed: Changed<'_>,
    ) -> Result<IamRoleOutputs, ProviderError> {
        let mode = if changed.0.is_empty() {
            Mode::Full
        } else {
            Mode::Changed
        };
        converge(
            &c.iam(),
            &r.spec,
            &r.owned_tags(),
            Some((&prior.spec, &prior.tags)),
            changed,
            mode,
        )
        .await?;
        Ok(IamRoleOutputs {
            arn: prior.outputs.arn.clone(),
            name: r.spec.name.clone(),
        })
    }

    /// IAM is global: two account-wide reads, whatever the number of roles
    /// (`listing`): GetAccountAuthorizationDetails filtered to roles (trust policy,
    /// inline policy documents, attached policies, tags) and ListRoles (the
    /// description), every page of each, at once. Roles are mapped to logical ids
    /// by their recorded names and by the ownership tags, so a role carrying the
    /// stack's tags that state does not know is found; a role whose tags name
    /// another stack is not ours; a recorded role in neither listing is gone. It
    /// needs `iam:GetAccountAuthorizationDetails` and `iam:ListRoles`.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<IamRoleSpec>,
    ) -> Result<Option<Vec<Live<IamRoleSpec>>>, ProviderError> {
        listing::observe(&c.iam(), scope).await.map(Some)
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<IamRoleSpec>,
    ) -> Result<(), ProviderError> {
        let iam = c.iam();
        let name = prior.outputs.name.as_str();
        // A role cannot be deleted while policies are attached to it or embedded in it.
        // What it has is listed, rather than trusted from state: something may have been added.
        let Some(attached) = attached_policies(&iam, name).await.or_absent()? else {
            return Ok(());
        };
        for arn in &attached {
            detach_policy(&iam, name, arn).await?;
        }
        let Some(inline) = inline_policy_names(&iam, name).await.or_absent()? else {
            return Ok(());
        };
        for policy in &inline {
            delete_inline_policy(&iam, name, policy).await?;
        }
        match iam
            .delete_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteRole {name}"), e))
            .or_gone()
        {
            Err(err) if err.has_code(&["DeleteConflict"]) => {
                let class = err.class;
                Err(err.reclassified(
                    class,
                    &format!("IAM role `{name}` is still in use (an instance profile holds it, or a policy was attached meanwhile); remove that first"),
                ))
            }
            other => other,
        }
    }
}

/// What `converge` may assume about the role.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Just created from the spec: only policies remain to be added.
    Fresh,
    /// Only the named fields changed; what to remove is read from the prior spec.
    Changed,
    /// Everything is brought in line; what to remove is read from the role itself.
    Full,
}

/// Makes the role match `spec` for the fields named in `changed` (all when empty).
async fn converge(
    iam: &Client,
    spec: &IamRoleSpec,
    tags: &BTreeMap<String, String>,
    prior: Option<(&IamRoleSpec, &BTreeMap<String, String>)>,
    changed: Changed<'_>,
    mode: Mode,
) -> Result<(), ProviderError> {
    let name = spec.name.as_str();
    let at = |op: &str| format!("{op} {name}");
    let prior_spec = prior.map(|(p, _)| p);

    if mode != Mode::Fresh && changed.has("assume_role_policy") {
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(spec.assume_role_policy.to_string())
            .send()
            .await
            .map_err(|e| classify(&at("UpdateAssumeRolePolicy"), e))?;
    }
    if mode != Mode::Fresh && changed.has("description") {
        iam.update_role()
            .role_name(name)
            .description(&spec.description)
            .send()
            .await
            .map_err(|e| classify(&at("UpdateRole"), e))?;
    }

    if changed.has("managed_policy_arns") {
        let current: BTreeSet<String> = match mode {
            Mode::Fresh => BTreeSet::new(),
            Mode::Changed => prior_spec
                .map(|p| p.managed_policy_arns.iter().cloned().collect())
                .unwrap_or_default(),
            Mode::Full => attached_policies(iam, name).await?,
        };
        let desired: BTreeSet<&String> = spec.managed_policy_arns.iter().collect();
        for arn in &spec.managed_policy_arns {
            if !current.contains(arn) {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| classify(&format!("AttachRolePolicy {name} {arn}"), e))?;
            }
        }
        for arn in current.iter().filter(|a| !desired.contains(a)) {
            detach_policy(iam, name, arn).await?;
        }
    }

    if changed.has("inline_policies") {
        let before: BTreeMap<String, Option<&Value>> = match mode {
            Mode::Fresh => BTreeMap::new(),
            Mode::Changed => prior_spec
                .map(|p| {
                    p.inline_policies
                        .iter()
                        .map(|(k, v)| (k.clone(), Some(v)))
                        .collect()
                })
                .unwrap_or_default(),
            // Documents are not compared with what the role has: every one is put again.
            Mode::Full => inline_policy_names(iam, name)
                .await?
                .into_iter()
                .map(|k| (k, None))
                .collect(),
        };
        for (policy, doc) in &spec.inline_policies {
            if before.get(policy).copied().flatten() != Some(doc) {
                iam.put_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .policy_document(doc.to_string())
                    .send()
                    .await
                    .map_err(|e| classify(&format!("PutRolePolicy {name} {policy}"), e))?;
            }
        }
        for policy in before
            .keys()
            .filter(|k| !spec.inline_policies.contains_key(*k))
        {
            delete_inline_policy(iam, name, policy).await?;
        }
    }

    if mode != Mode::Fresh && changed.has("tags") {
        let mut stale: BTreeSet<String> = prior
            .map(|(_, t)| t.keys().cloned().collect())
            .unwrap_or_default();
        if mode == Mode::Full {
            if let Some(role) = get_role(iam, name).await? {
                stale.extend(role_tags(iam, &role).await?.into_keys());
            }
        }
        stale.retain(|k| !tags.contains_key(k));
        if !tags.is_empty() {
            iam.tag_role()
                .role_name(name)
                .set_tags(Some(tags::to_sdk(tags)?))
                .send()
                .await
                .map_err(|e| classify(&at("TagRole"), e))?;
        }
        if !stale.is_empty() {
            iam.untag_role()
                .role_name(name)
                .set_tag_keys(Some(stale.into_iter().collect()))
                .send()
                .await
                .map_err(|e| classify(&at("UntagRole"), e))?;
        }
    }
    Ok(())
}

/// Detaches managed policy `arn` from the role; already detached is done.
async fn detach_policy(iam: &Client, name: &str, arn: &str) -> Result<(), ProviderError> {
    iam.detach_role_policy()
        .role_name(name)
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| classify(&format!("DetachRolePolicy {name} {arn}"), e))
        .or_gone()
}

/// Deletes inline policy `policy` of the role; already deleted is done.
async fn delete_inline_policy(iam: &Client, name: &str, policy: &str) -> Result<(), ProviderError> {
    iam.delete_role_policy()
        .role_name(name)
        .policy_name(policy)
        .send()
        .await
        .map_err(|e| classify(&format!("DeleteRolePolicy {name} {policy}"), e))
        .or_gone()
}

/// ARNs of the managed policies attached to the role (all pages).
async fn attached_policies(iam: &Client, name: &str) -> Result<BTreeSet<String>, ProviderError> {
    let mut arns = BTreeSet::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListAttachedRolePolicies {name}"), e))?;
        arns.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_string()),
            _ => return Ok(arns),
        }
    }
}

/// Names of the role's inline policies (all pages).
async fn inline_policy_names(iam: &Client, name: &str) -> Result<BTreeSet<String>, ProviderError> {
    let mut names = BTreeSet::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .list_role_policies()
            .role_name(name)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListRolePolicies {name}"), e))?;
        names.extend(page.policy_names().iter().cloned());
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_string()),
            _ => return Ok(names),
        }
    }
}
