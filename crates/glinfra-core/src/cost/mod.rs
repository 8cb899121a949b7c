//! The monthly cost of a stack and of a plan's change, estimated from each
//! resource's spec and the price table of `data/aws-prices.toml` ([`prices()`](fn@prices)).
//! Pure: no IO.
//!
//! A month is 730 hours. Each line is priced twice: all on-demand ("before
//! optimisation"), and with the optimisations the stack declares ("after"): spot
//! node groups at the table's spot discount, and the resources the environment
//! reserves at its `reserved_coverage` of the 1-year reservation discount. What
//! depends on usage (data processed, requests, stored bytes, log volume) is listed
//! as an assumption, never invented.

mod kinds;
pub mod prices;
mod table;

pub use prices::{prices, Missing, Prices};
pub use table::{change_line, money, text};

use crate::plan::{Action, Plan};
use crate::state::State;
use crate::{Kind, ResourceGraph, ResourceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// What a program says about its costs beyond its resources (an environment
/// file's `[cost]` section).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The share (0 to 1) of each reserved resource's instance hours that
    /// reservations cover.
    pub reserved_coverage: f64,
    /// The logical ids reservations cover (on-demand node groups, RDS instances,
    /// ElastiCache replication groups).
    pub reserved: BTreeSet<ResourceId>,
    /// Spend that is not AWS infrastructure (LLM APIs, say), shown apart from it.
    pub external: Vec<External>,
}

/// A monthly spend outside AWS that the program states, not estimates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct External {
    /// What it is.
    pub name: String,
    /// Per month, as stated.
    pub monthly: f64,
    /// Per month after its own optimisation (caching, batching), as stated.
    pub optimised: f64,
    /// How the optimisation is made.
    pub optimisation: String,
}

/// The group a line is shown under, in the seed's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// EKS: the control plane and node groups.
    Kubernetes,
    /// RDS for PostgreSQL.
    Database,
    /// ElastiCache.
    Cache,
    /// MSK.
    Kafka,
    /// NAT gateways, public addresses, interface endpoints.
    Network,
    /// Route 53.
    Dns,
    /// KMS keys.
    Keys,
    /// WAF web ACLs and Shield Advanced.
    Security,
}

impl Component {
    /// The heading the table shows.
    pub fn heading(self) -> &'static str {
        match self {
            Component::Kubernetes => "Kubernetes Cluster (EKS)",
            Component::Database => "PostgreSQL (RDS)",
            Component::Cache => "Redis (ElastiCache)",
            Component::Kafka => "Kafka (MSK)",
            Component::Network => "Network",
            Component::Dns => "DNS (Route 53)",
            Component::Keys => "Keys (KMS)",
            Component::Security => "Security (WAF, Shield Advanced)",
        }
    }
}

/// The discount a line can have.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Discount {
    None,
    /// Spot capacity: its compute at this discount.
    Spot(f64),
    /// Reservations can cover its compute at this discount.
    Reservable(f64),
}

/// A resource's monthly price before optimisation.
#[derive(Clone, Debug, PartialEq)]
struct Price {
    component: Component,
    instances: String,
    monthly: f64,
    /// The part of `monthly` that spot or reservations discount (instance hours).
    compute: f64,
    discount: Discount,
}

/// One resource's line of the estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Logical id.
    pub resource: ResourceId,
    /// Kind.
    pub kind: Kind,
    /// Region.
    pub region: String,
    /// Its group.
    pub component: Component,
    /// What is billed (`3 x m6i.xlarge`).
    pub instances: String,
    /// Per month, all on-demand.
    pub on_demand: f64,
    /// Per month, with spot and reservations.
    pub optimised: f64,
    /// The optimisation applied (empty when none).
    pub optimisation: String,
}

/// A resource the table has no price for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unpriced {
    /// Logical id.
    pub resource: ResourceId,
    /// What price is missing.
    pub missing: String,
}

