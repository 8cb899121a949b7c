//! Totals against figures computed by hand from `data/aws-prices.toml`.

use super::*;
use crate::spec::ec2::{ElasticIpSpec, NatGatewaySpec, VpcSpec};
use crate::spec::eks::{CapacityType, EksNodeGroupSpec};
use crate::spec::kms::KmsKeySpec;
use crate::{ResourceState, Stack};
use std::collections::BTreeMap;

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 0.005,
        "{actual} is not {expected}"
    );
}

fn node_group(
    name: &str,
    itype: &str,
    capacity: CapacityType,
    n: i32,
    disk: i32,
) -> EksNodeGroupSpec {
    EksNodeGroupSpec {
        cluster_name: "small".into(),
        name: name.into(),
        node_role_arn: "arn:aws:iam::123456789012:role/nodes".into(),
        subnet_ids: vec!["subnet-0a".into()],
        instance_types: vec![itype.into()],
        capacity_type: capacity,
        disk_size: disk,
        version: String::new(),
        ami_type: None,
        min_size: 0,
        max_size: 10,
        desired_size: n,
        labels: BTreeMap::new(),
        taints: Vec::new(),
    }
}

/// A small stack: two node groups (one reserved, one spot), a NAT gateway with its
/// address, a key and a VPC (free).
fn small(batch_nodes: i32, with_eip: bool) -> ResourceGraph {
    let mut stack = Stack::new("small", "us-east-1");
    stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    stack.add(
        "ng-web",
        node_group("web", "m6i.xlarge", CapacityType::OnDemand, 2, 100),
    );
    stack.add(
        "ng-batch",
        node_group("batch", "c6i.xlarge", CapacityType::Spot, batch_nodes, 50),
    );
    stack.add(
        "nat",
        NatGatewaySpec {
            subnet_id: "subnet-0a".into(),
            allocation_id: "eipalloc-0a".into(),
        },
    );
    if with_eip {
        stack.add("eip", ElasticIpSpec::default());
    }
    stack.add("key", KmsKeySpec::new("small", "small"));
    ResourceGraph::build(&stack).expect("valid")
}

fn settings() -> Settings {
    Settings {
        reserved_coverage: 0.5,
        reserved: ["ng-web".to_string()].into(),
        external: Vec::new(),
    }
}

#[test]
fn a_small_stack_costs_what_the_table_says() {
    let e = of_graph(&small(4, true), &settings());
    let by: BTreeMap<&str, &Line> = e.lines.iter().map(|l| (l.resource.as_str(), l)).collect();
    assert_eq!(
        by.keys().copied().collect::<Vec<_>>(),
        ["eip", "key", "nat", "ng-batch", "ng-web"],
        "the VPC costs nothing and has no line"
    );
    // ng-web: 2 x m6i.xlarge = 2 x 0.192 x 730 = 280.32, + 2 x 100 GB gp2 x 0.10 = 20.
    close(by["ng-web"].on_demand, 300.32);
    // Reserved: half the instance hours at 40% off: 280.32 x 0.40 x 0.5 = 56.064.
    close(by["ng-web"].optimised, 244.256);
    assert_eq!(by["ng-web"].instances, "2 x m6i.xlarge");
    // ng-batch: 4 x c6i.xlarge = 4 x 0.17 x 730 = 496.40, + 4 x 50 GB x 0.10 = 20.
    close(by["ng-batch"].on_demand, 516.40);
    // Spot: the instance hours at 60% off: 496.40 x 0.6 = 297.84.
    close(by["ng-batch"].optimised, 218.56);
    assert_eq!(by["ng-batch"].optimisation, "Spot (60% off)");
    close(by["nat"].on_demand, 32.85); // 0.045 x 730
    close(by["eip"].on_demand, 3.65); // 0.005 x 730
    close(by["key"].on_demand, 1.0);
    close(e.on_demand, 854.22);
    close(e.optimised, 500.316);
    assert!(e.unpriced.is_empty());
}

#[test]
fn without_reservations_the_reservable_lines_stay_on_demand() {
    let e = of_graph(&small(4, true), &Settings::default());
    let web = e.lines.iter().find(|l| l.resource == "ng-web").unwrap();
    close(web.optimised, web.on_demand);
    assert_eq!(web.optimisation, "On-demand");
}

#[test]
fn a_type_the_table_lacks_is_reported_not_guessed() {
    let mut stack = Stack::new("odd", "us-east-1");
    stack.add(
        "ng-odd",
        node_group("odd", "m7i.xlarge", CapacityType::OnDemand, 1, 20),
    );
    let e = of_graph(&ResourceGraph::build(&stack).unwrap(), &Settings::default());
    assert!(e.lines.is_empty());
    assert_eq!(e.unpriced.len(), 1);
    assert!(
        e.unpriced[0].missing.contains("m7i.xlarge in us-east-1"),
        "{:?}",
        e.unpriced
    );
    assert!(text(&e).contains("Not priced"));
}

