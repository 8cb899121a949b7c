//! The GuardDuty detector driver.
//!
//! There is at most one detector per account and region. CreateDetector takes the
//! engine's idempotency token (`clientToken`), the tags, the publishing frequency
//! and every feature (on or off, so the detector is what the spec says rather
//! than GuardDuty's defaults); UpdateDetector changes them in place; DeleteDetector
//! removes it. GetDetector answers with the tags, so a find is ListDetectors and
//! GetDetector of the one listed: it is ours when it carries this resource's
//! ownership tags. A detector already there without them is not adopted: the
//! create is refused with the command that imports it; one of another stack's is
//! refused naming it.
//!
//! GuardDuty answers a detector id it does not know with `BadRequestException`
//! (not a NotFound code), so "gone" is decided by ListDetectors.
//! GuardDuty returns no detector ARN; it is built from the account id (STS
//! GetCallerIdentity) for the tagging calls.

use super::account_id;
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{like, Live, Scope};
use crate::kit::tags;
use crate::kit::{
    ensure_importable, ensure_owned, owner_of, partition, Changed, Desired, Recorded,
};
use async_trait::async_trait;
use aws_sdk_guardduty::operation::get_detector::GetDetectorOutput;
use aws_sdk_guardduty::types::{
    DetectorFeature as SdkFeature, DetectorFeatureConfiguration, DetectorStatus, FeatureStatus,
    FindingPublishingFrequency,
};
use aws_sdk_guardduty::Client;
use glinfra_core::spec::guardduty::{
    DetectorFeature, FindingFrequency, GuardDutyDetectorOutputs, GuardDutyDetectorSpec,
};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;

/// The driver of `aws:guardduty/detector`.
pub(crate) struct DetectorDriver;

/// The detector of the account and region, if there is one (ListDetectors).
async fn listed(gd: &Client) -> Result<Option<String>, ProviderError> {
    let out = gd
        .list_detectors()
        .send()
        .await
        .map_err(|e| classify("ListDetectors", e))?;
    Ok(out.detector_ids().first().cloned())
}

async fn get(gd: &Client, id: &str) -> Result<GetDetectorOutput, ProviderError> {
    gd.get_detector()
        .detector_id(id)
        .send()
        .await
        .map_err(|e| classify(&format!("GetDetector {id}"), e))
}

/// The detector's ARN in `region` of `account`.
fn arn(region: &str, account: &str, id: &str) -> String {
    format!(
        "arn:{}:guardduty:{region}:{account}:detector/{id}",
        partition(region)
    )
}

async fn outputs(
    c: &Clients,
    region: &str,
    id: &str,
) -> Result<GuardDutyDetectorOutputs, ProviderError> {
    let account = account_id(&c.sts(region)).await?;
    Ok(GuardDutyDetectorOutputs {
        detector_id: id.to_string(),
        arn: arn(region, &account, id),
    })
}

/// Every feature as the request sets it: on when the spec lists it, off otherwise.
/// `RUNTIME_MONITORING` and `EKS_RUNTIME_MONITORING` may not be in one request:
/// the one the spec lists is sent (`RUNTIME_MONITORING` when neither is).
fn features(spec: &GuardDutyDetectorSpec) -> Vec<DetectorFeatureConfiguration> {
    let eks_runtime = spec
        .features
        .contains(&DetectorFeature::EksRuntimeMonitoring);
    DetectorFeature::ALL
        .iter()
        .filter(|f| match f {
            DetectorFeature::EksRuntimeMonitoring => eks_runtime,
            DetectorFeature::RuntimeMonitoring => !eks_runtime,
            _ => true,
        })
        .map(|f| {
            let on = spec.features.contains(f);
            DetectorFeatureConfiguration::builder()
                .name(SdkFeature::from(f.as_str()))
                .status(if on {
                    FeatureStatus::Enabled
                } else {
                    FeatureStatus::Disabled
                })
                .build()
        })
        .collect()
}

fn frequency(spec: &GuardDutyDetectorSpec) -> FindingPublishingFrequency {
    FindingPublishingFrequency::from(spec.finding_publishing_frequency.as_str())
}

/// What the detector is as a spec; the features in the recorded order when the same.
fn live_spec(
    d: &GetDetectorOutput,
    recorded: Option<&GuardDutyDetectorSpec>,
) -> GuardDutyDetectorSpec {
    let on: Vec<DetectorFeature> = d
        .features()
        .iter()
        .filter(|f| f.status() == Some(&FeatureStatus::Enabled))
        .filter_map(|f| f.name()?.as_str().parse().ok())
        .collect();
    let frequency = d
        .finding_publishing_frequency()
        .and_then(|f| f.as_str().parse().ok());
    GuardDutyDetectorSpec {
        enable: d.status() == Some(&DetectorStatus::Enabled),
        finding_publishing_frequency: frequency
            .or(recorded.map(|r| r.finding_publishing_frequency))
            .unwrap_or(FindingFrequency::SixHours),
        features: like(on, recorded.map(|r| r.features.as_slice())),
    }
}

