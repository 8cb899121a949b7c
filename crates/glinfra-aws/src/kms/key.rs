//! The KMS key driver: a symmetric encryption key with rotation, tags and an alias.
//!
//! Rotation is EnableKeyRotation with the spec's `RotationPeriodInDays` (seed 8.1,
//! `automatic-90-days`), read back with GetKeyRotationStatus; a key whose spec
//! leaves the period out keeps AWS's default (365 days), which is not drift.
//!
//! CreateKey takes no idempotency token, so the alias is the commit point: a key
//! is described, tagged and given its rotation setting first, and aliased last.
//! A key found through its alias is therefore complete. Should a step before the
//! alias fail, the new key is scheduled for deletion before the error is returned,
//! so a retry does not leave a second key behind. Only a crash in that window
//! leaves an unaliased key, which `find` looks for among the account's unaliased
//! keys (a bounded scan).

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::join::try_join_all;
use crate::kit::live::{Live, Scope};
use crate::kit::read::filled;
use crate::kit::{
    claimed_elsewhere, owned, owner_of, retryable_when, tags, Absent, Changed, Desired, Recorded,
};
use async_trait::async_trait;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType};
use aws_sdk_kms::Client;
use glinfra_core::spec::kms::{KmsKeyOutputs, KmsKeySpec};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::{BTreeMap, BTreeSet};

/// At most this many unaliased keys have their tags read when looking for a key
/// whose create was interrupted before it got its alias.
const SCAN_LIMIT: usize = 100;

/// Waiting period for a key deleted because its own create failed.
const ORPHAN_DELETION_DAYS: i32 = 7;

/// The driver of `aws:kms/key`.
pub(crate) struct KmsKeyDriver;

fn alias_name(alias: &str) -> String {
    format!("alias/{alias}")
}

fn outputs(meta: &KeyMetadata) -> KmsKeyOutputs {
    KmsKeyOutputs {
        key_id: meta.key_id().to_string(),
        arn: meta.arn().unwrap_or_default().to_string(),
    }
}

fn is_pending_deletion(meta: &KeyMetadata) -> bool {
    matches!(
        meta.key_state(),
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    )
}

/// DescribeKey on a key id, ARN or `alias/...`; `None` when there is no such key or alias.
async fn describe(kms: &Client, key: &str) -> Result<Option<KeyMetadata>, ProviderError> {
    Ok(kms
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeKey {key}"), e))
        .or_absent()?
        .and_then(|out| out.key_metadata().cloned()))
}