/// The state a graph leaves once applied.
fn applied(graph: &ResourceGraph) -> State {
    let mut state = State::empty(graph.stack_name());
    state.serial = 1;
    for d in graph.in_order() {
        state.resources.insert(
            d.id.clone(),
            ResourceState {
                kind: d.kind,
                region: d.region.clone(),
                props: d.props.value(),
                tags: d.tags.clone(),
                outputs: [("id".to_string(), Value::from(format!("{}-1", d.id)))].into(),
                dependencies: Default::default(),
                pending: None,
                lifecycle: d.lifecycle.clone(),
            },
        );
    }
    state
}

#[test]
fn a_plan_shows_what_its_change_costs() {
    let state = applied(&small(4, true));
    close(of_state(&state, &settings()).on_demand, 854.22);
    // The spot pool grows from 4 to 6 nodes and the address goes.
    let plan = crate::plan::plan(&small(6, false), &state);
    let cost = of_plan(&plan, &settings());
    let steps: BTreeMap<&str, &StepCost> = cost
        .steps
        .iter()
        .map(|s| (s.resource.as_str(), s))
        .collect();
    assert_eq!(
        steps.keys().copied().collect::<Vec<_>>(),
        ["eip", "ng-batch"]
    );
    // Two more c6i.xlarge with 50 GB each: 2 x (124.10 + 5.00) = 258.20.
    close(steps["ng-batch"].on_demand, 258.20);
    assert_eq!(steps["ng-batch"].action, Action::Update);
    close(steps["ng-batch"].before.unwrap(), 516.40);
    close(steps["ng-batch"].after.unwrap(), 774.60);
    // Spot: 2 x (124.10 x 0.4 + 5.00) = 109.28.
    close(steps["ng-batch"].optimised, 109.28);
    close(steps["eip"].on_demand, -3.65);
    assert_eq!(steps["eip"].after, None);
    close(cost.on_demand, 254.55);
    close(cost.optimised, 105.63);
    assert_eq!(
        change_line(&cost),
        format!(
            "Cost: +$254.55/month on-demand, +$105.63/month with spot and reservations (prices as of {}; `cost` shows each line).",
            prices().as_of
        )
    );
    // Nothing changes: nothing to say but that.
    let same = crate::plan::plan(&small(4, true), &state);
    assert_eq!(
        change_line(&of_plan(&same, &settings())),
        "Cost: no change to the monthly estimate."
    );
}

#[test]
fn money_is_grouped_and_signed() {
    assert_eq!(money(22375.0), "$22,375.00");
    assert_eq!(money(1234567.891), "$1,234,567.89");
    assert_eq!(money(0.004), "$0.00");
    assert_eq!(money(-3.65), "-$3.65");
    assert_eq!(money(999.999), "$1,000.00");
}

#[test]
fn the_web_acl_and_shield_are_priced_and_the_usage_based_services_are_not() {
    use crate::spec::guardduty::{FindingFrequency, GuardDutyDetectorSpec};
    use crate::spec::shield::{AutoRenew, ShieldSubscriptionSpec};
    use crate::spec::wafv2::{
        ManagedRuleGroup, OverrideAction, WafAction, WafScope, WafVisibility, WebAclSpec,
    };
    let mut stack = Stack::new("sec", "us-east-1");
    let rule = |name: &str, priority| ManagedRuleGroup {
        name: name.into(),
        vendor: "AWS".into(),
        priority,
        override_action: OverrideAction::None,
    };
    stack.add(
        "waf",
        WebAclSpec {
            name: "acl".into(),
            scope: WafScope::Regional,
            default_action: WafAction::Allow,
            description: None,
            rules: vec![
                rule("AWSManagedRulesCommonRuleSet", 1),
                rule("AWSManagedRulesKnownBadInputsRuleSet", 2),
                rule("AWSManagedRulesAmazonIpReputationList", 3),
            ],
            visibility: WafVisibility {
                sampled_requests: true,
                cloudwatch_metrics: true,
                metric_name: "acl".into(),
            },
        },
    );
    stack.add(
        "shield",
        ShieldSubscriptionSpec {
            auto_renew: AutoRenew::Enabled,
        },
    );
    stack.add(
        "guardduty",
        GuardDutyDetectorSpec {
            enable: true,
            finding_publishing_frequency: FindingFrequency::SixHours,
            features: Vec::new(),
        },
    );
    let e = of_graph(
        &ResourceGraph::build(&stack).expect("valid"),
        &Settings::default(),
    );
    let by: BTreeMap<&str, &Line> = e.lines.iter().map(|l| (l.resource.as_str(), l)).collect();
    assert_eq!(by.keys().copied().collect::<Vec<_>>(), ["shield", "waf"]);
    // $5 the web ACL + 3 x $1 a rule.
    close(by["waf"].on_demand, 8.0);
    assert_eq!(by["waf"].instances, "1 web ACL, 3 rules");
    close(by["shield"].on_demand, 3000.0);
    close(e.on_demand, 3008.0);
    assert!(e.assumptions.iter().any(|a| a.contains("GuardDuty")));
    assert!(e.unpriced.is_empty());
}
