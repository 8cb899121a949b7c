//! In-transit encryption changed on a running group (Redis 7.0.5 and later; the plan
//! replaces groups of earlier versions), in AWS's steps ("Enabling in-transit
//! encryption on an existing cluster", ElastiCache User Guide): on, it is turned on
//! in `preferred` mode (TLS and plain connections) and only then made `required`; off,
//! a `required` group goes back to `preferred` first. Each step is one
//! ModifyReplicationGroup (`ApplyImmediately`) waited out until the group is
//! `available`, and the steps start from what the group reports, so a resumed change
//! picks up where it stopped.

use super::{unless_busy, wait_available};
use crate::error::classify;
use aws_sdk_elasticache::types::{ReplicationGroup, TransitEncryptionMode as SdkMode};
use aws_sdk_elasticache::Client;
use glinfra_core::spec::elasticache::{ReplicationGroupSpec, TransitEncryptionMode};
use glinfra_engine::ProviderError;

/// A group's in-transit encryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Transit {
    /// Plain connections only.
    Off,
    /// TLS and plain connections.
    Preferred,
    /// TLS only.
    Required,
}

/// One ModifyReplicationGroup of a change: `TransitEncryptionEnabled` and
/// `TransitEncryptionMode`, each sent when set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Step {
    pub enabled: Option<bool>,
    pub mode: Option<Transit>,
}

/// What the group reports (a group with encryption on and no mode is `required`:
/// the only mode before Redis 7.0.5).
pub(super) fn live(rg: &ReplicationGroup) -> Transit {
    match (
        rg.transit_encryption_enabled(),
        rg.transit_encryption_mode(),
    ) {
        (Some(true), Some(SdkMode::Preferred)) => Transit::Preferred,
        (Some(true), _) => Transit::Required,
        _ => Transit::Off,
    }
}

/// What the spec wants.
pub(super) fn wanted(spec: &ReplicationGroupSpec) -> Transit {
    match (spec.transit_encryption, spec.transit_encryption_mode) {
        (false, _) => Transit::Off,
        (true, Some(TransitEncryptionMode::Preferred)) => Transit::Preferred,
        (true, _) => Transit::Required,
    }
}

/// The calls from `from` to `to`: through `preferred`, never straight between off
/// and `required` (ModifyReplicationGroup, TransitEncryptionMode: "Setting
/// TransitEncryptionMode to required is a two-step process that requires you to
/// first set the TransitEncryptionMode to preferred").
pub(super) fn steps(from: Transit, to: Transit) -> Vec<Step> {
    let on = Step {
        enabled: Some(true),
        mode: Some(Transit::Preferred),
    };
    let off = Step {
        enabled: Some(false),
        mode: None,
    };
    let mode = |m| Step {
        enabled: None,
        mode: Some(m),
    };
    use Transit::*;
    match (from, to) {
        (Off, Preferred) => vec![on],
        (Off, Required) => vec![on, mode(Required)],
        (Preferred, Required) => vec![mode(Required)],
        (Required, Preferred) => vec![mode(Preferred)],
        (Preferred, Off) => vec![off],
        (Required, Off) => vec![mode(Preferred), off],
        _ => Vec::new(),
    }
}

fn sdk_mode(t: Transit) -> Option<SdkMode> {
    match t {
        Transit::Preferred => Some(SdkMode::Preferred),
        Transit::Required => Some(SdkMode::Required),
        Transit::Off => None,
    }
}

/// Brings the group `rg` to the spec's in-transit encryption, step by step; returns
/// the group as last described.
pub(super) async fn change(
    ec: &Client,
    spec: &ReplicationGroupSpec,
    mut rg: ReplicationGroup,
) -> Result<ReplicationGroup, ProviderError> {
    let id = spec.id.as_str();
    for step in steps(live(&rg), wanted(spec)) {
        ec.modify_replication_group()
            .replication_group_id(id)
            .apply_immediately(true)
            .set_transit_encryption_enabled(step.enabled)
            .set_transit_encryption_mode(step.mode.and_then(sdk_mode))
            .send()
            .await
            .map_err(|e| {
                unless_busy(classify(
                    &format!("ModifyReplicationGroup {id} (in-transit encryption)"),
                    e,
                ))
            })?;
        rg = wait_available(ec, id).await?;
    }
    Ok(rg)
}