/// Every tag of the key.
async fn key_tags(kms: &Client, key_id: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let mut found = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_resource_tags()
            .key_id(key_id)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListResourceTags {key_id}"), e))?;
        found.extend(tags::from_sdk(page.tags()));
        match page.next_marker() {
            Some(m) if page.truncated() => marker = Some(m.to_string()),
            _ => return Ok(found),
        }
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

#[async_trait]
impl Driver for KmsKeyDriver {
    type Spec = KmsKeySpec;
    const TAGGING: Option<&'static str> = Some("kms");

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<KmsKeySpec>,
    ) -> Result<Option<KmsKeyOutputs>, ProviderError> {
        let kms = c.kms(&r.region);
        let alias = alias_name(&r.spec.alias);
        if let Some(meta) = describe(&kms, &alias).await? {
            let tags = key_tags(&kms, meta.key_id()).await?;
            if !owned(&tags, &r.stack, &r.id) {
                return Err(alias_taken(&alias, meta.key_id(), &tags));
            }
            if !is_pending_deletion(&meta) {
                return Ok(Some(outputs(&meta)));
            }
            // Our alias still names our key being deleted: a new key may have been made
            // and not yet aliased; look for it below.
        }
        Ok(scan_unaliased(&kms, r).await?.map(|m| outputs(&m)))
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<KmsKeySpec>,
    ) -> Result<KmsKeyOutputs, ProviderError> {
        let spec = &r.spec;
        let kms = c.kms(&r.region);
        let alias = alias_name(&spec.alias);
        let tags = r.owned_tags();

        // The alias may exist already: naming a complete key of ours (adopted), a key
        // of ours pending deletion (re-pointed below), or someone else's key.
        let mut repoint = false;
        if let Some(meta) = describe(&kms, &alias).await? {
            let live = key_tags(&kms, meta.key_id()).await?;
            if !owned(&live, &r.stack, &r.id) {
                return Err(alias_taken(&alias, meta.key_id(), &live));
            }
            if !is_pending_deletion(&meta) {
                converge(&kms, meta.key_id(), spec, &tags, None, Changed(&[])).await?;
                return Ok(outputs(&meta));
            }
            repoint = true;
        }

        let out = kms
            .create_key()
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .description(&spec.description)
            .set_tags(Some(tags::to_sdk(&tags)?))
            .send()
            .await
            .map_err(|e| classify("CreateKey", e))?;
        let meta = out.key_metadata().cloned().ok_or_else(|| {
            ProviderError::new(ErrorClass::Fatal, "CreateKey returned no key metadata")
        })?;
        let key_id = meta.key_id();

        if let Err(e) = finish_new_key(&kms, key_id, &alias, spec, repoint).await {
            // Without its alias nothing would find this key again: delete it, so a retry
            // makes a fresh one instead of leaving a stray key behind.
            if let Err(cleanup) = kms
                .schedule_key_deletion()
                .key_id(key_id)
                .pending_window_in_days(ORPHAN_DELETION_DAYS)
                .send()
                .await
            {
                let cleanup = classify(&format!("ScheduleKeyDeletion {key_id}"), cleanup);
                tracing::warn!(key = %key_id, error = %cleanup, "could not delete the key whose create failed");
            }
            return Err(e);
        }
        Ok(outputs(&meta))
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<KmsKeySpec>,
        r: &Desired<KmsKeySpec>,
        changed: Changed<'_>,
    ) -> Result<KmsKeyOutputs, ProviderError> {
        let kms = c.kms(&r.region);
        let key_id = prior.outputs.key_id.as_str();
        let tags = r.owned_tags();
        converge(
            &kms,
            key_id,
            &r.spec,
            &tags,
            Some((&prior.spec, &prior.tags)),
            changed,
        )
        .await?;
        if changed.has("alias") {
            let alias = alias_name(&r.spec.alias);
            // The new alias first, so the key is never without one.
            ensure_alias(&kms, &alias, key_id, r).await?;
            // A refresh records an alias deleted outside glinfra as none: nothing to delete.
            if prior.spec.alias != r.spec.alias && !prior.spec.alias.is_empty() {
                delete_alias_of(&kms, &alias_name(&prior.spec.alias), key_id).await?;
            }
        }
        Ok(prior.outputs.clone())
    }

    /// ListAliases once (every page), and for each recorded key, all at once:
    /// DescribeKey (description, state), then GetKeyRotationStatus and
    /// ListResourceTags. ListKeys returns no tags and KMS has no batch tag read,
    /// so only recorded keys are read: a key carrying the stack's tags that state
    /// does not know is not detected (the create's find adopts it by its alias). A
    /// key pending deletion is gone; one whose tags name another stack is not ours.
    /// `deletion_window_days` cannot be read (KMS shows it only once a deletion is
    /// scheduled): it stays as recorded, and so does `rotation_period_days` while
    /// rotation is off (GetKeyRotationStatus then has no period). Nothing recorded: no call.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<KmsKeySpec>,
    ) -> Result<Option<Vec<Live<KmsKeySpec>>>, ProviderError> {
        if scope.recorded.is_empty() {
            return Ok(Some(Vec::new())); // nothing to read: no call
        }
        let kms = c.kms(&scope.region);
        let keys = try_join_all(
            scope
                .recorded
                .iter()
                .map(|r| read_key(&kms, r, scope.listed_tags(&r.outputs.arn))),
        );
        let (aliases, keys) = tokio::try_join!(aliases_by_key(&kms), keys)?;
        let mut live = Vec::new();
        for (r, key) in scope.recorded.iter().zip(keys) {
            let Some((meta, (rotation, period), tags)) = key else {
                continue;
            };
            if claimed_elsewhere(&tags, &scope.stack, &r.id) {
                continue;
            }
            let names = aliases
                .get(meta.key_id())
                .map(Vec::as_slice)
                .unwrap_or_default();
            // The recorded alias when it still names the key; else another it has, or none.
            let alias = if names.contains(&r.spec.alias) {
                r.spec.alias.clone()
            } else {
                names.first().cloned().unwrap_or_default()
            };
            live.push(Live {
                id: r.id.clone(),
                outputs: outputs(&meta),
                tags,
                spec: Some(KmsKeySpec {
                    description: meta.description().unwrap_or_default().to_string(),
                    enable_key_rotation: rotation,
                    // While rotation is off KMS reports no period: the recorded one
                    // stands (turning rotation on again sends it), so a disabled
                    // rotation is drift of `enable_key_rotation` alone.
                    rotation_period_days: filled(Some(&r.spec.rotation_period_days), |recorded| {
                        if rotation {
                            period
                        } else {
                            period.or(recorded.copied())
                        }
                    }),
                    alias,
                    deletion_window_days: r.spec.deletion_window_days,
                }),
            });
        }
        Ok(Some(live))
    }

    async fn delete(&self, c: &Clients, prior: &Recorded<KmsKeySpec>) -> Result<(), ProviderError> {
        let kms = c.kms(&prior.region);
        let key_id = prior.outputs.key_id.as_str();
        let Some(meta) = describe(&kms, key_id).await? else {
            return Ok(());
        };
        // The alias goes first, so a replacement can take it at once.
        delete_alias_of(&kms, &alias_name(&prior.spec.alias), key_id).await?;
        if is_pending_deletion(&meta) {
            return Ok(());
        }
        match kms
            .schedule_key_deletion()
            .key_id(key_id)
            .pending_window_in_days(prior.spec.deletion_window_days)
            .send()
            .await
            .map_err(|e| classify(&format!("ScheduleKeyDeletion {key_id}"), e))
            .or_gone()
        {
            Err(err) if err.has_code(&["KMSInvalidStateException"]) => {
                // Scheduled meanwhile by someone else: pending deletion is what we want.
                match describe(&kms, key_id).await? {
                    None => Ok(()),
                    Some(meta) if is_pending_deletion(&meta) => Ok(()),
                    Some(_) => Err(err),
                }
            }
            other => other,
        }
    }
}

