//! Test scaffolding shared by the drivers' SDK-mock tests.

use crate::clients::Clients;
use crate::metrics::ApiCallCounter;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use std::sync::{Arc, Mutex};

/// Builds `Clients` whose `$service` client for `$region` answers from mock `$rules`
/// (in `$mode`); further builder calls (`retry_config(..)`) may follow.
macro_rules! mock_clients {
    ($sdk:ident, $service:literal, $region:expr, $mode:expr, $rules:expr $(, $extra:ident($($arg:expr),*))* $(,)?) => {{
        let client = $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new($region))
                .credentials_provider($sdk::config::Credentials::new("AKID", "SECRET", None, None, "test"))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                $(.$extra($($arg),*))*
                .interceptor($crate::test_support::interceptor($mode, $rules))
                .build(),
        );
        let clients = $crate::test_support::empty_clients();
        clients.insert($service, $region, client);
        clients
    }};
}
pub(crate) use mock_clients;

/// An interceptor answering from `rules` in `mode`.
pub(crate) fn interceptor(mode: RuleMode, rules: &[&Rule]) -> MockResponseInterceptor {
    rules
        .iter()
        .fold(MockResponseInterceptor::new().rule_mode(mode), |i, rule| {
            i.with_rule(rule)
        })
}

/// `Clients` with nothing cached yet.
pub(crate) fn empty_clients() -> Clients {
    Clients::from_config(
        aws_types::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build(),
        ApiCallCounter::new(),
    )
}

/// The error metadata of a service error with `code`.
pub(crate) fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message(format!("{code} (test)"))
        .build()
}

/// Records every request a rule sees: the list, and a matcher to give the rule.
pub(crate) fn recorder<T: Clone + Send + 'static>() -> (
    Arc<Mutex<Vec<T>>>,
    impl Fn(&T) -> bool + Send + Sync + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (seen, move |req: &T| {
        sink.lock().unwrap().push(req.clone());
        true
    })
}
