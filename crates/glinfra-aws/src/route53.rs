//! The Route 53 drivers: public hosted zones, record sets and health checks.
//!
//! A hosted zone's name is not unique (Route 53 makes a second zone of the same
//! name on request), so zones are found by their ownership: the CallerReference
//! glinfra gives it (which starts with a prefix derived from the stack and logical
//! id, and so marks a zone made by a run that crashed before tagging it) or the
//! ownership tags. A record set's natural key is (zone, name, type, set identifier);
//! it is written with UPSERT, which is idempotent by nature. Health checks, like
//! zones, are found by the CallerReference prefix or the ownership tags.

use crate::clients::Clients;
use crate::error::classify;
use crate::wait::{self, Poll};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, HealthCheck, HealthCheckConfig,
    HealthCheckType, HostedZone, HostedZoneConfig, ResettableElementName, ResourceRecord,
    ResourceRecordSet, ResourceRecordSetRegion, RrType, Tag, TagResourceType,
};
use aws_sdk_route53::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::error::operation::BuildError;
use glinfra_core::spec::route53::{HealthCheckSpec, HostedZoneSpec, RecordSetSpec};
use glinfra_core::{Input, Kind, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a change may take to reach every Route 53 name server.
const INSYNC_DEADLINE: Duration = Duration::from_secs(300);

/// The most tags (added or removed) one ChangeTagsForResource call takes,
/// and the most zones one ListTagsForResources call reads.
const TAG_BATCH: usize = 10;

fn build_error(what: &str) -> impl FnOnce(BuildError) -> ProviderError + '_ {
    move |e| ProviderError::new(ErrorClass::Invalid, format!("{what}: {e}"))
}

fn resolved<'a>(input: &'a Input<String>, field: &str) -> Result<&'a str, ProviderError> {
    input.value().map(String::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("{field} is an output reference that was not resolved"),
        )
    })
}

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
        Duration::from_secs(2),
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

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    match r.kind {
        Kind::RecordSet => find_record(c, r).await,
        Kind::HealthCheck => find_health_check(c, r).await,
        _ => find_zone(c, r).await,
    }
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    match r.kind {
        Kind::RecordSet => upsert_record(c, r).await,
        Kind::HealthCheck => create_health_check(c, r).await,
        _ => create_zone(c, r).await,
    }
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    match r.kind {
        // Only the TTL and values can change in place: UPSERT writes them all.
        Kind::RecordSet => upsert_record(c, r).await,
        Kind::HealthCheck => update_health_check(c, prior, r, changed).await,
        _ => update_zone(c, prior, r, changed).await,
    }
}

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    match prior.kind {
        Kind::RecordSet => delete_record(c, id, prior).await,
        Kind::HealthCheck => delete_health_check(c, id, prior).await,
        _ => delete_zone(c, id, prior).await,
    }
}

// ---------------------------------------------------------------- hosted zones

/// The start of the CallerReference of every zone this resource creates.
fn caller_reference_prefix(stack: &str, id: &str) -> String {
    reference_prefix(stack, id, 90)
}

/// `glinfra/<stack>/<id>/` when at most `readable_max` long, else a hash of both.
/// With the nonce [`caller_reference`] adds (at most 25 characters), 90 keeps a
/// zone's reference within its 128 characters and 38 a health check's within 64.
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

/// A CallerReference never used before: Route 53 rejects reuse (and the emulators
/// make a second zone on it), so retries rely on `find`, not on the reference.
fn caller_reference(stack: &str, id: &str) -> String {
    with_nonce(caller_reference_prefix(stack, id))
}

/// `prefix` followed by a nonce (the time in nanoseconds and the process id, in hex).
fn with_nonce(prefix: String) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}{nanos:x}-{:x}", std::process::id())
}

fn zone_outputs(zone_id: &str, name_servers: &[String]) -> Outputs {
    let mut out = Outputs::new();
    out.insert(
        "zone_id".into(),
        Value::String(bare_id(zone_id).to_string()),
    );
    out.insert(
        "name_servers".into(),
        Value::Array(name_servers.iter().cloned().map(Value::String).collect()),
    );
    out
}

fn owned_by(tags: &[Tag], stack: &str, id: &str) -> bool {
    let get = |k: &str| {
        tags.iter()
            .find(|t| t.key() == Some(k))
            .and_then(Tag::value)
    };
    get(TAG_STACK) == Some(stack) && get(TAG_LOGICAL_ID) == Some(id)
}

/// The public zones named `name` (normalised).
async fn zones_named(r53: &Client, name: &str) -> Result<Vec<HostedZone>, ProviderError> {
    let mut found = Vec::new();
    let mut dns_name = Some(name.to_string());
    let mut zone_id: Option<String> = None;
    loop {
        let page = r53
            .list_hosted_zones_by_name()
            .set_dns_name(dns_name.take())
            .set_hosted_zone_id(zone_id.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListHostedZonesByName {name}"), e))?;
        for z in page.hosted_zones() {
            if normalise(z.name()) == name && !z.config().is_some_and(|c| c.private_zone()) {
                found.push(z.clone());
            }
        }
        // Zones come in name order from `name` on: once a page ends past it, stop.
        let last_matches = page
            .hosted_zones()
            .last()
            .is_some_and(|z| normalise(z.name()) == name);
        if !page.is_truncated() || !last_matches {
            return Ok(found);
        }
        dns_name = page.next_dns_name().map(str::to_owned);
        zone_id = page.next_hosted_zone_id().map(str::to_owned);
    }
}

async fn find_zone(c: &Clients, r: &ResolvedResource) -> Result<Option<Outputs>, ProviderError> {
    let spec: HostedZoneSpec = r.spec()?;
    let r53 = c.route53();
    let name = normalise(&spec.name);
    let zones = zones_named(&r53, &name).await?;
    if zones.is_empty() {
        return Ok(None);
    }
    let prefix = caller_reference_prefix(&r.stack, &r.id);
    // A zone we made carries our CallerReference prefix, even when a crash came
    // before it was tagged; zones of another origin are ours only by their tags.
    let mut ours = zones
        .iter()
        .find(|z| z.caller_reference().starts_with(&prefix))
        .map(|z| bare_id(z.id()).to_string());
    if ours.is_none() {
        let ids: Vec<String> = zones.iter().map(|z| bare_id(z.id()).to_string()).collect();
        'batches: for batch in ids.chunks(TAG_BATCH) {
            let out = r53
                .list_tags_for_resources()
                .resource_type(TagResourceType::Hostedzone)
                .set_resource_ids(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| classify(&format!("ListTagsForResources {name}"), e))?;
            for set in out.resource_tag_sets() {
                if owned_by(set.tags(), &r.stack, &r.id) {
                    ours = set.resource_id().map(|id| bare_id(id).to_string());
                    break 'batches;
                }
            }
        }
    }
    let Some(zone_id) = ours else {
        return Ok(None);
    };
    match r53.get_hosted_zone().id(&zone_id).send().await {
        Ok(out) => Ok(Some(zone_outputs(
            &zone_id,
            out.delegation_set()
                .map(|d| d.name_servers())
                .unwrap_or_default(),
        ))),
        Err(e) => {
            let err = classify(&format!("GetHostedZone {zone_id}"), e);
            if err.class == ErrorClass::NotFound {
                Ok(None) // deleted meanwhile
            } else {
                Err(err)
            }
        }
    }
}