/// The estimate of a whole stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The stack.
    pub stack: String,
    /// The price table's date.
    pub prices_as_of: String,
    /// Hours in a month.
    pub hours_per_month: f64,
    /// One line per resource that costs money, in the stack's order.
    pub lines: Vec<Line>,
    /// Resources the table has no price for (not in the totals).
    pub unpriced: Vec<Unpriced>,
    /// Per month, all on-demand.
    pub on_demand: f64,
    /// Per month, with spot and reservations.
    pub optimised: f64,
    /// Spend outside AWS the program states (not in the totals above).
    pub external: Vec<External>,
    /// What the estimate leaves out because it depends on usage.
    pub assumptions: Vec<String>,
}

/// The monthly price of one resource (`None`: it costs nothing by the hour).
fn line(
    settings: &Settings,
    id: &str,
    kind: Kind,
    region: &str,
    props: &Value,
) -> Result<Option<Line>, Missing> {
    let p = prices();
    let item = kinds::Item {
        kind,
        region,
        props,
    };
    let Some(price) = kinds::price(p, &item)? else {
        return Ok(None);
    };
    let (saved, optimisation) = match price.discount {
        Discount::None => (0.0, String::new()),
        Discount::Spot(d) => (price.compute * d, format!("Spot ({:.0}% off)", d * 100.0)),
        Discount::Reservable(d) if settings.reserved.contains(id) => (
            price.compute * d * settings.reserved_coverage,
            format!(
                "Reserved {:.0}% (1-year, {:.0}% off)",
                settings.reserved_coverage * 100.0,
                d * 100.0
            ),
        ),
        Discount::Reservable(_) => (0.0, "On-demand".to_string()),
    };
    Ok(Some(Line {
        resource: id.to_string(),
        kind,
        region: region.to_string(),
        component: price.component,
        instances: price.instances,
        on_demand: price.monthly,
        optimised: price.monthly - saved,
        optimisation,
    }))
}

/// The usage-dependent costs left out of every estimate, with their prices.
fn assumptions() -> Vec<String> {
    let p = prices();
    vec![
        format!(
            "usage is not estimated: NAT gateway and interface endpoint data processing \
             (${:.3} and $0.01 per GB in us-east-1), data transfer out and between regions, \
             requests (KMS, S3, Route 53 queries)",
            p.ec2
                .nat_gateway_hour
                .get("us-east-1")
                .copied()
                .unwrap_or_default()
        ),
        format!(
            "stored data is not estimated: S3 (${}/GB-month Standard, ${}/GB-month Glacier), \
             CloudWatch Logs (${}/GB ingested, ${}/GB-month stored), RDS backups beyond the \
             allocated size",
            p.s3.storage_gb_month
                .get("STANDARD")
                .copied()
                .unwrap_or_default(),
            p.s3.storage_gb_month
                .get("GLACIER")
                .copied()
                .unwrap_or_default(),
            p.logs.ingest_gb,
            p.logs.storage_gb_month
        ),
        "node groups are priced at their desired size (autoscaling moves it between min and max)"
            .to_string(),
        "usage-based, not estimated: GuardDuty (per GB of logs and events analysed), Security Hub \
         (per check and finding), Inspector (per instance and image scanned), WAF requests \
         ($0.60 per million); Shield Advanced is one subscription per organization, shown in \
         every stack that declares it"
            .to_string(),
    ]
}

/// The estimate of resources given as (id, kind, region, spec).
pub fn estimate<'a>(
    stack: &str,
    resources: impl IntoIterator<Item = (&'a str, Kind, &'a str, Cow<'a, Value>)>,
    settings: &Settings,
) -> Estimate {
    let mut lines = Vec::new();
    let mut unpriced = Vec::new();
    for (id, kind, region, props) in resources {
        match line(settings, id, kind, region, &props) {
            Ok(Some(l)) => lines.push(l),
            Ok(None) => {}
            Err(missing) => unpriced.push(Unpriced {
                resource: id.to_string(),
                missing: missing.to_string(),
            }),
        }
    }
    let p = prices();
    Estimate {
        stack: stack.to_string(),
        prices_as_of: p.as_of.clone(),
        hours_per_month: p.hours_per_month,
        on_demand: lines.iter().map(|l| l.on_demand).sum(),
        optimised: lines.iter().map(|l| l.optimised).sum(),
        lines,
        unpriced,
        external: settings.external.clone(),
        assumptions: assumptions(),
    }
}

