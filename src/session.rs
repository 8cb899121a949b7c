//! [`Session`]: plan and apply stacks against one provider and one state backend
//! (a local directory by default, or S3: [`BackendUrl`]).

use crate::backend::BackendUrl;
use glinfra_aws::{ApiCallCounter, ApiCalls, AwsProvider};
use glinfra_core::input::resolve_refs;
use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::reference::RecordedOutputs;
use glinfra_core::{Plan, ReferenceError, ResourceGraph, Stack, StackReference};
use glinfra_core::{Refreshed, State};
use glinfra_engine::{
    apply, refresh, ApplyError, ApplyOptions, ApplyReport, Backend, LeaseConfig, LocalStateStore,
    LockInfo, Observer, Program, Provider, RefreshError, RefreshOptions, RefreshStats, StackLock,
    StackRead, StoreError,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Errors of a session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The state store failed or the stack is locked.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The plan was refused.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The cloud could not be read.
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    /// `import` named a logical id the program does not declare.
    #[error("the program declares no resource `{0}`: declare it first, then import")]
    NotDeclared(String),
    /// `import` named a resource state already manages.
    #[error("`{0}` is already managed by this stack (see `state show {0}`)")]
    AlreadyManaged(String),
    /// `import` of a kind whose driver cannot import yet.
    #[error("{0} cannot be imported yet")]
    NotImportable(glinfra_core::Kind),
    /// The cloud refused or failed a call.
    #[error("{0}")]
    Provider(#[from] glinfra_engine::ProviderError),
    /// Another stack's output could not be read (its stack not applied, the
    /// output not recorded).
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// A stack's output did not have the type its reader asked for.
    #[error("output `{output}` of stack `{stack}` is not a {expected}: {problem}")]
    OutputType {
        /// The stack read.
        stack: String,
        /// The output read.
        output: String,
        /// The type asked for.
        expected: &'static str,
        /// What did not fit.
        problem: String,
    },
    /// The program, its references resolved, fails validation.
    #[error("{0}")]
    Invalid(glinfra_core::Diagnostics),
    /// A failover was refused (`crate::failover`); nothing was changed.
    #[error(transparent)]
    Failover(#[from] crate::failover::FailoverError),
}

/// Plans and applies stacks through one provider, with state in one backend.
pub struct Session {
    pub(crate) provider: Arc<dyn Provider>,
    aws: Option<AwsProvider>,
    backend: Arc<dyn Backend>,
    backend_calls: Option<ApiCallCounter>,
    pub(crate) options: ApplyOptions,
}

impl Session {
    /// A session against AWS through the standard configuration (credential chain,
    /// profiles, `AWS_ENDPOINT_URL`...), with state under `state_dir`.
    pub async fn aws(state_dir: impl Into<PathBuf>) -> Session {
        Session::aws_with(&BackendUrl::Local(state_dir.into()), LeaseConfig::default()).await
    }

    /// A session against AWS through the standard configuration, with state in
    /// `backend` (`s3://BUCKET/PREFIX`: the same configuration reaches the bucket;
    /// its locks leased as `lease` says).
    pub async fn aws_with(backend: &BackendUrl, lease: LeaseConfig) -> Session {
        let aws = AwsProvider::from_env().await;
        let (backend, backend_calls): (Arc<dyn Backend>, _) = match backend {
            BackendUrl::Local(dir) => (Arc::new(LocalStateStore::new(dir)), None),
            BackendUrl::S3(location) => {
                // Counted apart, so the drivers' counts stay the infrastructure's.
                let counter = ApiCallCounter::new();
                let clients = aws.clients().with_counter(counter.clone());
                (
                    Arc::new(glinfra_aws::backend::s3_backend(&clients, location, lease)),
                    Some(counter),
                )
            }
        };
        Session {
            provider: Arc::new(aws.clone()),
            aws: Some(aws),
            backend,
            backend_calls,
            options: ApplyOptions::default(),
        }
    }

    /// A session over any provider (the in-memory fake, say).
    pub fn with_provider(provider: Arc<dyn Provider>, state_dir: impl Into<PathBuf>) -> Session {
        Session::with_backend(provider, Arc::new(LocalStateStore::new(state_dir)))
    }

    /// A session over any provider and any backend.
    pub fn with_backend(provider: Arc<dyn Provider>, backend: Arc<dyn Backend>) -> Session {
        Session {
            provider,
            aws: None,
            backend,
            backend_calls: None,
            options: ApplyOptions::default(),
        }
    }

    /// Where state lives.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The API calls the state backend made (an S3 backend; `None` for a local one).
    pub fn backend_calls(&self) -> Option<ApiCalls> {
        self.backend_calls.as_ref().map(ApiCallCounter::snapshot)
    }

    /// Sets the executor options (concurrency, retries).
    pub fn set_options(&mut self, options: ApplyOptions) {
        self.options = options;
    }

    /// The executor options.
    pub fn options(&self) -> &ApplyOptions {
        &self.options
    }

    /// The AWS provider, when this session talks to AWS (for its API-call counts).
    pub fn aws_provider(&self) -> Option<&AwsProvider> {
        self.aws.as_ref()
    }

    /// Takes the stack's lock for this session's run, at once or not at all (naming
    /// its holder). A remote lock whose lease expired is taken over
    /// ([`StackLock::took_over`] says whose). Release it with [`StackLock::release`]
    /// when done (dropping it releases it too, as soon as the runtime can).
    pub async fn lock(&self, stack: &str) -> Result<Arc<StackLock>, Error> {
        Ok(Arc::new(
            self.backend.lock(stack, &self.options.run_id).await?,
        ))
    }

    /// The stack's state without its lock (what `plan` reads, and what another
    /// stack may read of this one). Writes nothing.
    pub async fn read(&self, stack: &str) -> Result<StackRead, Error> {
        Ok(self.backend.read(stack).await?)
    }

    /// Who holds the stack's lock now, if anyone.
    pub async fn holder(&self, stack: &str) -> Result<Option<LockInfo>, Error> {
        Ok(self.backend.holder(stack).await?)
    }

    /// Removes the stack's lock if its id is `lock_id`; the lock it overrode.
    pub async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<LockInfo, Error> {
        Ok(self.backend.force_unlock(stack, lock_id).await?)
    }

    /// Plans the changes that take the recorded state to `graph`. No AWS call.
    pub async fn plan(&self, lock: &StackLock, graph: &ResourceGraph) -> Result<Plan, Error> {
        Ok(plan(graph, &lock.load().await?))
    }

    /// Plans deleting everything recorded. No AWS call.
    pub async fn plan_destroy(&self, lock: &StackLock) -> Result<Plan, Error> {
        Ok(plan_destroy(&lock.load().await?))
    }

    /// Reads the live cloud for every kind and region the stack records or `graph`
    /// declares (a few batched calls per kind and region) and reconciles it with
    /// recorded state: resources `graph` declares that carry the stack's tags but
    /// are not recorded are adopted, others deleted (all of them, when `destroy`).
    /// Writes nothing: see [`Session::save`].
    pub async fn refresh(
        &self,
        lock: &StackLock,
        graph: &ResourceGraph,
        destroy: bool,
    ) -> Result<(Refreshed, RefreshStats), Error> {
        self.refresh_state(&lock.load().await?, graph, destroy)
            .await
    }

    /// [`Session::refresh`] from `state` as given (read without the lock, for a plan).
    pub async fn refresh_state(
        &self,
        state: &State,
        graph: &ResourceGraph,
        destroy: bool,
    ) -> Result<(Refreshed, RefreshStats), Error> {
        let program = Program::of(
            graph.in_order().map(|d| (&d.id, d.kind, d.region.as_str())),
            !destroy,
        );
        let options = RefreshOptions {
            concurrency: self.options.concurrency,
            retry: self.options.retry.clone(),
        };
        let (mut refreshed, stats) =
            refresh(self.provider.clone(), state, &program, &options).await?;
        // Lifecycle options are the program's: record them (protection outlives
        // the declaration), with no call to make.
        for decl in graph.in_order() {
            if let Some(r) = refreshed.state.resources.get_mut(&decl.id) {
                if r.lifecycle != decl.lifecycle {
                    r.lifecycle = decl.lifecycle.clone();
                    refreshed.state.serial = state.serial + 1;
                }
            }
        }
        Ok((refreshed, stats))
    }

    /// The plan that takes `refreshed` state to `graph` (or, with no graph, deletes
    /// everything), with the drift the refresh found.
    pub fn plan_refreshed(&self, graph: Option<&ResourceGraph>, refreshed: &Refreshed) -> Plan {
        glinfra_core::refresh::plan_refreshed(
            graph,
            &refreshed.state,
            &refreshed.drift,
            &Default::default(),
        )
    }

    /// Records `state` (a refreshed state) as the stack's state, when it differs.
    pub async fn save(&self, lock: &StackLock, state: &State) -> Result<(), Error> {
        if lock.load().await? != *state {
            lock.save(state).await?;
        }
        Ok(())
    }

    /// Takes the existing AWS resource `aws_id`, not made by glinfra, under the
    /// declared logical id `id`: puts the ownership tags on it, records it as it is,
    /// and returns the plan from there to the program (the diff to review).
    pub async fn import(
        &self,
        lock: &StackLock,
        graph: &ResourceGraph,
        id: &str,
        aws_id: &str,
    ) -> Result<Plan, Error> {
        let decl = graph
            .get(id)
            .ok_or_else(|| Error::NotDeclared(id.to_string()))?;
        let mut state = lock.load().await?;
        if state.resources.contains_key(id) {
            return Err(Error::AlreadyManaged(id.to_string()));
        }
        let resolved = glinfra_engine::ResolvedResource::resolve(lock.stack(), decl, &state)?;
        let live = self
            .provider
            .import(&resolved, aws_id)
            .await?
            .ok_or(Error::NotImportable(decl.kind))?;
        state.resources.insert(
            id.to_string(),
            glinfra_core::ResourceState {
                kind: decl.kind,
                region: decl.region.clone(),
                props: live.props.unwrap_or(resolved.props),
                tags: live.tags,
                outputs: live.outputs,
                dependencies: decl.dependencies(),
                pending: None,
                lifecycle: decl.lifecycle.clone(),
            },
        );
        state.released.remove(id);
        state.serial += 1;
        lock.save(&state).await?;
        Ok(plan(graph, &state))
    }

    /// The recorded state.
    pub async fn state(&self, lock: &StackLock) -> Result<State, Error> {
        Ok(lock.load().await?)
    }

    /// Applies `plan`, reporting progress to `observer`.
    pub async fn apply(
        &self,
        lock: Arc<StackLock>,
        plan: &Plan,
        observer: Arc<dyn Observer>,
    ) -> Result<ApplyReport, Error> {
        Ok(apply(
            self.provider.clone(),
            lock,
            plan,
            self.options.clone(),
            observer,
        )
        .await?)
    }

    /// The outputs `stack` recorded at its last apply, read without its lock
    /// (`None`: it has no state).
    pub async fn recorded_outputs(
        &self,
        stack: &str,
    ) -> Result<Option<BTreeMap<String, Value>>, Error> {
        let read = self.backend.read(stack).await?;
        Ok((read.state.serial > 0 || !read.state.resources.is_empty())
            .then_some(read.state.outputs))
    }

    /// `reader`'s reference's output `name`, as a `T`: read now from the
    /// referenced stack's recorded state, without its lock.
    pub async fn stack_output<T: serde::de::DeserializeOwned>(
        &self,
        reader: &str,
        reference: &StackReference,
        name: &str,
    ) -> Result<T, Error> {
        let referenced = reference.stack().to_string();
        let outputs = self.recorded_outputs(&referenced).await?;
        let mut recorded = RecordedOutputs::new();
        recorded.insert(referenced.clone(), outputs);
        let mut probe = Stack::new(reader, "us-east-1");
        probe.reference(&referenced);
        probe.export(name, reference.output(name));
        let resolved = probe.resolve_references(&recorded)?;
        let value = serde_json::to_value(&resolved.exports()[0].1).expect("inputs serialise");
        serde_json::from_value(value).map_err(|e| Error::OutputType {
            stack: referenced,
            output: name.to_string(),
            expected: std::any::type_name::<T>(),
            problem: e.to_string(),
        })
    }

    /// `stack` with every referenced output read from the backend (without the
    /// referenced stacks' locks) and put in, validated again: what a plan needs.
    pub async fn resolve(&self, stack: &Stack) -> Result<(Stack, ResourceGraph), Error> {
        let mut recorded = RecordedOutputs::new();
        for name in stack.referenced_stacks() {
            recorded.insert(name.clone(), self.recorded_outputs(name).await?);
        }
        let resolved = stack.resolve_references(&recorded)?;
        let graph = ResourceGraph::build(&resolved).map_err(Error::Invalid)?;
        Ok((resolved, graph))
    }

    /// Records `stack`'s exported outputs in its state, where other stacks read
    /// them; returns them.
    pub async fn record_outputs(
        &self,
        lock: &StackLock,
        stack: &Stack,
    ) -> Result<BTreeMap<String, Value>, Error> {
        let mut state = lock.load().await?;
        // A destroyed stack exports nothing.
        let outputs = if state.resources.is_empty() {
            BTreeMap::new()
        } else {
            outputs_of(&state, stack)
        };
        if state.outputs != outputs {
            state.outputs = outputs.clone();
            state.serial += 1;
            lock.save(&state).await?;
        }
        Ok(outputs)
    }

    /// The stack's exported outputs, resolved from recorded state.
    pub async fn outputs(
        &self,
        lock: &StackLock,
        stack: &Stack,
    ) -> Result<BTreeMap<String, Value>, Error> {
        Ok(outputs_of(&lock.load().await?, stack))
    }
}

/// `stack`'s exported outputs, resolved from `state` (null where not yet known).
pub fn outputs_of(state: &State, stack: &Stack) -> BTreeMap<String, Value> {
    stack
        .exports()
        .iter()
        .map(|(name, input)| {
            let v = serde_json::to_value(input).expect("inputs serialise");
            let resolved = resolve_refs(&v, &mut |r| {
                state
                    .resources
                    .get(&r.resource)
                    .and_then(|s| s.outputs.get(&r.output))
                    .cloned()
                    .unwrap_or(Value::Null)
            });
            (name.clone(), resolved)
        })
        .collect()
}
