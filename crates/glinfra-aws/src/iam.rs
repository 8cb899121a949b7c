//! The IAM role driver: a role with its trust policy, managed policy attachments
//! and inline policies.
//!
//! Role names are unique per account, so the name is the natural key and the
//! ownership tags (set atomically by CreateRole) say whose role it is. Attaching a
//! policy and putting an inline policy are idempotent; detaching and deleting
//! something already gone counts as done.

use crate::clients::Clients;
use crate::error::classify;
use aws_sdk_iam::error::SdkError;
use aws_sdk_iam::types::{Role, Tag};
use aws_sdk_iam::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::{ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    e.code().map(str::to_owned)
}

/// Success when the call succeeded or what it removes is already gone.
fn gone_ok<T>(result: Result<T, ProviderError>) -> Result<(), ProviderError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn role_outputs(arn: &str, name: &str) -> Outputs {
    let mut out = Outputs::new();
    out.insert("arn".into(), Value::String(arn.to_string()));
    out.insert("name".into(), Value::String(name.to_string()));
    out
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// The role named `name`, if there is one.
async fn get_role(iam: &Client, name: &str) -> Result<Option<Role>, ProviderError> {
    match iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().cloned()),
        Err(e) => {
            let err = classify(&format!("GetRole {name}"), e);
            if err.class == ErrorClass::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Every tag of the role (GetRole returns them; ListRoleTags is asked only when it returned none).
async fn role_tags(iam: &Client, role: &Role) -> Result<BTreeMap<String, String>, ProviderError> {
    if !role.tags().is_empty() {
        return Ok(tags_of(role.tags()));
    }
    let name = role.role_name();
    let mut tags = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .list_role_tags()
            .role_name(name)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListRoleTags {name}"), e))?;
        tags.extend(tags_of(page.tags()));
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_string()),
            _ => return Ok(tags),
        }
    }
}