async fn update_detector(
    gd: &Client,
    id: &str,
    spec: &GuardDutyDetectorSpec,
) -> Result<(), ProviderError> {
    gd.update_detector()
        .detector_id(id)
        .enable(spec.enable)
        .finding_publishing_frequency(frequency(spec))
        .set_features(Some(features(spec)))
        .send()
        .await
        .map_err(|e| classify(&format!("UpdateDetector {id}"), e))?;
    Ok(())
}

/// The AlreadyExists error of a detector that is not `r`'s: there is one per
/// account and region.
fn taken(id: &str, live: &BTreeMap<String, String>) -> ProviderError {
    ProviderError::new(
        ErrorClass::AlreadyExists,
        format!(
            "this account and region have GuardDuty detector {id} already (one per account and region), which belongs to {}; to manage it here, import it (`import <logical id> {id}`)",
            owner_of(live)
        ),
    )
}

#[async_trait]
impl Driver for DetectorDriver {
    type Spec = GuardDutyDetectorSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<GuardDutyDetectorSpec>,
    ) -> Result<Option<GuardDutyDetectorOutputs>, ProviderError> {
        let gd = c.guardduty(&r.region);
        let Some(id) = listed(&gd).await? else {
            return Ok(None);
        };
        let d = get(&gd, &id).await?;
        let live = tags::from_map(d.tags());
        ensure_owned(&format!("GuardDuty detector {id}"), &live, r)
            .map_err(|_| taken(&id, &live).resource(&r.id))?;
        outputs(c, &r.region, &id).await.map(Some)
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<GuardDutyDetectorSpec>,
    ) -> Result<GuardDutyDetectorOutputs, ProviderError> {
        let gd = c.guardduty(&r.region);
        let made = gd
            .create_detector()
            .enable(r.spec.enable)
            .finding_publishing_frequency(frequency(&r.spec))
            .set_features(Some(features(&r.spec)))
            .set_tags(Some(tags::to_map(&r.owned_tags())))
            .set_client_token(r.token())
            .send()
            .await
            .map_err(|e| classify("CreateDetector", e));
        match made {
            Ok(out) => {
                let id = crate::kit::required(out.detector_id(), "CreateDetector detectorId")?;
                outputs(c, &r.region, id).await
            }
            // "a detector already exists for the current account": ours, or refused.
            Err(err) if err.has_code(&["BadRequestException"]) => match self.find(c, r).await? {
                Some(found) => {
                    update_detector(&gd, &found.detector_id, &r.spec).await?;
                    Ok(found)
                }
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<GuardDutyDetectorSpec>,
        r: &Desired<GuardDutyDetectorSpec>,
        changed: Changed<'_>,
    ) -> Result<GuardDutyDetectorOutputs, ProviderError> {
        let gd = c.guardduty(&r.region);
        let id = prior.outputs.detector_id.as_str();
        if changed.any(&["enable", "finding_publishing_frequency", "features"]) {
            update_detector(&gd, id, &r.spec).await?;
        }
        tags::update(&gd, &prior.outputs.arn, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// ListDetectors (one per account and region) and GetDetector of the one
    /// listed, which carries its tags: two calls whatever the stack.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<GuardDutyDetectorSpec>,
    ) -> Result<Option<Vec<Live<GuardDutyDetectorSpec>>>, ProviderError> {
        let gd = c.guardduty(&scope.region);
        let Some(id) = listed(&gd).await? else {
            return Ok(Some(Vec::new()));
        };
        let d = get(&gd, &id).await?;
        let live = tags::from_map(d.tags());
        let Some(logical) = scope.owned(&live) else {
            return Ok(Some(Vec::new()));
        };
        let recorded = scope.recorded(&logical);
        let outputs = match recorded {
            Some(r) if r.outputs.detector_id == id => r.outputs.clone(),
            _ => outputs(c, &scope.region, &id).await?,
        };
        Ok(Some(vec![Live {
            spec: Some(live_spec(&d, recorded.map(|r| &r.spec))),
            id: logical,
            outputs,
            tags: live,
        }]))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<GuardDutyDetectorSpec>,
    ) -> Result<(), ProviderError> {
        let gd = c.guardduty(&prior.region);
        let id = prior.outputs.detector_id.as_str();
        if listed(&gd).await?.as_deref() != Some(id) {
            return Ok(()); // gone
        }
        gd.delete_detector()
            .detector_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteDetector {id}"), e))?;
        Ok(())
    }

    /// Takes the account's detector `aws_id` (one made outside glinfra, as AWS
    /// Organizations or the console leave them): tags it and reads it.
    async fn import(
        &self,
        c: &Clients,
        r: &Desired<GuardDutyDetectorSpec>,
        aws_id: &str,
    ) -> Result<Option<Live<GuardDutyDetectorSpec>>, ProviderError> {
        let gd = c.guardduty(&r.region);
        let d = get(&gd, aws_id).await?;
        let live = tags::from_map(d.tags());
        ensure_importable(aws_id, &live, r)?;
        let out = outputs(c, &r.region, aws_id).await?;
        // The ownership tags are added; the resource's own tags stay.
        let (set, _) = tags::delta(&live, &r.owned_tags());
        tags::apply(&gd, &out.arn, &set, &[]).await?;
        Ok(Some(Live {
            id: r.id.clone(),
            spec: Some(live_spec(&d, None)),
            outputs: out,
            tags: live.into_iter().chain(r.owned_tags()).collect(),
        }))
    }
}