/// Whether a key rotates, and every how many days (GetKeyRotationStatus).
type Rotation = (bool, Option<i32>);

/// The recorded key `r` as KMS has it: its metadata, rotation and tags; `None`
/// when it is gone or pending deletion.
/// DescribeKey, then GetKeyRotationStatus and (unless `listed` by the bulk tag
/// read) ListResourceTags of the recorded key `r`; `None` when it is gone or
/// pending deletion.
async fn read_key(
    kms: &Client,
    r: &Recorded<KmsKeySpec>,
    listed: impl std::future::Future<Output = Option<BTreeMap<String, String>>>,
) -> Result<Option<(KeyMetadata, Rotation, BTreeMap<String, String>)>, ProviderError> {
    let key_id = r.outputs.key_id.as_str();
    let Some(meta) = describe(kms, key_id).await? else {
        return Ok(None);
    };
    if is_pending_deletion(&meta) {
        return Ok(None);
    }
    let rotation = async {
        kms.get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .map(|out| (out.key_rotation_enabled(), out.rotation_period_in_days()))
            .map_err(|e| classify(&format!("GetKeyRotationStatus {key_id}"), e))
            // Scheduled for deletion since DescribeKey: read again, and it is gone.
            .map_err(retryable_when(
                &["KMSInvalidStateException"],
                "its state changed while it was read",
            ))
    };
    let tags = async {
        match listed.await {
            Some(tags) => Ok(tags),
            None => key_tags(kms, key_id).await,
        }
    };
    let read = tokio::try_join!(rotation, tags).or_absent()?;
    Ok(read.map(|(rotation, tags)| (meta, rotation, tags)))
}

/// The names (without `alias/`) of the aliases of each key in the region, in
/// name order: ListAliases, every page.
async fn aliases_by_key(kms: &Client) -> Result<BTreeMap<String, Vec<String>>, ProviderError> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_aliases()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify("ListAliases", e))?;
        for a in page.aliases() {
            if let (Some(key), Some(name)) = (a.target_key_id(), a.alias_name()) {
                let name = name.strip_prefix("alias/").unwrap_or(name);
                found
                    .entry(key.to_string())
                    .or_default()
                    .push(name.to_string());
            }
        }
        match page.next_marker() {
            Some(m) if page.truncated() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    for names in found.values_mut() {
        names.sort();
    }
    Ok(found)
}

