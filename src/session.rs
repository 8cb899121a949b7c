//! [`Session`]: plan and apply stacks against one provider and one state directory.

use glinfra_aws::AwsProvider;
use glinfra_core::input::resolve_refs;
use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::{Plan, ResourceGraph, Stack};
use glinfra_engine::{
    apply, ApplyError, ApplyOptions, ApplyReport, LocalStateStore, Observer, Provider, StackLock,
    StoreError,
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
}

/// Plans and applies stacks through one provider, with state in one directory.
pub struct Session {
    provider: Arc<dyn Provider>,
    aws: Option<AwsProvider>,
    store: LocalStateStore,
    options: ApplyOptions,
}

impl Session {
    /// A session against AWS through the standard configuration (credential chain,
    /// profiles, `AWS_ENDPOINT_URL`...), with state under `state_dir`.
    pub async fn aws(state_dir: impl Into<PathBuf>) -> Session {
        let aws = AwsProvider::from_env().await;
        Session {
            provider: Arc::new(aws.clone()),
            aws: Some(aws),
            store: LocalStateStore::new(state_dir),
            options: ApplyOptions::default(),
        }
    }

    /// A session over any provider (the in-memory fake, say).
    pub fn with_provider(provider: Arc<dyn Provider>, state_dir: impl Into<PathBuf>) -> Session {
        Session {
            provider,
            aws: None,
            store: LocalStateStore::new(state_dir),
            options: ApplyOptions::default(),
        }
    }

    /// Sets the executor options (concurrency, retries).
    pub fn set_options(&mut self, options: ApplyOptions) {
        self.options = options;
    }

    /// The AWS provider, when this session talks to AWS (for its API-call counts).
    pub fn aws_provider(&self) -> Option<&AwsProvider> {
        self.aws.as_ref()
    }

    /// Takes the stack's lock, at once or not at all.
    pub fn lock(&self, stack: &str) -> Result<Arc<StackLock>, Error> {
        Ok(Arc::new(self.store.lock(stack)?))
    }

    /// Plans the changes that take the recorded state to `graph`. No AWS call.
    pub fn plan(&self, lock: &StackLock, graph: &ResourceGraph) -> Result<Plan, Error> {
        Ok(plan(graph, &lock.load()?))
    }

    /// Plans deleting everything recorded. No AWS call.
    pub fn plan_destroy(&self, lock: &StackLock) -> Result<Plan, Error> {
        Ok(plan_destroy(&lock.load()?))
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

    /// The stack's exported outputs, resolved from recorded state.
    pub fn outputs(
        &self,
        lock: &StackLock,
        stack: &Stack,
    ) -> Result<BTreeMap<String, Value>, Error> {
        let state = lock.load()?;
        Ok(stack
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
            .collect())
    }
}
