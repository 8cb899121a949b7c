//! Record sets: ChangeResourceRecordSets with UPSERT to create and update, with
//! DELETE to delete, each change waited out until INSYNC. A new type or set
//! identifier is another record set: one batch deletes the old and creates the new,
//! which Route 53 applies atomically.
//!
//! A record set has no id of its own: its natural key is (zone, name, type, set
//! identifier), and it takes no tags. UPSERT writes the whole record set, so
//! creating and updating are the same idempotent call. DELETE must name the
//! record set exactly as it is (values, TTL, routing), so it is built from the
//! recorded spec; Route 53 answers a DELETE of a missing record set with an
//! InvalidChangeBatch saying it "was not found", which is success here.

use super::{bare_id, normalise, wait_insync};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::join::try_join_all;
use crate::kit::live::{like, Live, Scope};
use crate::kit::{build_error, resolved_opt, resolved_str, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, ResourceRecordSetRegion,
    RrType,
};
use aws_sdk_route53::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::route53::{RecordSetOutputs, RecordSetSpec, RecordType};
use glinfra_core::Input;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;

/// Record sets asked for per page when looking one up: it comes first when it
/// exists, after it only the sets of other set identifiers of its name and type.
/// Without it AWS sends up to 300 record sets a page, most of them other records.
pub(crate) const LOOKUP_PAGE: i32 = 10;

/// The driver of `aws:route53/record-set`.
pub(crate) struct RecordSetDriver;

/// The outputs of a record set: its name without the trailing dot.
pub(super) fn record_outputs(spec: &RecordSetSpec) -> RecordSetOutputs {
    RecordSetOutputs {
        fqdn: spec.name.trim_end_matches('.').to_string(),
    }
}

/// The Route 53 type of `t`.
fn rr_type(t: RecordType) -> RrType {
    match t {
        RecordType::A => RrType::A,
        RecordType::Aaaa => RrType::Aaaa,
        RecordType::Caa => RrType::Caa,
        RecordType::Cname => RrType::Cname,
        RecordType::Mx => RrType::Mx,
        RecordType::Ns => RrType::Ns,
        RecordType::Ptr => RrType::Ptr,
        RecordType::Srv => RrType::Srv,
        RecordType::Txt => RrType::Txt,
    }
}

