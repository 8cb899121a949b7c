//! `[cost]`: what the environment reserves (seed 6.2 `reserved_instances`) and the
//! spend outside AWS it states (seed 6.1's LLM APIs), as the core's cost settings.
//! Spot shares are not here: they are each pool's `spot_percentage`, which splits it
//! into a spot and an on-demand node group (`topology::split_pool`).

use crate::config::Environment;
use crate::topology::split_pool;
use glinfra_core::cost::{External, Settings};
use glinfra_core::spec::eks::CapacityType;
use glinfra_core::Diagnostic;
use serde::Deserialize;

/// `[cost]`. Optional: without it nothing is reserved and nothing outside AWS is shown.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    /// The share (0 to 1) of the reserved resources' instance hours that 1-year
    /// reservations cover (seed 6.2 `coverage_target`).
    pub reserved_coverage: f64,
    /// Node pools whose on-demand nodes reservations cover, by name.
    #[serde(default)]
    pub reserved_node_pools: Vec<String>,
    /// Data services reservations cover.
    #[serde(default)]
    pub reserved_services: Vec<ReservedService>,
    /// Monthly spend outside AWS, stated (not estimated) and shown apart.
    #[serde(default)]
    pub external: Vec<ExternalConfig>,
}

/// A data service AWS sells reservations for. (MSK sells none, so `kafka` is not one.)
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReservedService {
    /// The RDS primary and its replicas, or a regional stack's replica.
    Database,
    /// The ElastiCache replication group.
    Cache,
}

/// `[[cost.external]]`: one stated monthly spend outside AWS.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExternalConfig {
    /// What it is.
    pub name: String,
    /// Per month.
    pub monthly: f64,
    /// Per month after its optimisation.
    pub optimised: f64,
    /// How it is optimised.
    pub optimisation: String,
}

/// The problems of `[cost]`, all at once.
pub(crate) fn check(env: &Environment, file: Option<&str>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |field: &str, message: String| {
        let mut d = Diagnostic::new(message).field(format!("cost.{field}"));
        d.file = file.map(str::to_string);
        out.push(d);
    };
    let cost = &env.cost;
    if !(0.0..=1.0).contains(&cost.reserved_coverage) {
        err(
            "reserved_coverage",
            format!(
                "{} is not a share: give 0 to 1 (0.7 for 70%)",
                cost.reserved_coverage
            ),
        );
    }
    for name in &cost.reserved_node_pools {
        if !env.kubernetes.node_pools.iter().any(|p| &p.name == name) {
            err(
                "reserved_node_pools",
                format!("`{name}` is not a node pool of [kubernetes]"),
            );
        }
    }
    if cost.reserved_services.contains(&ReservedService::Database)
        && env.database.is_none()
        && env.primary.is_none()
    {
        err(
            "reserved_services",
            "`database` is reserved but this environment declares no [database] or [primary] replica"
                .into(),
        );
    }
    for x in &cost.external {
        if x.monthly < 0.0 || x.optimised < 0.0 {
            err("external", format!("`{}`: a spend is not negative", x.name));
        }
    }
    out
}

/// The core's cost settings for the stack `env` declares: the logical ids its
/// reservations cover, and its stated spend outside AWS.
pub fn settings(env: &Environment) -> Settings {
    let cost = &env.cost;
    let mut reserved = std::collections::BTreeSet::new();
    for pool in &env.kubernetes.node_pools {
        if !cost.reserved_node_pools.contains(&pool.name) {
            continue;
        }
        let base = pool.name.replace('_', "-");
        for (suffix, capacity, ..) in split_pool(pool) {
            if capacity == CapacityType::OnDemand {
                reserved.insert(format!("ng-{base}{suffix}"));
            }
        }
    }
    for service in &cost.reserved_services {
        match service {
            ReservedService::Database => {
                if let Some(db) = &env.database {
                    reserved.insert("db-primary".to_string());
                    for r in &db.replicas {
                        reserved.insert(format!("db-replica-{}", r.region));
                    }
                }
                // A regional stack's read replica of the primary (`[primary]`).
                if env.primary.is_some() {
                    reserved.insert("db-replica".to_string());
                }
            }
            ReservedService::Cache => {
                reserved.insert("redis".to_string());
            }
        }
    }
    Settings {
        reserved_coverage: cost.reserved_coverage,
        reserved,
        external: cost
            .external
            .iter()
            .map(|x| External {
                name: x.name.clone(),
                monthly: x.monthly,
                optimised: x.optimised,
                optimisation: x.optimisation.clone(),
            })
            .collect(),
    }
}
