//! The Route 53 drivers: public hosted zones, record sets and health checks.
//!
//! A hosted zone's name is not unique (Route 53 makes a second zone of the same
//! name on request), so zones are found by their ownership: the CallerReference
//! glinfra gives it (which starts with a prefix derived from the stack and logical
//! id, and so marks a zone made by a run that crashed before tagging it) or the
//! ownership tags. A record set's natural key is (zone, name, type, set identifier);
//! it is written with UPSERT, which is idempotent by nature. Health checks, like
//! zones, are found by the CallerReference prefix or the ownership tags.
//!
//! Route 53 is a global service: every call goes to the one client signed for
//! us-east-1, whatever region a resource declares.
//!
//! A refresh lists zones and health checks and reads their tags ten at a time
//! ([`tags_of`]); record sets take no tags and are read through their recorded zones.

mod health_check;
mod hosted_zone;
mod record_set;
#[cfg(test)]
mod tests;

pub(crate) use health_check::HealthCheckDriver;
pub(crate) use hosted_zone::HostedZoneDriver;
pub(crate) use record_set::RecordSetDriver;

use crate::error::classify;
use crate::kit::join::try_join_all;
use crate::kit::live::Scope;
use crate::kit::{self, wait, wait::Poll};
use aws_sdk_route53::types::{ChangeStatus, Tag, TagResourceType};
use aws_sdk_route53::Client;
use glinfra_core::{Declared, ResourceId};
use glinfra_engine::{ErrorClass, IdempotencyToken, ProviderError};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a change may take to reach every Route 53 name server.
const INSYNC_DEADLINE: Duration = Duration::from_secs(300);

/// The most tags (added or removed) one ChangeTagsForResource call takes,
/// and the most zones one ListTagsForResources call reads.
const TAG_BATCH: usize = 10;

/// `/hostedzone/Z123` → `Z123` (and `/change/C1` → `C1`).
fn bare_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// A domain name as Route 53 compares it: lower case, `\ddd` escapes decoded,
/// with the trailing dot.
fn normalise(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 1);
    let mut i = 0;
    while i < chars.len() {
        let escape = chars
            .get(i + 1..i + 4)
            .filter(|d| chars[i] == '\\' && d.iter().all(char::is_ascii_digit));
        if let Some(digits) = escape {
            let code = digits
                .iter()
                .fold(0u32, |n, d| n * 8 + d.to_digit(10).unwrap_or(0));
            if let Some(c) = char::from_u32(code) {
                out.push(c.to_ascii_lowercase());
                i += 4;
                continue;
            }
        }
        out.push(chars[i].to_ascii_lowercase());
        i += 1;
    }
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Waits until Route 53 reports the change INSYNC.
async fn wait_insync(r53: &Client, change_id: &str) -> Result<(), ProviderError> {
    let id = bare_id(change_id).to_string();
    wait::until(
        &format!("Route 53 change {id} to be INSYNC"),
        INSYNC_DEADLINE,
        wait::POLL,
        || async {
            let out = r53
                .get_change()
                .id(&id)
                .send()
                .await
                .map_err(|e| classify(&format!("GetChange {id}"), e))?;
            Ok(match out.change_info().map(|c| c.status()) {
                Some(ChangeStatus::Insync) => Poll::Ready(()),
                Some(other) => Poll::Pending(other.as_str().to_string()),
                None => Poll::Pending("no status".into()),
            })
        },
    )
    .await
}

/// `glinfra/<stack>/<id>/` when at most `readable_max` long, else a hash of both.
/// With the token or nonce [`caller_reference`] adds (at most 26 characters), 90
/// keeps a zone's CallerReference within its 128 characters and 38 a health
/// check's within 64.
fn reference_prefix(stack: &str, id: &str, readable_max: usize) -> String {
    let readable = format!("glinfra/{stack}/{id}/");
    if readable.len() <= readable_max {
        return readable;
    }
    // Too long for the limit once the nonce is added: hash it (FNV-1a).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stack.bytes().chain([0u8]).chain(id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("glinfra/{h:016x}/")
}

/// The CallerReference of a create: `prefix` followed by the engine's idempotency
/// token (at most 26 characters), so a retried create, in this run or in the run
/// that resumes a killed one, is the same request. Route 53 answers a reused
/// reference with the health check it made, or for a zone with
/// HostedZoneAlreadyExists, which the engine follows with `find` (it knows the
/// prefix). A later create of the same logical id gets another token. Without a
/// token (a create not decided by the engine): a nonce.
fn caller_reference(prefix: String, token: Option<&IdempotencyToken>) -> String {
    match token {
        Some(token) => format!("{prefix}{token}"),
        None => with_nonce(prefix),
    }
}