async fn create_zone(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: HostedZoneSpec = r.spec()?;
    let r53 = c.route53();
    // Without a comment, no HostedZoneConfig: a public zone is the default, and an
    // empty config is rejected by some endpoints (LocalStack answers 500).
    let config = (!spec.comment.is_empty()).then(|| {
        HostedZoneConfig::builder()
            .private_zone(false)
            .comment(&spec.comment)
            .build()
    });
    let out = r53
        .create_hosted_zone()
        .name(&spec.name)
        .caller_reference(caller_reference(&r.stack, &r.id))
        .set_hosted_zone_config(config)
        .send()
        .await
        .map_err(|e| classify(&format!("CreateHostedZone {}", spec.name), e))?;
    let zone_id = out
        .hosted_zone()
        .map(|z| bare_id(z.id()).to_string())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                "CreateHostedZone returned no hosted zone",
            )
        })?;
    change_tags(&r53, TagResourceType::Hostedzone, &zone_id, &r.tags, &[]).await?;
    if let Some(change) = out.change_info() {
        wait_insync(&r53, change.id()).await?;
    }
    Ok(zone_outputs(
        &zone_id,
        out.delegation_set()
            .map(|d| d.name_servers())
            .unwrap_or_default(),
    ))
}

/// Sets `add` (overwriting values) and removes `remove` on the zone or health check
/// `zone_id`, in batches Route 53 accepts.
async fn change_tags(
    r53: &Client,
    resource_type: TagResourceType,
    zone_id: &str,
    add: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), ProviderError> {
    let add: Vec<Tag> = add
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    for batch in add.chunks(TAG_BATCH) {
        r53.change_tags_for_resource()
            .resource_type(resource_type.clone())
            .resource_id(zone_id)
            .set_add_tags(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ChangeTagsForResource {zone_id}"), e))?;
    }
    for batch in remove.chunks(TAG_BATCH) {
        r53.change_tags_for_resource()
            .resource_type(resource_type.clone())
            .resource_id(zone_id)
            .set_remove_tag_keys(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ChangeTagsForResource {zone_id}"), e))?;
    }
    Ok(())
}

/// Brings the tags of the zone or health check `id` to `r.tags`: sets them all and
/// removes those recorded in `prior` that `r` lacks; with `all` (converging
/// everything), also any other tag the resource has that `r` lacks.
async fn sync_tags(
    r53: &Client,
    resource_type: TagResourceType,
    id: &str,
    prior: &ResourceState,
    r: &ResolvedResource,
    all: bool,
) -> Result<(), ProviderError> {
    let mut stale: BTreeSet<String> = prior.tags.keys().cloned().collect();
    if all {
        let out = r53
            .list_tags_for_resource()
            .resource_type(resource_type.clone())
            .resource_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("ListTagsForResource {id}"), e))?;
        if let Some(set) = out.resource_tag_set() {
            stale.extend(set.tags().iter().filter_map(|t| t.key().map(str::to_owned)));
        }
    }
    let stale: Vec<String> = stale
        .into_iter()
        .filter(|k| !r.tags.contains_key(k))
        .collect();
    change_tags(r53, resource_type, id, &r.tags, &stale).await
}

fn recorded_zone_id(prior: &ResourceState, id: &str) -> Result<String, ProviderError> {
    prior
        .outputs
        .get("zone_id")
        .and_then(Value::as_str)
        .map(|z| bare_id(z).to_string())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("hosted zone `{id}`: no zone_id recorded"),
            )
        })
}

async fn update_zone(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let spec: HostedZoneSpec = r.spec()?;
    let r53 = c.route53();
    let zone_id = recorded_zone_id(prior, &r.id)?;
    let all = changed.is_empty();
    if all || changed.iter().any(|f| f == "comment") {
        r53.update_hosted_zone_comment()
            .id(&zone_id)
            // Without a comment, Route 53 removes it.
            .set_comment((!spec.comment.is_empty()).then(|| spec.comment.clone()))
            .send()
            .await
            .map_err(|e| classify(&format!("UpdateHostedZoneComment {zone_id}"), e))?;
    }
    if all || changed.iter().any(|f| f == "tags") {
        sync_tags(&r53, TagResourceType::Hostedzone, &zone_id, prior, r, all).await?;
    }
    let mut out = prior.outputs.clone();
    out.insert("zone_id".into(), Value::String(zone_id));
    Ok(out)
}

async fn delete_zone(c: &Clients, id: &str, prior: &ResourceState) -> Result<(), ProviderError> {
    let r53 = c.route53();
    let zone_id = recorded_zone_id(prior, id)?;
    match r53.delete_hosted_zone().id(&zone_id).send().await {
        Ok(out) => match out.change_info() {
            Some(change) => wait_insync(&r53, change.id()).await,
            None => Ok(()),
        },
        Err(e) => {
            let code = e.code().map(str::to_owned);
            let err = classify(&format!("DeleteHostedZone {zone_id}"), e);
            if err.class == ErrorClass::NotFound {
                return Ok(());
            }
            if code.as_deref() == Some("HostedZoneNotEmpty") {
                // glinfra deletes its own record sets first: what is left is someone else's.
                return Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!("hosted zone `{id}` ({zone_id}) still holds record sets glinfra does not manage (besides SOA and NS); delete them first"),
                )
                .with_source(err));
            }
            Err(err)
        }
    }
}

// ---------------------------------------------------------------- record sets

fn fqdn(name: &str) -> String {
    name.trim_end_matches('.').to_string()
}

fn record_outputs(spec: &RecordSetSpec) -> Outputs {
    let mut out = Outputs::new();
    out.insert("fqdn".into(), Value::String(fqdn(&spec.name)));
    out
}

fn record_set(spec: &RecordSetSpec) -> Result<ResourceRecordSet, ProviderError> {
    let records = spec
        .records
        .iter()
        .enumerate()
        .map(|(i, v)| {
            ResourceRecord::builder()
                .value(resolved(v, &format!("records[{i}]"))?)
                .build()
                .map_err(build_error("resource record"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let health_check_id = spec
        .health_check_id
        .as_ref()
        .map(|h| resolved(h, "health_check_id").map(str::to_owned))
        .transpose()?;
    ResourceRecordSet::builder()
        .name(&spec.name)
        .r#type(RrType::from(spec.record_type.as_str()))
        .ttl(spec.ttl)
        .set_resource_records(Some(records))
        .set_set_identifier(spec.set_identifier.clone())
        // Latency routing: the region this record answers for.
        .set_region(
            spec.latency_region
                .as_deref()
                .map(ResourceRecordSetRegion::from),
        )
        .set_health_check_id(health_check_id)
        .build()
        .map_err(build_error("record set"))
}

/// Submits one change; returns the change id.
async fn change_record(
    r53: &Client,
    zone_id: &str,
    action: ChangeAction,
    set: ResourceRecordSet,
) -> Result<String, ChangeError> {
    let batch = ChangeBatch::builder()
        .changes(
            Change::builder()
                .action(action)
                .resource_record_set(set)
                .build()
                .map_err(|e| ChangeError::Other(build_error("change")(e)))?,
        )
        .build()
        .map_err(|e| ChangeError::Other(build_error("change batch")(e)))?;
    match r53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .change_info()
            .map(|c| c.id().to_string())
            .unwrap_or_default()),
        Err(e) => {
            // Route 53 reports a DELETE of a missing record as an invalid batch.
            let mut text: Vec<String> = e.message().map(str::to_owned).into_iter().collect();
            if let Some(ChangeResourceRecordSetsError::InvalidChangeBatch(icb)) =
                e.as_service_error()
            {
                text.extend(icb.messages().iter().cloned());
                text.extend(icb.message().map(str::to_owned));
            }
            let missing = text
                .iter()
                .any(|m| m.to_ascii_lowercase().contains("but it was not found"));
            let err = classify(&format!("ChangeResourceRecordSets {zone_id}"), e);
            Err(if missing && err.class == ErrorClass::Invalid {
                ChangeError::RecordMissing(err)
            } else {
                ChangeError::Other(err)
            })
        }
    }
}

enum ChangeError {
    /// The record to delete does not exist.
    RecordMissing(ProviderError),
    Other(ProviderError),
}

impl From<ChangeError> for ProviderError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::RecordMissing(e) | ChangeError::Other(e) => e,
        }
    }
}

