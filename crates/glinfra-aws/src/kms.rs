//! The KMS key driver: a symmetric encryption key with rotation, tags and an alias.
//!
//! CreateKey takes no idempotency token, so the alias is the commit point: a key
//! is described, tagged and given its rotation setting first, and aliased last.
//! A key found through its alias is therefore complete. Should a step before the
//! alias fail, the new key is scheduled for deletion before the error is returned,
//! so a retry does not leave a second key behind. Only a crash in that window
//! leaves an unaliased key, which `find` looks for among the account's unaliased
//! keys (a bounded scan).

use crate::clients::Clients;
use crate::error::classify;
use aws_sdk_kms::error::SdkError;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType, Tag};
use aws_sdk_kms::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::kms::KmsKeySpec;
use glinfra_core::{ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// At most this many unaliased keys have their tags read when looking for a key
/// whose create was interrupted before it got its alias.
const SCAN_LIMIT: usize = 100;

/// Waiting period for a key deleted because its own create failed.
const ORPHAN_DELETION_DAYS: i32 = 7;

fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    e.code().map(str::to_owned)
}

fn alias_name(alias: &str) -> String {
    format!("alias/{alias}")
}

fn key_outputs(meta: &KeyMetadata) -> Outputs {
    let mut out = Outputs::new();
    out.insert("key_id".into(), Value::String(meta.key_id().to_string()));
    out.insert(
        "arn".into(),
        Value::String(meta.arn().unwrap_or_default().to_string()),
    );
    out
}

fn is_pending_deletion(meta: &KeyMetadata) -> bool {
    matches!(
        meta.key_state(),
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    )
}

/// DescribeKey on a key id, ARN or `alias/...`; `None` when there is no such key or alias.
async fn describe(kms: &Client, key: &str) -> Result<Option<KeyMetadata>, ProviderError> {
    match kms.describe_key().key_id(key).send().await {
        Ok(out) => Ok(out.key_metadata().cloned()),
        Err(e) => {
            let err = classify(&format!("DescribeKey {key}"), e);
            if err.class == ErrorClass::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Every tag of the key.
async fn key_tags(kms: &Client, key_id: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let mut tags = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_resource_tags()
            .key_id(key_id)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListResourceTags {key_id}"), e))?;
        tags.extend(
            page.tags()
                .iter()
                .map(|t| (t.tag_key().to_string(), t.tag_value().to_string())),
        );
        match page.next_marker() {
            Some(m) if page.truncated() => marker = Some(m.to_string()),
            _ => return Ok(tags),
        }
    }
}

fn owned(tags: &BTreeMap<String, String>, stack: &str, id: &str) -> bool {
    tags.get(TAG_STACK).map(String::as_str) == Some(stack)
        && tags.get(TAG_LOGICAL_ID).map(String::as_str) == Some(id)
}

fn owner_of(tags: &BTreeMap<String, String>) -> String {
    match (tags.get(TAG_STACK), tags.get(TAG_LOGICAL_ID)) {
        (Some(s), Some(l)) => format!("stack `{s}`, resource `{l}`"),
        _ => "a key not managed by glinfra (it has no glinfra ownership tags)".into(),
    }
}

fn alias_taken(alias: &str, key_id: &str, tags: &BTreeMap<String, String>) -> ProviderError {
    ProviderError::new(
        ErrorClass::AlreadyExists,
        format!(
            "KMS alias `{alias}` already names key {key_id}, which belongs to {}",
            owner_of(tags)
        ),
    )
}

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: KmsKeySpec = r.spec()?;
    let kms = c.kms(&r.region);
    let alias = alias_name(&spec.alias);
    if let Some(meta) = describe(&kms, &alias).await? {
        let tags = key_tags(&kms, meta.key_id()).await?;
        if !owned(&tags, &r.stack, &r.id) {
            return Err(alias_taken(&alias, meta.key_id(), &tags));
        }
        if !is_pending_deletion(&meta) {
            return Ok(Some(key_outputs(&meta)));
        }
        // Our alias still names our key being deleted: a new key may have been made
        // and not yet aliased; look for it below.
    }
    Ok(scan_unaliased(&kms, r).await?.map(|m| key_outputs(&m)))
}

/// Looks among the account's keys that have no alias for one carrying our
/// ownership tags and not pending deletion (at most [`SCAN_LIMIT`] keys read).
async fn scan_unaliased(
    kms: &Client,
    r: &ResolvedResource,
) -> Result<Option<KeyMetadata>, ProviderError> {
    let mut aliased = BTreeSet::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_aliases()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify("ListAliases", e))?;
        aliased.extend(
            page.aliases()
                .iter()
                .filter_map(|a| a.target_key_id().map(str::to_owned)),
        );
        match page.next_marker() {
            Some(m) if page.truncated() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    let mut read = 0;
    loop {
        let page = kms
            .list_keys()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify("ListKeys", e))?;
        for key_id in page.keys().iter().filter_map(|k| k.key_id()) {
            if aliased.contains(key_id) {
                continue;
            }
            if read == SCAN_LIMIT {
                tracing::warn!(resource = %r.id, "stopped looking for an unaliased KMS key after {SCAN_LIMIT} keys");
                return Ok(None);
            }
            read += 1;
            let tags = match key_tags(kms, key_id).await {
                Ok(tags) => tags,
                // A key we may not read (its policy says so) or that just went is not ours.
                Err(e) if !e.class.is_retryable() => continue,
                Err(e) => return Err(e),
            };
            if owned(&tags, &r.stack, &r.id) {
                if let Some(meta) = describe(kms, key_id).await? {
                    if !is_pending_deletion(&meta) {
                        return Ok(Some(meta));
                    }
                }
            }
        }
        match page.next_marker() {
            Some(m) if page.truncated() => marker = Some(m.to_string()),
            _ => return Ok(None),
        }
    }
}

