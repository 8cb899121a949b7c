//! Route 53 hosted zones and record sets.

use super::closed_set;
use crate::input::Input;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};

closed_set! {
    /// The record types glinfra manages (as Route 53 names them: `A`, `CNAME`, ...).
    RecordType, "record type" {
        /// An IPv4 address.
        A = "A",
        /// An IPv6 address.
        Aaaa = "AAAA",
        /// The certificate authorities allowed to issue for the name.
        Caa = "CAA",
        /// An alias to another name (one value only).
        Cname = "CNAME",
        /// A mail exchanger.
        Mx = "MX",
        /// A name server.
        Ns = "NS",
        /// A reverse-lookup pointer.
        Ptr = "PTR",
        /// A service locator.
        Srv = "SRV",
        /// Text.
        Txt = "TXT",
    }
}

/// How Route 53 chooses among record sets of the same name and type, as
/// [`RecordSetSpec::routing`] reads it from `set_identifier` and `latency_region`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing<'a> {
    /// One record set answers for the name and type.
    Simple,
    /// Latency routing: this record set answers callers nearest `region`.
    Latency {
        /// Its identifier among the record sets of the same name and type.
        set_identifier: &'a str,
        /// The AWS region it answers for.
        region: &'a str,
    },
    /// Only one of the two fields is given: no routing policy glinfra supports.
    Incomplete,
}

/// A public hosted zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:route53/hosted-zone", outputs(zone_id: String, name_servers: Vec<String>))]
pub struct HostedZoneSpec {
    #[resource(replace, unique)]
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
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if let Some(p) = domain_problem(&self.name) {
            cx.error("name", p);
        }
    }
}

/// A record set in a hosted zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:route53/record-set", outputs(fqdn: String))]
#[resource(untagged)]
pub struct RecordSetSpec {
    #[resource(replace)]
    /// The zone. Forces replacement.
    pub zone_id: Input<String>,
    #[resource(replace)]
    /// Fully qualified name (`api.greenlang.ai`). Forces replacement.
    pub name: String,
    /// Record type. Changed in place: one ChangeResourceRecordSets batch deletes the
    /// record set and creates the new one, atomically (no moment without an answer).
    pub record_type: RecordType,
    /// Time to live in seconds.
    pub ttl: i64,
    /// Values.
    pub records: Vec<Input<String>>,
    /// Identifier among records with the same name and type (routing policies).
    /// Changed in place, as `record_type` is: one atomic batch, DELETE then CREATE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    /// Latency routing: the AWS region this record answers for (needs `set_identifier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_region: Option<String>,
    /// A health check that takes the record out of answers when failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<Input<String>>,
}

impl RecordSetSpec {
    /// The routing policy that `set_identifier` and `latency_region` make together.
    pub fn routing(&self) -> Routing<'_> {
        match (&self.set_identifier, &self.latency_region) {
            (None, None) => Routing::Simple,
            (Some(set_identifier), Some(region)) => Routing::Latency {
                set_identifier,
                region,
            },
            _ => Routing::Incomplete,
        }
    }
}

impl ResourceSpec for RecordSetSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if let Some(p) = domain_problem(&self.name) {
            cx.error("name", p);
        }
        if !(0..=2_147_483_647).contains(&self.ttl) {
            cx.error("ttl", format!("must be 0 to 2147483647, got {}", self.ttl));
        }
        if self.records.is_empty() {
            cx.error("records", "a record set needs at least one value");
        }
        if self.routing() == Routing::Incomplete {
            cx.error(
                "set_identifier",
                "latency routing needs both set_identifier and latency_region",
            );
        }
        if let Some(r) = &self.latency_region {
            if !crate::regions::is_known_region(r) {
                cx.error("latency_region", format!("unknown region `{r}`"));
            }
        }
        if self.record_type == RecordType::Cname && self.records.len() > 1 {
            cx.error("records", "a CNAME record set takes exactly one value");
        }
    }
}

closed_set! {
    /// How a health check probes its endpoint (as Route 53 names it: `HTTPS`, ...).
    HealthCheckType, "health check type" {
        /// An HTTPS request whose status must be 2xx or 3xx.
        Https = "HTTPS",
        /// An HTTP request whose status must be 2xx or 3xx.
        Http = "HTTP",
        /// A TCP connection (no path).
        Tcp = "TCP",
    }
}

impl HealthCheckType {
    /// True when the check requests a path (HTTP and HTTPS).
    pub fn has_path(self) -> bool {
        self != HealthCheckType::Tcp
    }
}

/// A Route 53 health check of an HTTPS endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:route53/health-check", outputs(id: String))]
pub struct HealthCheckSpec {
    /// Host name checked. In place (UpdateHealthCheck).
    pub fqdn: String,
    /// Port.
    pub port: i32,
    #[resource(replace)]
    /// `HTTPS`, `HTTP` or `TCP`. Forces replacement.
    pub check_type: HealthCheckType,
    /// Path requested (HTTP/HTTPS).
    pub resource_path: String,
    #[resource(replace)]
    /// Seconds between checks: 10 or 30. Forces replacement.
    pub request_interval: i32,
    /// Consecutive failures before unhealthy (1-10).
    pub failure_threshold: i32,
}

impl ResourceSpec for HealthCheckSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if let Some(p) = domain_problem(&self.fqdn) {
            cx.error("fqdn", p);
        }
        if !matches!(self.request_interval, 10 | 30) {
            cx.error(
                "request_interval",
                format!("must be 10 or 30, got {}", self.request_interval),
            );
        }
        if !(1..=10).contains(&self.failure_threshold) {
            cx.error(
                "failure_threshold",
                format!("must be 1 to 10, got {}", self.failure_threshold),
            );
        }
        if !(1..=65535).contains(&self.port) {
            cx.error("port", format!("must be 1 to 65535, got {}", self.port));
        }
    }
}
