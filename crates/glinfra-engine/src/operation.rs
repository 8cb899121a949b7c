//! One operation of a plan (a create, an update, a delete, or a half of a
//! replacement): its journal records before and after every mutating call, its
//! retries, and its time limit.
//!
//! An operation whose `lifecycle.timeouts` limit passes is dropped where it is
//! and fails, without another attempt; its journal `begin` stays without an end
//! record, exactly as if the process had been killed there, so the state records
//! the operation as pending and the next run resumes it (finds what a create
//! made, updates again, deletes again).

use crate::executor::Shared;
use crate::journal::JournalRecord;
use crate::provider::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use crate::report::Event;
use crate::store::StoreError;
use crate::token::IdempotencyToken;
use glinfra_core::schedule::OpPhase;
use glinfra_core::state::{Mutation, ResourceState};
use glinfra_core::{Lifecycle, ResourceId, Step};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Resolves `step`'s desired spec against the outputs recorded so far.
fn resolve(shared: &Shared, step: &Step) -> Result<ResolvedResource, ProviderError> {
    let decl = step.desired.as_ref().ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("step `{}` has no desired spec", step.resource),
        )
    })?;
    let state = shared.state.lock().expect("state lock");
    ResolvedResource::resolve(&shared.stack, decl, &state)
}

/// What `step`'s declaration depends on (nothing, for a step without one).
fn dependencies(step: &Step) -> BTreeSet<ResourceId> {
    step.desired
        .as_ref()
        .map(|d| d.dependencies())
        .unwrap_or_default()
}

