//! CloudWatch Logs log groups: CreateLogGroup (with its tags and KMS key), then
//! PutRetentionPolicy; DescribeLogGroups and ListTagsForResource to find one;
//! PutRetentionPolicy / DeleteRetentionPolicy, AssociateKmsKey / DisassociateKmsKey
//! and TagResource / UntagResource to change one; DeleteLogGroup.
//!
//! A log group has no lifecycle states: it is usable when CreateLogGroup returns
//! and gone when DeleteLogGroup returns (checked by a Describe). Its name is its
//! key in the account and region, so a find looks the name up and checks the
//! ownership tags: a same-named group of someone else's is an AlreadyExists error,
//! never adopted. DescribeLogGroups takes a name *prefix*, so its answers are
//! filtered to the exact name.
//!
//! CreateLogGroup takes no retention: the group starts keeping events forever and
//! PutRetentionPolicy sets the spec's period. A run that stops in between leaves a
//! group that the next run finds, adopts, and brings in line.
//!
//! DescribeLogGroups returns two ARNs: `logGroupArn` (no suffix), which the tagging
//! calls and CreateFlowLogs take, and `arn`, the same followed by `:*` (the group's
//! streams, what IAM policies name). Both are outputs.
//!
//! The KMS key's policy must let `logs.<region>.amazonaws.com` use it, or
//! CreateLogGroup and AssociateKmsKey fail.

use super::logs_error;
use crate::clients::Clients;
use crate::driver::Driver;
use crate::kit::live::{Live, Scope};
use crate::kit::tags::{self, Tagging};
use crate::kit::{self, resolved_opt, wait, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_sdk_cloudwatchlogs::Client;
use glinfra_core::spec::logs::{LogGroupOutputs, LogGroupSpec};
use glinfra_engine::ProviderError;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How long a new group may take to show in DescribeLogGroups, and a deleted one to leave it.
const DEADLINE: Duration = Duration::from_secs(2 * 60);

/// The driver of `aws:logs/log-group`.
pub(crate) struct LogGroupDriver;

/// The group named `name`, if there is one.
async fn describe(logs: &Client, name: &str) -> Result<Option<LogGroup>, ProviderError> {
    let mut token: Option<String> = None;
    loop {
        let out = logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| logs_error(&format!("DescribeLogGroups {name}"), e))
            .or_absent()?;
        let Some(out) = out else {
            return Ok(None);
        };
        if let Some(group) = out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
        {
            return Ok(Some(group.clone()));
        }
        match out.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => return Ok(None),
        }
    }
}

fn outputs_of(group: &LogGroup) -> Result<LogGroupOutputs, ProviderError> {
    let name = kit::required(group.log_group_name(), "LogGroup logGroupName")?;
    let arn = match (group.log_group_arn(), group.arn()) {
        (Some(arn), _) => arn,
        (None, Some(streams)) => streams.strip_suffix(":*").unwrap_or(streams),
        (None, None) => kit::required(None::<&str>, "LogGroup logGroupArn")?,
    };
    Ok(LogGroupOutputs {
        name: name.to_string(),
        arn: arn.to_string(),
    })
}

/// How many names DescribeLogGroups takes in `logGroupIdentifiers`.
const NAMES_PER_CALL: usize = 50;

/// The longest prefix `names` share, when it says more than `/`: listing by it
/// reads every one of them in one paginated call.
fn shared_prefix(names: &BTreeSet<&str>) -> Option<String> {
    let (first, last) = (names.first()?, names.last()?);
    // In sorted order, what the first and last share, all share.
    let len = first
        .char_indices()
        .zip(last.chars())
        .take_while(|((_, a), b)| a == b)
        .last()
        .map_or(0, |((i, a), _)| i + a.len_utf8());
    let prefix = &first[..len];
    (!prefix.trim_matches('/').is_empty()).then(|| prefix.to_string())
}

/// The log groups named `names` (and, when listed by their shared prefix, others
/// under it): DescribeLogGroups by that prefix, all pages; or, when they share
/// none, by name, [`NAMES_PER_CALL`] names a call.
async fn list(logs: &Client, names: &BTreeSet<&str>) -> Result<Vec<LogGroup>, ProviderError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(prefix) = shared_prefix(names) {
        return logs
            .describe_log_groups()
            .log_group_name_prefix(&prefix)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| logs_error(&format!("DescribeLogGroups {prefix}"), e));
    }
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut found = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let mut groups: Vec<LogGroup> = logs
            .describe_log_groups()
            .set_log_group_identifiers(Some(chunk.to_vec()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| logs_error("DescribeLogGroups", e))?;
        found.append(&mut groups);
    }
    Ok(found)
}

/// The group `r` names, when it is `r`'s (an AlreadyExists error when it is someone else's).
async fn lookup(
    logs: &Client,
    r: &Desired<LogGroupSpec>,
) -> Result<Option<LogGroupOutputs>, ProviderError> {
    let Some(group) = describe(logs, &r.spec.name).await? else {
        return Ok(None);
    };
    let out = outputs_of(&group)?;
    // The tags are on the group's ARN without `:*`.
    tags::ensure_ours(logs, &format!("log group `{}`", r.spec.name), &out.arn, r).await?;
    Ok(Some(out))
}