/// The estimate of the declared stack.
pub fn of_graph(graph: &ResourceGraph, settings: &Settings) -> Estimate {
    estimate(
        graph.stack_name(),
        graph.in_order().map(|d| {
            (
                d.id.as_str(),
                d.kind,
                d.region.as_str(),
                Cow::Owned(d.props.value()),
            )
        }),
        settings,
    )
}

/// The estimate of what the state records (superseded resources included: they
/// exist until their delete).
pub fn of_state(state: &State, settings: &Settings) -> Estimate {
    let recorded = state.resources.iter();
    let superseded = state
        .superseded
        .iter()
        .flat_map(|(id, old)| old.iter().map(move |r| (id, r)));
    estimate(
        &state.stack,
        recorded.chain(superseded).map(|(id, r)| {
            (
                id.as_str(),
                r.kind,
                r.region.as_str(),
                Cow::Borrowed(&r.props),
            )
        }),
        settings,
    )
}

/// One step's monthly price before and after the plan (on-demand and optimised).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepCost {
    /// Logical id.
    pub resource: ResourceId,
    /// The step's action.
    pub action: Action,
    /// Before the plan, on-demand per month (absent for a create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<f64>,
    /// After the plan, on-demand per month (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<f64>,
    /// The difference, on-demand.
    pub on_demand: f64,
    /// The difference, with spot and reservations.
    pub optimised: f64,
}

/// The monthly difference a plan makes: creates add, deletes subtract, updates and
/// replacements count the difference.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanCost {
    /// The difference per month, on-demand.
    pub on_demand: f64,
    /// The difference per month, with spot and reservations.
    pub optimised: f64,
    /// The price table's date.
    pub prices_as_of: String,
    /// The steps whose price changes.
    pub steps: Vec<StepCost>,
    /// Resources of the plan the table has no price for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<Unpriced>,
}

/// The monthly difference `plan` makes.
pub fn of_plan(plan: &Plan, settings: &Settings) -> PlanCost {
    let mut cost = PlanCost {
        prices_as_of: prices().as_of.clone(),
        ..PlanCost::default()
    };
    for step in &plan.steps {
        let mut side = |kind: Kind, region: &str, props: &Value| match line(
            settings,
            &step.resource,
            kind,
            region,
            props,
        ) {
            Ok(l) => l.map(|l| (l.on_demand, l.optimised)),
            Err(missing) => {
                cost.unpriced.push(Unpriced {
                    resource: step.resource.clone(),
                    missing: missing.to_string(),
                });
                None
            }
        };
        let before = match (&step.prior, step.action) {
            (Some(prior), Action::Update | Action::Replace | Action::Delete) => {
                side(prior.kind, &prior.region, &prior.props)
            }
            _ => None,
        };
        let after = match (&step.desired, step.action) {
            (Some(d), Action::Create | Action::Update | Action::Replace) => {
                side(d.kind, &d.region, &d.props.value())
            }
            _ => None,
        };
        let (b, a) = (before.unwrap_or_default(), after.unwrap_or_default());
        let on_demand = a.0 - b.0;
        let optimised = a.1 - b.1;
        if before.is_none() && after.is_none() {
            continue;
        }
        cost.on_demand += on_demand;
        cost.optimised += optimised;
        cost.steps.push(StepCost {
            resource: step.resource.clone(),
            action: step.action,
            before: before.map(|b| b.0),
            after: after.map(|a| a.0),
            on_demand,
            optimised,
        });
    }
    cost
}

#[cfg(test)]
mod tests;
