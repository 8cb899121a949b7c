//! Capacity rules: spot only in the node groups the environment allows (seed 6.2).

use super::baseline::undeclared;
use super::{Baseline, Finding, Subject};
use crate::spec::eks::{CapacityType, EksNodeGroupSpec};

/// Node groups on spot capacity are among `spot_allowed`.
pub(super) fn spot(s: &Subject<'_>, p: &Baseline) -> Vec<Finding> {
    let mut out = undeclared(s, &p.spot_allowed, "spot_allowed");
    for (d, ng) in s.specs::<EksNodeGroupSpec>() {
        if ng.capacity_type == CapacityType::Spot && !p.spot_allowed.contains(&d.id) {
            out.push(Finding::new(
                &d.id,
                "capacity_type",
                "this node group runs on spot capacity, which the environment allows only in its spot pools: use ON_DEMAND, or allow the pool",
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::findings_with;
    use super::super::{Baseline, Rule};
    use crate::spec::eks::{CapacityType, EksNodeGroupSpec};
    use crate::{Input, Stack};

    fn group(name: &str, capacity: CapacityType) -> EksNodeGroupSpec {
        EksNodeGroupSpec {
            cluster_name: Input::from("c"),
            name: name.into(),
            node_role_arn: Input::from("arn:aws:iam::1:role/n"),
            subnet_ids: vec![Input::from("subnet-1")],
            instance_types: vec!["m6i.xlarge".into()],
            capacity_type: capacity,
            disk_size: 50,
            version: "1.29".into(),
            ami_type: None,
            min_size: 1,
            max_size: 2,
            desired_size: 1,
            labels: Default::default(),
            taints: Vec::new(),
        }
    }

    #[test]
    fn spot_only_where_allowed() {
        let mut stack = Stack::new("t", "us-east-1");
        stack.add("ng-system", group("system", CapacityType::OnDemand));
        stack.add("ng-worker-spot", group("worker-spot", CapacityType::Spot));
        stack.add("ng-system-spot", group("system-spot", CapacityType::Spot));
        let mut params = Baseline::strict();
        params.spot_allowed.insert("ng-worker-spot".into());
        assert_eq!(
            findings_with(&stack, Rule::SpotCapacity, &params),
            vec![("ng-system-spot".into(), "capacity_type".into())]
        );
    }
}
