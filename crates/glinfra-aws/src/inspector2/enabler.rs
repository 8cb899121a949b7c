//! The Inspector enabler driver: scanning of resource types in the account and region.
//!
//! Enable with the spec's types, then BatchGetAccountStatus until each is ENABLED;
//! Disable of the types no longer wanted (or, on a delete, of the spec's), then
//! until each is DISABLED. Inspector takes no tags on an account's status and
//! there is one per account and region: the resource is found by what it is
//! (every type of the spec ENABLED or ENABLING is this resource, adopted; Enable of
//! an enabled type changes nothing), and a refresh reads the account's status (a
//! resource whose types are all disabled is gone).

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{like, Live, Scope};
use crate::kit::wait::{self, Poll, POLL};
use crate::kit::{Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_inspector2::types::{FailedAccount, ResourceScanType, Status};
use aws_sdk_inspector2::Client;
use glinfra_core::spec::inspector2::{InspectorEnablerOutputs, InspectorEnablerSpec, ScanType};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long Inspector may take to enable or disable a resource type.
const DEADLINE: Duration = Duration::from_secs(10 * 60);

/// The driver of `aws:inspector2/enabler`.
pub(crate) struct EnablerDriver;

/// The account's id and the status of each resource type's scanning.
type AccountStatus = (String, BTreeMap<ScanType, Status>);

/// BatchGetAccountStatus of the caller's account.
async fn status(ins: &Client) -> Result<AccountStatus, ProviderError> {
    let out = ins
        .batch_get_account_status()
        .send()
        .await
        .map_err(|e| classify("BatchGetAccountStatus", e))?;
    if let Some(failed) = out.failed_accounts().first() {
        return Err(failure("BatchGetAccountStatus", failed));
    }
    let Some(account) = out.accounts().first() else {
        return Err(ProviderError::new(
            ErrorClass::Retryable,
            "BatchGetAccountStatus answered no account",
        ));
    };
    let mut types = BTreeMap::new();
    if let Some(r) = account.resource_state() {
        let states = [
            (ScanType::Ec2, r.ec2()),
            (ScanType::Ecr, r.ecr()),
            (ScanType::Lambda, r.lambda()),
            (ScanType::LambdaCode, r.lambda_code()),
        ];
        for (t, state) in states {
            if let Some(state) = state {
                types.insert(t, state.status().clone());
            }
        }
    }
    Ok((account.account_id().to_string(), types))
}

fn failure(op: &str, f: &FailedAccount) -> ProviderError {
    ProviderError::new(
        ErrorClass::Fatal,
        format!(
            "{op}: account {} failed: {} ({})",
            f.account_id(),
            f.error_message(),
            f.error_code().as_str()
        ),
    )
    .code(f.error_code().as_str())
}

fn sdk_types(types: &[ScanType]) -> Vec<ResourceScanType> {
    types
        .iter()
        .map(|t| ResourceScanType::from(t.as_str()))
        .collect()
}

fn on(s: Option<&Status>) -> bool {
    matches!(s, Some(Status::Enabled | Status::Enabling))
}

/// Waits until each of `types` has the status `want`.
async fn wait_for(ins: &Client, types: &[ScanType], want: Status) -> Result<String, ProviderError> {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    wait::until(
        &format!(
            "Inspector scanning of {} to be {}",
            names.join(", "),
            want.as_str()
        ),
        DEADLINE,
        POLL,
        || async {
            let (account, live) = status(ins).await?;
            let pending: Vec<String> = types
                .iter()
                .filter(|t| live.get(t) != Some(&want))
                .map(|t| format!("{t} {}", live.get(t).map_or("unknown", |s| s.as_str())))
                .collect();
            Ok(if pending.is_empty() {
                Poll::Ready(account)
            } else {
                Poll::Pending(pending.join(", "))
            })
        },
    )
    .await
}

async fn enable(ins: &Client, types: &[ScanType]) -> Result<(), ProviderError> {
    let out = ins
        .enable()
        .set_resource_types(Some(sdk_types(types)))
        .send()
        .await
        .map_err(|e| classify("Enable", e))?;
    match out.failed_accounts().first() {
        Some(f) => Err(failure("Enable", f)),
        None => Ok(()),
    }
}

async fn disable(ins: &Client, types: &[ScanType]) -> Result<(), ProviderError> {
    let out = ins
        .disable()
        .set_resource_types(Some(sdk_types(types)))
        .send()
        .await
        .map_err(|e| classify("Disable", e))?;
    match out.failed_accounts().first() {
        Some(f) => Err(failure("Disable", f)),
        None => Ok(()),
    }
}

#[async_trait]
impl Driver for EnablerDriver {
    type Spec = InspectorEnablerSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<InspectorEnablerSpec>,
    ) -> Result<Option<InspectorEnablerOutputs>, ProviderError> {
        let ins = c.inspector2(&r.region);
        let (_, live) = status(&ins).await?;
        if !r.spec.resource_types.iter().all(|t| on(live.get(t))) {
            return Ok(None);
        }
        let account_id = wait_for(&ins, &r.spec.resource_types, Status::Enabled).await?;
        Ok(Some(InspectorEnablerOutputs { account_id }))
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<InspectorEnablerSpec>,
    ) -> Result<InspectorEnablerOutputs, ProviderError> {
        let ins = c.inspector2(&r.region);
        enable(&ins, &r.spec.resource_types).await?;
        let account_id = wait_for(&ins, &r.spec.resource_types, Status::Enabled).await?;
        Ok(InspectorEnablerOutputs { account_id })
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<InspectorEnablerSpec>,
        r: &Desired<InspectorEnablerSpec>,
        changed: Changed<'_>,
    ) -> Result<InspectorEnablerOutputs, ProviderError> {
        if !changed.has("resource_types") {
            return Ok(prior.outputs.clone());
        }
        let ins = c.inspector2(&r.region);
        let want = &r.spec.resource_types;
        let dropped: Vec<ScanType> = prior
            .spec
            .resource_types
            .iter()
            .filter(|t| !want.contains(t))
            .copied()
            .collect();
        enable(&ins, want).await?;
        if !dropped.is_empty() {
            disable(&ins, &dropped).await?;
            wait_for(&ins, &dropped, Status::Disabled).await?;
        }
        let account_id = wait_for(&ins, want, Status::Enabled).await?;
        Ok(InspectorEnablerOutputs { account_id })
    }

    /// One BatchGetAccountStatus for the region: the recorded resource (one per
    /// account and region) is the types enabled now, in the recorded order, or gone
    /// when none is.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<InspectorEnablerSpec>,
    ) -> Result<Option<Vec<Live<InspectorEnablerSpec>>>, ProviderError> {
        if scope.recorded.is_empty() {
            return Ok(Some(Vec::new())); // nothing to read: no call
        }
        let (account_id, live) = status(&c.inspector2(&scope.region)).await?;
        let enabled: Vec<ScanType> = ScanType::ALL
            .iter()
            .filter(|t| on(live.get(t)))
            .copied()
            .collect();
        if enabled.is_empty() {
            return Ok(Some(Vec::new()));
        }
        Ok(Some(
            scope
                .recorded
                .iter()
                .map(|r| Live {
                    id: r.id.clone(),
                    outputs: InspectorEnablerOutputs {
                        account_id: account_id.clone(),
                    },
                    tags: Default::default(),
                    spec: Some(InspectorEnablerSpec {
                        resource_types: like(enabled.clone(), Some(&r.spec.resource_types)),
                    }),
                })
                .collect(),
        ))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<InspectorEnablerSpec>,
    ) -> Result<(), ProviderError> {
        let ins = c.inspector2(&prior.region);
        let (_, live) = status(&ins).await?;
        let types = &prior.spec.resource_types;
        if types
            .iter()
            .all(|t| matches!(live.get(t), None | Some(Status::Disabled)))
        {
            return Ok(());
        }
        disable(&ins, types).await?;
        wait_for(&ins, types, Status::Disabled).await.map(|_| ())
    }
}
