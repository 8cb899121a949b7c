//! A simulated AWS account, to measure schedules against (feature `test-util`).
//!
//! It implements [`Provider`] as a driver and AWS together would: every
//! operation is API requests, each a round trip, each counted against its
//! service's token bucket (`limits.rs`) and answered with the service's own
//! throttling error when the bucket is empty; a create is one mutating call and
//! then a wait, polling a describe until the resource is usable, after a latency
//! drawn from the table of [`crate::timing`] (an update and a delete likewise);
//! a new resource is invisible to describes for a short while (`world.rs`).
//! Waits go through the engine's one polling loop ([`crate::wait::poll`]), as
//! the AWS drivers' waits do, so the scheduler's pacing applies to them alike.
//!
//! It runs on tokio's clock: under a paused runtime (`start_paused = true`, or
//! [`tokio::time::pause`]) an hour of simulated AWS takes milliseconds.
//! Latencies are drawn from the seed, the stack, the logical id and the change
//! alone, so two runs of one draw (two schedulers, say) meet the same cloud, and
//! [`SimCloud::latency`] tells a benchmark what each operation took.

mod limits;
mod world;

pub use limits::Count;
pub use world::ACCOUNT;

use crate::batch::Batcher;
use crate::provider::{ErrorClass, Outputs, Provider, ProviderError, ResolvedResource};
use crate::timing::{CallClass, Change, Latency, Profile, Service, Variant};
use crate::wait::{self, Poll, Waited};
use async_trait::async_trait;
use glinfra_core::{Kind, Observed, ResourceId, ResourceState};
use limits::Limits;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use world::{owner, physical_id, Seen, SimResource, World};

/// How the simulated account behaves besides the latency table.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The draw: every latency follows from it.
    pub seed: u64,
    /// How long a new resource stays invisible to describes, in seconds. EC2
    /// documents eventual consistency of its API without a figure; a few
    /// seconds is what drivers meet.
    pub visibility: Latency,
    /// One request's round trip, in seconds.
    pub round_trip: Latency,
    /// How long a wait polls before giving up.
    pub deadline: Duration,
    /// Waits of one kind and region share one describe a poll, where the
    /// service's API reads many at once ([`Service::describe_batch`]); false: one
    /// describe per wait, as before shared polling.
    pub shared_polls: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            visibility: Latency { min: 0.0, max: 2.0 },
            round_trip: Latency {
                min: 0.05,
                max: 0.2,
            },
            deadline: Duration::from_secs(3 * 3600),
            shared_polls: true,
        }
    }
}

/// What the simulated account answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Every request, by service and class.
    pub by_service: BTreeMap<(Service, CallClass), Count>,
}

impl SimStats {
    /// Every request, all services together.
    pub fn total(&self) -> Count {
        self.by_service
            .values()
            .fold(Count::default(), |a, c| Count {
                calls: a.calls + c.calls,
                throttled: a.throttled + c.throttled,
            })
    }
}

/// The simulated account.
pub struct SimCloud {
    config: SimConfig,
    world: Mutex<World>,
    limits: Mutex<Limits>,
    requests: AtomicU64,
    polls: Batcher<Seen>,
}

/// How long a shared poll gathers the waits of its kind and region.
const GATHER: Duration = Duration::from_millis(500);

impl SimCloud {
    /// An empty account.
    pub fn new(config: SimConfig) -> Self {
        SimCloud {
            config,
            world: Mutex::new(World::default()),
            limits: Mutex::new(Limits::default()),
            requests: AtomicU64::new(0),
            polls: Batcher::new(GATHER),
        }
    }

    /// The requests made so far.
    pub fn stats(&self) -> SimStats {
        SimStats {
            by_service: self.limits.lock().expect("limits").counts().clone(),
        }
    }

    /// How many resources exist.
    pub fn resources(&self) -> usize {
        self.world.lock().expect("world").len()
    }

