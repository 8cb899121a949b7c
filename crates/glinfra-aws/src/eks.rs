//! Drivers for the eks resource kinds. (Being written.)

use crate::clients::Clients;
use glinfra_core::ResourceState;
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};

fn unimplemented(what: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Fatal,
        format!("eks driver: {what} is not implemented yet"),
    )
}

pub(crate) async fn find(
    _c: &Clients,
    _r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    Err(unimplemented("find"))
}

pub(crate) async fn create(_c: &Clients, _r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    Err(unimplemented("create"))
}

pub(crate) async fn update(
    _c: &Clients,
    _prior: &ResourceState,
    _r: &ResolvedResource,
    _changed: &[String],
) -> Result<Outputs, ProviderError> {
    Err(unimplemented("update"))
}

pub(crate) async fn delete(
    _c: &Clients,
    _id: &str,
    _prior: &ResourceState,
) -> Result<(), ProviderError> {
    Err(unimplemented("delete"))
}
