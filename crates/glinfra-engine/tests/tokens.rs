//! Idempotency tokens against the in-memory fake cloud, which answers a token as
//! EC2 does (the same request again: what it made; a reused token with another
//! request: `IdempotentParameterMismatch`) and can hide a new resource from
//! `find` for a while, as an eventually consistent Describe does. With `find`
//! blind, only the token keeps a retried create from making a second resource.

mod support;

use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::spec::ec2::*;
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::{Plan, ResourceGraph, Stack};
use glinfra_engine::fake::{FakeCloud, FakeOp};
use glinfra_engine::{
    apply, ApplyReport, IdempotencyToken, NoObserver, Provider, ResolvedResource,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use support::{begin_create, fast_options, World};

/// vpc ← subnet-0/1; bucket on its own.
fn stack() -> Stack {
    let mut stack = network();
    stack.add("bucket", BucketSpec::new("tok-bucket"));
    stack
}

/// [`stack`] without the bucket.
fn network() -> Stack {
    let mut stack = Stack::new("tok", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    for (i, cidr) in ["10.0.0.0/20", "10.0.16.0/20"].iter().enumerate() {
        stack.add(
            format!("subnet-{i}"),
            SubnetSpec::new(vpc.id(), *cidr, format!("us-east-1{}", ['a', 'b'][i])),
        );
    }
    stack
}

impl World {
    fn new() -> World {
        World::of("tok")
    }

    async fn run(&self, plan: &Plan) -> ApplyReport {
        let report = apply(
            self.cloud.clone(),
            self.lock(),
            plan,
            fast_options(),
            Arc::new(NoObserver),
        )
        .await
        .unwrap();
        assert!(report.is_success(), "{report:?}");
        report
    }

    async fn up(&self, stack: &Stack) -> ApplyReport {
        let p = plan(
            &ResourceGraph::build(stack).unwrap(),
            &self.lock().load().await.unwrap(),
        );
        self.run(&p).await
    }

    async fn destroy(&self) {
        let p = plan_destroy(&self.lock().load().await.unwrap());
        self.run(&p).await;
    }

    /// Every declared resource exists exactly once, as recorded.
    async fn exactly_once(&self, stack: &Stack) {
        let state = self.lock().load().await.unwrap();
        for decl in stack.declarations() {
            assert_eq!(self.cloud.count("tok", &decl.id), 1, "{}", decl.id);
            let recorded = &state.resources[&decl.id];
            let live = self
                .cloud
                .resources()
                .into_iter()
                .find(|r| r.logical_id == decl.id)
                .unwrap();
            assert_eq!(recorded.outputs, live.outputs, "{} as recorded", decl.id);
        }
    }

    /// The one token the creates of `id` carried.
    fn token(&self, id: &str) -> String {
        let tokens = self.cloud.create_tokens(id);
        let first = tokens[0].clone().expect("a create carries a token");
        assert!(
            tokens.iter().all(|t| t.as_deref() == Some(&first)),
            "{tokens:?}"
        );
        first
    }
}

/// The create's reply is lost (it took effect) and `find` does not see the new
/// subnet yet: the retry sends the same token, and the cloud answers with the
/// subnet the first call made instead of making a second.
#[tokio::test]
async fn a_create_retried_after_a_lost_reply_sends_the_same_token_and_makes_one() {
    let world = World::new();
    world.cloud.lose_reply(FakeOp::Create, "subnet-1");
    world.cloud.blind_finds("subnet-1", 2);
    let report = world.up(&stack()).await;
    let subnet = report
        .outcomes
        .iter()
        .find(|o| o.resource == "subnet-1")
        .unwrap();
    assert_eq!(subnet.attempts, 2, "retried once");
    assert_eq!(world.cloud.create_tokens("subnet-1").len(), 2);
    let token = world.token("subnet-1");
    assert_eq!(token.len(), IdempotencyToken::LEN);
    world.exactly_once(&stack()).await;
    // Every create carried its own token.
    let mut tokens: Vec<String> = ["vpc", "subnet-0", "subnet-1", "bucket"]
        .iter()
        .map(|id| world.token(id))
        .collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 4);
}

/// A run was killed after the cloud made the bucket and before the result was
/// recorded; since then the state's serial moved on. The run that resumes the
/// create (with `find` still blind) sends the token of the create that was
/// pending, derived from the serial it began at, not the serial of now.
#[tokio::test]
async fn a_create_resumed_after_a_kill_sends_the_token_of_the_killed_run() {
    let world = World::new();
    world.up(&network()).await;
    let lock = world.lock();
    assert!(lock.load().await.unwrap().serial > 0);

    // What the killed run did: began the bucket's create at serial 0 and sent it.
    let decl = stack().get("bucket").unwrap().clone();
    lock.append(&begin_create(&decl, "killed", Some(0)))
        .await
        .unwrap();
    drop(lock);
    let state = world.lock().load().await.unwrap();
    let mut sent = ResolvedResource::resolve("tok", &decl, &state).unwrap();
    sent.token = Some(IdempotencyToken::for_create(
        "tok",
        "bucket",
        0,
        &sent.props,
        &sent.tags,
    ));
    world.cloud.create(&sent).await.unwrap();

    world.cloud.blind_finds("bucket", 1);
    world.up(&stack()).await;
    assert_eq!(world.cloud.create_tokens("bucket").len(), 2);
    assert_eq!(world.token("bucket"), sent.token.unwrap().as_str());
    world.exactly_once(&stack()).await;
    let state = world.lock().load().await.unwrap();
    assert!(state.resources.values().all(|r| r.pending.is_none()));
}

/// Created, destroyed, created again: the second create of each logical id is a
/// new request with a new token. (The fake, like EC2, answers a reused token
/// with what it made the first time, deleted since: a reused token would leave
/// the stack recording resources that no longer exist.)
#[tokio::test]
async fn a_create_after_a_delete_of_the_same_logical_id_sends_another_token() {
    let world = World::new();
    world.up(&stack()).await;
    world.destroy().await;
    assert!(world.cloud.resources().is_empty());
    world.up(&stack()).await;
    world.exactly_once(&stack()).await;
    for id in ["vpc", "subnet-0", "subnet-1", "bucket"] {
        let tokens = world.cloud.create_tokens(id);
        assert_eq!(tokens.len(), 2, "{id}: {tokens:?}");
        assert_ne!(tokens[0], tokens[1], "{id}");
    }
}

/// A replacement asked for by name (`--replace`) sends the same request as the
/// create of the resource it replaces; it began later, so it sends another token
/// (a reused one would be answered with the old subnet). Create-first or not, the
/// stack ends with one subnet, the new one.
#[tokio::test]
async fn a_replacement_with_the_same_request_sends_another_token() {
    let world = World::new();
    world.up(&stack()).await;
    let old = world.lock().load().await.unwrap().resources["subnet-0"]
        .outputs
        .clone();
    let graph = ResourceGraph::build(&stack()).unwrap();
    let p = glinfra_core::plan::plan_replacing(
        &graph,
        &world.lock().load().await.unwrap(),
        &["subnet-0".to_string()].into_iter().collect(),
    );
    assert_eq!(
        p.step("subnet-0").unwrap().action,
        glinfra_core::Action::Replace
    );
    world.run(&p).await;
    let tokens = world.cloud.create_tokens("subnet-0");
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert_ne!(tokens[0], tokens[1]);
    world.exactly_once(&stack()).await;
    let new = &world.lock().load().await.unwrap().resources["subnet-0"].outputs;
    assert_ne!(*new, old, "a new subnet");
}

/// A reused token with another request is refused, as EC2 refuses it: the fake
/// is faithful, so the tests above can fail.
#[tokio::test]
async fn the_fake_refuses_a_reused_token_with_another_request() {
    let cloud = FakeCloud::new();
    let decl = stack().get("bucket").unwrap().clone();
    let state = glinfra_core::State::empty("tok");
    let mut r = ResolvedResource::resolve("tok", &decl, &state).unwrap();
    let tags = BTreeMap::new();
    r.token = Some(IdempotencyToken::for_create(
        "tok", "bucket", 0, &r.props, &tags,
    ));
    let made = cloud.create(&r).await.unwrap();
    assert_eq!(
        cloud.create(&r).await.unwrap(),
        made,
        "same request, same answer"
    );
    assert_eq!(cloud.resources().len(), 1);
    r.props["bucket"] = "another-name".into();
    let e = cloud.create(&r).await.unwrap_err();
    assert!(e.message.contains("IdempotentParameterMismatch"), "{e}");
}