async fn upsert_record(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: RecordSetSpec = r.spec()?;
    let r53 = c.route53();
    let zone_id = bare_id(resolved(&spec.zone_id, "zone_id")?).to_string();
    let change = change_record(&r53, &zone_id, ChangeAction::Upsert, record_set(&spec)?).await?;
    if !change.is_empty() {
        wait_insync(&r53, &change).await?;
    }
    Ok(record_outputs(&spec))
}

async fn find_record(c: &Clients, r: &ResolvedResource) -> Result<Option<Outputs>, ProviderError> {
    let spec: RecordSetSpec = r.spec()?;
    let r53 = c.route53();
    let zone_id = bare_id(resolved(&spec.zone_id, "zone_id")?).to_string();
    let name = normalise(&spec.name);
    let rtype = RrType::from(spec.record_type.as_str());
    let mut start_name = Some(name.clone());
    let mut start_type = Some(rtype.clone());
    let mut start_id = spec.set_identifier.clone();
    loop {
        let page = match r53
            .list_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .set_start_record_name(start_name.take())
            .set_start_record_type(start_type.take())
            .set_start_record_identifier(start_id.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) => {
                let err = classify(&format!("ListResourceRecordSets {zone_id}"), e);
                return if err.class == ErrorClass::NotFound {
                    Ok(None) // the zone is gone, and its records with it
                } else {
                    Err(err)
                };
            }
        };
        let sets = page.resource_record_sets();
        if sets.iter().any(|s| {
            normalise(s.name()) == name
                && *s.r#type() == rtype
                && s.set_identifier() == spec.set_identifier.as_deref()
        }) {
            return Ok(Some(record_outputs(&spec)));
        }
        // Record sets come in (name, type) order from the start point: once a page
        // ends past ours, it is not there.
        let last_matches = sets
            .last()
            .is_some_and(|s| normalise(s.name()) == name && *s.r#type() == rtype);
        if !page.is_truncated() || !last_matches {
            return Ok(None);
        }
        start_name = page.next_record_name().map(str::to_owned);
        start_type = page.next_record_type().cloned();
        start_id = page.next_record_identifier().map(str::to_owned);
    }
}

async fn delete_record(c: &Clients, id: &str, prior: &ResourceState) -> Result<(), ProviderError> {
    let spec: RecordSetSpec = serde_json::from_value(prior.props.clone()).map_err(|e| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("record set `{id}`: malformed recorded spec: {e}"),
        )
    })?;
    let r53 = c.route53();
    let zone_id = bare_id(resolved(&spec.zone_id, "zone_id")?).to_string();
    // DELETE must name the record exactly as it is: the recorded values.
    match change_record(&r53, &zone_id, ChangeAction::Delete, record_set(&spec)?).await {
        Ok(change) if change.is_empty() => Ok(()),
        Ok(change) => wait_insync(&r53, &change).await,
        Err(ChangeError::RecordMissing(_)) => Ok(()),
        Err(ChangeError::Other(e)) if e.class == ErrorClass::NotFound => Ok(()), // zone gone
        Err(ChangeError::Other(e)) => Err(e),
    }
}

// ---------------------------------------------------------------- health checks

/// The start of the CallerReference of every health check this resource creates
/// (64 characters at most with the nonce).
fn health_check_reference_prefix(stack: &str, id: &str) -> String {
    reference_prefix(stack, id, 38)
}

fn health_check_outputs(id: &str) -> Outputs {
    let mut out = Outputs::new();
    out.insert("id".into(), Value::String(id.to_string()));
    out
}

/// Every health check of the account.
async fn all_health_checks(r53: &Client) -> Result<Vec<HealthCheck>, ProviderError> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = r53
            .list_health_checks()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify("ListHealthChecks", e))?;
        found.extend(page.health_checks().iter().cloned());
        match page.next_marker() {
            Some(next) if page.is_truncated() && !next.is_empty() => {
                marker = Some(next.to_string())
            }
            _ => return Ok(found),
        }
    }
}

/// A health check is this resource's when its CallerReference carries our prefix
/// (even if a crash came before it was tagged) or when it carries our ownership
/// tags. Several (something outside glinfra copied the tags): the lowest id.
async fn find_health_check(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let r53 = c.route53();
    let checks = all_health_checks(&r53).await?;
    let prefix = health_check_reference_prefix(&r.stack, &r.id);
    let mut ours: Vec<String> = checks
        .iter()
        .filter(|h| h.caller_reference().starts_with(&prefix))
        .map(|h| h.id().to_string())
        .collect();
    if ours.is_empty() {
        let ids: Vec<String> = checks.iter().map(|h| h.id().to_string()).collect();
        for batch in ids.chunks(TAG_BATCH) {
            let out = r53
                .list_tags_for_resources()
                .resource_type(TagResourceType::Healthcheck)
                .set_resource_ids(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| classify("ListTagsForResources (health checks)", e))?;
            ours.extend(
                out.resource_tag_sets()
                    .iter()
                    .filter(|set| owned_by(set.tags(), &r.stack, &r.id))
                    .filter_map(|set| set.resource_id().map(str::to_owned)),
            );
        }
    }
    ours.sort();
    ours.dedup();
    if ours.len() > 1 {
        tracing::warn!(
            resource = %r.id,
            ids = ?ours,
            "several health checks belong to this resource; adopting the first"
        );
    }
    Ok(ours.first().map(|id| health_check_outputs(id)))
}

fn is_tcp(spec: &HealthCheckSpec) -> bool {
    spec.check_type.eq_ignore_ascii_case("TCP")
}

fn health_check_config(spec: &HealthCheckSpec) -> Result<HealthCheckConfig, ProviderError> {
    let path =
        (!is_tcp(spec) && !spec.resource_path.is_empty()).then(|| spec.resource_path.clone());
    HealthCheckConfig::builder()
        .r#type(HealthCheckType::from(spec.check_type.as_str()))
        .fully_qualified_domain_name(&spec.fqdn)
        .port(spec.port)
        .set_resource_path(path)
        .request_interval(spec.request_interval)
        .failure_threshold(spec.failure_threshold)
        .build()
        .map_err(build_error("health check config"))
}

async fn create_health_check(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: HealthCheckSpec = r.spec()?;
    let r53 = c.route53();
    let out = r53
        .create_health_check()
        .caller_reference(with_nonce(health_check_reference_prefix(&r.stack, &r.id)))
        .health_check_config(health_check_config(&spec)?)
        .send()
        .await
        .map_err(|e| classify(&format!("CreateHealthCheck {}", spec.fqdn), e))?;
    let id = out
        .health_check()
        .map(|h| h.id().to_string())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                "CreateHealthCheck returned no health check",
            )
        })?;
    // Route 53 takes no tags on the create call; a crash before this is recovered
    // by `find`, which knows the CallerReference prefix.
    change_tags(&r53, TagResourceType::Healthcheck, &id, &r.tags, &[]).await?;
    Ok(health_check_outputs(&id))
}

fn recorded_health_check_id(prior: &ResourceState, id: &str) -> Result<String, ProviderError> {
    prior
        .outputs
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("health check `{id}`: no id recorded"),
            )
        })
}