/// Calls `call` until it succeeds or fails with an error that is not retryable.
/// Once the run is stopped, no further attempt is made: the last error stands,
/// saying so.
async fn with_retry<T, F, Fut>(
    shared: &Shared,
    resource: &str,
    phase: OpPhase,
    attempts: &mut u32,
    mut call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let policy = &shared.options.retry;
    let stop = &shared.options.stop;
    loop {
        *attempts += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.class.is_retryable() && *attempts < policy.max_attempts => {
                if let Some(reason) = stop.reason() {
                    return Err(not_retried(e, reason));
                }
                let delay = policy.delay(*attempts);
                shared.observer.event(&Event::Retrying {
                    resource: resource.to_string(),
                    phase,
                    attempt: *attempts,
                    delay_ms: delay.as_millis() as u64,
                    error: e.to_string(),
                });
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    reason = stop.stopped() => return Err(not_retried(e, reason)),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

fn not_retried(e: ProviderError, reason: crate::StopReason) -> ProviderError {
    let class = e.class;
    e.reclassified(class, &format!("not retried: {reason}"))
}

/// Why an operation failed: the cloud refused, or the state store could not
/// record (which stops the whole run: nothing more may be done unrecorded).
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    /// The operation's own time limit passed; it was dropped where it was.
    #[error("{phase} did not finish within its limit of {seconds}s (lifecycle.timeouts.{limit}); it may still finish in AWS: run again to resume")]
    TimedOut {
        phase: &'static str,
        limit: &'static str,
        seconds: u64,
    },
}

/// Runs one operation; its attempts, or the error with the attempts made.
pub(crate) async fn run_operation(
    shared: &Shared,
    step: &Step,
    phase: OpPhase,
) -> Result<u32, (u32, OpError)> {
    let mut attempts = 0;
    shared.observer.event(&Event::Started {
        resource: step.resource.clone(),
        phase,
    });
    let work = async {
        match phase {
            OpPhase::ReplaceCreate if step.creates_first() => {
                supersede(shared, &step.resource).await?;
                create(shared, step, phase, &mut attempts).await
            }
            OpPhase::Create | OpPhase::ReplaceCreate => {
                create(shared, step, phase, &mut attempts).await
            }
            OpPhase::Update => update(shared, step, &mut attempts).await,
            OpPhase::Delete | OpPhase::ReplaceDelete => {
                delete(shared, step, phase, &mut attempts).await
            }
            OpPhase::DeleteReplaced => delete_superseded(shared, step, &mut attempts).await,
        }
    };
    let result = match time_limit(&lifecycle_of(step), phase) {
        None => work.await,
        Some((limit, seconds)) => {
            match tokio::time::timeout(Duration::from_secs(seconds), work).await {
                Ok(result) => result,
                Err(_) => Err(OpError::TimedOut {
                    phase: phase_name(phase),
                    limit,
                    seconds,
                }),
            }
        }
    };
    result.map(|()| attempts).map_err(|e| (attempts, e))
}

/// The lifecycle timeout that bounds `phase` (its name and seconds), if one is set.
fn time_limit(lifecycle: &Lifecycle, phase: OpPhase) -> Option<(&'static str, u64)> {
    let t = &lifecycle.timeouts;
    match phase {
        OpPhase::Create | OpPhase::ReplaceCreate => t.create.map(|s| ("create", s)),
        OpPhase::Update => t.update.map(|s| ("update", s)),
        OpPhase::Delete | OpPhase::ReplaceDelete | OpPhase::DeleteReplaced => {
            t.delete.map(|s| ("delete", s))
        }
    }
}

fn phase_name(phase: OpPhase) -> &'static str {
    match phase {
        OpPhase::Create => "the create",
        OpPhase::ReplaceCreate => "the create of its replacement",
        OpPhase::Update => "the update",
        OpPhase::Delete => "the delete",
        OpPhase::ReplaceDelete => "the delete before its replacement",
        OpPhase::DeleteReplaced => "the delete of the resource it replaced",
    }
}

/// The lifecycle options `step` applies with: the declaration's, else the record's.
fn lifecycle_of(step: &Step) -> Lifecycle {
    match (&step.desired, &step.prior) {
        (Some(d), _) => d.lifecycle.clone(),
        (None, Some(p)) => p.lifecycle.clone(),
        (None, None) => Lifecycle::default(),
    }
}

async fn begin(
    shared: &Shared,
    step: &Step,
    resource: &ResolvedResource,
    operation: Mutation,
    deps: BTreeSet<ResourceId>,
    since_serial: Option<u64>,
) -> Result<(), OpError> {
    shared
        .record(JournalRecord::Begin {
            resource: resource.id.clone(),
            operation,
            run_id: shared.options.run_id.clone(),
            at: Shared::now(),
            kind: resource.kind,
            region: resource.region.clone(),
            props: resource.props.clone(),
            tags: resource.tags.clone(),
            dependencies: deps,
            lifecycle: lifecycle_of(step),
            since_serial,
        })
        .await
        .map_err(OpError::Store)
}

/// The serial the create of `id` derives its idempotency token from: that of
/// the create a killed or failed run left pending, else the state's now.
fn since_serial(shared: &Shared, id: &str) -> u64 {
    let state = shared.state.lock().expect("state lock");
    state
        .resources
        .get(id)
        .and_then(|r| r.pending.as_ref())
        .filter(|p| p.operation == Mutation::Create)
        .and_then(|p| p.since_serial)
        .unwrap_or(state.serial)
}

/// Records that `operation` failed with `error`; `made_nothing` when the failure
/// shows nothing of ours exists (see [`JournalRecord::Failed`]).
async fn fail(
    shared: &Shared,
    resource: &str,
    operation: Mutation,
    error: ProviderError,
    made_nothing: bool,
) -> OpError {
    match shared
        .record(JournalRecord::Failed {
            resource: resource.to_string(),
            operation,
            error: error.to_string(),
            made_nothing,
        })
        .await
    {
        Ok(()) => OpError::Provider(error),
        Err(e) => OpError::Store(e),
    }
}

async fn recorded(
    shared: &Shared,
    step: &Step,
    resource: &ResolvedResource,
    deps: BTreeSet<ResourceId>,
    outputs: Outputs,
) -> Result<(), OpError> {
    shared
        .record(JournalRecord::Recorded {
            resource: resource.id.clone(),
            state: ResourceState {
                kind: resource.kind,
                region: resource.region.clone(),
                props: resource.props.clone(),
                tags: resource.tags.clone(),
                outputs,
                dependencies: deps,
                pending: None,
                lifecycle: lifecycle_of(step),
            },
        })
        .await
        .map_err(OpError::Store)
}

async fn create(
    shared: &Shared,
    step: &Step,
    phase: OpPhase,
    attempts: &mut u32,
) -> Result<(), OpError> {
    let mut resource = resolve(shared, step)?;
    let deps = dependencies(step);
    // Decided once, before the first attempt: every retry sends the same token.
    let since = since_serial(shared, &resource.id);
    resource.token = Some(IdempotencyToken::for_create(
        &shared.stack,
        &resource.id,
        since,
        &resource.props,
        &resource.tags,
    ));
    begin(
        shared,
        step,
        &resource,
        Mutation::Create,
        deps.clone(),
        Some(since),
    )
    .await?;
    let provider = shared.provider.clone();
    let adopted = AtomicBool::new(false);
    let result = with_retry(shared, &resource.id, phase, attempts, || {
        let provider = provider.clone();
        let resource = &resource;
        let adopted = &adopted;
        async move {
            // Look first: a run that crashed after creating, or a create that failed
            // after the resource was made, must not make a second one.
            if let Some(outputs) = provider.find(resource).await? {
                adopted.store(true, Ordering::Relaxed);
                return Ok(outputs);
            }
            match provider.create(resource).await {
                Err(e) if e.class == ErrorClass::AlreadyExists => {
                    match provider.find(resource).await? {
                        Some(outputs) => {
                            adopted.store(true, Ordering::Relaxed);
                            Ok(outputs)
                        }
                        None => Err(e),
                    }
                }
                other => other,
            }
        }
    })
    .await;
    let result = match result {
        Ok(outputs) if adopted.load(Ordering::Relaxed) => {
            shared.observer.event(&Event::Adopted {
                resource: resource.id.clone(),
            });
            // What was found may be half made (a crash between the create call and the
            // calls that configure it): bring every field in line before recording it.
            let found = ResourceState {
                kind: resource.kind,
                region: resource.region.clone(),
                props: resource.props.clone(),
                tags: resource.tags.clone(),
                outputs,
                dependencies: deps.clone(),
                pending: None,
                lifecycle: lifecycle_of(step),
            };
            with_retry(shared, &resource.id, phase, attempts, || {
                shared.provider.update(&found, &resource, &[])
            })
            .await
            .map(|o| {
                if o.is_empty() {
                    found.outputs.clone()
                } else {
                    o
                }
            })
        }
        other => other,
    };
    match result {
        Ok(outputs) => recorded(shared, step, &resource, deps, outputs).await,
        Err(e) => {
            // Refused because the name is someone else's, with nothing of ours found
            // (ours would have been adopted): nothing of ours was made.
            let made_nothing =
                e.class == ErrorClass::AlreadyExists && !adopted.load(Ordering::Relaxed);
            Err(fail(shared, &resource.id, Mutation::Create, e, made_nothing).await)
        }
    }
}

fn current(shared: &Shared, id: &str) -> Option<ResourceState> {
    shared
        .state
        .lock()
        .expect("state lock")
        .resources
        .get(id)
        .cloned()
}

async fn update(shared: &Shared, step: &Step, attempts: &mut u32) -> Result<(), OpError> {
    let resource = resolve(shared, step)?;
    let deps = dependencies(step);
    let prior = current(shared, &step.resource).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("`{}` is not in state", step.resource),
        )
    })?;
    begin(
        shared,
        step,
        &resource,
        Mutation::Update,
        deps.clone(),
        None,
    )
    .await?;
    let changed = step.changed_fields();
    let provider = shared.provider.clone();
    let result = with_retry(shared, &resource.id, OpPhase::Update, attempts, || {
        provider.update(&prior, &resource, &changed)
    })
    .await;
    match result {
        Ok(mut outputs) => {
            if outputs.is_empty() {
                outputs = prior.outputs.clone();
            }
            recorded(shared, step, &resource, deps, outputs).await
        }
        Err(e) => Err(fail(shared, &resource.id, Mutation::Update, e, false).await),
    }
}

