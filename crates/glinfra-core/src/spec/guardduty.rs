//! Amazon GuardDuty: the detector of an account and region (seed 8.1, `guardduty: true`).

use super::closed_set;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};

closed_set! {
    /// How often GuardDuty publishes updated findings (`FindingPublishingFrequency`).
    FindingFrequency, "finding publishing frequency" {
        /// Every 15 minutes.
        FifteenMinutes = "FIFTEEN_MINUTES",
        /// Every hour.
        OneHour = "ONE_HOUR",
        /// Every six hours (GuardDuty's default).
        SixHours = "SIX_HOURS",
    }
}

closed_set! {
    /// A detector feature CreateDetector and UpdateDetector take (`DetectorFeature`).
    DetectorFeature, "GuardDuty detector feature" {
        /// S3 data events (S3 Protection).
        S3DataEvents = "S3_DATA_EVENTS",
        /// EKS audit logs (EKS Protection).
        EksAuditLogs = "EKS_AUDIT_LOGS",
        /// Malware scans of EBS volumes.
        EbsMalwareProtection = "EBS_MALWARE_PROTECTION",
        /// RDS login events (RDS Protection).
        RdsLoginEvents = "RDS_LOGIN_EVENTS",
        /// EKS runtime monitoring (superseded by `RUNTIME_MONITORING`; not with it).
        EksRuntimeMonitoring = "EKS_RUNTIME_MONITORING",
        /// Lambda network activity logs.
        LambdaNetworkLogs = "LAMBDA_NETWORK_LOGS",
        /// Runtime monitoring of EKS, ECS and EC2.
        RuntimeMonitoring = "RUNTIME_MONITORING",
    }
}

/// The GuardDuty detector of the stack's account and region (CreateDetector).
///
/// There is at most one detector per account and region: a create that meets one
/// carrying this resource's ownership tags adopts it; one without glinfra tags is
/// refused with the command that imports it (`import ... <detector id>`), one of
/// another stack's is refused naming it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:guardduty/detector", one_per = "account-region", outputs(detector_id: String, arn: String))]
pub struct GuardDutyDetectorSpec {
    /// Whether the detector is enabled (UpdateDetector changes it in place).
    pub enable: bool,
    /// How often updated findings are published (UpdateDetector).
    pub finding_publishing_frequency: FindingFrequency,
    /// The features turned on; every other feature of [`DetectorFeature`] that was
    /// on is turned off by an update (UpdateDetector, `Features`).
    #[serde(default)]
    pub features: Vec<DetectorFeature>,
}

impl ResourceSpec for GuardDutyDetectorSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.features {
            if !seen.insert(*f) {
                cx.error("features", format!("`{f}` is listed twice"));
            }
        }
        if seen.contains(&DetectorFeature::RuntimeMonitoring)
            && seen.contains(&DetectorFeature::EksRuntimeMonitoring)
        {
            cx.error(
                "features",
                "`RUNTIME_MONITORING` includes EKS and cannot be enabled with `EKS_RUNTIME_MONITORING` (GuardDuty User Guide, \"Runtime Monitoring\"): keep one",
            );
        }
    }
}