async fn update_health_check(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let spec: HealthCheckSpec = r.spec()?;
    let r53 = c.route53();
    let id = recorded_health_check_id(prior, &r.id)?;
    let all = changed.is_empty();
    let wants = |f: &str| all || changed.iter().any(|c| c == f);
    let fields = ["fqdn", "port", "resource_path", "failure_threshold"];
    if fields.iter().any(|f| wants(f)) {
        // The version makes the update conditional on nobody having changed the
        // check since we read it.
        let current = r53
            .get_health_check()
            .health_check_id(&id)
            .send()
            .await
            .map_err(|e| classify(&format!("GetHealthCheck {id}"), e))?;
        let version = current
            .health_check()
            .map(|h| h.health_check_version())
            .filter(|v| *v > 0);
        let mut req = r53
            .update_health_check()
            .health_check_id(&id)
            .set_health_check_version(version);
        if wants("fqdn") {
            req = req.fully_qualified_domain_name(&spec.fqdn);
        }
        if wants("port") {
            req = req.port(spec.port);
        }
        if wants("resource_path") && !is_tcp(&spec) {
            req = if spec.resource_path.is_empty() {
                req.reset_elements(ResettableElementName::ResourcePath)
            } else {
                req.resource_path(&spec.resource_path)
            };
        }
        if wants("failure_threshold") {
            req = req.failure_threshold(spec.failure_threshold);
        }
        if let Err(e) = req.send().await {
            let mismatch = e.code() == Some("HealthCheckVersionMismatch");
            let mut err = classify(&format!("UpdateHealthCheck {id}"), e);
            if mismatch {
                // Changed by someone else since we read it: read it again and retry.
                err.class = ErrorClass::Retryable;
            }
            return Err(err);
        }
    }
    if wants("tags") {
        sync_tags(&r53, TagResourceType::Healthcheck, &id, prior, r, all).await?;
    }
    Ok(health_check_outputs(&id))
}

