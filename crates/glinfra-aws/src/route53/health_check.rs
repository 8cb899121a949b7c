//! Health checks: CreateHealthCheck with a CallerReference that marks the check
//! as this resource's, ChangeTagsForResource for the ownership tags,
//! UpdateHealthCheck (conditional on the version read just before),
//! DeleteHealthCheck.
//!
//! Route 53 takes no tags on the create call, so a health check is this
//! resource's when its CallerReference starts with the resource's prefix (even
//! when a crash came before it was tagged) or when it carries the ownership tags.
//! The type and request interval cannot change (they force replacement); a
//! health check still named by a record set cannot be deleted yet
//! (`HealthCheckInUse`, retryable: the record set's delete comes first).

use super::{caller_reference, change_tags, owned_once, reference_prefix, sync_tags, tags_of};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{self, build_error, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_route53::types::{
    HealthCheck, HealthCheckConfig, HealthCheckType as SdkHealthCheckType, ResettableElementName,
    TagResourceType,
};
use aws_sdk_route53::Client;
use glinfra_core::spec::route53::{HealthCheckOutputs, HealthCheckSpec, HealthCheckType};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:route53/health-check`.
pub(crate) struct HealthCheckDriver;

/// The start of the CallerReference of every health check this resource creates
/// (64 characters at most with the token or nonce).
pub(super) fn health_check_reference_prefix(stack: &str, id: &str) -> String {
    reference_prefix(stack, id, 38)
}

/// The Route 53 type of `t`.
fn sdk_type(t: HealthCheckType) -> SdkHealthCheckType {
    match t {
        HealthCheckType::Https => SdkHealthCheckType::Https,
        HealthCheckType::Http => SdkHealthCheckType::Http,
        HealthCheckType::Tcp => SdkHealthCheckType::Tcp,
    }
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

/// The spec of a health check as Route 53 has it; `None` for a kind glinfra does
/// not make (a type other than HTTPS, HTTP or TCP, or no domain name).
fn read_spec(h: &HealthCheck) -> Option<HealthCheckSpec> {
    let config = h.health_check_config()?;
    let check_type = match config.r#type() {
        SdkHealthCheckType::Https => HealthCheckType::Https,
        SdkHealthCheckType::Http => HealthCheckType::Http,
        SdkHealthCheckType::Tcp => HealthCheckType::Tcp,
        _ => return None,
    };
    Some(HealthCheckSpec {
        fqdn: config.fully_qualified_domain_name()?.to_string(),
        // Route 53's defaults for what it may leave out.
        port: config.port().unwrap_or(match check_type {
            HealthCheckType::Https => 443,
            _ => 80,
        }),
        check_type,
        resource_path: config.resource_path().unwrap_or_default().to_string(),
        request_interval: config.request_interval().unwrap_or(30),
        failure_threshold: config.failure_threshold().unwrap_or(3),
    })
}

fn health_check_config(spec: &HealthCheckSpec) -> Result<HealthCheckConfig, ProviderError> {
    let path = (spec.check_type.has_path() && !spec.resource_path.is_empty())
        .then(|| spec.resource_path.clone());
    HealthCheckConfig::builder()
        .r#type(sdk_type(spec.check_type))
        .fully_qualified_domain_name(&spec.fqdn)
        .port(spec.port)
        .set_resource_path(path)
        .request_interval(spec.request_interval)
        .failure_threshold(spec.failure_threshold)
        .build()
        .map_err(build_error("health check config"))
}

#[async_trait]
impl Driver for HealthCheckDriver {
    type Spec = HealthCheckSpec;

    /// A health check is this resource's when its CallerReference carries our
    /// prefix (even if a crash came before it was tagged) or when it carries our
    /// ownership tags. Several (something outside glinfra copied the tags): the
    /// lowest id.
    async fn find(
        &self,
        c: &Clients,
        r: &Desired<HealthCheckSpec>,
    ) -> Result<Option<HealthCheckOutputs>, ProviderError> {
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
            let tags = tags_of(&r53, TagResourceType::Healthcheck, &ids).await?;
            ours.extend(
                tags.into_iter()
                    .filter(|(_, tags)| kit::owned(tags, &r.stack, &r.id))
                    .map(|(id, _)| id),
            );
        }
        // The old health check of a create-first replacement is never the new one.
        ours.retain(|id| !r.superseded.contains(id));
        ours.sort();
        ours.dedup();
        if ours.len() > 1 {
            tracing::warn!(
                resource = %r.id,
                ids = ?ours,
                "several health checks belong to this resource; adopting the first"
            );
        }
        Ok(ours.into_iter().next().map(|id| HealthCheckOutputs { id }))
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<HealthCheckSpec>,
    ) -> Result<HealthCheckOutputs, ProviderError> {
        let spec = &r.spec;
        let r53 = c.route53();
        let out = r53
            .create_health_check()
            .caller_reference(caller_reference(
                health_check_reference_prefix(&r.stack, &r.id),
                r.token.as_ref(),
            ))
            .health_check_config(health_check_config(spec)?)
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
        change_tags(
            &r53,
            TagResourceType::Healthcheck,
            &id,
            &r.owned_tags(),
            &[],
        )
        .await?;
        Ok(HealthCheckOutputs { id })
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<HealthCheckSpec>,
        r: &Desired<HealthCheckSpec>,
        changed: Changed<'_>,
    ) -> Result<HealthCheckOutputs, ProviderError> {
        let spec = &r.spec;
        let r53 = c.route53();
        let id = prior.outputs.id.clone();
        if changed.any(&["fqdn", "port", "resource_path", "failure_threshold"]) {
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
            if changed.has("fqdn") {
                req = req.fully_qualified_domain_name(&spec.fqdn);
            }
            if changed.has("port") {
                req = req.port(spec.port);
            }
            if changed.has("resource_path") && spec.check_type.has_path() {
                req = if spec.resource_path.is_empty() {
                    req.reset_elements(ResettableElementName::ResourcePath)
                } else {
                    req.resource_path(&spec.resource_path)
                };
            }
            if changed.has("failure_threshold") {
                req = req.failure_threshold(spec.failure_threshold);
            }
            req.send().await.map_err(|e| {
                let err = classify(&format!("UpdateHealthCheck {id}"), e);
                if err.has_code(&["HealthCheckVersionMismatch"]) {
                    err.reclassified(
                        ErrorClass::Retryable,
                        "changed by someone else since it was read: read it again",
                    )
                } else {
                    err
                }
            })?;
        }
        if changed.has("tags") {
            sync_tags(
                &r53,
                TagResourceType::Healthcheck,
                &id,
                &prior.tags,
                &r.owned_tags(),
                changed.everything(),
            )
            .await?;
        }
        Ok(HealthCheckOutputs { id })
    }

    /// ListHealthChecks (one call per 100 checks), then ListTagsForResources for
    /// every check, ten per call, the calls at once: every field of the spec is
    /// in the listing. Route 53 is global: every region's refresh lists the same
    /// checks.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<HealthCheckSpec>,
    ) -> Result<Option<Vec<Live<HealthCheckSpec>>>, ProviderError> {
        let r53 = c.route53();
        let checks = all_health_checks(&r53).await?;
        let ids: Vec<String> = checks.iter().map(|h| h.id().to_string()).collect();
        let tags = tags_of(&r53, TagResourceType::Healthcheck, &ids).await?;
        let found = checks
            .into_iter()
            .filter_map(|h| Some((h.id().to_string(), tags.get(h.id())?.clone(), h)))
            .collect();
        let live = owned_once(scope, found, |o| o.id.as_str())
            .into_iter()
            .map(|(logical, id, tags, h)| Live {
                id: logical,
                outputs: HealthCheckOutputs { id },
                tags,
                spec: read_spec(&h),
            })
            .collect();
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<HealthCheckSpec>,
    ) -> Result<(), ProviderError> {
        let id = &prior.outputs.id;
        c.route53()
            .delete_health_check()
            .health_check_id(id)
            .send()
            .await
            .map_err(|e| {
                let err = classify(&format!("DeleteHealthCheck {id}"), e);
                if err.has_code(&["HealthCheckInUse"]) {
                    // A record set still names it; its delete (ordered before this
                    // one when glinfra manages it) takes a moment to reach Route 53.
                    err.reclassified(ErrorClass::Retryable, "a record set still names it")
                } else {
                    err
                }
            })
            .or_gone() // NoSuchHealthCheck: gone already
    }
}
