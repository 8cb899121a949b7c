//! The replication group as a refresh reads it: what it is as a spec, with the
//! values AWS spells differently read as recorded.

use super::*;
use glinfra_core::spec::elasticache::TransitEncryptionMode;

/// What `rg` (with its member cluster `cc`, when one was listed) is as a spec,
/// against the `recorded` one: values AWS spells differently (a patch release of
/// the recorded engine version, names in another case, the same security groups in
/// another order) read as recorded, and what cannot be read (without a member: the
/// engine version, groups; the default security group when the spec names none)
/// stays as recorded.
pub(super) fn live_spec(
    rg: &ReplicationGroup,
    cc: Option<&CacheCluster>,
    recorded: &ReplicationGroupSpec,
) -> ReplicationGroupSpec {
    let mut spec = recorded.clone();
    let same_name = |live: Option<&str>, recorded: &Input<String>| match live {
        Some(l) => read::name(Some(recorded), l),
        None => recorded.clone(),
    };
    spec.description = rg.description().unwrap_or("").to_string();
    if let Some(node_type) = rg.cache_node_type() {
        spec.node_type = node_type.to_string();
    }
    spec.num_node_groups = rg.node_groups().len() as i32;
    // One count for every shard: the recorded one unless a shard has another.
    let counts = replica_counts(rg);
    if let Some(other) = counts
        .iter()
        .find(|&&n| n != recorded.replicas_per_node_group)
    {
        spec.replicas_per_node_group = *other;
    }
    if let Some(cc) = cc {
        if let Some(v) = cc
            .engine_version()
            .filter(|v| !version_matches(v, &recorded.engine_version))
        {
            spec.engine_version = v.to_string();
        }
        spec.cache_subnet_group_name = same_name(
            cc.cache_subnet_group_name(),
            &recorded.cache_subnet_group_name,
        );
        spec.cache_parameter_group_name = same_name(
            cc.cache_parameter_group()
                .and_then(|p| p.cache_parameter_group_name()),
            &recorded.cache_parameter_group_name,
        );
        // None named: the VPC's default group AWS chose is kept, so not read.
        if !recorded.security_group_ids.is_empty() {
            spec.security_group_ids = read::ids(
                cc.security_groups()
                    .iter()
                    .filter_map(|g| g.security_group_id()),
                Some(&recorded.security_group_ids),
            );
        }
    }
    spec.at_rest_encryption = rg.at_rest_encryption_enabled().unwrap_or(false);
    spec.kms_key_id = filled(Some(&recorded.kms_key_id), |r| {
        read::key(r, rg.kms_key_id())
    });
    spec.transit_encryption = rg.transit_encryption_enabled().unwrap_or(false);
    // `required` is AWS's default: read only when recorded, or when it is not the case.
    spec.transit_encryption_mode = match (recorded.transit_encryption_mode, transit::live(rg)) {
        (_, transit::Transit::Off) => None,
        (None, transit::Transit::Required) => None,
        (_, transit::Transit::Preferred) => Some(TransitEncryptionMode::Preferred),
        (Some(_), transit::Transit::Required) => Some(TransitEncryptionMode::Required),
    };
    spec.automatic_failover = matches!(
        rg.automatic_failover(),
        Some(AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling)
    );
    spec.multi_az = matches!(rg.multi_az(), Some(MultiAzStatus::Enabled));
    spec.snapshot_retention_days = rg.snapshot_retention_limit().unwrap_or(0);
    if let Some(port) = rg.configuration_endpoint().and_then(|e| e.port()) {
        spec.port = port;
    }
    spec
}