/// PutRetentionPolicy with the spec's period, or DeleteRetentionPolicy when it has none.
async fn set_retention(logs: &Client, spec: &LogGroupSpec) -> Result<(), ProviderError> {
    let name = &spec.name;
    match spec.retention_days {
        Some(days) => {
            logs.put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days)
                .send()
                .await
                .map_err(|e| logs_error(&format!("PutRetentionPolicy {name}"), e))?;
        }
        None => {
            logs.delete_retention_policy()
                .log_group_name(name)
                .send()
                .await
                .map_err(|e| logs_error(&format!("DeleteRetentionPolicy {name}"), e))?;
        }
    }
    Ok(())
}

/// AssociateKmsKey with the spec's key, or DisassociateKmsKey when it names none
/// and the group has one.
async fn set_key(logs: &Client, spec: &LogGroupSpec) -> Result<(), ProviderError> {
    let name = &spec.name;
    match resolved_opt(spec.kms_key_arn.as_ref(), "kms_key_arn")? {
        Some(key) => {
            logs.associate_kms_key()
                .log_group_name(name)
                .kms_key_id(key)
                .send()
                .await
                .map_err(|e| logs_error(&format!("AssociateKmsKey {name}"), e))?;
        }
        None => {
            let live = describe(logs, name).await?;
            if live.as_ref().and_then(LogGroup::kms_key_id).is_some() {
                logs.disassociate_kms_key()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(|e| logs_error(&format!("DisassociateKmsKey {name}"), e))?;
            }
        }
    }
    Ok(())
}

/// Brings the tags on the group of ARN `arn` to `want`.
async fn sync_tags(
    logs: &Client,
    arn: &str,
    want: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let (set, remove) = tags::delta(&logs.list(arn).await?, want);
    tags::apply(logs, arn, &set, &remove).await
}

#[async_trait]
impl Driver for LogGroupDriver {
    type Spec = LogGroupSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<LogGroupSpec>,
    ) -> Result<Option<LogGroupOutputs>, ProviderError> {
        lookup(&c.logs(&r.region), r).await
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<LogGroupSpec>,
    ) -> Result<LogGroupOutputs, ProviderError> {
        let logs = c.logs(&r.region);
        let name = &r.spec.name;
        logs.create_log_group()
            .log_group_name(name)
            .set_kms_key_id(resolved_opt(r.spec.kms_key_arn.as_ref(), "kms_key_arn")?)
            .set_tags(Some(tags::to_map(&r.owned_tags())))
            .send()
            .await
            .map_err(|e| logs_error(&format!("CreateLogGroup {name}"), e))?;
        if r.spec.retention_days.is_some() {
            set_retention(&logs, &r.spec).await?;
        }
        wait::until(
            &format!("log group `{name}` creation"),
            DEADLINE,
            wait::POLL,
            || async {
                Ok(match describe(&logs, name).await? {
                    Some(group) => wait::Poll::Ready(outputs_of(&group)?),
                    None => wait::Poll::Pending("not listed yet".into()),
                })
            },
        )
        .await
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<LogGroupSpec>,
        r: &Desired<LogGroupSpec>,
        changed: Changed<'_>,
    ) -> Result<LogGroupOutputs, ProviderError> {
        let logs = c.logs(&r.region);
        if changed.has("retention_days") {
            set_retention(&logs, &r.spec).await?;
        }
        if changed.has("kms_key_arn") {
            set_key(&logs, &r.spec).await?;
        }
        if changed.has("tags") {
            sync_tags(&logs, &prior.outputs.arn, &r.owned_tags()).await?;
        }
        Ok(prior.outputs.clone())
    }

    /// One DescribeLogGroups (paginated) for the recorded groups, by the prefix
    /// their names share (or by name, 50 a call, when they share none), then one
    /// ListTagsForResource per recorded group listed: DescribeLogGroups returns no
    /// tags and CloudWatch Logs has no call that reads the tags of several groups,
    /// and the tags both say the group is still ours and are compared. Groups state
    /// does not know are not looked for (telling whether one is the stack's would
    /// take a tag call for every group listed); one met under a recorded name,
    /// carrying the tags of a logical id state does not know, is returned whole.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<LogGroupSpec>,
    ) -> Result<Option<Vec<Live<LogGroupSpec>>>, ProviderError> {
        let logs = c.logs(&scope.region);
        let names: BTreeSet<&str> = scope
            .recorded
            .iter()
            .map(|r| r.spec.name.as_str())
            .collect();
        let mut live = Vec::new();
        for group in list(&logs, &names).await? {
            let Some(name) = group.log_group_name().filter(|n| names.contains(n)) else {
                continue;
            };
            let out = outputs_of(&group)?;
            let tags = logs.list(&out.arn).await.or_absent()?.unwrap_or_default();
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            // Every field is in the answer; the name is the group's key.
            let spec = LogGroupSpec {
                name: name.to_string(),
                retention_days: group.retention_in_days(),
                kms_key_arn: group.kms_key_id().map(Into::into),
            };
            if scope.recorded(&id).is_some_and(|r| r.spec.name != name) {
                // Another group carrying the tags of a recorded one: not that one.
                continue;
            }
            live.push(Live {
                id,
                outputs: out,
                tags,
                spec: Some(spec),
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<LogGroupSpec>,
    ) -> Result<(), ProviderError> {
        let logs = c.logs(&prior.region);
        let name = &prior.outputs.name;
        logs.delete_log_group()
            .log_group_name(name)
            .send()
            .await
            .map_err(|e| logs_error(&format!("DeleteLogGroup {name}"), e))
            .or_gone()?;
        wait::gone(&format!("log group `{name}`"), DEADLINE, || async {
            Ok(describe(&logs, name).await?.map(|_| "present".to_string()))
        })
        .await
    }
}
