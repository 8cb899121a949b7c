//! The simulated services' request limits: one token bucket per account,
//! service, region (global services: one for every region) and bucket, with the
//! rates of [`timing::Service::bucket`](crate::timing::Service::bucket), and the
//! count of every request and of those throttled.

use crate::pace::TokenBucket;
use crate::timing::{CallClass, Service};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use tokio::time::Instant;

/// Requests made and requests throttled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Every request (throttled ones included).
    pub calls: u64,
    /// Requests answered with the service's throttling error.
    pub throttled: u64,
}

impl Count {
    /// The throttled share of the requests (0 when there were none).
    pub fn throttled_share(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.throttled as f64 / self.calls as f64
        }
    }
}

#[derive(Default)]
pub(super) struct Limits {
    buckets: HashMap<crate::pace::BucketKey, TokenBucket>,
    counts: BTreeMap<(Service, CallClass), Count>,
}

impl Limits {
    /// Counts a request of `class` to `service` in `region` at `now`; false
    /// when its bucket is empty (the request is throttled).
    pub(super) fn admit(
        &mut self,
        service: Service,
        region: &str,
        class: CallClass,
        now: Instant,
    ) -> bool {
        let (name, rate) = service.bucket(class);
        let bucket = self
            .buckets
            .entry((service, service.scope(region).to_string(), name))
            .or_insert_with(|| TokenBucket::full(rate.burst, now));
        bucket.refill(now, rate.per_second);
        let ok = bucket.try_take();
        let count = self.counts.entry((service, class)).or_default();
        count.calls += 1;
        count.throttled += u64::from(!ok);
        ok
    }

    pub(super) fn counts(&self) -> &BTreeMap<(Service, CallClass), Count> {
        &self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn ec2_mutations_are_throttled_past_50_then_allowed_5_a_second() {
        let mut limits = Limits::default();
        let t0 = Instant::now();
        let admitted = (0..60)
            .filter(|_| limits.admit(Service::Ec2, "us-east-1", CallClass::Mutate, t0))
            .count();
        assert_eq!(admitted, 50, "the burst");
        assert!(
            limits.admit(Service::Ec2, "us-east-1", CallClass::Describe, t0),
            "reads have their own bucket"
        );
        assert!(
            limits.admit(Service::Ec2, "eu-west-1", CallClass::Mutate, t0),
            "and each region its own"
        );
        let t1 = t0 + Duration::from_secs(1);
        let admitted = (0..10)
            .filter(|_| limits.admit(Service::Ec2, "us-east-1", CallClass::Mutate, t1))
            .count();
        assert_eq!(admitted, 5, "refilled at 5 a second");
        let ec2 = limits.counts()[&(Service::Ec2, CallClass::Mutate)];
        assert_eq!((ec2.calls, ec2.throttled), (71, 15));
    }

    #[tokio::test(start_paused = true)]
    async fn route53_is_one_bucket_for_every_region() {
        let mut limits = Limits::default();
        let t0 = Instant::now();
        let admitted = ["us-east-1", "eu-west-1", "ap-southeast-1"]
            .iter()
            .cycle()
            .take(9)
            .filter(|r| limits.admit(Service::Route53, r, CallClass::Mutate, t0))
            .count();
        assert_eq!(admitted, 5, "five a second per account");
    }
}
