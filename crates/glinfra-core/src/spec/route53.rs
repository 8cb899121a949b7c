//! Route 53 hosted zones and record sets.

use crate::input::Input;
use crate::kind::Kind;
use crate::stack::{Resource, ResourceSpec, SpecCheck};
use serde::{Deserialize, Serialize};

/// Record types glinfra accepts.
pub const RECORD_TYPES: &[&str] = &["A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT"];

/// A public hosted zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostedZoneSpec {
    /// The domain (`greenlang.ai`). Forces replacement.
    pub name: String,
    /// A comment.
    #[serde(default)]
    pub comment: String,
}

fn domain_problem(name: &str) -> Option<String> {
    let trimmed = name.trim_end_matches('.');
    if trimmed.is_empty() || trimmed.len() > 253 {
        return Some(format!("`{name}` is not a valid domain name"));
    }
    for label in trimmed.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Some(format!("`{name}` has an invalid label `{label}`"));
        }
    }
    None
}

impl ResourceSpec for HostedZoneSpec {
    const KIND: Kind = Kind::HostedZone;
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if let Some(p) = domain_problem(&self.name) {
            cx.error("name", p);
        }
    }
}

impl Resource<HostedZoneSpec> {
    /// The hosted zone id (`Z...`).
    pub fn zone_id(&self) -> Input<String> {
        self.output("zone_id")
    }
}

/// A record set in a hosted zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordSetSpec {
    /// The zone. Forces replacement.
    pub zone_id: Input<String>,
    /// Fully qualified name (`api.greenlang.ai`). Forces replacement.
    pub name: String,
    /// Record type. Forces replacement.
    pub record_type: String,
    /// Time to live in seconds.
    pub ttl: i64,
    /// Values.
    pub records: Vec<Input<String>>,
    /// Identifier among records with the same name and type (routing policies). Forces replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
}

impl ResourceSpec for RecordSetSpec {
    const KIND: Kind = Kind::RecordSet;
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if let Some(p) = domain_problem(&self.name) {
            cx.error("name", p);
        }
        if !RECORD_TYPES.contains(&self.record_type.as_str()) {
            cx.error(
                "record_type",
                format!(
                    "unknown record type `{}` (known: {})",
                    self.record_type,
                    RECORD_TYPES.join(", ")
                ),
            );
        }
        if !(0..=2_147_483_647).contains(&self.ttl) {
            cx.error("ttl", format!("must be 0 to 2147483647, got {}", self.ttl));
        }
        if self.records.is_empty() {
            cx.error("records", "a record set needs at least one value");
        }
        if self.record_type == "CNAME" && self.records.len() > 1 {
            cx.error("records", "a CNAME record set takes exactly one value");
        }
    }
}

impl Resource<RecordSetSpec> {
    /// The fully qualified name.
    pub fn fqdn(&self) -> Input<String> {
        self.output("fqdn")
    }
}