/// The role's outputs when it is this resource's; an AlreadyExists error when it is someone else's.
async fn adopt(iam: &Client, role: &Role, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let tags = role_tags(iam, role).await?;
    let stack = tags.get(TAG_STACK).map(String::as_str);
    let logical = tags.get(TAG_LOGICAL_ID).map(String::as_str);
    if stack == Some(r.stack.as_str()) && logical == Some(r.id.as_str()) {
        return Ok(role_outputs(role.arn(), role.role_name()));
    }
    let owner = match (stack, logical) {
        (Some(s), Some(l)) => format!("stack `{s}`, resource `{l}`"),
        _ => "something not managed by glinfra (it has no glinfra ownership tags)".into(),
    };
    Err(ProviderError::new(
        ErrorClass::AlreadyExists,
        format!(
            "IAM role `{}` already exists and belongs to {owner}",
            role.role_name()
        ),
    ))
}

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: IamRoleSpec = r.spec()?;
    let iam = c.iam();
    match get_role(&iam, &spec.name).await? {
        None => Ok(None),
        Some(role) => adopt(&iam, &role, r).await.map(Some),
    }
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProviderError::new(ErrorClass::Invalid, format!("role tags: {e}")))
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: IamRoleSpec = r.spec()?;
    let iam = c.iam();
    let name = spec.name.as_str();
    let created = iam
        .create_role()
        .role_name(name)
        .path(&spec.path)
        .assume_role_policy_document(spec.assume_role_policy.to_string())
        .set_description((!spec.description.is_empty()).then(|| spec.description.clone()))
        .set_tags(Some(iam_tags(&r.tags)?))
        .send()
        .await;
    match created {
        Ok(out) => {
            let role = out.role().ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Fatal,
                    format!("CreateRole {name}: no role returned"),
                )
            })?;
            let outputs = role_outputs(role.arn(), role.role_name());
            converge(&iam, &spec, &r.tags, None, &[], Mode::Fresh).await?;
            Ok(outputs)
        }
        Err(e) => {
            let code = code_of(&e);
            let err = classify(&format!("CreateRole {name}"), e);
            if code.as_deref() != Some("EntityAlreadyExists") {
                return Err(err);
            }
            // An earlier attempt made it, or someone else did: only ours is adopted,
            // and then brought in line with the spec.
            let Some(role) = get_role(&iam, name).await? else {
                return Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!("IAM role `{name}` was reported to exist, then not found"),
                )
                .with_source(err));
            };
            let outputs = adopt(&iam, &role, r).await?;
            converge(&iam, &spec, &r.tags, None, &[], Mode::Full).await?;
            Ok(outputs)
        }
    }
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let spec: IamRoleSpec = r.spec()?;
    let iam = c.iam();
    let prior_spec: Option<IamRoleSpec> = serde_json::from_value(prior.props.clone()).ok();
    let mode = if changed.is_empty() {
        Mode::Full
    } else {
        Mode::Changed
    };
    converge(
        &iam,
        &spec,
        &r.tags,
        prior_spec.as_ref().map(|p| (p, &prior.tags)),
        changed,
        mode,
    )
    .await?;
    let mut out = prior.outputs.clone();
    if !out.contains_key("arn") {
        let role = get_role(&iam, &spec.name).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("IAM role `{}` not found", spec.name),
            )
        })?;
        out = role_outputs(role.arn(), role.role_name());
    }
    out.insert("name".into(), Value::String(spec.name.clone()));
    Ok(out)
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
    changed: &[String],
    mode: Mode,
) -> Result<(), ProviderError> {
    let name = spec.name.as_str();
    let at = |op: &str| format!("{op} {name}");
    let wants = |f: &str| changed.is_empty() || changed.iter().any(|c| c == f);
    let prior_spec = prior.map(|(p, _)| p);

    if mode != Mode::Fresh && wants("assume_role_policy") {
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(spec.assume_role_policy.to_string())
            .send()
            .await
            .map_err(|e| classify(&at("UpdateAssumeRolePolicy"), e))?;
    }
    if mode != Mode::Fresh && wants("description") {
        iam.update_role()
            .role_name(name)
            .description(&spec.description)
            .send()
            .await
            .map_err(|e| classify(&at("UpdateRole"), e))?;
    }

    if wants("managed_policy_arns") {
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
            gone_ok(
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| classify(&format!("DetachRolePolicy {name} {arn}"), e)),
            )?;
        }
    }

    if wants("inline_policies") {
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
            gone_ok(
                iam.delete_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .map_err(|e| classify(&format!("DeleteRolePolicy {name} {policy}"), e)),
            )?;
        }
    }

    if mode != Mode::Fresh && wants("tags") {
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
                .set_tags(Some(iam_tags(tags)?))
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

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let iam = c.iam();
    let name = match prior.outputs.get("name").and_then(Value::as_str) {
        Some(n) => n.to_string(),
        None => {
            serde_json::from_value::<IamRoleSpec>(prior.props.clone())
                .map_err(|e| {
                    ProviderError::new(
                        ErrorClass::Invalid,
                        format!("IAM role `{id}`: malformed recorded spec: {e}"),
                    )
                })?
                .name
        }
    };
    let name = name.as_str();
    // A role cannot be deleted while policies are attached to it or embedded in it.
    // What it has is listed, rather than trusted from state: something may have been added.
    let attached = match attached_policies(&iam, name).await {
        Ok(a) => a,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for arn in &attached {
        gone_ok(
            iam.detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| classify(&format!("DetachRolePolicy {name} {arn}"), e)),
        )?;
    }
    let inline = match inline_policy_names(&iam, name).await {
        Ok(n) => n,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for policy in &inline {
        gone_ok(
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| classify(&format!("DeleteRolePolicy {name} {policy}"), e)),
        )?;
    }
    match iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let code = code_of(&e);
            let err = classify(&format!("DeleteRole {name}"), e);
            if err.class == ErrorClass::NotFound {
                return Ok(());
            }
            if code.as_deref() == Some("DeleteConflict") {
                return Err(ProviderError::new(
                    err.class,
                    format!("IAM role `{name}` is still in use (an instance profile holds it, or a policy was attached meanwhile); remove that first"),
                )
                .with_source(err));
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{meta, mock_clients, recorder};

    use aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput;
    use aws_sdk_iam::operation::create_role::{CreateRoleError, CreateRoleInput, CreateRoleOutput};
    use aws_sdk_iam::operation::delete_role::DeleteRoleOutput;
    use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput;
    use aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput;
    use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
    use aws_sdk_iam::operation::list_attached_role_policies::{
        ListAttachedRolePoliciesError, ListAttachedRolePoliciesOutput,
    };
    use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
    use aws_sdk_iam::operation::put_role_policy::{PutRolePolicyInput, PutRolePolicyOutput};
    use aws_sdk_iam::operation::tag_role::TagRoleOutput;
    use aws_sdk_iam::operation::untag_role::UntagRoleOutput;
    use aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyOutput;
    use aws_sdk_iam::operation::update_role::UpdateRoleOutput;
    use aws_sdk_iam::types::AttachedPolicy;
    use aws_smithy_mocks::{mock, Rule, RuleMode};

    use aws_smithy_types::DateTime;

    use glinfra_core::Kind;
    use serde_json::json;

    const ARN: &str = "arn:aws:iam::111122223333:role/service/replicator";

    fn mock_iam(rules: &[&Rule]) -> Clients {
        mock_clients!(aws_sdk_iam, "iam", "us-east-1", RuleMode::Sequential, rules)
    }

    fn owner_tags() -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_STACK.to_string(), "prod".to_string()),
            (TAG_LOGICAL_ID.to_string(), "replicator".to_string()),
        ])
    }

    fn spec() -> IamRoleSpec {
        let mut spec = IamRoleSpec::for_service("replicator", "s3.amazonaws.com");
        spec.path = "/service/".into();
        spec.description = "S3 replication".into();
        spec.managed_policy_arns = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
        spec.inline_policies = BTreeMap::from([(
            "replicate".to_string(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Replicate*", "Resource": "*"}]}),
        )]);
        spec
    }

    fn resource(spec: &IamRoleSpec) -> ResolvedResource {
        ResolvedResource {
            stack: "prod".into(),
            id: "replicator".into(),
            kind: Kind::IamRole,
            region: "us-east-1".into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: owner_tags(),
        }
    }

    fn state(spec: &IamRoleSpec, tags: BTreeMap<String, String>) -> ResourceState {
        ResourceState {
            kind: Kind::IamRole,
            region: "us-east-1".into(),
            props: serde_json::to_value(spec).unwrap(),
            tags,
            outputs: role_outputs(ARN, "replicator"),
            dependencies: Default::default(),
            pending: None,
        }
    }

    fn role(tags: &[(&str, &str)]) -> Role {
        Role::builder()
            .path("/service/")
            .role_name("replicator")
            .role_id("AROAEXAMPLE")
            .arn(ARN)
            .create_date(DateTime::from_secs(0))
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
                    .collect(),
            ))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn create_sends_path_trust_policy_description_and_tags_then_attaches_policies() {
        let spec = spec();
        let (created, see_created) = recorder::<CreateRoleInput>();
        let (put, see_put) = recorder::<PutRolePolicyInput>();
        let rules = [
            mock!(Client::create_role)
                .match_requests(see_created)
                .then_output(|| CreateRoleOutput::builder().role(role(&[])).build()),
            mock!(Client::attach_role_policy)
                .match_requests(|r| {
                    r.role_name() == Some("replicator")
                        && r.policy_arn() == Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
                })
                .then_output(|| AttachRolePolicyOutput::builder().build()),
            mock!(Client::put_role_policy)
                .match_requests(see_put)
                .then_output(|| PutRolePolicyOutput::builder().build()),
        ];
        let c = mock_iam(&rules.iter().collect::<Vec<_>>());

        let out = create(&c, &resource(&spec)).await.unwrap();

        assert_eq!(out, role_outputs(ARN, "replicator"));
        let created = created.lock().unwrap();
        assert_eq!(created[0].role_name(), Some("replicator"));
        assert_eq!(created[0].path(), Some("/service/"));
        assert_eq!(created[0].description(), Some("S3 replication"));
        let trust: Value =
            serde_json::from_str(created[0].assume_role_policy_document().unwrap()).unwrap();
        assert_eq!(trust, spec.assume_role_policy);
        assert_eq!(tags_of(created[0].tags()), owner_tags());
        let put = put.lock().unwrap();
        assert_eq!(put[0].policy_name(), Some("replicate"));
        let doc: Value = serde_json::from_str(put[0].policy_document().unwrap()).unwrap();
        assert_eq!(doc, spec.inline_policies["replicate"]);
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn create_of_an_existing_role_of_another_owner_is_already_exists() {
        let rules = [
            mock!(Client::create_role)
                .then_error(|| CreateRoleError::generic(meta("EntityAlreadyExists"))),
            mock!(Client::get_role).then_output(|| {
                GetRoleOutput::builder()
                    .role(role(&[
                        (TAG_STACK, "staging"),
                        (TAG_LOGICAL_ID, "replicator"),
                    ]))
                    .build()
            }),
        ];
        let c = mock_iam(&rules.iter().collect::<Vec<_>>());
        let err = create(&c, &resource(&spec())).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::AlreadyExists);
        assert!(err.message.contains("stack `staging`"), "{}", err.message);
    }

    #[tokio::test]
    async fn find_adopts_only_a_role_with_our_tags() {
        let rules = [
            mock!(Client::get_role).then_error(|| GetRoleError::generic(meta("NoSuchEntity"))),
            mock!(Client::get_role).then_output(|| {
                GetRoleOutput::builder()
                    .role(role(&[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "replicator")]))
                    .build()
            }),
            mock!(Client::get_role).then_output(|| {
                GetRoleOutput::builder()
                    .role(role(&[("owner", "me")]))
                    .build()
            }),
        ];
        let c = mock_iam(&rules.iter().collect::<Vec<_>>());
        let r = resource(&spec());
        assert_eq!(find(&c, &r).await.unwrap(), None);
        assert_eq!(
            find(&c, &r).await.unwrap(),
            Some(role_outputs(ARN, "replicator"))
        );
        let err = find(&c, &r).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::AlreadyExists);
        assert!(
            err.message.contains("not managed by glinfra"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn update_applies_policy_and_tag_differences() {
        let before = spec();
        let mut after = spec();
        after.managed_policy_arns = vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into()];
        after.inline_policies = BTreeMap::from([(
            "extra".to_string(),
            json!({"Version": "2012-10-17", "Statement": []}),
        )]);
        let mut prior_tags = owner_tags();
        prior_tags.insert("old".into(), "x".into());
        let rules = [
            mock!(Client::attach_role_policy)
                .match_requests(|r| {
                    r.policy_arn() == Some("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
                })
                .then_output(|| AttachRolePolicyOutput::builder().build()),
            mock!(Client::detach_role_policy)
                .match_requests(|r| {
                    r.policy_arn() == Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
                })
                .then_output(|| DetachRolePolicyOutput::builder().build()),
            mock!(Client::put_role_policy)
                .match_requests(|r| r.policy_name() == Some("extra"))
                .then_output(|| PutRolePolicyOutput::builder().build()),
            mock!(Client::delete_role_policy)
                .match_requests(|r| r.policy_name() == Some("replicate"))
                .then_output(|| DeleteRolePolicyOutput::builder().build()),
            mock!(Client::tag_role)
                .match_requests(|r| tags_of(r.tags()) == owner_tags())
                .then_output(|| TagRoleOutput::builder().build()),
            mock!(Client::untag_role)
                .match_requests(|r| r.tag_keys() == ["old"])
                .then_output(|| UntagRoleOutput::builder().build()),
        ];
        let c = mock_iam(&rules.iter().collect::<Vec<_>>());
        let changed: Vec<String> = ["managed_policy_arns", "inline_policies", "tags"]
            .map(String::from)
            .to_vec();

        let out = update(&c, &state(&before, prior_tags), &resource(&after), &changed)
            .await
            .unwrap();

        assert_eq!(out, role_outputs(ARN, "replicator"));
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn update_of_trust_policy_and_description() {
        let mut after = spec();
        after.description = "new".into();
        let rules = [
            mock!(Client::update_assume_role_policy)
                .match_requests(|r| {
                    r.role_name() == Some("replicator")
                        && r.policy_document()
                            .map(|d| serde_json::from_str::<Value>(d).unwrap())
                            == Some(spec().assume_role_policy)
                })
                .then_output(|| UpdateAssumeRolePolicyOutput::builder().build()),
            mock!(Client::update_role)
                .match_requests(|r| r.description() == Some("new"))
                .then_output(|| UpdateRoleOutput::builder().build()),
        ];
        let c = mock_iam(&rules.iter().collect::<Vec<_>>());
        let changed: Vec<String> = ["assume_role_policy", "description"]
            .map(String::from)
            .to_vec();
        update(
            &c,
            &state(&spec(), owner_tags()),
            &resource(&after),
            &changed,
        )
        .await
        .unwrap();
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn delete_detaches_managed_and_deletes_inline_policies_before_the_role() {
        let rules = [
            mock!(Client::list_attached_role_policies)
                .match_requests(|r| r.role_name() == Some("replicator"))
                .then_output(|| {
                    ListAttachedRolePoliciesOutput::builder()
                        .attached_policies(
                            AttachedPolicy::builder()
                                .policy_arn("arn:aws:iam::aws:policy/A")
                                .build(),
                        )
                        .attached_policies(
                            AttachedPolicy::builder()
                                .policy_arn("arn:aws:iam::aws:policy/B")
                                .build(),
                        )
                        .build()
                }),
            mock!(Client::detach_role_policy)
                .match_requests(|r| r.policy_arn() == Some("arn:aws:iam::aws:policy/A"))
                .then_output(|| DetachRolePolicyOutput::builder().build()),
            // Detached meanwhile: still fine.
            mock!(Client::detach_role_policy)
                .match_requests(|r| r.policy_arn() == Some("arn:aws:iam::aws:policy/B"))
                .then_error(|| {
                    aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyError::generic(
                        meta("NoSuchEntity"),
                    )
                }),
            mock!(Client::list_role_policies).then_output(|| {
                ListRolePoliciesOutput::builder()
                    .policy_names("added-by-hand")
                    .policy_names("replicate")
                    .build()
                    .unwrap()
            }),
            mock!(Client::delete_role_policy)
                .match_requests(|r| r.policy_name() == Some("added-by-hand"))
                .then_output(|| DeleteRolePolicyOutput::builder().build()),
            mock!(Client::delete_role_policy)
                .match_requests(|r| r.policy_name() == Some("replicate"))
                .then_output(|| DeleteRolePolicyOutput::builder().build()),
            mock!(Client::delete_role)
                .match_requests(|r| r.role_name() == Some("replicator"))
                .then_output(|| DeleteRoleOutput::builder().build()),
        ];
        let c = mock_iam(&rules.iter().collect::<Vec<_>>());

        delete(&c, "replicator", &state(&spec(), owner_tags()))
            .await
            .unwrap();

        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn delete_of_a_role_already_gone_is_success() {
        let rule = mock!(Client::list_attached_role_policies)
            .then_error(|| ListAttachedRolePoliciesError::generic(meta("NoSuchEntity")));
        let c = mock_iam(&[&rule]);
        delete(&c, "replicator", &state(&spec(), owner_tags()))
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }
}
