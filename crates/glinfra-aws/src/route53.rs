//! The Route 53 drivers: public hosted zones and record sets.
//!
//! A hosted zone's name is not unique (Route 53 makes a second zone of the same
//! name on request), so zones are found by their ownership: the CallerReference
//! glinfra gives it (which starts with a prefix derived from the stack and logical
//! id, and so marks a zone made by a run that crashed before tagging it) or the
//! ownership tags. A record set's natural key is (zone, name, type, set identifier);
//! it is written with UPSERT, which is idempotent by nature.

use crate::clients::Clients;
use crate::error::classify;
use crate::wait::{self, Poll};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, HostedZone, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, Tag, TagResourceType,
};
use aws_sdk_route53::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::error::operation::BuildError;
use glinfra_core::spec::route53::{HostedZoneSpec, RecordSetSpec};
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
        _ => find_zone(c, r).await,
    }
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    match r.kind {
        Kind::RecordSet => upsert_record(c, r).await,
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
        _ => delete_zone(c, id, prior).await,
    }
}

// ---------------------------------------------------------------- hosted zones

/// The start of the CallerReference of every zone this resource creates.
fn caller_reference_prefix(stack: &str, id: &str) -> String {
    let readable = format!("glinfra/{stack}/{id}/");
    if readable.len() <= 90 {
        return readable;
    }
    // Too long for the 128-character limit once the nonce is added: hash it (FNV-1a).
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
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}{nanos:x}-{:x}",
        caller_reference_prefix(stack, id),
        std::process::id()
    )
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
    let mut config = HostedZoneConfig::builder().private_zone(false);
    if !spec.comment.is_empty() {
        config = config.comment(&spec.comment);
    }
    let out = r53
        .create_hosted_zone()
        .name(&spec.name)
        .caller_reference(caller_reference(&r.stack, &r.id))
        .hosted_zone_config(config.build())
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
    change_tags(&r53, &zone_id, &r.tags, &[]).await?;
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

/// Sets `add` (overwriting values) and removes `remove`, in batches Route 53 accepts.
async fn change_tags(
    r53: &Client,
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
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(zone_id)
            .set_add_tags(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ChangeTagsForResource {zone_id}"), e))?;
    }
    for batch in remove.chunks(TAG_BATCH) {
        r53.change_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(zone_id)
            .set_remove_tag_keys(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ChangeTagsForResource {zone_id}"), e))?;
    }
    Ok(())
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
        let mut stale: BTreeSet<String> = prior.tags.keys().cloned().collect();
        if all {
            // Converging everything: remove any tag the zone has that the spec lacks.
            let out = r53
                .list_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(&zone_id)
                .send()
                .await
                .map_err(|e| classify(&format!("ListTagsForResource {zone_id}"), e))?;
            if let Some(set) = out.resource_tag_set() {
                stale.extend(set.tags().iter().filter_map(|t| t.key().map(str::to_owned)));
            }
        }
        let stale: Vec<String> = stale
            .into_iter()
            .filter(|k| !r.tags.contains_key(k))
            .collect();
        change_tags(&r53, &zone_id, &r.tags, &stale).await?;
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
    ResourceRecordSet::builder()
        .name(&spec.name)
        .r#type(RrType::from(spec.record_type.as_str()))
        .ttl(spec.ttl)
        .set_resource_records(Some(records))
        .set_set_identifier(spec.set_identifier.clone())
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
}