/// `prefix` followed by a nonce (the time in nanoseconds and the process id, in
/// hex): a reference never used before.
fn with_nonce(prefix: String) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}{nanos:x}-{:x}", std::process::id())
}

/// True when the Route 53 `tags` are the ownership tags of resource `id` of `stack`.
fn owned_by(tags: &[Tag], stack: &str, id: &str) -> bool {
    kit::owned(&kit::tags::from_sdk(tags), stack, id)
}

/// Sets `add` (overwriting values) and removes `remove` on the zone or health
/// check `id`, in batches Route 53 accepts.
async fn change_tags(
    r53: &Client,
    resource_type: TagResourceType,
    id: &str,
    add: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), ProviderError> {
    let add: Vec<Tag> = kit::tags::to_sdk(add)?;
    for batch in add.chunks(TAG_BATCH) {
        r53.change_tags_for_resource()
            .resource_type(resource_type.clone())
            .resource_id(id)
            .set_add_tags(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ChangeTagsForResource {id}"), e))?;
    }
    for batch in remove.chunks(TAG_BATCH) {
        r53.change_tags_for_resource()
            .resource_type(resource_type.clone())
            .resource_id(id)
            .set_remove_tag_keys(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ChangeTagsForResource {id}"), e))?;
    }
    Ok(())
}

/// Brings the tags of the zone or health check `id` to `want`: sets them all and
/// removes those `recorded` that `want` lacks; with `all` (converging everything),
/// also any other tag the resource has that `want` lacks.
async fn sync_tags(
    r53: &Client,
    resource_type: TagResourceType,
    id: &str,
    recorded: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
    all: bool,
) -> Result<(), ProviderError> {
    let mut stale: BTreeSet<String> = recorded.keys().cloned().collect();
    if all {
        let out = r53
            .list_tags_for_resource()
            .resource_type(resource_type.clone())
            .resource_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("ListTagsForResource {id}"), e))?;
        if let Some(set) = out.resource_tag_set() {
            stale.extend(kit::tags::from_sdk(set.tags()).into_keys());
        }
    }
    let stale: Vec<String> = stale
        .into_iter()
        .filter(|k| !want.contains_key(k))
        .collect();
    change_tags(r53, resource_type, id, want, &stale).await
}

/// The tags of each of `ids` (zones or health checks, by bare id): one
/// ListTagsForResources per ten ids, the calls at once. Something deleted
/// between its listing and this read makes the read Retryable (read again).
async fn tags_of(
    r53: &Client,
    resource_type: TagResourceType,
    ids: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ProviderError> {
    let what = format!("ListTagsForResources ({})", resource_type.as_str());
    let batches = try_join_all(ids.chunks(TAG_BATCH).map(|batch| {
        let (resource_type, what) = (resource_type.clone(), &what);
        async move {
            let out = r53
                .list_tags_for_resources()
                .resource_type(resource_type)
                .set_resource_ids(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    let err = classify(what, e);
                    if err.class == ErrorClass::NotFound {
                        err.reclassified(ErrorClass::Retryable, "deleted while being read")
                    } else {
                        err
                    }
                })?;
            Ok(out
                .resource_tag_sets()
                .iter()
                .filter_map(|set| {
                    let id = bare_id(set.resource_id()?).to_string();
                    Some((id, kit::tags::from_sdk(set.tags())))
                })
                .collect::<Vec<_>>())
        }
    }))
    .await?;
    Ok(batches.into_iter().flatten().collect())
}

/// Those of `found` (bare id, tags, item) that carry `scope`'s ownership tags,
/// one per logical id: where several carry the same tags (copied outside
/// glinfra), the one state recorded (`recorded_id` of a recorded resource), else
/// the lowest id.
fn owned_once<S: Declared + Clone, T>(
    scope: &Scope<S>,
    found: Vec<(String, BTreeMap<String, String>, T)>,
    recorded_id: impl Fn(&S::Outputs) -> &str,
) -> Vec<(ResourceId, String, BTreeMap<String, String>, T)> {
    let mut found = found;
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let mut ours: BTreeMap<ResourceId, (String, BTreeMap<String, String>, T)> = BTreeMap::new();
    for (id, tags, item) in found {
        let Some(logical) = scope.owned(&tags) else {
            continue;
        };
        let recorded = scope.recorded(&logical).map(|r| recorded_id(&r.outputs));
        if !ours.contains_key(&logical) || recorded == Some(id.as_str()) {
            ours.insert(logical, (id, tags, item));
        }
    }
    ours.into_iter()
        .map(|(logical, (id, tags, item))| (logical, id, tags, item))
        .collect()
}
