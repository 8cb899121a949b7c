//! Refresh: read the live cloud for every (kind, region) of a stack, concurrently,
//! and reconcile it with recorded state (the pure part is `glinfra_core::refresh`).

use crate::executor::RetryPolicy;
use crate::provider::{Provider, ProviderError};
use glinfra_core::refresh::{reconcile, Scope};
use glinfra_core::{Kind, Observed, Refreshed, ResourceId, ResourceState, State};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Refresh settings.
#[derive(Clone, Debug)]
pub struct RefreshOptions {
    /// Reads in flight at once.
    pub concurrency: usize,
    /// Retry policy for throttled and transient reads.
    pub retry: RetryPolicy,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        RefreshOptions {
            concurrency: 16,
            retry: RetryPolicy::default(),
        }
    }
}

/// A refresh that could not read part of the cloud. Nothing is concluded from a
/// partial read: a kind that could not be read is not taken for deleted.
#[derive(Debug, thiserror::Error)]
#[error("refresh could not read {}: {}", .failures.len(), describe(.failures))]
pub struct RefreshError {
    /// Each (kind, region) that failed, with its error.
    pub failures: Vec<(Kind, String, ProviderError)>,
}

fn describe(failures: &[(Kind, String, ProviderError)]) -> String {
    failures
        .iter()
        .map(|(k, r, e)| format!("{k} in {r}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a refresh did, besides its result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefreshStats {
    /// (kind, region) scopes read.
    pub scopes_read: usize,
    /// Scopes whose kind the provider cannot read.
    pub scopes_unreadable: usize,
    /// Resources observed live.
    pub observed: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// What a refresh looks at besides recorded state: the program's declarations.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// The (kind, region) of every declaration: read even when state records none
    /// of them, so what carries the stack's tags there is found.
    pub scan: BTreeSet<Scope>,
    /// The logical ids the program keeps: found unrecorded, they are adopted;
    /// others found unrecorded are deleted. Empty for a destroy.
    pub declared: BTreeSet<ResourceId>,
}

impl Program {
    /// The program of `declarations` (id, kind, region); `keep` false for a destroy.
    pub fn of<'a>(
        declarations: impl IntoIterator<Item = (&'a ResourceId, Kind, &'a str)>,
        keep: bool,
    ) -> Program {
        let mut p = Program::default();
        for (id, kind, region) in declarations {
            p.scan.insert((kind, region.to_string()));
            if keep {
                p.declared.insert(id.clone());
            }
        }
        p
    }
}

/// Reads every (kind, region) that `state` records or `program` declares through
/// `provider`, concurrently, and reconciles the result with `state`. A resource of
/// a kind and region neither recorded nor declared is not looked for.
pub async fn refresh(
    provider: Arc<dyn Provider>,
    state: &State,
    program: &Program,
    options: &RefreshOptions,
) -> Result<(Refreshed, RefreshStats), RefreshError> {
    let started = Instant::now();
    let mut scopes: BTreeMap<Scope, Vec<(ResourceId, ResourceState)>> = BTreeMap::new();
    for (id, r) in &state.resources {
        scopes
            .entry((r.kind, r.region.clone()))
            .or_default()
            .push((id.clone(), r.clone()));
    }
    for scope in &program.scan {
        scopes.entry(scope.clone()).or_default();
    }
    let gate = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut reads = tokio::task::JoinSet::new();
    for ((kind, region), recorded) in scopes {
        let provider = provider.clone();
        let gate = gate.clone();
        let stack = state.stack.clone();
        let retry = options.retry.clone();
        reads.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            let mut attempt = 0;
            let answer = loop {
                attempt += 1;
                match provider.observe(&stack, kind, &region, &recorded).await {
                    Err(e) if e.class.is_retryable() && attempt < retry.max_attempts => {
                        tokio::time::sleep(retry.delay(attempt)).await;
                    }
                    other => break other,
                }
            };
            (kind, region, answer)
        });
    }
    let mut read = BTreeSet::new();
    let mut observed: Vec<Observed> = Vec::new();
    let mut failures = Vec::new();
    let mut stats = RefreshStats::default();
    while let Some(done) = reads.join_next().await {
        let (kind, region, answer) = done.expect("refresh reads do not panic");
        match answer {
            Ok(Some(seen)) => {
                stats.scopes_read += 1;
                observed.extend(seen);
                read.insert((kind, region));
            }
            Ok(None) => stats.scopes_unreadable += 1,
            Err(e) => failures.push((kind, region, e)),
        }
    }
    if !failures.is_empty() {
        failures.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        return Err(RefreshError { failures });
    }
    stats.observed = observed.len();
    let refreshed = reconcile(state, &program.declared, &read, observed);
    stats.elapsed = started.elapsed();
    Ok((refreshed, stats))
}
