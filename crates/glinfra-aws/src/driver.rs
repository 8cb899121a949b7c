//! The [`Driver`] trait, one implementation per kind, and the registry that
//! binds each kind to its driver: the one place a kind is registered.

use crate::clients::Clients;
use crate::kit::live::{Live, Scope};
use crate::kit::tagged;
use crate::kit::{Changed, Desired, Recorded};
use async_trait::async_trait;
use glinfra_core::{Declared, Kind, Observed, ResourceId, ResourceSpec, ResourceState};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use std::collections::HashMap;

/// The typed outputs of a driver's kind.
pub(crate) type Out<D> = <<D as Driver>::Spec as Declared>::Outputs;

/// How glinfra reaches one kind of AWS resource. Every method is idempotent: the
/// executor calls it again after a retryable failure, and a killed run calls it
/// again on the next run (`create` may meet what it made, `delete` what is gone).
/// Drivers decide *how*, never *what*: they do not diff specs.
#[async_trait]
pub(crate) trait Driver: Send + Sync + 'static {
    /// The spec of the kind this driver handles.
    type Spec: ResourceSpec;

    /// The Resource Groups Tagging API's name of the kind's service (`s3`, `kms`,
    /// ...) when a refresh reads the kind's tags in bulk ([`crate::kit::tagged`]),
    /// handing them to [`Driver::observe`] in [`Scope::tagged`]; `None` (the
    /// default) for kinds whose listings carry their tags, or that take none.
    const TAGGING: Option<&'static str> = None;

    /// Looks for the resource carrying `r`'s ownership tags (or, for untagged
    /// kinds, its natural key). Read-only. A same-named resource owned by someone
    /// else is an AlreadyExists error, never adopted.
    async fn find(
        &self,
        c: &Clients,
        r: &Desired<Self::Spec>,
    ) -> Result<Option<Out<Self>>, ProviderError>;

    /// Creates the resource, waits until it is usable, and returns its outputs.
    async fn create(
        &self,
        c: &Clients,
        r: &Desired<Self::Spec>,
    ) -> Result<Out<Self>, ProviderError>;

    /// Changes the fields in `changed` of the resource recorded as `prior` to match `r`.
    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<Self::Spec>,
        r: &Desired<Self::Spec>,
        changed: Changed<'_>,
    ) -> Result<Out<Self>, ProviderError>;

    /// Deletes the resource recorded as `prior` and waits until it is gone.
    /// Gone already is success.
    async fn delete(&self, c: &Clients, prior: &Recorded<Self::Spec>) -> Result<(), ProviderError>;

    /// Reads every resource of this kind in `scope.region` carrying `scope.stack`'s
    /// ownership tag, in as few calls as the API allows (one paginated list or
    /// describe; kinds that take no tags read their recorded resources through
    /// their parents). What is not returned does not exist. Every kind implements
    /// it (`None` would leave a kind's recorded resources unread).
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<Self::Spec>,
    ) -> Result<Option<Vec<Live<Self::Spec>>>, ProviderError>;

    /// Takes the existing resource `aws_id`, not made by glinfra, as `r`: checks no
    /// other stack owns it, puts the ownership tags on it, and reads it (fields it
    /// cannot read are taken from `r`). `None`: this kind cannot be imported yet.
    async fn import(
        &self,
        c: &Clients,
        r: &Desired<Self::Spec>,
        aws_id: &str,
    ) -> Result<Option<Live<Self::Spec>>, ProviderError> {
        let _ = (c, r, aws_id);
        Ok(None)
    }

    /// Brings in line with `r` the resource of `outputs` that a create met, made by
    /// an earlier attempt: an update of every field ([`Changed::ALL`]) from the
    /// state `r` wants ([`Recorded::adopted`]).
    async fn adopt(
        &self,
        c: &Clients,
        r: &Desired<Self::Spec>,
        outputs: Out<Self>,
    ) -> Result<Out<Self>, ProviderError> {
        let prior = Recorded::adopted(r, outputs);
        self.update(c, &prior, r, Changed::ALL).await
    }
}

