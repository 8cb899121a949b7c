//! Counting the API calls a run makes, by service and operation, through an SDK interceptor.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Counts every HTTP request (each attempt) the SDK clients send.
#[derive(Clone, Debug, Default)]
pub struct ApiCallCounter {
    calls: Arc<Mutex<BTreeMap<(String, String), u64>>>,
}

/// A snapshot of the counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApiCalls {
    /// Requests by `service:Operation`.
    pub by_operation: BTreeMap<String, u64>,
    /// All requests.
    pub total: u64,
    /// Requests to operations that change something (not Describe/Get/BatchGet/List/Head).
    pub mutating: u64,
}

/// True for operations that only read.
pub fn is_read_only(operation: &str) -> bool {
    ["Describe", "Get", "BatchGet", "List", "Head"]
        .iter()
        .any(|p| operation.starts_with(p))
}

impl ApiCallCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts so far.
    pub fn snapshot(&self) -> ApiCalls {
        let calls = self.calls.lock().expect("counter lock");
        let mut out = ApiCalls::default();
        for ((service, op), n) in calls.iter() {
            out.by_operation.insert(format!("{service}:{op}"), *n);
            out.total += n;
            if !is_read_only(op) {
                out.mutating += n;
            }
        }
        out
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        self.calls.lock().expect("counter lock").clear();
    }
}

impl Intercept for ApiCallCounter {
    fn name(&self) -> &'static str {
        "glinfra::ApiCallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, op) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_string(), m.name().to_string()))
            .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
        *self
            .calls
            .lock()
            .expect("counter lock")
            .entry((service, op))
            .or_default() += 1;
        Ok(())
    }
}