    /// How long `change` of `stack`'s `id` takes in this draw, given its profile.
    pub fn latency(&self, stack: &str, id: &str, profile: Profile) -> Duration {
        let u = self.quantile(&(stack, id, change_tag(profile.change)));
        Duration::from_secs_f64(profile.latency().at(u))
    }

    /// A number in [0, 1) that follows from the seed and `key` alone.
    fn quantile(&self, key: &impl Hash) -> f64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.config.seed.hash(&mut h);
        key.hash(&mut h);
        // The top 53 bits, as a fraction.
        (h.finish() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One request: its round trip, then the service's limit. Throttled: the
    /// service's own error code, classified Throttled.
    async fn request(
        &self,
        service: Service,
        region: &str,
        class: CallClass,
        operation: &str,
    ) -> Result<(), ProviderError> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let trip = self.config.round_trip.at(self.quantile(&("request", n)));
        tokio::time::sleep(Duration::from_secs_f64(trip)).await;
        let admitted =
            self.limits
                .lock()
                .expect("limits")
                .admit(service, region, class, Instant::now());
        if admitted {
            Ok(())
        } else {
            let code = service.throttling_code();
            Err(ProviderError::new(
                ErrorClass::Throttled,
                format!("{operation}: {code}: Rate exceeded"),
            )
            .operation(operation)
            .code(code))
        }
    }

    /// Polls a describe of `id` until `done` says what it saw is the end of the
    /// wait (a Fatal error past the deadline, as the kit's waits fail). Polls of
    /// one kind and region share one describe of all their ids where the service
    /// reads many at once.
    async fn wait_for(
        &self,
        kind: Kind,
        region: &str,
        id: &str,
        done: fn(&Seen) -> bool,
    ) -> Result<(), ProviderError> {
        let service = Service::of(kind);
        let describe = operation("Describe", kind);
        let limit = if self.config.shared_polls {
            service.describe_batch()
        } else {
            1
        };
        let waited = wait::poll_shared(
            self.config.deadline,
            Duration::from_secs(2),
            Duration::from_secs(10),
            || async {
                let seen = self
                    .polls
                    .observe(kind, region, id, limit, |ids| async {
                        self.request(service, region, CallClass::Describe, &describe)
                            .await?;
                        let mut world = self.world.lock().expect("world");
                        let now = Instant::now();
                        Ok(ids
                            .into_iter()
                            .map(|i| {
                                let seen = world.describe(&i, now);
                                (i, seen)
                            })
                            .collect())
                    })
                    .await?
                    .unwrap_or(Seen::Absent);
                Ok(if done(&seen) {
                    Poll::Ready(())
                } else {
                    Poll::Pending(format!("{seen:?}"))
                })
            },
        )
        .await?;
        match waited {
            Waited::Ready(()) => Ok(()),
            Waited::GaveUp(seen) => Err(ProviderError::new(
                ErrorClass::Fatal,
                format!("gave up waiting for {id} (still {seen})"),
            )),
        }
    }
}

fn change_tag(change: Change) -> u8 {
    match change {
        Change::Create => 0,
        Change::Update => 1,
        Change::Delete => 2,
    }
}

/// `CreateVpc`, `DescribeDbInstance`: the operation's name, for messages.
fn operation(verb: &str, kind: Kind) -> String {
    let short = kind.type_name().rsplit('/').next().unwrap_or("");
    let camel: String = short
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    format!("{verb}{camel}")
}

fn not_found(id: &str) -> ProviderError {
    ProviderError::new(ErrorClass::NotFound, format!("{id} not found")).code("NotFound")
}

#[async_trait]
impl Provider for SimCloud {
    async fn find(&self, r: &ResolvedResource) -> Result<Option<Outputs>, ProviderError> {
        let service = Service::of(r.kind);
        self.request(
            service,
            &r.region,
            CallClass::Describe,
            &operation("Describe", r.kind),
        )
        .await?;
        let (stack, logical_id) = owner(&r.tags, &r.stack, &r.id);
        Ok(self.world.lock().expect("world").find(
            &stack,
            &logical_id,
            r.kind,
            &r.superseded,
            Instant::now(),
        ))
    }