/// The record set `spec` describes, as Route 53 takes it.
pub(super) fn record_set(spec: &RecordSetSpec) -> Result<ResourceRecordSet, ProviderError> {
    let records = spec
        .records
        .iter()
        .enumerate()
        .map(|(i, v)| {
            ResourceRecord::builder()
                .value(resolved_str(v, &format!("records[{i}]"))?)
                .build()
                .map_err(build_error("resource record"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ResourceRecordSet::builder()
        .name(&spec.name)
        .r#type(rr_type(spec.record_type))
        .ttl(spec.ttl)
        .set_resource_records(Some(records))
        .set_set_identifier(spec.set_identifier.clone())
        // Latency routing: the region this record answers for.
        .set_region(
            spec.latency_region
                .as_deref()
                .map(ResourceRecordSetRegion::from),
        )
        .set_health_check_id(resolved_opt(
            spec.health_check_id.as_ref(),
            "health_check_id",
        )?)
        .build()
        .map_err(build_error("record set"))
}

/// Submits one change and returns its change id. A DELETE of a record set that
/// is not there is a NotFound error (Route 53 reports it as an invalid batch).
async fn change_record(
    r53: &Client,
    zone_id: &str,
    action: ChangeAction,
    set: ResourceRecordSet,
) -> Result<String, ProviderError> {
    change_batch(r53, zone_id, vec![(action, set)]).await
}

/// Submits `changes` as one batch, which Route 53 applies in order and all or none,
/// and returns its change id. A DELETE of a record set that is not there is a
/// NotFound error (Route 53 reports it as an invalid batch).
async fn change_batch(
    r53: &Client,
    zone_id: &str,
    changes: Vec<(ChangeAction, ResourceRecordSet)>,
) -> Result<String, ProviderError> {
    let changes = changes
        .into_iter()
        .map(|(action, set)| {
            Change::builder()
                .action(action)
                .resource_record_set(set)
                .build()
                .map_err(build_error("change"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .map_err(build_error("change batch"))?;
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
            // The batch's messages are in the modelled error only: read them first.
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
                err.reclassified(ErrorClass::NotFound, "the record set is not there")
            } else {
                err
            })
        }
    }
}

/// The zone id of `spec`, without its `/hostedzone/` prefix.
fn zone_of(spec: &RecordSetSpec) -> Result<String, ProviderError> {
    Ok(bare_id(resolved_str(&spec.zone_id, "zone_id")?).to_string())
}

/// Every record set of zone `zone_id` (ListResourceRecordSets, every page);
/// `None` when the zone is gone.
async fn zone_records(
    r53: &Client,
    zone_id: &str,
) -> Result<Option<Vec<ResourceRecordSet>>, ProviderError> {
    let mut found = Vec::new();
    let (mut name, mut rtype, mut id) = (None, None, None);
    loop {
        let page = r53
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .set_start_record_name(name.take())
            .set_start_record_type(rtype.take())
            .set_start_record_identifier(id.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListResourceRecordSets {zone_id}"), e))
            .or_absent()?;
        let Some(page) = page else {
            return Ok(None);
        };
        found.extend(page.resource_record_sets().iter().cloned());
        if !page.is_truncated() || page.next_record_name().is_none() {
            return Ok(Some(found));
        }
        name = page.next_record_name().map(str::to_owned);
        rtype = page.next_record_type().cloned();
        id = page.next_record_identifier().map(str::to_owned);
    }
}

/// True when `set` is the record set of `spec`: the same name (normalised), type
/// and set identifier.
fn is_of(set: &ResourceRecordSet, spec: &RecordSetSpec) -> bool {
    normalise(set.name()) == normalise(&spec.name)
        && *set.r#type() == rr_type(spec.record_type)
        && set.set_identifier() == spec.set_identifier.as_deref()
}

/// True when record values `a` and `b` are the same: domain names (CNAME, NS,
/// PTR, and the host that ends MX and SRV values) compare without case or
/// trailing dot.
fn same_value(t: RecordType, a: &str, b: &str) -> bool {
    match t {
        RecordType::Cname | RecordType::Ns | RecordType::Ptr | RecordType::Mx | RecordType::Srv => {
            a.trim_end_matches('.')
                .eq_ignore_ascii_case(b.trim_end_matches('.'))
        }
        _ => a == b,
    }
}

/// `recorded` with what Route 53 has in `set`: TTL, values (spelled and ordered
/// as recorded when they are the same), latency region and health check. The
/// name, type, zone and set identifier are what `set` was matched by.
fn read_record(set: &ResourceRecordSet, recorded: &RecordSetSpec) -> RecordSetSpec {
    let t = recorded.record_type;
    let values = set
        .resource_records()
        .iter()
        .map(|rr| {
            let v = rr.value();
            recorded
                .records
                .iter()
                .find(|r| r.value().is_some_and(|x| same_value(t, x, v)))
                .cloned()
                .unwrap_or_else(|| Input::Value(v.to_string()))
        })
        .collect();
    let health_check_id = set
        .health_check_id()
        .map(|h| match &recorded.health_check_id {
            Some(i) if i.value().map(String::as_str) == Some(h) => i.clone(),
            _ => Input::Value(h.to_string()),
        });
    RecordSetSpec {
        ttl: set.ttl().unwrap_or(0),
        records: like(values, Some(&recorded.records)),
        latency_region: set.region().map(|r| r.as_str().to_string()),
        health_check_id,
        ..recorded.clone()
    }
}

/// Changes the record set's type or set identifier: one batch that deletes the
/// record set as recorded and creates the new one, so that Route 53 swaps them
/// atomically (no moment where the name has neither). When the recorded one is gone
/// already (a resumed change whose batch went through), the new one is written with
/// UPSERT.
async fn swap(
    c: &Clients,
    prior: &RecordSetSpec,
    spec: &RecordSetSpec,
) -> Result<RecordSetOutputs, ProviderError> {
    let r53 = c.route53();
    let zone_id = zone_of(spec)?;
    let changes = vec![
        (ChangeAction::Delete, record_set(prior)?),
        (ChangeAction::Create, record_set(spec)?),
    ];
    let change = match change_batch(&r53, &zone_id, changes).await {
        Ok(change) => change,
        Err(e) if e.class == ErrorClass::NotFound => return upsert(c, spec).await,
        Err(e) => return Err(e),
    };
    if !change.is_empty() {
        wait_insync(&r53, &change).await?;
    }
    Ok(record_outputs(spec))
}

/// Writes the record set with UPSERT and waits until the change is INSYNC.
async fn upsert(c: &Clients, spec: &RecordSetSpec) -> Result<RecordSetOutputs, ProviderError> {
    let r53 = c.route53();
    let zone_id = zone_of(spec)?;
    let change = change_record(&r53, &zone_id, ChangeAction::Upsert, record_set(spec)?).await?;
    if !change.is_empty() {
        wait_insync(&r53, &change).await?;
    }
    Ok(record_outputs(spec))
}

#[async_trait]
impl Driver for RecordSetDriver {
    type Spec = RecordSetSpec;

    /// Lists from the record's own name and type, a page of [`LOOKUP_PAGE`] at a
    /// time: the record is first if it exists, and a page past it ends the search.
    async fn find(
        &self,
        c: &Clients,
        r: &Desired<RecordSetSpec>,
    ) -> Result<Option<RecordSetOutputs>, ProviderError> {
        let spec = &r.spec;
        let r53 = c.route53();
        let zone_id = zone_of(spec)?;
        let name = normalise(&spec.name);
        let rtype = rr_type(spec.record_type);
        let mut start_name = Some(name.clone());
        let mut start_type = Some(rtype.clone());
        let mut start_id = spec.set_identifier.clone();
        loop {
            let page = r53
                .list_resource_record_sets()
                .hosted_zone_id(&zone_id)
                .set_start_record_name(start_name.take())
                .set_start_record_type(start_type.take())
                .set_start_record_identifier(start_id.take())
                .max_items(LOOKUP_PAGE)
                .send()
                .await
                .map_err(|e| classify(&format!("ListResourceRecordSets {zone_id}"), e))
                .or_absent()?;
            // No zone: it is gone, and its records with it.
            let Some(page) = page else {
                return Ok(None);
            };
            let sets = page.resource_record_sets();
            if sets.iter().any(|s| {
                normalise(s.name()) == name
                    && *s.r#type() == rtype
                    && s.set_identifier() == spec.set_identifier.as_deref()
            }) {
                return Ok(Some(record_outputs(spec)));
            }
            // Record sets come in (name, type) order from the start point: once a
            // page ends past ours, it is not there.
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

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<RecordSetSpec>,
    ) -> Result<RecordSetOutputs, ProviderError> {
        upsert(c, &r.spec).await
    }

    /// The TTL, values, latency region and health check: UPSERT writes them all. A
    /// new type or set identifier makes another record set: DELETE and CREATE in one
    /// atomic batch.
    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<RecordSetSpec>,
        r: &Desired<RecordSetSpec>,
        changed: Changed<'_>,
    ) -> Result<RecordSetOutputs, ProviderError> {
        let moved = prior.spec.record_type != r.spec.record_type
            || prior.spec.set_identifier != r.spec.set_identifier;
        if changed.any(&["record_type", "set_identifier"]) && moved {
            return swap(c, &prior.spec, &r.spec).await;
        }
        upsert(c, &r.spec).await
    }

    /// One ListResourceRecordSets per zone holding a recorded record set (every
    /// page; the zones at once). Record sets take no tags, so only recorded ones
    /// are read, through their zones: one state does not know is not detected.
    /// A zone that is gone takes its record sets with it.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<RecordSetSpec>,
    ) -> Result<Option<Vec<Live<RecordSetSpec>>>, ProviderError> {
        let r53 = c.route53();
        let mut zones: BTreeMap<String, Vec<&Recorded<RecordSetSpec>>> = BTreeMap::new();
        for r in &scope.recorded {
            zones.entry(zone_of(&r.spec)?).or_default().push(r);
        }
        let read = try_join_all(zones.keys().map(|z| zone_records(&r53, z))).await?;
        let mut live = Vec::new();
        for (recorded, sets) in zones.into_values().zip(read) {
            let Some(sets) = sets else {
                continue;
            };
            for r in recorded {
                if let Some(set) = sets.iter().find(|s| is_of(s, &r.spec)) {
                    live.push(Live {
                        id: r.id.clone(),
                        outputs: record_outputs(&r.spec),
                        tags: Default::default(),
                        spec: Some(read_record(set, &r.spec)),
                    });
                }
            }
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<RecordSetSpec>,
    ) -> Result<(), ProviderError> {
        let r53 = c.route53();
        let zone_id = zone_of(&prior.spec)?;
        // DELETE must name the record exactly as it is: the recorded values. A
        // record set or zone already gone is success.
        let change = change_record(
            &r53,
            &zone_id,
            ChangeAction::Delete,
            record_set(&prior.spec)?,
        )
        .await
        .or_absent()?;
        match change.filter(|id| !id.is_empty()) {
            Some(change) => wait_insync(&r53, &change).await,
            None => Ok(()),
        }
    }
}