fn kms_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProviderError::new(ErrorClass::Invalid, format!("key tags: {e}")))
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: KmsKeySpec = r.spec()?;
    let kms = c.kms(&r.region);
    let alias = alias_name(&spec.alias);

    // The alias may exist already: naming a complete key of ours (adopted), a key
    // of ours pending deletion (re-pointed below), or someone else's key.
    let mut repoint = false;
    if let Some(meta) = describe(&kms, &alias).await? {
        let tags = key_tags(&kms, meta.key_id()).await?;
        if !owned(&tags, &r.stack, &r.id) {
            return Err(alias_taken(&alias, meta.key_id(), &tags));
        }
        if !is_pending_deletion(&meta) {
            let key_id = meta.key_id().to_string();
            converge(&kms, &key_id, &spec, &r.tags, None, &[]).await?;
            return Ok(key_outputs(&meta));
        }
        repoint = true;
    }

    let out = kms
        .create_key()
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .description(&spec.description)
        .set_tags(Some(kms_tags(&r.tags)?))
        .send()
        .await
        .map_err(|e| classify("CreateKey", e))?;
    let meta = out.key_metadata().cloned().ok_or_else(|| {
        ProviderError::new(ErrorClass::Fatal, "CreateKey returned no key metadata")
    })?;
    let key_id = meta.key_id().to_string();

    if let Err(e) = finish_new_key(&kms, &key_id, &alias, &spec, repoint).await {
        // Without its alias nothing would find this key again: delete it, so a retry
        // makes a fresh one instead of leaving a stray key behind.
        if let Err(cleanup) = kms
            .schedule_key_deletion()
            .key_id(&key_id)
            .pending_window_in_days(ORPHAN_DELETION_DAYS)
            .send()
            .await
        {
            let cleanup = classify(&format!("ScheduleKeyDeletion {key_id}"), cleanup);
            tracing::warn!(key = %key_id, error = %cleanup, "could not delete the key whose create failed");
        }
        return Err(e);
    }
    Ok(key_outputs(&meta))
}

/// Rotation, then the alias: the alias comes last because it marks the key complete.
async fn finish_new_key(
    kms: &Client,
    key_id: &str,
    alias: &str,
    spec: &KmsKeySpec,
    repoint: bool,
) -> Result<(), ProviderError> {
    if spec.enable_key_rotation {
        kms.enable_key_rotation()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| classify(&format!("EnableKeyRotation {key_id}"), e))?;
    }
    if repoint {
        kms.update_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
            .map_err(|e| classify(&format!("UpdateAlias {alias}"), e))?;
    } else {
        kms.create_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
            .map_err(|e| classify(&format!("CreateAlias {alias}"), e))?;
    }
    Ok(())
}