    async fn create(&self, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
        let service = Service::of(r.kind);
        self.request(
            service,
            &r.region,
            CallClass::Mutate,
            &operation("Create", r.kind),
        )
        .await?;
        let profile = Profile {
            kind: r.kind,
            change: Change::Create,
            variant: Variant::resolved(r.kind, &r.region, &r.props),
        };
        let (stack, logical_id) = owner(&r.tags, &r.stack, &r.id);
        let now = Instant::now();
        let ready = self.latency(&r.stack, &r.id, profile);
        let visible = Duration::from_secs_f64(
            self.config
                .visibility
                .at(self.quantile(&("visible", &r.stack, &r.id))),
        );
        let (id, outputs) = self.world.lock().expect("world").insert(SimResource {
            stack,
            logical_id,
            kind: r.kind,
            region: r.region.clone(),
            props: r.props.clone(),
            tags: r.tags.clone(),
            outputs: Outputs::new(),
            visible_at: now + visible,
            busy_until: now + ready,
            gone_at: None,
        });
        self.wait_for(r.kind, &r.region, &id, |s| *s == Seen::Ready)
            .await?;
        Ok(outputs)
    }

    async fn update(
        &self,
        prior: &ResourceState,
        r: &ResolvedResource,
        _changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        let service = Service::of(r.kind);
        self.request(
            service,
            &r.region,
            CallClass::Mutate,
            &operation("Modify", r.kind),
        )
        .await?;
        let id = physical_id(&prior.outputs).unwrap_or_default();
        let profile = Profile {
            kind: r.kind,
            change: Change::Update,
            variant: Variant::resolved(r.kind, &r.region, &r.props),
        };
        let took = self.latency(&r.stack, &r.id, profile);
        let outputs = {
            let mut world = self.world.lock().expect("world");
            let x = world.get_mut(&id).ok_or_else(|| not_found(&id))?;
            x.props = r.props.clone();
            x.tags = r.tags.clone();
            x.busy_until = Instant::now() + took;
            x.outputs.clone()
        };
        self.wait_for(r.kind, &r.region, &id, |s| *s == Seen::Ready)
            .await?;
        Ok(outputs)
    }

    async fn delete(&self, logical_id: &str, prior: &ResourceState) -> Result<(), ProviderError> {
        let service = Service::of(prior.kind);
        self.request(
            service,
            &prior.region,
            CallClass::Mutate,
            &operation("Delete", prior.kind),
        )
        .await?;
        let id = physical_id(&prior.outputs).unwrap_or_default();
        let stack = prior
            .tags
            .get(glinfra_core::TAG_STACK)
            .cloned()
            .unwrap_or_default();
        let profile = Profile {
            kind: prior.kind,
            change: Change::Delete,
            variant: Variant::resolved(prior.kind, &prior.region, &prior.props),
        };
        let took = self.latency(&stack, logical_id, profile);
        {
            let mut world = self.world.lock().expect("world");
            let x = world.get_mut(&id).ok_or_else(|| not_found(&id))?;
            x.gone_at = Some(Instant::now() + took);
        }
        self.wait_for(prior.kind, &prior.region, &id, |s| *s == Seen::Absent)
            .await
    }

    async fn observe(
        &self,
        stack: &str,
        kind: Kind,
        region: &str,
        _recorded: &[(ResourceId, ResourceState)],
    ) -> Result<Option<Vec<Observed>>, ProviderError> {
        self.request(
            Service::of(kind),
            region,
            CallClass::Describe,
            &operation("Describe", kind),
        )
        .await?;
        Ok(Some(self.world.lock().expect("world").observe(
            stack,
            kind,
            region,
            Instant::now(),
        )))
    }
}