async fn delete_health_check(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let r53 = c.route53();
    let check_id = match prior.outputs.get("id").and_then(Value::as_str) {
        Some(check_id) => check_id.to_string(),
        None => {
            // A create interrupted before its outputs were recorded: delete what
            // carries its CallerReference prefix or ownership tags, if anything.
            let Some(stack) = prior.tags.get(TAG_STACK) else {
                return Err(ProviderError::new(
                    ErrorClass::Invalid,
                    format!("health check `{id}`: no outputs and no `{TAG_STACK}` tag recorded: cannot look it up to delete it"),
                ));
            };
            let r = ResolvedResource::from_state(stack, id, prior);
            match find_health_check(c, &r).await? {
                Some(found) => recorded_health_check_id(
                    &ResourceState {
                        outputs: found,
                        ..prior.clone()
                    },
                    id,
                )?,
                None => return Ok(()),
            }
        }
    };
    match r53
        .delete_health_check()
        .health_check_id(&check_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let in_use = e.code() == Some("HealthCheckInUse");
            let mut err = classify(&format!("DeleteHealthCheck {check_id}"), e);
            if err.class == ErrorClass::NotFound {
                return Ok(()); // NoSuchHealthCheck: gone already
            }
            if in_use {
                // A record set still names it; its delete (ordered before this one
                // when glinfra manages it) takes a moment to reach Route 53.
                err.class = ErrorClass::Retryable;
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{meta, mock_clients, recorder};

    use aws_sdk_route53::operation::change_resource_record_sets::{
        ChangeResourceRecordSetsInput, ChangeResourceRecordSetsOutput,
    };
    use aws_sdk_route53::operation::change_tags_for_resource::{
        ChangeTagsForResourceInput, ChangeTagsForResourceOutput,
    };
    use aws_sdk_route53::operation::create_hosted_zone::{
        CreateHostedZoneInput, CreateHostedZoneOutput,
    };
    use aws_sdk_route53::operation::delete_hosted_zone::DeleteHostedZoneError;
    use aws_sdk_route53::operation::get_change::GetChangeOutput;
    use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneOutput;
    use aws_sdk_route53::operation::list_hosted_zones_by_name::ListHostedZonesByNameOutput;
    use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
    use aws_sdk_route53::operation::list_tags_for_resources::ListTagsForResourcesOutput;
    use aws_sdk_route53::types::error::InvalidChangeBatch;
    use aws_sdk_route53::types::{ChangeInfo, DelegationSet, ResourceTagSet};
    use aws_smithy_mocks::{mock, Rule, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;
    use aws_smithy_types::DateTime;

    use serde_json::json;

    fn mock_route53(rules: &[&Rule]) -> Clients {
        mock_clients!(
            aws_sdk_route53,
            "route53",
            "us-east-1",
            RuleMode::Sequential,
            rules
        )
    }

    fn owner_tags() -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_STACK.to_string(), "prod".to_string()),
            (TAG_LOGICAL_ID.to_string(), "zone".to_string()),
        ])
    }

    fn zone_resource() -> ResolvedResource {
        ResolvedResource {
            stack: "prod".into(),
            id: "zone".into(),
            kind: Kind::HostedZone,
            region: "us-east-1".into(),
            props: json!({"name": "greenlang.ai", "comment": "public zone"}),
            tags: owner_tags(),
        }
    }

    fn record_spec() -> RecordSetSpec {
        serde_json::from_value(json!({
            "zone_id": "/hostedzone/Z111",
            "name": "api.greenlang.ai",
            "record_type": "A",
            "ttl": 300,
            "records": ["192.0.2.10", "192.0.2.11"],
            "set_identifier": "blue"
        }))
        .unwrap()
    }

    fn record_resource(spec: &RecordSetSpec) -> ResolvedResource {
        ResolvedResource {
            stack: "prod".into(),
            id: "api".into(),
            kind: Kind::RecordSet,
            region: "us-east-1".into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: BTreeMap::new(),
        }
    }

    fn record_state(spec: &RecordSetSpec) -> ResourceState {
        ResourceState {
            kind: Kind::RecordSet,
            region: "us-east-1".into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: BTreeMap::new(),
            outputs: record_outputs(spec),
            dependencies: Default::default(),
            pending: None,
        }
    }

    fn zone(id: &str, name: &str, caller_reference: &str) -> HostedZone {
        HostedZone::builder()
            .id(format!("/hostedzone/{id}"))
            .name(name)
            .caller_reference(caller_reference)
            .build()
            .unwrap()
    }

    fn change_info(status: ChangeStatus) -> ChangeInfo {
        ChangeInfo::builder()
            .id("/change/C1")
            .status(status)
            .submitted_at(DateTime::from_secs(0))
            .build()
            .unwrap()
    }

    fn insync() -> Rule {
        mock!(Client::get_change)
            .match_requests(|r| r.id() == Some("C1"))
            .then_output(|| {
                GetChangeOutput::builder()
                    .change_info(change_info(ChangeStatus::Insync))
                    .build()
            })
    }

    fn delegation() -> DelegationSet {
        DelegationSet::builder()
            .name_servers("ns-1.awsdns-01.org")
            .name_servers("ns-2.awsdns-02.net")
            .build()
            .unwrap()
    }

    fn tag_set(id: &str, tags: &[(&str, &str)]) -> ResourceTagSet {
        ResourceTagSet::builder()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(id)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                    .collect(),
            ))
            .build()
    }

    #[test]
    fn names_are_compared_normalised() {
        assert_eq!(normalise("API.GreenLang.ai"), "api.greenlang.ai.");
        assert_eq!(normalise("api.greenlang.ai."), "api.greenlang.ai.");
        assert_eq!(normalise("\\052.greenlang.ai."), "*.greenlang.ai.");
        assert_eq!(bare_id("/hostedzone/Z111"), "Z111");
        assert_eq!(bare_id("Z111"), "Z111");
    }

    #[test]
    fn caller_references_are_unique_but_share_a_prefix() {
        let a = caller_reference("prod", "zone");
        let b = caller_reference("prod", "zone");
        assert_ne!(a, b);
        assert!(a.starts_with("glinfra/prod/zone/"), "{a}");
        let long = "x".repeat(120);
        let c = caller_reference(&long, "zone");
        assert!(c.len() <= 128, "{}", c.len());
        assert!(c.starts_with(&caller_reference_prefix(&long, "zone")));
    }

    #[tokio::test]
    async fn zone_find_matches_by_ownership_tags_among_zones_of_the_same_name() {
        let (asked, see) = recorder::<
            aws_sdk_route53::operation::list_tags_for_resources::ListTagsForResourcesInput,
        >();
        let rules = [
            mock!(Client::list_hosted_zones_by_name)
                .match_requests(|r| r.dns_name() == Some("greenlang.ai."))
                .then_output(|| {
                    ListHostedZonesByNameOutput::builder()
                        .hosted_zones(zone("ZOTHER", "greenlang.ai.", "console-1"))
                        .hosted_zones(zone("ZOURS", "greenlang.ai.", "terraform-2"))
                        .hosted_zones(zone("ZNEXT", "greenlang.com.", "x"))
                        .is_truncated(false)
                        .max_items(100)
                        .build()
                        .unwrap()
                }),
            mock!(Client::list_tags_for_resources)
                .match_requests(see)
                .then_output(|| {
                    ListTagsForResourcesOutput::builder()
                        .resource_tag_sets(tag_set(
                            "ZOTHER",
                            &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "zone")],
                        ))
                        .resource_tag_sets(tag_set(
                            "ZOURS",
                            &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "zone")],
                        ))
                        .build()
                        .unwrap()
                }),
            mock!(Client::get_hosted_zone)
                .match_requests(|r| r.id() == Some("ZOURS"))
                .then_output(|| {
                    GetHostedZoneOutput::builder()
                        .delegation_set(delegation())
                        .build()
                }),
        ];
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());

        let out = find(&c, &zone_resource()).await.unwrap().unwrap();

        assert_eq!(out["zone_id"], json!("ZOURS"));
        assert_eq!(
            out["name_servers"],
            json!(["ns-1.awsdns-01.org", "ns-2.awsdns-02.net"])
        );
        assert_eq!(asked.lock().unwrap()[0].resource_ids(), ["ZOTHER", "ZOURS"]);
    }

    #[tokio::test]
    async fn zone_find_recognises_an_untagged_zone_by_its_caller_reference() {
        let rules = [
            mock!(Client::list_hosted_zones_by_name).then_output(|| {
                ListHostedZonesByNameOutput::builder()
                    .hosted_zones(zone(
                        "ZNEW",
                        "greenlang.ai.",
                        "glinfra/prod/zone/18c0ffee-42",
                    ))
                    .is_truncated(false)
                    .max_items(100)
                    .build()
                    .unwrap()
            }),
            mock!(Client::get_hosted_zone)
                .match_requests(|r| r.id() == Some("ZNEW"))
                .then_output(|| {
                    GetHostedZoneOutput::builder()
                        .delegation_set(delegation())
                        .build()
                }),
        ];
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());
        let out = find(&c, &zone_resource()).await.unwrap().unwrap();
        assert_eq!(out["zone_id"], json!("ZNEW"));
    }

    #[tokio::test]
    async fn zone_find_ignores_zones_of_others() {
        let rules = [
            mock!(Client::list_hosted_zones_by_name).then_output(|| {
                ListHostedZonesByNameOutput::builder()
                    .hosted_zones(zone("ZOTHER", "greenlang.ai.", "glinfra/staging/zone/1"))
                    .is_truncated(false)
                    .max_items(100)
                    .build()
                    .unwrap()
            }),
            mock!(Client::list_tags_for_resources).then_output(|| {
                ListTagsForResourcesOutput::builder()
                    .resource_tag_sets(tag_set(
                        "ZOTHER",
                        &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "zone")],
                    ))
                    .build()
                    .unwrap()
            }),
        ];
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());
        assert_eq!(find(&c, &zone_resource()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn zone_create_tags_the_zone_and_waits_for_the_change() {
        let (created, see_created) = recorder::<CreateHostedZoneInput>();
        let (tagged, see_tagged) = recorder::<ChangeTagsForResourceInput>();
        let rules = [
            mock!(Client::create_hosted_zone)
                .match_requests(see_created)
                .then_output(|| {
                    CreateHostedZoneOutput::builder()
                        .hosted_zone(zone("ZNEW", "greenlang.ai.", "glinfra/prod/zone/1"))
                        .change_info(change_info(ChangeStatus::Pending))
                        .delegation_set(delegation())
                        .location("https://route53.amazonaws.com/2013-04-01/hostedzone/ZNEW")
                        .build()
                        .unwrap()
                }),
            mock!(Client::change_tags_for_resource)
                .match_requests(see_tagged)
                .then_output(|| ChangeTagsForResourceOutput::builder().build()),
            insync(),
        ];
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());

        let out = create(&c, &zone_resource()).await.unwrap();

        assert_eq!(out["zone_id"], json!("ZNEW"));
        assert_eq!(
            out["name_servers"],
            json!(["ns-1.awsdns-01.org", "ns-2.awsdns-02.net"])
        );
        let created = created.lock().unwrap();
        assert_eq!(created[0].name(), Some("greenlang.ai"));
        assert!(created[0]
            .caller_reference()
            .unwrap()
            .starts_with("glinfra/prod/zone/"));
        let config = created[0].hosted_zone_config().unwrap();
        assert_eq!(config.comment(), Some("public zone"));
        assert!(!config.private_zone());
        let tagged = tagged.lock().unwrap();
        assert_eq!(tagged[0].resource_id(), Some("ZNEW"));
        assert_eq!(
            tagged[0].resource_type(),
            Some(&TagResourceType::Hostedzone)
        );
        let tags: BTreeMap<String, String> = tagged[0]
            .add_tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect();
        assert_eq!(tags, owner_tags());
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    fn zone_state() -> ResourceState {
        ResourceState {
            kind: Kind::HostedZone,
            region: "us-east-1".into(),
            props: zone_resource().props,
            tags: owner_tags(),
            outputs: zone_outputs("Z111", &[]),
            dependencies: Default::default(),
            pending: None,
        }
    }

    #[tokio::test]
    async fn zone_delete_with_foreign_records_is_fatal_and_a_missing_zone_is_success() {
        let rules = [
            mock!(Client::delete_hosted_zone)
                .match_requests(|r| r.id() == Some("Z111"))
                .then_error(|| DeleteHostedZoneError::generic(meta("HostedZoneNotEmpty"))),
            mock!(Client::delete_hosted_zone)
                .then_error(|| DeleteHostedZoneError::generic(meta("NoSuchHostedZone"))),
        ];
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());

        let err = delete(&c, "zone", &zone_state()).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Fatal);
        assert!(err.message.contains("does not manage"), "{}", err.message);

        delete(&c, "zone", &zone_state()).await.unwrap();
    }

    #[tokio::test]
    async fn record_upsert_sends_the_values_ttl_and_set_identifier() {
        let spec = record_spec();
        let (seen, see) = recorder::<ChangeResourceRecordSetsInput>();
        let rules = [
            mock!(Client::change_resource_record_sets)
                .match_requests(see)
                .then_output(|| {
                    ChangeResourceRecordSetsOutput::builder()
                        .change_info(change_info(ChangeStatus::Pending))
                        .build()
                }),
            insync(),
        ];
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());

        let out = create(&c, &record_resource(&spec)).await.unwrap();

        assert_eq!(out["fqdn"], json!("api.greenlang.ai"));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].hosted_zone_id(), Some("Z111"));
        let change = &seen[0].change_batch().unwrap().changes()[0];
        assert_eq!(change.action(), &ChangeAction::Upsert);
        let set = change.resource_record_set().unwrap();
        assert_eq!(set.name(), "api.greenlang.ai");
        assert_eq!(set.r#type(), &RrType::A);
        assert_eq!(set.ttl(), Some(300));
        assert_eq!(set.set_identifier(), Some("blue"));
        let values: Vec<&str> = set.resource_records().iter().map(|r| r.value()).collect();
        assert_eq!(values, ["192.0.2.10", "192.0.2.11"]);
    }

    #[tokio::test]
    async fn record_delete_sends_the_recorded_values() {
        let spec = record_spec();
        let (seen, see) = recorder::<ChangeResourceRecordSetsInput>();
        let rules = [
            mock!(Client::change_resource_record_sets)
                .match_requests(see)
                .then_output(|| {
                    ChangeResourceRecordSetsOutput::builder()
                        .change_info(change_info(ChangeStatus::Pending))
                        .build()
                }),
            insync(),
        ];
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());

        delete(&c, "api", &record_state(&spec)).await.unwrap();

        let seen = seen.lock().unwrap();
        let change = &seen[0].change_batch().unwrap().changes()[0];
        assert_eq!(change.action(), &ChangeAction::Delete);
        assert_eq!(
            change.resource_record_set().unwrap(),
            &record_set(&spec).unwrap()
        );
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn record_delete_of_a_missing_record_is_success() {
        let rule = mock!(Client::change_resource_record_sets).then_error(|| {
            ChangeResourceRecordSetsError::InvalidChangeBatch(
                InvalidChangeBatch::builder()
                    .messages("Tried to delete resource record set [name='api.greenlang.ai.', type='A', set-identifier='blue'] but it was not found")
                    .meta(ErrorMetadata::builder().code("InvalidChangeBatch").build())
                    .build(),
            )
        });
        let c = mock_route53(&[&rule]);
        delete(&c, "api", &record_state(&record_spec()))
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn record_delete_with_other_batch_errors_fails() {
        let rule = mock!(Client::change_resource_record_sets).then_error(|| {
            ChangeResourceRecordSetsError::InvalidChangeBatch(
                InvalidChangeBatch::builder()
                    .messages("Tried to delete resource record set [name='api.greenlang.ai.', type='A'] but the values provided do not match the current values")
                    .meta(ErrorMetadata::builder().code("InvalidChangeBatch").build())
                    .build(),
            )
        });
        let c = mock_route53(&[&rule]);
        let err = delete(&c, "api", &record_state(&record_spec()))
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
    }

    fn rrset(name: &str, rtype: RrType, id: Option<&str>) -> ResourceRecordSet {
        ResourceRecordSet::builder()
            .name(name)
            .r#type(rtype)
            .ttl(60)
            .set_set_identifier(id.map(str::to_owned))
            .resource_records(
                ResourceRecord::builder()
                    .value("192.0.2.1")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn record_find_matches_name_type_and_set_identifier_exactly() {
        let spec = record_spec();
        let rules = [
            mock!(Client::list_resource_record_sets)
                .match_requests(|r| {
                    r.hosted_zone_id() == Some("Z111")
                        && r.start_record_name() == Some("api.greenlang.ai.")
                        && r.start_record_type() == Some(&RrType::A)
                        && r.start_record_identifier() == Some("blue")
                })
                .then_output(|| {
                    ListResourceRecordSetsOutput::builder()
                        .resource_record_sets(rrset("API.greenlang.ai.", RrType::A, Some("blue")))
                        .is_truncated(false)
                        .max_items(100)
                        .build()
                        .unwrap()
                }),
            // Only a neighbour: not found.
            mock!(Client::list_resource_record_sets).then_output(|| {
                ListResourceRecordSetsOutput::builder()
                    .resource_record_sets(rrset("api.greenlang.ai.", RrType::A, Some("green")))
                    .resource_record_sets(rrset("apx.greenlang.ai.", RrType::A, None))
                    .is_truncated(true)
                    .next_record_name("apy.greenlang.ai.")
                    .max_items(2)
                    .build()
                    .unwrap()
            }),
        ];
        let c = mock_route53(&rules.iter().collect::<Vec<_>>());
        let r = record_resource(&spec);

        assert_eq!(find(&c, &r).await.unwrap(), Some(record_outputs(&spec)));
        assert_eq!(find(&c, &r).await.unwrap(), None);
    }

    // ------------------------------------------------------------ latency routing

    fn latency_record_spec() -> RecordSetSpec {
        serde_json::from_value(json!({
            "zone_id": "Z111",
            "name": "api.greenlang.ai",
            "record_type": "A",
            "ttl": 60,
            "records": ["192.0.2.10"],
            "set_identifier": "use1",
            "latency_region": "us-east-1",
            "health_check_id": "hc-1"
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn record_upsert_and_delete_carry_the_latency_region_and_health_check() {
        let spec = latency_record_spec();
        let (seen, see) = recorder::<ChangeResourceRecordSetsInput>();
        let rules = [
            mock!(Client::change_resource_record_sets)
                .match_requests(see)
                .then_output(|| {
                    ChangeResourceRecordSetsOutput::builder()
                        .change_info(change_info(ChangeStatus::Insync))
                        .build()
                }),
            insync(),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());

        create(&c, &record_resource(&spec)).await.unwrap();
        delete(&c, "api", &record_state(&spec)).await.unwrap();

        let seen = seen.lock().unwrap();
        for (req, action) in seen
            .iter()
            .zip([ChangeAction::Upsert, ChangeAction::Delete])
        {
            let change = &req.change_batch().unwrap().changes()[0];
            assert_eq!(change.action(), &action);
            let set = change.resource_record_set().unwrap();
            assert_eq!(set.set_identifier(), Some("use1"));
            assert_eq!(set.region(), Some(&ResourceRecordSetRegion::UsEast1));
            assert_eq!(set.health_check_id(), Some("hc-1"));
        }
        assert_eq!(seen.len(), 2);
    }

    #[tokio::test]
    async fn record_find_matches_a_latency_record_by_its_set_identifier() {
        let spec = latency_record_spec();
        let rule = mock!(Client::list_resource_record_sets)
            .match_requests(|r| r.start_record_identifier() == Some("use1"))
            .then_output(|| {
                let mut other = rrset("api.greenlang.ai.", RrType::A, Some("euw1"));
                other.region = Some(ResourceRecordSetRegion::EuWest1);
                let mut ours = rrset("api.greenlang.ai.", RrType::A, Some("use1"));
                ours.region = Some(ResourceRecordSetRegion::UsEast1);
                ours.health_check_id = Some("hc-1".into());
                ListResourceRecordSetsOutput::builder()
                    .resource_record_sets(other)
                    .resource_record_sets(ours)
                    .is_truncated(false)
                    .max_items(100)
                    .build()
                    .unwrap()
            });
        let c = mock_any(&[&rule]);
        assert_eq!(
            find(&c, &record_resource(&spec)).await.unwrap(),
            Some(record_outputs(&spec))
        );
    }

    // ------------------------------------------------------------ health checks

    use aws_sdk_route53::operation::create_health_check::{
        CreateHealthCheckInput, CreateHealthCheckOutput,
    };
    use aws_sdk_route53::operation::delete_health_check::{
        DeleteHealthCheckError, DeleteHealthCheckOutput,
    };
    use aws_sdk_route53::operation::get_health_check::GetHealthCheckOutput;
    use aws_sdk_route53::operation::list_health_checks::ListHealthChecksOutput;
    use aws_sdk_route53::operation::list_tags_for_resources::ListTagsForResourcesInput;
    use aws_sdk_route53::operation::update_health_check::{
        UpdateHealthCheckError, UpdateHealthCheckInput, UpdateHealthCheckOutput,
    };

    fn mock_any(rules: &[&Rule]) -> Clients {
        mock_clients!(
            aws_sdk_route53,
            "route53",
            "us-east-1",
            RuleMode::MatchAny,
            rules
        )
    }

    fn hc_tags() -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_STACK.to_string(), "prod".to_string()),
            (TAG_LOGICAL_ID.to_string(), "api-health".to_string()),
            ("team".to_string(), "platform".to_string()),
        ])
    }

    fn hc_props(check_type: &str, path: &str) -> Value {
        json!({
            "fqdn": "api.greenlang.ai",
            "port": 443,
            "check_type": check_type,
            "resource_path": path,
            "request_interval": 30,
            "failure_threshold": 3
        })
    }

    fn hc_resource(props: Value) -> ResolvedResource {
        ResolvedResource {
            stack: "prod".into(),
            id: "api-health".into(),
            kind: Kind::HealthCheck,
            region: "us-east-1".into(),
            props,
            tags: hc_tags(),
        }
    }

    fn hc_state(outputs: Outputs) -> ResourceState {
        ResourceState {
            kind: Kind::HealthCheck,
            region: "us-east-1".into(),
            props: hc_props("HTTPS", "/healthz"),
            tags: hc_tags(),
            outputs,
            dependencies: Default::default(),
            pending: None,
        }
    }

    fn health_check(id: &str, caller_reference: &str, version: i64) -> HealthCheck {
        HealthCheck::builder()
            .id(id)
            .caller_reference(caller_reference)
            .health_check_config(
                HealthCheckConfig::builder()
                    .r#type(HealthCheckType::Https)
                    .build()
                    .unwrap(),
            )
            .health_check_version(version)
            .build()
            .unwrap()
    }

    fn hc_tag_set(id: &str, tags: &[(&str, &str)]) -> ResourceTagSet {
        let mut set = tag_set(id, tags);
        set.resource_type = Some(TagResourceType::Healthcheck);
        set
    }

    #[test]
    fn health_check_references_fit_in_64_characters() {
        let short = with_nonce(health_check_reference_prefix("prod", "api-health"));
        assert!(short.starts_with("glinfra/prod/api-health/"), "{short}");
        assert!(short.len() <= 64, "{}", short.len());
        let long = with_nonce(health_check_reference_prefix(&"s".repeat(40), "api-health"));
        assert!(long.len() <= 64, "{}", long.len());
        assert!(long.starts_with(&health_check_reference_prefix(
            &"s".repeat(40),
            "api-health"
        )));
    }

    #[tokio::test]
    async fn health_check_create_maps_every_field_and_tags_it() {
        let (created, see_created) = recorder::<CreateHealthCheckInput>();
        let (tagged, see_tagged) = recorder::<ChangeTagsForResourceInput>();
        let rules = [
            mock!(Client::create_health_check)
                .match_requests(see_created)
                .then_output(|| {
                    CreateHealthCheckOutput::builder()
                        .health_check(health_check("hc-new", "glinfra/prod/api-health/1", 1))
                        .location("https://route53.amazonaws.com/2013-04-01/healthcheck/hc-new")
                        .build()
                        .unwrap()
                }),
            mock!(Client::change_tags_for_resource)
                .match_requests(see_tagged)
                .then_output(|| ChangeTagsForResourceOutput::builder().build()),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());

        let out = create(&c, &hc_resource(hc_props("HTTPS", "/healthz")))
            .await
            .unwrap();

        assert_eq!(out["id"], json!("hc-new"));
        let created = created.lock().unwrap();
        let reference = created[0].caller_reference().unwrap();
        assert!(
            reference.starts_with("glinfra/prod/api-health/"),
            "{reference}"
        );
        assert!(reference.len() <= 64);
        let config = created[0].health_check_config().unwrap();
        assert_eq!(config.r#type(), &HealthCheckType::Https);
        assert_eq!(
            config.fully_qualified_domain_name(),
            Some("api.greenlang.ai")
        );
        assert_eq!(config.port(), Some(443));
        assert_eq!(config.resource_path(), Some("/healthz"));
        assert_eq!(config.request_interval(), Some(30));
        assert_eq!(config.failure_threshold(), Some(3));
        let tagged = tagged.lock().unwrap();
        assert_eq!(
            tagged[0].resource_type(),
            Some(&TagResourceType::Healthcheck)
        );
        assert_eq!(tagged[0].resource_id(), Some("hc-new"));
        let tags: BTreeMap<String, String> = tagged[0]
            .add_tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect();
        assert_eq!(tags, hc_tags());
    }

    #[tokio::test]
    async fn health_check_create_of_a_tcp_check_sends_no_path() {
        let (created, see_created) = recorder::<CreateHealthCheckInput>();
        let rules = [
            mock!(Client::create_health_check)
                .match_requests(see_created)
                .then_output(|| {
                    CreateHealthCheckOutput::builder()
                        .health_check(health_check("hc-tcp", "x", 1))
                        .location("l")
                        .build()
                        .unwrap()
                }),
            mock!(Client::change_tags_for_resource)
                .then_output(|| ChangeTagsForResourceOutput::builder().build()),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        create(&c, &hc_resource(hc_props("TCP", "/ignored")))
            .await
            .unwrap();
        let config = created.lock().unwrap()[0]
            .health_check_config()
            .cloned()
            .unwrap();
        assert_eq!(config.r#type(), &HealthCheckType::Tcp);
        assert_eq!(config.resource_path(), None);
    }

    #[tokio::test]
    async fn health_check_find_recognises_our_caller_reference_across_pages() {
        let rules = [
            mock!(Client::list_health_checks)
                .match_requests(|r| r.marker().is_none())
                .then_output(|| {
                    ListHealthChecksOutput::builder()
                        .health_checks(health_check("hc-a", "console-1", 1))
                        .marker("")
                        .is_truncated(true)
                        .next_marker("hc-a")
                        .max_items(1)
                        .build()
                        .unwrap()
                }),
            mock!(Client::list_health_checks)
                .match_requests(|r| r.marker() == Some("hc-a"))
                .then_output(|| {
                    ListHealthChecksOutput::builder()
                        .health_checks(health_check("hc-ours", "glinfra/prod/api-health/18c-1", 1))
                        .marker("hc-a")
                        .is_truncated(false)
                        .max_items(1)
                        .build()
                        .unwrap()
                }),
        ];
        // No ListTagsForResources rule: the reference is enough.
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        let out = find(&c, &hc_resource(hc_props("HTTPS", "/")))
            .await
            .unwrap();
        assert_eq!(out, Some(health_check_outputs("hc-ours")));
    }

    #[tokio::test]
    async fn health_check_find_checks_tags_in_batches_and_rejects_foreign_ones() {
        let (asked, see) = recorder::<ListTagsForResourcesInput>();
        let rules = [
            mock!(Client::list_health_checks).then_output(|| {
                let mut out = ListHealthChecksOutput::builder()
                    .marker("")
                    .is_truncated(false)
                    .max_items(100);
                for i in 0..12 {
                    out = out.health_checks(health_check(&format!("hc-{i:02}"), "other", 1));
                }
                out.build().unwrap()
            }),
            mock!(Client::list_tags_for_resources)
                .match_requests(see)
                .then_compute_output(|req| {
                    let mut out = ListTagsForResourcesOutput::builder();
                    for id in req.resource_ids() {
                        let tags: &[(&str, &str)] = match id.as_str() {
                            "hc-11" => &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "api-health")],
                            "hc-03" => &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "api-health")],
                            _ => &[],
                        };
                        out = out.resource_tag_sets(hc_tag_set(id, tags));
                    }
                    out.build().unwrap()
                }),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());

        let out = find(&c, &hc_resource(hc_props("HTTPS", "/")))
            .await
            .unwrap();
        assert_eq!(out, Some(health_check_outputs("hc-11")));
        {
            let asked = asked.lock().unwrap();
            assert_eq!(asked.len(), 2);
            assert_eq!(asked[0].resource_ids().len(), 10);
            assert_eq!(
                asked[0].resource_type(),
                Some(&TagResourceType::Healthcheck)
            );
            assert_eq!(asked[1].resource_ids(), ["hc-10", "hc-11"]);
        }

        // Only another stack's check: nothing is ours.
        let mut r = hc_resource(hc_props("HTTPS", "/"));
        r.id = "other-health".into();
        assert_eq!(find(&c, &r).await.unwrap(), None);
    }

    #[tokio::test]
    async fn health_check_update_sends_each_field_with_the_current_version() {
        let (seen, see) = recorder::<UpdateHealthCheckInput>();
        let rules = [
            mock!(Client::get_health_check)
                .match_requests(|r| r.health_check_id() == Some("hc-1"))
                .then_output(|| {
                    GetHealthCheckOutput::builder()
                        .health_check(health_check("hc-1", "x", 7))
                        .build()
                }),
            mock!(Client::update_health_check)
                .match_requests(see)
                .then_output(|| {
                    UpdateHealthCheckOutput::builder()
                        .health_check(health_check("hc-1", "x", 8))
                        .build()
                }),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        let mut props = hc_props("HTTPS", "/v2/health");
        props["fqdn"] = json!("api2.greenlang.ai");
        props["port"] = json!(8443);
        props["failure_threshold"] = json!(5);
        let r = hc_resource(props);
        let prior = hc_state(health_check_outputs("hc-1"));

        for field in ["fqdn", "port", "resource_path", "failure_threshold"] {
            let out = update(&c, &prior, &r, &[field.to_string()]).await.unwrap();
            assert_eq!(out, health_check_outputs("hc-1"));
        }

        let seen = seen.lock().unwrap();
        assert!(seen
            .iter()
            .all(|u| u.health_check_id() == Some("hc-1") && u.health_check_version() == Some(7)));
        assert_eq!(
            seen[0].fully_qualified_domain_name(),
            Some("api2.greenlang.ai")
        );
        assert_eq!(seen[0].port(), None);
        assert_eq!(seen[1].port(), Some(8443));
        assert_eq!(seen[1].fully_qualified_domain_name(), None);
        assert_eq!(seen[2].resource_path(), Some("/v2/health"));
        assert_eq!(seen[3].failure_threshold(), Some(5));
        assert_eq!(seen[3].resource_path(), None);
    }

    #[tokio::test]
    async fn health_check_update_of_everything_resets_an_emptied_path_and_syncs_tags() {
        let (seen, see) = recorder::<UpdateHealthCheckInput>();
        let (tagged, see_tagged) = recorder::<ChangeTagsForResourceInput>();
        let rules = [
            mock!(Client::get_health_check).then_output(|| {
                GetHealthCheckOutput::builder()
                    .health_check(health_check("hc-1", "x", 2))
                    .build()
            }),
            mock!(Client::update_health_check)
                .match_requests(see)
                .then_output(|| {
                    UpdateHealthCheckOutput::builder()
                        .health_check(health_check("hc-1", "x", 3))
                        .build()
                }),
            mock!(Client::list_tags_for_resource)
                .match_requests(|r| {
                    r.resource_id() == Some("hc-1")
                        && r.resource_type() == Some(&TagResourceType::Healthcheck)
                })
                .then_output(|| {
                    aws_sdk_route53::operation::list_tags_for_resource::ListTagsForResourceOutput::builder()
                        .resource_tag_set(hc_tag_set("hc-1", &[("stray", "x"), ("team", "platform")]))
                        .build()
                }),
            mock!(Client::change_tags_for_resource)
                .match_requests(see_tagged)
                .then_output(|| ChangeTagsForResourceOutput::builder().build()),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        let r = hc_resource(hc_props("HTTPS", ""));

        update(&c, &hc_state(health_check_outputs("hc-1")), &r, &[])
            .await
            .unwrap();

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].reset_elements(),
            [ResettableElementName::ResourcePath]
        );
        assert_eq!(seen[0].resource_path(), None);
        assert_eq!(
            seen[0].fully_qualified_domain_name(),
            Some("api.greenlang.ai")
        );
        assert_eq!(seen[0].port(), Some(443));
        assert_eq!(seen[0].failure_threshold(), Some(3));
        let tagged = tagged.lock().unwrap();
        assert!(tagged
            .iter()
            .all(|t| t.resource_type() == Some(&TagResourceType::Healthcheck)));
        let removed: Vec<String> = tagged
            .iter()
            .flat_map(|t| t.remove_tag_keys().to_vec())
            .collect();
        assert_eq!(removed, ["stray"]);
    }

    #[tokio::test]
    async fn health_check_update_of_tags_only_makes_no_health_check_call() {
        let rule = mock!(Client::change_tags_for_resource)
            .then_output(|| ChangeTagsForResourceOutput::builder().build());
        let c = mock_any(&[&rule]);
        update(
            &c,
            &hc_state(health_check_outputs("hc-1")),
            &hc_resource(hc_props("HTTPS", "/healthz")),
            &["tags".to_string()],
        )
        .await
        .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn health_check_update_version_mismatch_is_retryable() {
        let rules = [
            mock!(Client::get_health_check).then_output(|| {
                GetHealthCheckOutput::builder()
                    .health_check(health_check("hc-1", "x", 2))
                    .build()
            }),
            mock!(Client::update_health_check)
                .then_error(|| UpdateHealthCheckError::generic(meta("HealthCheckVersionMismatch"))),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        let err = update(
            &c,
            &hc_state(health_check_outputs("hc-1")),
            &hc_resource(hc_props("HTTPS", "/healthz")),
            &["port".to_string()],
        )
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Retryable);
    }

    #[tokio::test]
    async fn health_check_delete_in_use_is_retryable_and_gone_is_success() {
        let rule = mock!(Client::delete_health_check)
            .match_requests(|r| r.health_check_id() == Some("hc-1"))
            .sequence()
            .error(|| DeleteHealthCheckError::generic(meta("HealthCheckInUse")))
            .output(|| DeleteHealthCheckOutput::builder().build())
            .error(|| DeleteHealthCheckError::generic(meta("NoSuchHealthCheck")))
            .build();
        let c = mock_any(&[&rule]);
        let prior = hc_state(health_check_outputs("hc-1"));

        let err = delete(&c, "api-health", &prior).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Retryable);
        delete(&c, "api-health", &prior).await.unwrap();
        delete(&c, "api-health", &prior).await.unwrap();
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn health_check_delete_without_outputs_deletes_what_find_finds() {
        let rules = [
            mock!(Client::list_health_checks).then_output(|| {
                ListHealthChecksOutput::builder()
                    .health_checks(health_check("hc-9", "glinfra/prod/api-health/1-2", 1))
                    .marker("")
                    .is_truncated(false)
                    .max_items(100)
                    .build()
                    .unwrap()
            }),
            mock!(Client::delete_health_check)
                .match_requests(|r| r.health_check_id() == Some("hc-9"))
                .then_output(|| DeleteHealthCheckOutput::builder().build()),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        delete(&c, "api-health", &hc_state(Outputs::new()))
            .await
            .unwrap();
        assert_eq!(rules[1].num_calls(), 1);
    }
}
