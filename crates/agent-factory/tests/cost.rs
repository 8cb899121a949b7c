//! The cost of the environments, against figures computed by hand from
//! `crates/glinfra-core/data/aws-prices.toml` (us-east-1 unless said; 730 hours a month).

use glinfra_core::cost::{self, Estimate, Line};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn estimate(name: &str) -> Estimate {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../environments")
        .join(format!("{name}.toml"));
    let (_, stack, graph) =
        greenlang_agent_factory::load_stack(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    cost::of_graph(&graph, stack.cost_settings())
}

fn close(what: &str, actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 0.01,
        "{what}: {actual} is not {expected}"
    );
}

fn lines(e: &Estimate) -> BTreeMap<&str, &Line> {
    e.lines.iter().map(|l| (l.resource.as_str(), l)).collect()
}

#[test]
fn prod_us_east_1_main_lines_match_the_hand_computed_figures() {
    let e = estimate("prod-us-east-1");
    assert!(e.unpriced.is_empty(), "{:?}", e.unpriced);
    let l = lines(&e);
    // (on-demand, with optimisation) per line.
    let expected: &[(&str, f64, f64)] = &[
        // EKS control plane: 0.10 x 730.
        ("eks", 73.0, 73.0),
        // 3 x m6i.xlarge: 3 x 0.192 x 730 = 420.48, + 3 x 100 GB gp2 x 0.10 = 30.
        // Reserved 70% at 40% off the instance hours: 420.48 x 0.28 = 117.7344.
        ("ng-system", 450.48, 332.7456),
        // 3 x c6i.2xlarge: 3 x 0.34 x 730 = 744.60, + 3 x 50 GB x 0.10 = 15; on-demand.
        ("ng-api-gateway", 759.60, 759.60),
        // 3 x m6i.2xlarge: 840.96 + 60; reserved: 840.96 x 0.28 = 235.4688.
        ("ng-agent-factory", 900.96, 665.4912),
        // agent_runtime, 10 nodes at 60% spot: 6 spot, 4 on-demand c6i.xlarge
        // (0.17 x 730 = 124.10 each, + 50 GB = 5.00). Spot: 6 x 124.10 x 0.6 = 446.76 off.
        ("ng-agent-runtime-spot", 774.60, 327.84),
        ("ng-agent-runtime-ondemand", 516.40, 516.40),
        // worker, 5 nodes at 80% spot: 4 spot, 1 on-demand m6i.xlarge (140.16 + 10.00).
        // Spot: 4 x 140.16 x 0.6 = 336.384 off.
        ("ng-worker-spot", 600.64, 264.256),
        ("ng-worker-ondemand", 150.16, 150.16),
        // gpu: 0 nodes.
        ("ng-gpu", 0.0, 0.0),
        // db.r6g.2xlarge Multi-AZ, 1,000 GB io2 with 10,000 IOPS, all twice:
        // 2 x (0.899 x 730 + 1000 x 0.125 + 10000 x 0.10) = 2 x 1781.27 = 3562.54.
        // Reserved 70% at 35% off the instance hours: 1312.54 x 0.245 = 321.5723.
        ("db-primary", 3562.54, 3240.9677),
        // A replica copies the primary's storage: 0.449 x 730 + 125 + 1000 = 1452.77;
        // reserved: 327.77 x 0.245 = 80.30365.
        ("db-replica-us-east-1", 1452.77, 1372.46635),
        // 3 shards x 2 nodes of cache.r6g.xlarge: 6 x 0.411 x 730 = 1800.18;
        // reserved: 1800.18 x 0.34 x 0.7 = 428.44284.
        ("redis", 1800.18, 1371.73716),
        // 6 x kafka.m5.2xlarge with 1,000 GB each: 6 x (0.84 x 730 + 100) = 4279.20;
        // MSK sells no reservations.
        ("kafka", 4279.20, 4279.20),
        // 0.045 x 730 a NAT gateway, 0.005 x 730 its address.
        ("nat-a", 32.85, 32.85),
        ("eip-nat-a", 3.65, 3.65),
        // An interface endpoint in 3 AZs: 3 x 0.01 x 730.
        ("vpce-ecr-api", 21.90, 21.90),
    ];
    for (id, on_demand, optimised) in expected {
        let line = l
            .get(id)
            .unwrap_or_else(|| panic!("no line for {id}: {:?}", l.keys()));
        close(id, line.on_demand, *on_demand);
        close(id, line.optimised, *optimised);
    }
    assert_eq!(l["ng-system"].instances, "3 x m6i.xlarge");
    assert_eq!(l["db-primary"].instances, "1 x r6g.2xlarge Multi-AZ");
    assert_eq!(l["redis"].instances, "6 x r6g.xlarge");
    assert_eq!(l["kafka"].instances, "6 x m5.2xlarge");
    // The gateway endpoint (S3) is free; so are the VPC, subnets, roles and groups.
    for free in [
        "vpce-s3",
        "vpc",
        "subnet-app-a",
        "iam-eks-node",
        "sg-postgres",
    ] {
        assert!(!l.contains_key(free), "{free} has a line");
    }
    // The totals are the sum of the lines, and what the README reports.
    let sum: f64 = e.lines.iter().map(|l| l.on_demand).sum();
    close("total", e.on_demand, sum);
    assert!(e.optimised < e.on_demand);
    // The other regions' replicas are their own stacks' (`[primary]`).
    let eu = estimate("prod-eu-west-1");
    let replica = eu
        .lines
        .iter()
        .find(|l| l.resource == "db-replica")
        .unwrap();
    // eu-west-1: 0.492 x 730 + 1000 x 0.138 + 10000 x 0.11 = 1597.16;
    // reserved: 359.16 x 0.245 = 87.9942.
    close("eu replica", replica.on_demand, 1597.16);
    close("eu replica", replica.optimised, 1509.1658);
    // The LLM spend is stated, shown apart, and in neither total.
    assert_eq!(e.external.len(), 2);
    assert_eq!(e.external[0].monthly, 5000.0);
}

#[test]
fn every_environment_is_priced_whole() {
    for name in greenlang_agent_factory::ENVIRONMENTS {
        let e = estimate(name);
        assert!(e.unpriced.is_empty(), "{name}: {:?}", e.unpriced);
        assert!(e.on_demand > 0.0, "{name}");
    }
    // No reservations outside production: only spot lowers staging's total.
    let staging = estimate("staging-us-east-1");
    for l in &staging.lines {
        if !l.optimisation.starts_with("Spot") {
            close(&l.resource, l.optimised, l.on_demand);
        }
    }
}

#[test]
fn a_bad_cost_section_is_refused_before_anything_else() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../environments/prod-us-east-1.toml"),
    )
    .unwrap()
    .replace("reserved_coverage = 0.7", "reserved_coverage = 70")
    .replace(
        r#"reserved_node_pools = ["system", "agent_factory"]"#,
        r#"reserved_node_pools = ["system", "factory"]"#,
    );
    let env = greenlang_agent_factory::parse(&text).expect("parses");
    let errors = greenlang_agent_factory::stack_for(&env)
        .unwrap_err()
        .to_string();
    assert!(errors.contains("cost.reserved_coverage"), "{errors}");
    assert!(errors.contains("`factory` is not a node pool"), "{errors}");
}

#[test]
fn prod_us_east_1_table() {
    let table = cost::text(&estimate("prod-us-east-1"));
    println!("{table}");
    assert!(table.contains("TOTAL AWS (before optimisation)"));
}