async fn delete(
    shared: &Shared,
    step: &Step,
    phase: OpPhase,
    attempts: &mut u32,
) -> Result<(), OpError> {
    let Some(mut prior) = current(shared, &step.resource) else {
        return Ok(());
    };
    if step.retain {
        // Retained on delete: forgotten by state, left in AWS. No call is made.
        return shared
            .record(JournalRecord::Removed {
                resource: step.resource.clone(),
            })
            .await
            .map_err(OpError::Store);
    }
    let as_recorded = ResolvedResource::from_state(&shared.stack, &step.resource, &prior);
    begin(
        shared,
        step,
        &as_recorded,
        Mutation::Delete,
        prior.dependencies.clone(),
        None,
    )
    .await?;
    let provider = shared.provider.clone();
    if !prior.exists() {
        // Its create never got recorded: delete what carries its tags, if anything.
        let found = with_retry(shared, &step.resource, phase, attempts, || {
            let provider = provider.clone();
            let as_recorded = &as_recorded;
            async move {
                match provider.find(as_recorded).await {
                    // A same-named resource owned by someone else is not ours to delete.
                    Err(e) if e.class == ErrorClass::AlreadyExists => Ok(None),
                    other => other,
                }
            }
        })
        .await;
        match found {
            Ok(Some(outputs)) => prior.outputs = outputs,
            Ok(None) => {
                return shared
                    .record(JournalRecord::Removed {
                        resource: step.resource.clone(),
                    })
                    .await
                    .map_err(OpError::Store)
            }
            Err(e) => return Err(fail(shared, &step.resource, Mutation::Delete, e, false).await),
        }
    }
    let prior = prior;
    let result = with_retry(shared, &step.resource, phase, attempts, || {
        let provider = provider.clone();
        let prior = &prior;
        let id = &as_recorded.id;
        async move {
            match provider.delete(id, prior).await {
                Err(e) if e.class == ErrorClass::NotFound => Ok(()),
                other => other,
            }
        }
    })
    .await;
    match result {
        Ok(()) => shared
            .record(JournalRecord::Removed {
                resource: step.resource.clone(),
            })
            .await
            .map_err(OpError::Store),
        Err(e) => Err(fail(shared, &step.resource, Mutation::Delete, e, false).await),
    }
}