/// Makes `alias` name `key_id`: created when missing, re-pointed when it names a
/// key of ours pending deletion; naming anything else is an AlreadyExists error.
async fn ensure_alias(
    kms: &Client,
    alias: &str,
    key_id: &str,
    r: &ResolvedResource,
) -> Result<(), ProviderError> {
    match describe(kms, alias).await? {
        None => match kms
            .create_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(classify(&format!("CreateAlias {alias}"), e)),
        },
        Some(meta) if meta.key_id() == key_id => Ok(()),
        Some(meta) => {
            let tags = key_tags(kms, meta.key_id()).await?;
            if !(is_pending_deletion(&meta) && owned(&tags, &r.stack, &r.id)) {
                return Err(alias_taken(alias, meta.key_id(), &tags));
            }
            kms.update_alias()
                .alias_name(alias)
                .target_key_id(key_id)
                .send()
                .await
                .map_err(|e| classify(&format!("UpdateAlias {alias}"), e))?;
            Ok(())
        }
    }
}

/// Deletes `alias` if it names `key_id` (an alias re-pointed elsewhere is left alone).
async fn delete_alias_of(kms: &Client, alias: &str, key_id: &str) -> Result<(), ProviderError> {
    match describe(kms, alias).await? {
        Some(meta) if meta.key_id() == key_id => {
            match kms.delete_alias().alias_name(alias).send().await {
                Ok(_) => Ok(()),
                Err(e) => {
                    let err = classify(&format!("DeleteAlias {alias}"), e);
                    if err.class == ErrorClass::NotFound {
                        Ok(())
                    } else {
                        Err(err)
                    }
                }
            }
        }
        _ => Ok(()),
    }
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let spec: KmsKeySpec = r.spec()?;
    let kms = c.kms(&r.region);
    let key_id = prior
        .outputs
        .get("key_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("KMS key `{}`: no key_id recorded", r.id),
            )
        })?
        .to_string();
    let prior_spec: Option<KmsKeySpec> = serde_json::from_value(prior.props.clone()).ok();
    converge_resource(
        &kms,
        &key_id,
        &spec,
        r,
        prior_spec.as_ref().map(|p| (p, &prior.tags)),
        changed,
    )
    .await?;
    Ok(prior.outputs.clone())
}

/// [`converge`] with the alias handled too.
async fn converge_resource(
    kms: &Client,
    key_id: &str,
    spec: &KmsKeySpec,
    r: &ResolvedResource,
    prior: Option<(&KmsKeySpec, &BTreeMap<String, String>)>,
    changed: &[String],
) -> Result<(), ProviderError> {
    converge(kms, key_id, spec, &r.tags, prior, changed).await?;
    if changed.is_empty() || changed.iter().any(|f| f == "alias") {
        let alias = alias_name(&spec.alias);
        // The new alias first, so the key is never without one.
        ensure_alias(kms, &alias, key_id, r).await?;
        if let Some((p, _)) = prior {
            if p.alias != spec.alias {
                delete_alias_of(kms, &alias_name(&p.alias), key_id).await?;
            }
        }
    }
    Ok(())
}

