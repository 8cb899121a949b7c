//! Public hosted zones: CreateHostedZone with a CallerReference that marks the
//! zone as this resource's, ChangeTagsForResource for the ownership tags,
//! UpdateHostedZoneComment, DeleteHostedZone; every change waited out until
//! INSYNC.
//!
//! Route 53 makes a second zone of the same name on request, so the name is not a
//! key: a zone is this resource's when its CallerReference starts with the
//! resource's prefix (even when a crash came before it was tagged) or when it
//! carries the ownership tags. Route 53 deletes only an empty zone (its SOA and NS
//! records aside): glinfra deletes its own record sets first, so what is left
//! belongs to someone else and the delete fails with a Fatal error saying so.

use super::{
    bare_id, change_tags, normalise, owned_by, owned_once, reference_prefix, sync_tags, tags_of,
    wait_insync, TAG_BATCH,
};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::join::try_join_all;
use crate::kit::live::{Live, Scope};
use crate::kit::{Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_route53::types::{HostedZone, HostedZoneConfig, TagResourceType};
use aws_sdk_route53::Client;
use glinfra_core::spec::route53::{HostedZoneOutputs, HostedZoneSpec};
use glinfra_engine::{ErrorClass, IdempotencyToken, ProviderError};

/// The driver of `aws:route53/hosted-zone`.
pub(crate) struct HostedZoneDriver;

/// The start of the CallerReference of every zone this resource creates.
pub(super) fn caller_reference_prefix(stack: &str, id: &str) -> String {
    reference_prefix(stack, id, 90)
}

/// The CallerReference of a create of resource `id` of `stack` with `token`
/// (see [`super::caller_reference`]).
pub(super) fn caller_reference(stack: &str, id: &str, token: Option<&IdempotencyToken>) -> String {
    super::caller_reference(caller_reference_prefix(stack, id), token)
}

fn zone_outputs(zone_id: &str, name_servers: &[String]) -> HostedZoneOutputs {
    HostedZoneOutputs {
        zone_id: bare_id(zone_id).to_string(),
        name_servers: name_servers.to_vec(),
    }
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

/// Every public zone of the account (ListHostedZones, 100 a page).
async fn public_zones(r53: &Client) -> Result<Vec<HostedZone>, ProviderError> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = r53
            .list_hosted_zones()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify("ListHostedZones", e))?;
        found.extend(
            page.hosted_zones()
                .iter()
                .filter(|z| !z.config().is_some_and(|c| c.private_zone()))
                .cloned(),
        );
        match page.next_marker() {
            Some(next) if page.is_truncated() && !next.is_empty() => {
                marker = Some(next.to_string())
            }
            _ => return Ok(found),
        }
    }
}

/// The outputs of zone `zone_id`: its name servers never change, so those
/// recorded for it are its own; a zone not recorded is read with GetHostedZone.
/// `None`: deleted meanwhile.
async fn live_outputs(
    r53: &Client,
    zone_id: &str,
    recorded: Option<&HostedZoneOutputs>,
) -> Result<Option<HostedZoneOutputs>, ProviderError> {
    if let Some(out) = recorded.filter(|o| bare_id(&o.zone_id) == zone_id) {
        return Ok(Some(out.clone()));
    }
    let zone = r53
        .get_hosted_zone()
        .id(zone_id)
        .send()
        .await
        .map_err(|e| classify(&format!("GetHostedZone {zone_id}"), e))
        .or_absent()?;
    Ok(zone.map(|out| {
        zone_outputs(
            zone_id,
            out.delegation_set()
                .map(|d| d.name_servers())
                .unwrap_or_default(),
        )
    }))
}