/// Moves `id`'s recorded resource aside ([`State::superseded`](glinfra_core::State))
/// before a create-first replacement creates its new one, so the record of the
/// old one survives anything that happens next. A placeholder (a create that was
/// never recorded) is not a resource and stays where it is.
async fn supersede(shared: &Shared, id: &str) -> Result<(), OpError> {
    if current(shared, id).is_some_and(|r| r.exists()) {
        shared
            .record(JournalRecord::Superseded {
                resource: id.to_string(),
            })
            .await?;
    }
    Ok(())
}

/// Deletes every old resource that create-first replacements of `step`'s resource
/// left (or, retained, forgets it). No `begin` record is needed: each stays in
/// [`State::superseded`](glinfra_core::State) until its deletion is recorded, so a
/// run killed meanwhile deletes it again next time.
async fn delete_superseded(
    shared: &Shared,
    step: &Step,
    attempts: &mut u32,
) -> Result<(), OpError> {
    let old: Vec<ResourceState> = shared
        .state
        .lock()
        .expect("state lock")
        .superseded
        .get(&step.resource)
        .cloned()
        .unwrap_or_default();
    for copy in old {
        if !step.retain && !copy.lifecycle.retain_on_delete && copy.exists() {
            let provider = shared.provider.clone();
            let result = with_retry(
                shared,
                &step.resource,
                OpPhase::DeleteReplaced,
                attempts,
                || {
                    let provider = provider.clone();
                    let copy = &copy;
                    async move {
                        match provider.delete(&step.resource, copy).await {
                            Err(e) if e.class == ErrorClass::NotFound => Ok(()),
                            other => other,
                        }
                    }
                },
            )
            .await;
            if let Err(e) = result {
                return Err(OpError::Provider(e));
            }
        }
        shared
            .record(JournalRecord::SupersededRemoved {
                resource: step.resource.clone(),
                outputs: copy.outputs.clone(),
            })
            .await?;
    }
    Ok(())
}
