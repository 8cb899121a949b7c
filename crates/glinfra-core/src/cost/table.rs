//! The estimate as text, in the layout of the seed's table (section 6.1), and the
//! one line a plan shows for its monthly difference.

use super::{Estimate, PlanCost};
use std::fmt::Write;

/// Dollars with cents and thousands separators: `$22,375.00`.
pub fn money(amount: f64) -> String {
    let cents = (amount.abs() * 100.0).round() as u64;
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// [`money`] with its sign always shown: `+$12.00`, `-$3.50`.
fn signed(amount: f64) -> String {
    let m = money(amount);
    if m.starts_with('-') {
        m
    } else {
        format!("+{m}")
    }
}

/// The line a plan shows under its `Plan: …` line.
pub fn change_line(cost: &PlanCost) -> String {
    let mut line = if cost.steps.is_empty() {
        "Cost: no change to the monthly estimate.".to_string()
    } else {
        format!(
            "Cost: {}/month on-demand, {}/month with spot and reservations (prices as of {}; `cost` shows each line).",
            signed(cost.on_demand),
            signed(cost.optimised),
            cost.prices_as_of
        )
    };
    if !cost.unpriced.is_empty() {
        let ids: Vec<&str> = cost.unpriced.iter().map(|u| u.resource.as_str()).collect();
        let _ = write!(line, " Not priced: {}.", ids.join(", "));
    }
    line
}

const RULE: &str = "------------------------------------------------------------------------------------------------------------------";

/// The estimate as a table: one line per resource under its component, the totals
/// before and after optimisation, then what it leaves out.
pub fn text(e: &Estimate) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Monthly cost estimate: {} (on-demand prices as of {}, {} hours a month)\n",
        e.stack, e.prices_as_of, e.hours_per_month
    );
    let _ = writeln!(
        out,
        "{:<34} {:<15} {:<22} {:>12} {:>12}  Optimisation",
        "Component", "Region", "Instances", "On-demand", "Optimised"
    );
    let _ = writeln!(out, "{RULE}");
    let mut components: Vec<_> = e.lines.iter().map(|l| l.component).collect();
    components.sort();
    components.dedup();
    for component in components {
        let _ = writeln!(out, "{}", component.heading());
        for l in e.lines.iter().filter(|l| l.component == component) {
            let _ = writeln!(
                out,
                "  - {:<30} {:<15} {:<22} {:>12} {:>12}  {}",
                l.resource,
                l.region,
                l.instances,
                money(l.on_demand),
                money(l.optimised),
                l.optimisation
            );
        }
    }
    let _ = writeln!(out, "{RULE}");
    let savings = if e.on_demand > 0.0 {
        format!(
            "  ({:.0}% savings)",
            (e.on_demand - e.optimised) / e.on_demand * 100.0
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{:<73} {:>12}/month",
        "TOTAL AWS (before optimisation)",
        money(e.on_demand)
    );
    let _ = writeln!(
        out,
        "{:<73} {:>12}/month{savings}",
        "TOTAL AWS (with optimisation)",
        money(e.optimised)
    );
    let _ = writeln!(out, "{RULE}");
    if !e.external.is_empty() {
        let _ = writeln!(
            out,
            "\nNot AWS infrastructure (stated in the environment file, not estimated):"
        );
        for x in &e.external {
            let _ = writeln!(
                out,
                "  - {:<69} {:>12} {:>12}  {}",
                x.name,
                money(x.monthly),
                money(x.optimised),
                x.optimisation
            );
        }
        let before: f64 = e.external.iter().map(|x| x.monthly).sum::<f64>() + e.on_demand;
        let after: f64 = e.external.iter().map(|x| x.optimised).sum::<f64>() + e.optimised;
        let _ = writeln!(
            out,
            "{:<73} {:>12}/month\n{:<73} {:>12}/month",
            "TOTAL with them (before optimisation)",
            money(before),
            "TOTAL with them (with optimisation)",
            money(after)
        );
    }
    if !e.unpriced.is_empty() {
        let _ = writeln!(out, "\nNot priced (not in the totals):");
        for u in &e.unpriced {
            let _ = writeln!(out, "  - {}: {}", u.resource, u.missing);
        }
    }
    let _ = writeln!(out, "\nLeft out:");
    for a in &e.assumptions {
        let _ = writeln!(out, "  - {a}");
    }
    // Lines without an optimisation end in their padding.
    out.lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect()
}
