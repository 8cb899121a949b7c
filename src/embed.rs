//! Embedding glinfra in another program, in the manner of Pulumi's Automation API:
//! [`Session::preview`] reads the cloud and returns the plan; [`Session::start_apply`]
//! starts an apply and returns an [`ApplyRun`], a stream of typed [`Event`]s and
//! the final report, cancellable with the same drain semantics as Ctrl-C
//! (nothing more starts, what is in flight finishes, the state is saved). Nothing
//! here prints: what to show is the caller's choice.

use crate::session::{Error, Session};
use glinfra_core::{Plan, ResourceGraph, Stack};
use glinfra_engine::{apply, ApplyReport, Event, Observer, StackLock, Stop, StopReason};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// An apply in progress: its events as they happen, then its report.
pub struct ApplyRun {
    events: mpsc::UnboundedReceiver<Event>,
    report: JoinHandle<Result<ApplyReport, Error>>,
    stop: Stop,
}

impl ApplyRun {
    /// The next event, or `None` once the run has ended and every event was taken.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Asks the run to stop as Ctrl-C does: nothing more starts, the operations
    /// in flight finish, the state is saved, and the report names what was
    /// cancelled.
    pub fn cancel(&self) {
        self.stop.stop(StopReason::Interrupted);
    }

    /// A handle that cancels this run from elsewhere (another task, a signal handler).
    pub fn canceller(&self) -> Stop {
        self.stop.clone()
    }

    /// Waits for the end of the run and returns its report (events not yet taken
    /// are dropped).
    pub async fn report(self) -> Result<ApplyReport, Error> {
        self.report.await.expect("the apply task does not panic")
    }
}

/// Forwards events into the run's channel.
struct Forward(mpsc::UnboundedSender<Event>);

impl Observer for Forward {
    fn event(&self, event: &Event) {
        // A caller that stopped listening does not stop the run.
        let _ = self.0.send(event.clone());
    }
}

impl Session {
    /// What `plan` does: reads the live cloud, records what it says, and returns
    /// the plan from there to `graph`, with the drift it found.
    pub async fn preview(&self, lock: &StackLock, graph: &ResourceGraph) -> Result<Plan, Error> {
        let (refreshed, _) = self.refresh(lock, graph, false).await?;
        self.save(lock, &refreshed.state).await?;
        Ok(self.plan_refreshed(Some(graph), &refreshed))
    }

    /// Starts applying `plan` (made for `stack`) on a tokio task and returns at
    /// once: take its events with [`ApplyRun::next_event`], cancel it with
    /// [`ApplyRun::cancel`], and get its report with [`ApplyRun::report`]. The plan
    /// is refused, as by [`Session::apply`], when the state changed since it was
    /// made or it would delete or replace a protected resource. Once it ends,
    /// `stack`'s outputs are recorded ([`Session::record_outputs`]) as `apply` on
    /// the command line records them, so stacks referencing it read them.
    pub fn start_apply(
        self: &Arc<Self>,
        lock: Arc<StackLock>,
        stack: &Stack,
        plan: &Plan,
    ) -> ApplyRun {
        let (tx, events) = mpsc::unbounded_channel();
        let stop = Stop::new();
        let mut options = self.options.clone();
        options.stop = stop.clone();
        let session = self.clone();
        let stack = stack.clone();
        let plan = plan.clone();
        let report = tokio::spawn(async move {
            let provider = session.provider.clone();
            let report = apply(
                provider,
                lock.clone(),
                &plan,
                options,
                Arc::new(Forward(tx)),
            )
            .await?;
            // What was applied is in state, finished or not: its outputs too.
            session.record_outputs(&lock, &stack).await?;
            Ok(report)
        });
        ApplyRun {
            events,
            report,
            stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glinfra_core::spec::ec2::{SubnetSpec, VpcSpec};
    use glinfra_engine::fake::FakeCloud;
    use std::time::Duration;

    fn stack() -> Stack {
        let mut stack = Stack::new("embedded", "us-east-1");
        let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
        stack.export("vpc_id", vpc.id());
        for (i, zone) in ["a", "b", "c"].iter().enumerate() {
            stack.add(
                format!("subnet-{zone}"),
                SubnetSpec::new(
                    vpc.id(),
                    format!("10.0.{i}.0/24"),
                    format!("us-east-1{zone}"),
                ),
            );
        }
        stack
    }

    fn graph() -> ResourceGraph {
        ResourceGraph::build(&stack()).unwrap()
    }

    #[tokio::test]
    async fn an_apply_streams_its_events_and_ends_with_its_report() {
        let dir = tempfile::tempdir().unwrap();
        let session = Arc::new(Session::with_provider(
            Arc::new(FakeCloud::new()),
            dir.path(),
        ));
        let lock = session.lock("embedded").await.unwrap();
        let plan = session.preview(&lock, &graph()).await.unwrap();
        assert_eq!(plan.summary.create, 4);
        let mut run = session.start_apply(lock.clone(), &stack(), &plan);
        let mut succeeded = Vec::new();
        while let Some(event) = run.next_event().await {
            if let Event::Succeeded { resource, .. } = event {
                succeeded.push(resource);
            }
        }
        assert_eq!(succeeded.len(), 4);
        assert_eq!(
            succeeded[0], "vpc",
            "the VPC first: the subnets wait for it"
        );
        let report = run.report().await.unwrap();
        assert!(report.is_success());
        // Recorded for the stacks that reference it, as the command line records them.
        let recorded = session
            .recorded_outputs("embedded")
            .await
            .unwrap()
            .unwrap_or_default();
        let resolved = session.outputs(&lock, &stack()).await.unwrap();
        assert!(resolved["vpc_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(recorded, resolved);
    }

    #[tokio::test]
    async fn a_cancelled_apply_drains_and_reports_what_it_did_not_start() {
        let dir = tempfile::tempdir().unwrap();
        let cloud = Arc::new(FakeCloud::new());
        cloud.set_latency(Duration::from_millis(50));
        let session = Arc::new(Session::with_provider(cloud.clone(), dir.path()));
        let lock = session.lock("embedded").await.unwrap();
        let plan = session.preview(&lock, &graph()).await.unwrap();
        let mut run = session.start_apply(lock, &stack(), &plan);
        // Cancel as the VPC starts: it finishes, the subnets never start.
        while let Some(event) = run.next_event().await {
            if matches!(&event, Event::Started { resource, .. } if resource == "vpc") {
                run.cancel();
            }
        }
        let report = run.report().await.unwrap();
        assert_eq!(report.stopped, Some(StopReason::Interrupted));
        assert_eq!((report.succeeded(), report.cancelled()), (1, 3));
        assert_eq!(cloud.resources().len(), 1);
    }
}