/// Looks among the account's keys that have no alias for one carrying our
/// ownership tags and not pending deletion (at most [`SCAN_LIMIT`] keys read).
async fn scan_unaliased(
    kms: &Client,
    r: &Desired<KmsKeySpec>,
) -> Result<Option<KeyMetadata>, ProviderError> {
    let aliased = aliases_by_key(kms).await?;
    let mut marker: Option<String> = None;
    let mut read = 0;
    loop {
        let page = kms
            .list_keys()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify("ListKeys", e))?;
        for key_id in page.keys().iter().filter_map(|k| k.key_id()) {
            if aliased.contains_key(key_id) {
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

/// EnableKeyRotation (with the spec's period, if any) or DisableKeyRotation of
/// `key_id`, as the spec says.
async fn set_rotation(kms: &Client, key_id: &str, spec: &KmsKeySpec) -> Result<(), ProviderError> {
    if spec.enable_key_rotation {
        kms.enable_key_rotation()
            .key_id(key_id)
            .set_rotation_period_in_days(spec.rotation_period_days)
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
    Ok(())
}

/// Points `alias` at `key_id`: CreateAlias for a new alias, UpdateAlias to
/// `repoint` one that names another key.
async fn point_alias(
    kms: &Client,
    alias: &str,
    key_id: &str,
    repoint: bool,
) -> Result<(), ProviderError> {
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

/// Rotation, then the alias: the alias comes last because it marks the key complete.
async fn finish_new_key(
    kms: &Client,
    key_id: &str,
    alias: &str,
    spec: &KmsKeySpec,
    repoint: bool,
) -> Result<(), ProviderError> {
    if spec.enable_key_rotation {
        set_rotation(kms, key_id, spec).await?;
    }
    point_alias(kms, alias, key_id, repoint).await
}

/// Makes `alias` name `key_id`: created when missing, re-pointed when it names a
/// key of ours pending deletion; naming anything else is an AlreadyExists error.
async fn ensure_alias(
    kms: &Client,
    alias: &str,
    key_id: &str,
    r: &Desired<KmsKeySpec>,
) -> Result<(), ProviderError> {
    match describe(kms, alias).await? {
        None => point_alias(kms, alias, key_id, false).await,
        Some(meta) if meta.key_id() == key_id => Ok(()),
        Some(meta) => {
            let tags = key_tags(kms, meta.key_id()).await?;
            if !(is_pending_deletion(&meta) && owned(&tags, &r.stack, &r.id)) {
                return Err(alias_taken(alias, meta.key_id(), &tags));
            }
            point_alias(kms, alias, key_id, true).await
        }
    }
}

/// Deletes `alias` if it names `key_id` (an alias re-pointed elsewhere is left alone).
async fn delete_alias_of(kms: &Client, alias: &str, key_id: &str) -> Result<(), ProviderError> {
    match describe(kms, alias).await? {
        Some(meta) if meta.key_id() == key_id => kms
            .delete_alias()
            .alias_name(alias)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteAlias {alias}"), e))
            .or_gone(),
        _ => Ok(()),
    }
}

/// Description, rotation and tags, for the fields named in `changed` (all when empty).
async fn converge(
    kms: &Client,
    key_id: &str,
    spec: &KmsKeySpec,
    tags: &BTreeMap<String, String>,
    prior: Option<(&KmsKeySpec, &BTreeMap<String, String>)>,
    changed: Changed<'_>,
) -> Result<(), ProviderError> {
    if changed.has("description") {
        kms.update_key_description()
            .key_id(key_id)
            .description(&spec.description)
            .send()
            .await
            .map_err(|e| classify(&format!("UpdateKeyDescription {key_id}"), e))?;
    }
    if changed.any(&["enable_key_rotation", "rotation_period_days"]) {
        set_rotation(kms, key_id, spec).await?;
    }
    if changed.has("tags") {
        let mut stale: BTreeSet<String> = prior
            .map(|(_, t)| t.keys().cloned().collect())
            .unwrap_or_default();
        if changed.0.is_empty() {
            stale.extend(key_tags(kms, key_id).await?.into_keys());
        }
        stale.retain(|k| !tags.contains_key(k));
        if !tags.is_empty() {
            kms.tag_resource()
                .key_id(key_id)
                .set_tags(Some(tags::to_sdk(tags)?))
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