/// Description, rotation and tags, for the fields named in `changed` (all when empty).
async fn converge(
    kms: &Client,
    key_id: &str,
    spec: &KmsKeySpec,
    tags: &BTreeMap<String, String>,
    prior: Option<(&KmsKeySpec, &BTreeMap<String, String>)>,
    changed: &[String],
) -> Result<(), ProviderError> {
    let wants = |f: &str| changed.is_empty() || changed.iter().any(|c| c == f);
    if wants("description") {
        kms.update_key_description()
            .key_id(key_id)
            .description(&spec.description)
            .send()
            .await
            .map_err(|e| classify(&format!("UpdateKeyDescription {key_id}"), e))?;
    }
    if wants("enable_key_rotation") {
        if spec.enable_key_rotation {
            kms.enable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .map_err(|e| classify(&format!("EnableKeyRotation {key_id}"), e))?;
        } else {
            kms.disable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .map_err(|e| classify(&format!("DisableKeyRotation {key_id}"), e))?;
        }
    }
    if wants("tags") {
        let mut stale: BTreeSet<String> = prior
            .map(|(_, t)| t.keys().cloned().collect())
            .unwrap_or_default();
        if changed.is_empty() {
            stale.extend(key_tags(kms, key_id).await?.into_keys());
        }
        stale.retain(|k| !tags.contains_key(k));
        if !tags.is_empty() {
            kms.tag_resource()
                .key_id(key_id)
                .set_tags(Some(kms_tags(tags)?))
                .send()
                .await
                .map_err(|e| classify(&format!("TagResource {key_id}"), e))?;
        }
        if !stale.is_empty() {
            kms.untag_resource()
                .key_id(key_id)
                .set_tag_keys(Some(stale.into_iter().collect()))
                .send()
                .await
                .map_err(|e| classify(&format!("UntagResource {key_id}"), e))?;
        }
    }
    Ok(())
}

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let spec: KmsKeySpec = serde_json::from_value(prior.props.clone()).map_err(|e| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("KMS key `{id}`: malformed recorded spec: {e}"),
        )
    })?;
    let kms = c.kms(&prior.region);
    let key_id = prior
        .outputs
        .get("key_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("KMS key `{id}`: no key_id recorded"),
            )
        })?;
    let Some(meta) = describe(&kms, key_id).await? else {
        return Ok(());
    };
    // The alias goes first, so a replacement can take it at once.
    delete_alias_of(&kms, &alias_name(&spec.alias), key_id).await?;
    if is_pending_deletion(&meta) {
        return Ok(());
    }
    match kms
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(spec.deletion_window_days)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let code = code_of(&e);
            let err = classify(&format!("ScheduleKeyDeletion {key_id}"), e);
            if err.class == ErrorClass::NotFound {
                return Ok(());
            }
            if code.as_deref() == Some("KMSInvalidStateException") {
                // Scheduled meanwhile by someone else: pending deletion is what we want.
                let gone = match describe(&kms, key_id).await? {
                    None => true,
                    Some(meta) => is_pending_deletion(&meta),
                };
                if gone {
                    return Ok(());
                }
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{meta, mock_clients, recorder};

    use aws_sdk_kms::operation::create_alias::{CreateAliasError, CreateAliasOutput};
    use aws_sdk_kms::operation::create_key::{CreateKeyInput, CreateKeyOutput};
    use aws_sdk_kms::operation::delete_alias::DeleteAliasOutput;
    use aws_sdk_kms::operation::describe_key::{DescribeKeyError, DescribeKeyOutput};
    use aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput;
    use aws_sdk_kms::operation::list_aliases::ListAliasesOutput;
    use aws_sdk_kms::operation::list_keys::ListKeysOutput;
    use aws_sdk_kms::operation::list_resource_tags::ListResourceTagsOutput;
    use aws_sdk_kms::operation::schedule_key_deletion::{
        ScheduleKeyDeletionInput, ScheduleKeyDeletionOutput,
    };
    use aws_sdk_kms::types::{AliasListEntry, KeyListEntry};
    use aws_smithy_mocks::{mock, Rule, RuleMode};

    use glinfra_core::Kind;

    const REGION: &str = "eu-west-1";

    fn mock_kms(rules: &[&Rule]) -> Clients {
        mock_clients!(aws_sdk_kms, "kms", REGION, RuleMode::Sequential, rules)
    }

    fn owner_tags() -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_STACK.to_string(), "prod".to_string()),
            (TAG_LOGICAL_ID.to_string(), "data-key".to_string()),
        ])
    }

    fn spec() -> KmsKeySpec {
        let mut spec = KmsKeySpec::new("prod/data", "data at rest");
        spec.deletion_window_days = 10;
        spec
    }

    fn resource(spec: &KmsKeySpec) -> ResolvedResource {
        ResolvedResource {
            stack: "prod".into(),
            id: "data-key".into(),
            kind: Kind::KmsKey,
            region: REGION.into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: owner_tags(),
        }
    }

    fn key(id: &str, state: KeyState) -> KeyMetadata {
        KeyMetadata::builder()
            .key_id(id)
            .arn(format!("arn:aws:kms:{REGION}:111122223333:key/{id}"))
            .key_state(state)
            .build()
            .unwrap()
    }

    fn state(spec: &KmsKeySpec) -> ResourceState {
        ResourceState {
            kind: Kind::KmsKey,
            region: REGION.into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: owner_tags(),
            outputs: key_outputs(&key("k1", KeyState::Enabled)),
            dependencies: Default::default(),
            pending: None,
        }
    }

    fn describe_ok(target: &'static str, id: &'static str, state: KeyState) -> Rule {
        mock!(Client::describe_key)
            .match_requests(move |r| r.key_id() == Some(target))
            .then_output(move || {
                DescribeKeyOutput::builder()
                    .key_metadata(key(id, state.clone()))
                    .build()
            })
    }

    fn describe_missing(target: &'static str) -> Rule {
        mock!(Client::describe_key)
            .match_requests(move |r| r.key_id() == Some(target))
            .then_error(|| DescribeKeyError::generic(meta("NotFoundException")))
    }

    fn tags_rule(target: &'static str, tags: &'static [(&'static str, &'static str)]) -> Rule {
        mock!(Client::list_resource_tags)
            .match_requests(move |r| r.key_id() == Some(target))
            .then_output(move || {
                ListResourceTagsOutput::builder()
                    .set_tags(Some(
                        tags.iter()
                            .map(|(k, v)| Tag::builder().tag_key(*k).tag_value(*v).build().unwrap())
                            .collect(),
                    ))
                    .truncated(false)
                    .build()
            })
    }

    const OURS: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "data-key")];
    const THEIRS: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "data-key")];

    #[tokio::test]
    async fn delete_removes_the_alias_and_schedules_deletion_with_the_window() {
        let (scheduled, see) = recorder::<ScheduleKeyDeletionInput>();
        let rules = [
            describe_ok("k1", "k1", KeyState::Enabled),
            describe_ok("alias/prod/data", "k1", KeyState::Enabled),
            mock!(Client::delete_alias)
                .match_requests(|r| r.alias_name() == Some("alias/prod/data"))
                .then_output(|| DeleteAliasOutput::builder().build()),
            mock!(Client::schedule_key_deletion)
                .match_requests(see)
                .then_output(|| ScheduleKeyDeletionOutput::builder().build()),
        ];
        let c = mock_kms(&rules.iter().collect::<Vec<_>>());

        delete(&c, "data-key", &state(&spec())).await.unwrap();

        let scheduled = scheduled.lock().unwrap();
        assert_eq!(scheduled[0].key_id(), Some("k1"));
        assert_eq!(scheduled[0].pending_window_in_days(), Some(10));
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn delete_of_a_key_pending_deletion_or_gone_is_success() {
        let rules = [
            describe_ok("k1", "k1", KeyState::PendingDeletion),
            // The alias was re-pointed at another key: left alone.
            describe_ok("alias/prod/data", "k2", KeyState::Enabled),
            describe_missing("k1"),
        ];
        let c = mock_kms(&rules.iter().collect::<Vec<_>>());
        delete(&c, "data-key", &state(&spec())).await.unwrap();
        delete(&c, "data-key", &state(&spec())).await.unwrap();
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn create_makes_a_tagged_symmetric_key_with_rotation_then_the_alias() {
        let (created, see) = recorder::<CreateKeyInput>();
        let rules = [
            describe_missing("alias/prod/data"),
            mock!(Client::create_key)
                .match_requests(see)
                .then_output(|| {
                    CreateKeyOutput::builder()
                        .key_metadata(key("k9", KeyState::Enabled))
                        .build()
                }),
            mock!(Client::enable_key_rotation)
                .match_requests(|r| r.key_id() == Some("k9"))
                .then_output(|| EnableKeyRotationOutput::builder().build()),
            mock!(Client::create_alias)
                .match_requests(|r| {
                    r.alias_name() == Some("alias/prod/data") && r.target_key_id() == Some("k9")
                })
                .then_output(|| CreateAliasOutput::builder().build()),
        ];
        let c = mock_kms(&rules.iter().collect::<Vec<_>>());

        let out = create(&c, &resource(&spec())).await.unwrap();

        assert_eq!(out["key_id"], Value::from("k9"));
        assert_eq!(
            out["arn"],
            Value::from(format!("arn:aws:kms:{REGION}:111122223333:key/k9"))
        );
        let created = created.lock().unwrap();
        assert_eq!(created[0].key_spec(), Some(&KeySpec::SymmetricDefault));
        assert_eq!(created[0].key_usage(), Some(&KeyUsageType::EncryptDecrypt));
        assert_eq!(created[0].description(), Some("data at rest"));
        let tags: BTreeMap<String, String> = created[0]
            .tags()
            .iter()
            .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
            .collect();
        assert_eq!(tags, owner_tags());
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn create_deletes_its_new_key_when_the_alias_fails() {
        let mut spec = spec();
        spec.enable_key_rotation = false;
        let rules = [
            describe_missing("alias/prod/data"),
            mock!(Client::create_key).then_output(|| {
                CreateKeyOutput::builder()
                    .key_metadata(key("k9", KeyState::Enabled))
                    .build()
            }),
            mock!(Client::create_alias)
                .then_error(|| CreateAliasError::generic(meta("KMSInternalException"))),
            mock!(Client::schedule_key_deletion)
                .match_requests(|r| {
                    r.key_id() == Some("k9") && r.pending_window_in_days() == Some(7)
                })
                .then_output(|| ScheduleKeyDeletionOutput::builder().build()),
        ];
        let c = mock_kms(&rules.iter().collect::<Vec<_>>());

        let err = create(&c, &resource(&spec)).await.unwrap_err();

        assert!(err.message.contains("CreateAlias"), "{}", err.message);
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn find_by_alias_adopts_only_our_key() {
        let rules = [
            describe_ok("alias/prod/data", "k1", KeyState::Enabled),
            tags_rule("k1", OURS),
            describe_ok("alias/prod/data", "k5", KeyState::Enabled),
            tags_rule("k5", THEIRS),
        ];
        let c = mock_kms(&rules.iter().collect::<Vec<_>>());
        let r = resource(&spec());
        assert_eq!(
            find(&c, &r).await.unwrap(),
            Some(key_outputs(&key("k1", KeyState::Enabled)))
        );
        let err = find(&c, &r).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::AlreadyExists);
        assert!(err.message.contains("stack `staging`"), "{}", err.message);
    }

    #[tokio::test]
    async fn find_falls_back_to_unaliased_keys_with_our_tags() {
        let rules = [
            describe_missing("alias/prod/data"),
            mock!(Client::list_aliases).then_output(|| {
                ListAliasesOutput::builder()
                    .aliases(
                        AliasListEntry::builder()
                            .alias_name("alias/aws/s3")
                            .target_key_id("k-aws")
                            .build(),
                    )
                    .aliases(
                        AliasListEntry::builder()
                            .alias_name("alias/other")
                            .target_key_id("k1")
                            .build(),
                    )
                    .truncated(false)
                    .build()
            }),
            mock!(Client::list_keys).then_output(|| {
                ListKeysOutput::builder()
                    .keys(KeyListEntry::builder().key_id("k-aws").build())
                    .keys(KeyListEntry::builder().key_id("k1").build())
                    .keys(KeyListEntry::builder().key_id("k2").build())
                    .keys(KeyListEntry::builder().key_id("k3").build())
                    .keys(KeyListEntry::builder().key_id("k4").build())
                    .truncated(false)
                    .build()
            }),
            tags_rule("k2", THEIRS),
            // Ours, but being deleted: not adopted.
            tags_rule("k3", OURS),
            describe_ok("k3", "k3", KeyState::PendingDeletion),
            tags_rule("k4", OURS),
            describe_ok("k4", "k4", KeyState::Enabled),
        ];
        let c = mock_kms(&rules.iter().collect::<Vec<_>>());

        let out = find(&c, &resource(&spec())).await.unwrap();

        assert_eq!(out, Some(key_outputs(&key("k4", KeyState::Enabled))));
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn update_moves_the_alias_new_first_then_old() {
        let before = spec();
        let mut after = spec();
        after.alias = "prod/data-v2".into();
        let rules = [
            describe_missing("alias/prod/data-v2"),
            mock!(Client::create_alias)
                .match_requests(|r| {
                    r.alias_name() == Some("alias/prod/data-v2") && r.target_key_id() == Some("k1")
                })
                .then_output(|| CreateAliasOutput::builder().build()),
            describe_ok("alias/prod/data", "k1", KeyState::Enabled),
            mock!(Client::delete_alias)
                .match_requests(|r| r.alias_name() == Some("alias/prod/data"))
                .then_output(|| DeleteAliasOutput::builder().build()),
        ];
        let c = mock_kms(&rules.iter().collect::<Vec<_>>());

        let out = update(&c, &state(&before), &resource(&after), &["alias".into()])
            .await
            .unwrap();

        assert_eq!(out, state(&before).outputs);
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }
}