/// The id of the zone among `zones` that is `r`'s: by CallerReference prefix,
/// else by ownership tags.
async fn ours(
    r53: &Client,
    r: &Desired<HostedZoneSpec>,
    zones: &[HostedZone],
) -> Result<Option<String>, ProviderError> {
    let prefix = caller_reference_prefix(&r.stack, &r.id);
    // A zone we made carries our CallerReference prefix, even when a crash came
    // before it was tagged; zones of another origin are ours only by their tags.
    if let Some(z) = zones
        .iter()
        .find(|z| z.caller_reference().starts_with(&prefix))
    {
        return Ok(Some(bare_id(z.id()).to_string()));
    }
    let ids: Vec<String> = zones.iter().map(|z| bare_id(z.id()).to_string()).collect();
    for batch in ids.chunks(TAG_BATCH) {
        let out = r53
            .list_tags_for_resources()
            .resource_type(TagResourceType::Hostedzone)
            .set_resource_ids(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ListTagsForResources {}", r.spec.name), e))?;
        if let Some(set) = out
            .resource_tag_sets()
            .iter()
            .find(|set| owned_by(set.tags(), &r.stack, &r.id))
        {
            return Ok(set.resource_id().map(|id| bare_id(id).to_string()));
        }
    }
    Ok(None)
}

#[async_trait]
impl Driver for HostedZoneDriver {
    type Spec = HostedZoneSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<HostedZoneSpec>,
    ) -> Result<Option<HostedZoneOutputs>, ProviderError> {
        let r53 = c.route53();
        let zones = zones_named(&r53, &normalise(&r.spec.name)).await?;
        if zones.is_empty() {
            return Ok(None);
        }
        let Some(zone_id) = ours(&r53, r, &zones).await? else {
            return Ok(None);
        };
        // Absent: deleted meanwhile.
        let zone = r53
            .get_hosted_zone()
            .id(&zone_id)
            .send()
            .await
            .map_err(|e| classify(&format!("GetHostedZone {zone_id}"), e))
            .or_absent()?;
        Ok(zone.map(|out| {
            zone_outputs(
                &zone_id,
                out.delegation_set()
                    .map(|d| d.name_servers())
                    .unwrap_or_default(),
            )
        }))
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<HostedZoneSpec>,
    ) -> Result<HostedZoneOutputs, ProviderError> {
        let spec = &r.spec;
        let r53 = c.route53();
        // Without a comment, no HostedZoneConfig: a public zone is the default, and an
        // empty config is rejected by some endpoints.
        let config = (!spec.comment.is_empty()).then(|| {
            HostedZoneConfig::builder()
                .private_zone(false)
                .comment(&spec.comment)
                .build()
        });
        let out = r53
            .create_hosted_zone()
            .name(&spec.name)
            .caller_reference(caller_reference(&r.stack, &r.id, r.token.as_ref()))
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
        // Route 53 takes no tags on the create call; a crash before this is
        // recovered by `find`, which knows the CallerReference prefix.
        change_tags(
            &r53,
            TagResourceType::Hostedzone,
            &zone_id,
            &r.owned_tags(),
            &[],
        )
        .await?;
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

    /// ListHostedZones (one call per 100 zones), then ListTagsForResources for
    /// every public zone, ten per call, the calls at once: every field of the
    /// spec is in the listing. Name servers are taken from the record (a zone's
    /// never change); a zone carrying the stack's tags that state does not know
    /// costs one GetHostedZone for them. Route 53 is global: every region's
    /// refresh lists the same zones.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<HostedZoneSpec>,
    ) -> Result<Option<Vec<Live<HostedZoneSpec>>>, ProviderError> {
        let r53 = c.route53();
        let zones = public_zones(&r53).await?;
        let ids: Vec<String> = zones.iter().map(|z| bare_id(z.id()).to_string()).collect();
        let tags = tags_of(&r53, TagResourceType::Hostedzone, &ids).await?;
        let found = zones
            .into_iter()
            .filter_map(|z| {
                let id = bare_id(z.id()).to_string();
                Some((id.clone(), tags.get(&id)?.clone(), z))
            })
            .collect();
        let ours = owned_once(scope, found, |o| bare_id(&o.zone_id));
        let outputs = try_join_all(ours.iter().map(|(logical, id, _, _)| {
            let recorded = scope.recorded(logical).map(|r| &r.outputs);
            live_outputs(&r53, id, recorded)
        }))
        .await?;
        let mut live = Vec::new();
        for ((logical, _, tags, zone), outputs) in ours.into_iter().zip(outputs) {
            let Some(outputs) = outputs else {
                continue;
            };
            let name = match scope.recorded(&logical) {
                Some(r) if normalise(&r.spec.name) == normalise(zone.name()) => r.spec.name.clone(),
                _ => zone.name().trim_end_matches('.').to_string(),
            };
            let comment = zone.config().and_then(|c| c.comment()).unwrap_or_default();
            live.push(Live {
                id: logical,
                outputs,
                tags,
                spec: Some(HostedZoneSpec {
                    name,
                    comment: comment.to_string(),
                }),
            });
        }
        Ok(Some(live))
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<HostedZoneSpec>,
        r: &Desired<HostedZoneSpec>,
        changed: Changed<'_>,
    ) -> Result<HostedZoneOutputs, ProviderError> {
        let r53 = c.route53();
        let zone_id = bare_id(&prior.outputs.zone_id).to_string();
        if changed.has("comment") {
            r53.update_hosted_zone_comment()
                .id(&zone_id)
                // Without a comment, Route 53 removes it.
                .set_comment((!r.spec.comment.is_empty()).then(|| r.spec.comment.clone()))
                .send()
                .await
                .map_err(|e| classify(&format!("UpdateHostedZoneComment {zone_id}"), e))?;
        }
        if changed.has("tags") {
            sync_tags(
                &r53,
                TagResourceType::Hostedzone,
                &zone_id,
                &prior.tags,
                &r.owned_tags(),
                changed.everything(),
            )
            .await?;
        }
        Ok(zone_outputs(&zone_id, &prior.outputs.name_servers))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<HostedZoneSpec>,
    ) -> Result<(), ProviderError> {
        let r53 = c.route53();
        let zone_id = bare_id(&prior.outputs.zone_id);
        let deleted = r53
            .delete_hosted_zone()
            .id(zone_id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteHostedZone {zone_id}"), e))
            .or_absent()
            .map_err(|e| {
                if e.has_code(&["HostedZoneNotEmpty"]) {
                    // glinfra deletes its own record sets first: what is left is someone else's.
                    ProviderError::new(
                        ErrorClass::Fatal,
                        format!("hosted zone `{}` ({zone_id}) still holds record sets glinfra does not manage (besides SOA and NS); delete them first", prior.id),
                    )
                    .with_source(e)
                } else {
                    e
                }
            })?;
        match deleted.as_ref().and_then(|out| out.change_info()) {
            Some(change) => wait_insync(&r53, change.id()).await,
            None => Ok(()), // gone already, or nothing to wait for
        }
    }
}
