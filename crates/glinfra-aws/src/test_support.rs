//! Test scaffolding shared by the drivers' SDK-mock tests.

use crate::clients::Clients;
use crate::metrics::ApiCallCounter;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use glinfra_engine::{ErrorClass, ProviderError};
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

/// `ok_rule!(Client::op(see) -> OpOutput)`: a rule for `op` that hands each request
/// to the matcher `see` (a [`recorder`]'s) and answers `OpOutput`, built empty: a
/// call that succeeds.
macro_rules! ok_rule {
    ($($op:ident)::+ ($see:expr) -> $output:ident) => {
        aws_smithy_mocks::mock!($($op)::+)
            .match_requests($see)
            .then_output(|| $output::builder().build())
    };
}
pub(crate) use ok_rule;

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

/// The requests a rule saw, in order.
pub(crate) type Seen<T> = Arc<Mutex<Vec<T>>>;

/// Records every request a rule sees: the list, and a matcher to give the rule.
pub(crate) fn recorder<T: Clone + Send + 'static>(
) -> (Seen<T>, impl Fn(&T) -> bool + Send + Sync + 'static) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (seen, move |req: &T| {
        sink.lock().unwrap().push(req.clone());
        true
    })
}

/// Asserts that every mock rule answered exactly one call.
pub(crate) fn all_used(rules: &[Rule]) {
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(
            rule.num_calls(),
            1,
            "rule #{i} was called {} times",
            rule.num_calls()
        );
    }
}

/// The field names an update is told changed, for `Changed` (none: every field).
pub(crate) fn changed(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| f.to_string()).collect()
}

/// `driver.update` from `prior` to `r`, naming `fields` as changed (none: every field).
pub(crate) async fn update<D: crate::driver::Driver>(
    driver: &D,
    c: &Clients,
    prior: &crate::kit::Recorded<D::Spec>,
    r: &crate::kit::Desired<D::Spec>,
    fields: &[&str],
) -> Result<crate::driver::Out<D>, ProviderError> {
    let fields = changed(fields);
    driver
        .update(c, prior, r, crate::kit::Changed(&fields))
        .await
}

/// Asserts that `err` is of `class` and that its message names `part`.
#[track_caller]
pub(crate) fn assert_error(err: &ProviderError, class: ErrorClass, part: &str) {
    assert_eq!(err.class, class, "{err}");
    assert!(err.message.contains(part), "{err}");
}

/// The ownership tags of resource `id` of `stack`, with one more user tag.
pub(crate) fn owner_tags(stack: &str, id: &str) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([
        (glinfra_core::TAG_STACK.to_string(), stack.to_string()),
        (glinfra_core::TAG_LOGICAL_ID.to_string(), id.to_string()),
        ("team".to_string(), "platform".to_string()),
    ])
}

/// A resource of spec `spec` as a driver receives it.
pub(crate) fn desired<S: glinfra_core::ResourceSpec>(
    stack: &str,
    id: &str,
    region: &str,
    spec: S,
) -> crate::kit::Desired<S> {
    let tags = if S::KIND.taggable() {
        owner_tags(stack, id)
    } else {
        Default::default()
    };
    crate::kit::Desired {
        stack: stack.into(),
        id: id.into(),
        region: region.into(),
        spec,
        tags,
        token: None,
        superseded: Default::default(),
    }
}

/// What the executor does for a create whose end was not recorded: `find` the
/// resource `r`, which must be there, then `delete` it as recorded with the outputs found.
pub(crate) async fn delete_found<D: crate::driver::Driver>(
    driver: &D,
    c: &Clients,
    r: &crate::kit::Desired<D::Spec>,
) {
    let found = driver.find(c, r).await.unwrap().expect("found");
    driver.delete(c, &recorded(r, found)).await.unwrap();
}

/// A recorded resource with `outputs`, as `update` and `delete` receive it.
pub(crate) fn recorded<S: glinfra_core::ResourceSpec>(
    r: &crate::kit::Desired<S>,
    outputs: S::Outputs,
) -> crate::kit::Recorded<S> {
    crate::kit::Recorded::adopted(r, outputs)
}

/// The refresh scope of stack `stack` in `region`, with `recorded` resources.
pub(crate) fn scope<S: glinfra_core::ResourceSpec>(
    stack: &str,
    region: &str,
    recorded: Vec<crate::kit::Recorded<S>>,
) -> crate::kit::live::Scope<S> {
    crate::kit::live::Scope {
        stack: stack.to_string(),
        region: region.to_string(),
        recorded,
        tagged: None,
    }
}

/// `r` as the engine hands it to a create: with the idempotency token it derives
/// for a create that began at state serial `serial`.
pub(crate) fn with_token<S: glinfra_core::ResourceSpec>(
    mut r: crate::kit::Desired<S>,
    serial: u64,
) -> crate::kit::Desired<S> {
    let props = serde_json::to_value(&r.spec).expect("specs serialise");
    r.token = Some(glinfra_engine::IdempotencyToken::for_create(
        &r.stack, &r.id, serial, &props, &r.tags,
    ));
    r
}
