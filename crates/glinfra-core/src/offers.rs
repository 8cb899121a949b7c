//! What AWS offers (engine and platform versions, parameter-group families), read
//! from `data/aws-offers.toml`, the one place these lists live.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The offers of one engine: its versions and the family each major version needs.
#[derive(Debug, Deserialize)]
pub struct EngineOffer {
    /// Version strings AWS accepts (`15`, `15.10`, `7.0`).
    pub versions: Vec<String>,
    /// Parameter-group family by major version (`15` → `postgres15`).
    pub families: BTreeMap<String, String>,
}

impl EngineOffer {
    /// The family a version's parameter group must have: the entry whose key is the
    /// version or the longest prefix of it at a dot boundary.
    pub fn family_of(&self, version: &str) -> Option<&str> {
        self.families
            .iter()
            .filter(|(major, _)| version == *major || version.starts_with(&format!("{major}.")))
            .max_by_key(|(major, _)| major.len())
            .map(|(_, family)| family.as_str())
    }

    /// True when AWS offers `version`.
    pub fn offers(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v == version)
    }
}

/// EKS offers.
#[derive(Debug, Deserialize)]
pub struct EksOffers {
    /// Kubernetes versions with standard or extended support.
    pub kubernetes_versions: Vec<String>,
}

/// MSK offers.
#[derive(Debug, Deserialize)]
pub struct MskOffers {
    /// Apache Kafka versions.
    pub kafka_versions: Vec<String>,
}

/// RDS offers by engine.
#[derive(Debug, Deserialize)]
pub struct RdsOffers {
    /// RDS for PostgreSQL.
    pub postgres: EngineOffer,
}

/// ElastiCache offers by engine.
#[derive(Debug, Deserialize)]
pub struct ElastiCacheOffers {
    /// Redis OSS.
    pub redis: EngineOffer,
    /// Valkey.
    pub valkey: EngineOffer,
}

/// Everything in `data/aws-offers.toml`.
#[derive(Debug, Deserialize)]
pub struct Offers {
    /// When the lists were read from the AWS documentation.
    pub as_of: String,
    /// EKS.
    pub eks: EksOffers,
    /// RDS.
    pub rds: RdsOffers,
    /// ElastiCache.
    pub elasticache: ElastiCacheOffers,
    /// MSK.
    pub msk: MskOffers,
}

impl Offers {
    /// The engine offer of RDS engine `engine`, if glinfra knows it.
    pub fn rds_engine(&self, engine: &str) -> Option<&EngineOffer> {
        match engine {
            "postgres" => Some(&self.rds.postgres),
            _ => None,
        }
    }

    /// The engine offer of ElastiCache engine `engine`, if glinfra knows it.
    pub fn cache_engine(&self, engine: &str) -> Option<&EngineOffer> {
        match engine {
            "redis" => Some(&self.elasticache.redis),
            "valkey" => Some(&self.elasticache.valkey),
            _ => None,
        }
    }
}

/// The offers, parsed once.
pub fn offers() -> &'static Offers {
    static OFFERS: OnceLock<Offers> = OnceLock::new();
    OFFERS.get_or_init(|| {
        toml::from_str(include_str!("../data/aws-offers.toml"))
            .expect("data/aws-offers.toml is valid (checked by a test)")
    })
}

/// "`x` is not one AWS offers (as of DATE: a, b, c)": the message of every version check.
pub fn not_offered(what: &str, value: &str, offered: &[String]) -> String {
    format!(
        "{what} `{value}` is not one AWS offers (as of {}, data/aws-offers.toml: {})",
        offers().as_of,
        offered.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_parses_and_every_version_has_a_family() {
        let o = offers();
        assert!(o.eks.kubernetes_versions.contains(&"1.29".to_string()));
        for engine in [&o.rds.postgres, &o.elasticache.redis, &o.elasticache.valkey] {
            for v in &engine.versions {
                assert!(engine.family_of(v).is_some(), "{v} has no family");
            }
        }
        assert_eq!(o.rds.postgres.family_of("15.10"), Some("postgres15"));
        assert_eq!(o.rds.postgres.family_of("15"), Some("postgres15"));
        assert_eq!(o.elasticache.redis.family_of("7.0"), Some("redis7"));
        assert_eq!(o.elasticache.redis.family_of("6.2"), Some("redis6.x"));
        assert!(!o.rds.postgres.offers("15.99"));
        assert!(not_offered("Kafka version", "9.9", &o.msk.kafka_versions).contains("as of"));
    }
}
