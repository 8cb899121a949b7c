//! What protects resources in the executor itself, whatever the caller plans:
//! a plan reaching a protected resource is refused with no call; a retained
//! resource is forgotten with no call.

use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::spec::ec2::*;
use glinfra_core::{ResourceGraph, ResourceOptions, Stack};
use glinfra_engine::fake::FakeCloud;
use glinfra_engine::{
    apply, ApplyError, ApplyOptions, ApplyReport, LocalStateStore, NoObserver, StackLock,
};
use std::sync::Arc;

fn stack(cidr: &str, protect_subnet: bool, retain_subnet: bool) -> Stack {
    let mut stack = Stack::new("safe", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new(cidr));
    let mut options = ResourceOptions::default();
    options.lifecycle.protect = protect_subnet;
    options.lifecycle.retain_on_delete = retain_subnet;
    let subnet_cidr = cidr.replace(".0.0/16", ".0.0/24");
    stack.add_with(
        "subnet",
        SubnetSpec::new(vpc.id(), subnet_cidr, "us-east-1a"),
        options,
    );
    stack
}

/// Plans `stack` (or, with none, its destroy) against what `lock` records and applies it.
async fn run(
    cloud: &Arc<FakeCloud>,
    lock: &Arc<StackLock>,
    stack: Option<&Stack>,
) -> Result<ApplyReport, ApplyError> {
    let state = lock.load().await.unwrap();
    let p = match stack {
        Some(s) => plan(&ResourceGraph::build(s).unwrap(), &state),
        None => plan_destroy(&state),
    };
    apply(
        cloud.clone(),
        lock.clone(),
        &p,
        ApplyOptions::default(),
        Arc::new(NoObserver),
    )
    .await
}

#[tokio::test]
async fn the_executor_refuses_a_plan_that_replaces_or_deletes_a_protected_resource() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path());
    let cloud = Arc::new(FakeCloud::new());
    let lock = Arc::new(store.lock("safe").unwrap());
    let first = stack("10.0.0.0/16", true, false);
    assert!(run(&cloud, &lock, Some(&first)).await.unwrap().is_success());
    let calls = cloud.calls().len();

    // A new VPC CIDR replaces the VPC and, through it, the protected subnet.
    let moved = stack("10.9.0.0/16", true, false);
    let err = run(&cloud, &lock, Some(&moved)).await.unwrap_err();
    let ApplyError::Protected { refusals } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        refusals[0].to_string(),
        "`vpc` replace → `subnet` replace: `subnet` is protected"
    );
    // A destroy too.
    assert!(matches!(
        run(&cloud, &lock, None).await,
        Err(ApplyError::Protected { .. })
    ));
    assert_eq!(cloud.calls().len(), calls, "not one call");
    assert_eq!(cloud.resources().len(), 2);
}

#[tokio::test]
async fn a_retained_resource_is_left_in_the_cloud_and_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path());
    let cloud = Arc::new(FakeCloud::new());
    let lock = Arc::new(store.lock("safe").unwrap());
    let s = stack("10.0.0.0/16", false, true);
    run(&cloud, &lock, Some(&s)).await.unwrap();
    let r = run(&cloud, &lock, None).await.unwrap();
    // The VPC cannot go while the retained subnet is in it: AWS says so, and glinfra
    // reports it; the subnet itself was forgotten without a call.
    assert!(!lock.load().await.unwrap().resources.contains_key("subnet"));
    assert_eq!(cloud.count("safe", "subnet"), 1, "retained in the cloud");
    let deletes: Vec<_> = cloud
        .calls()
        .into_iter()
        .filter(|(op, id)| *op == glinfra_engine::fake::FakeOp::Delete && id == "subnet")
        .collect();
    assert!(deletes.is_empty(), "no delete call for the retained subnet");
    let _ = r;
}