/// A driver with its types erased, as the provider holds it.
#[async_trait]
pub(crate) trait AnyDriver: Send + Sync {
    fn kind(&self) -> Kind;
    async fn find(
        &self,
        c: &Clients,
        r: &ResolvedResource,
    ) -> Result<Option<Outputs>, ProviderError>;
    async fn create(&self, c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError>;
    async fn update(
        &self,
        c: &Clients,
        prior: &ResourceState,
        r: &ResolvedResource,
        changed: &[String],
    ) -> Result<Outputs, ProviderError>;
    async fn delete(
        &self,
        c: &Clients,
        id: &str,
        prior: &ResourceState,
    ) -> Result<(), ProviderError>;
    async fn observe(
        &self,
        c: &Clients,
        stack: &str,
        region: &str,
        recorded: &[(ResourceId, ResourceState)],
    ) -> Result<Option<Vec<Observed>>, ProviderError>;
    async fn import(
        &self,
        c: &Clients,
        r: &ResolvedResource,
        aws_id: &str,
    ) -> Result<Option<Observed>, ProviderError>;
}

/// A typed live resource of `kind` in `region`, as the engine receives it.
fn observed<S: ResourceSpec>(
    kind: Kind,
    region: &str,
    l: Live<S>,
) -> Result<Observed, ProviderError> {
    let outputs = answer(kind, &l.id, Ok(l.outputs))?;
    Ok(Observed {
        props: l
            .spec
            .map(|s| serde_json::to_value(s).expect("specs serialise")),
        id: l.id,
        kind,
        region: region.to_string(),
        tags: l.tags,
        outputs,
    })
}

/// What a driver's operation on resource `id` of `kind` answered, as the provider
/// returns it: its outputs as a map, or its error naming `id`.
fn answer<O: serde::Serialize>(
    kind: Kind,
    id: &str,
    answered: Result<O, ProviderError>,
) -> Result<Outputs, ProviderError> {
    match serde_json::to_value(answered.map_err(|e| e.resource(id))?) {
        Ok(serde_json::Value::Object(map)) => Ok(map.into_iter().collect()),
        _ => Err(ProviderError::new(
            ErrorClass::Fatal,
            format!("{kind}: outputs do not serialise to an object"),
        )),
    }
}

#[async_trait]
impl<D: Driver> AnyDriver for D {
    fn kind(&self) -> Kind {
        <D::Spec as Declared>::KIND
    }

    async fn find(
        &self,
        c: &Clients,
        r: &ResolvedResource,
    ) -> Result<Option<Outputs>, ProviderError> {
        let found = Driver::find(self, c, &Desired::from_resolved(r)?).await;
        let found = found.transpose();
        found.map(|o| answer(self.kind(), &r.id, o)).transpose()
    }

    async fn create(&self, c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
        let made = Driver::create(self, c, &Desired::from_resolved(r)?).await;
        answer(self.kind(), &r.id, made)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &ResourceState,
        r: &ResolvedResource,
        changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        let recorded = Recorded::from_state(&r.id, prior)?;
        let desired = Desired::from_resolved(r)?;
        let updated = Driver::update(self, c, &recorded, &desired, Changed(changed)).await;
        answer(self.kind(), &r.id, updated)
    }

    async fn delete(
        &self,
        c: &Clients,
        id: &str,
        prior: &ResourceState,
    ) -> Result<(), ProviderError> {
        let recorded = Recorded::<D::Spec>::from_state(id, prior)?;
        Driver::delete(self, c, &recorded)
            .await
            .map_err(|e| e.resource(id))
    }

    async fn observe(
        &self,
        c: &Clients,
        stack: &str,
        region: &str,
        recorded: &[(ResourceId, ResourceState)],
    ) -> Result<Option<Vec<Observed>>, ProviderError> {
        let recorded: Vec<Recorded<D::Spec>> = recorded
            .iter()
            .filter(|(_, r)| r.exists() && r.pending.is_none())
            .map(|(id, r)| Recorded::from_state(id, r))
            .collect::<Result<_, _>>()?;
        let tagged = match D::TAGGING {
            Some(service) if !recorded.is_empty() => {
                Some(tagged::Pending::start(c, region, stack, service))
            }
            _ => None,
        };
        let scope = Scope {
            stack: stack.to_string(),
            region: region.to_string(),
            recorded,
            tagged,
        };
        let Some(live) = Driver::observe(self, c, &scope).await? else {
            return Ok(None);
        };
        live.into_iter()
            .map(|l| observed(self.kind(), region, l))
            .collect::<Result<Vec<_>, ProviderError>>()
            .map(Some)
    }

    async fn import(
        &self,
        c: &Clients,
        r: &ResolvedResource,
        aws_id: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        let desired = Desired::from_resolved(r)?;
        let live = Driver::import(self, c, &desired, aws_id)
            .await
            .map_err(|e| e.resource(&r.id))?;
        live.map(|l| observed(self.kind(), &r.region, l))
            .transpose()
    }
}

/// Every kind's driver, by kind.
pub(crate) struct Registry {
    drivers: HashMap<Kind, Box<dyn AnyDriver>>,
}

impl Registry {
    /// The registry of `drivers`; a kind registered twice is a bug, caught here.
    pub fn of(drivers: Vec<Box<dyn AnyDriver>>) -> Registry {
        let mut map = HashMap::new();
        for d in drivers {
            let kind = d.kind();
            assert!(map.insert(kind, d).is_none(), "{kind} is registered twice");
        }
        Registry { drivers: map }
    }

    /// The driver of `kind`.
    pub fn get(&self, kind: Kind) -> Result<&dyn AnyDriver, ProviderError> {
        self.drivers.get(&kind).map(Box::as_ref).ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("no driver is registered for {kind}"),
            )
        })
    }

    /// The kinds that have a driver.
    pub fn kinds(&self) -> impl Iterator<Item = Kind> + '_ {
        self.drivers.keys().copied()
    }
}
