//! The MSK configuration driver.
//!
//! A configuration cannot carry ownership tags: CreateConfiguration takes no Tags,
//! and the kind is untaggable in glinfra (`r.tags` is empty). Its name is unique per
//! account and region, so the name is the natural key: `find` lists the
//! configurations and adopts the one of that name, whoever made it. The server
//! properties are sent as Java properties text, `key=value` lines sorted by key;
//! changing them makes a new revision (UpdateConfiguration), which becomes the
//! `latest_revision` output (a string, as clusters take it).

use super::{from_state, POLL};
use crate::clients::Clients;
use crate::error::classify;
use crate::wait::{self, Poll};
use aws_sdk_kafka::error::SdkError;
use aws_sdk_kafka::primitives::Blob;
use aws_sdk_kafka::types::{Configuration, ConfigurationState};
use aws_sdk_kafka::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::msk::MskConfigurationSpec;
use glinfra_core::ResourceState;
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a deleted configuration may take to go away.
const DELETE_DEADLINE: Duration = Duration::from_secs(10 * 60);

fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    e.code().map(str::to_owned)
}

fn outputs(arn: &str, revision: i64) -> Outputs {
    let mut out = Outputs::new();
    out.insert("arn".into(), Value::String(arn.to_string()));
    out.insert(
        "latest_revision".into(),
        Value::String(revision.to_string()),
    );
    out
}

fn missing(what: &str) -> ProviderError {
    ProviderError::new(ErrorClass::Fatal, format!("the {what} is missing"))
}

/// The outputs of a configuration as listed or described.
fn outputs_of(conf: &Configuration) -> Result<Outputs, ProviderError> {
    let arn = conf
        .arn()
        .ok_or_else(|| missing("arn of a listed configuration"))?;
    let revision = conf
        .latest_revision()
        .and_then(|r| r.revision())
        .ok_or_else(|| missing("revision of a listed configuration"))?;
    Ok(outputs(arn, revision))
}

/// A property key: what Kafka's own keys use, so it needs no escaping.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The server properties as Java properties text: `key=value` lines, sorted by key.
pub(super) fn properties_text(
    props: &BTreeMap<String, String>,
    what: &str,
) -> Result<String, ProviderError> {
    let mut text = String::new();
    for (key, value) in props {
        if !valid_key(key) {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!("{what}: server_properties key `{key}` must be letters, digits, `.`, `_` or `-`"),
            ));
        }
        if value.chars().any(|c| matches!(c, '\n' | '\r')) {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!("{what}: server_properties value of `{key}` must be one line"),
            ));
        }
        text.push_str(key);
        text.push('=');
        text.push_str(value);
        text.push('\n');
    }
    Ok(text)
}

/// Reads Java properties text (`key=value`, `key: value` or `key value` lines;
/// `#` and `!` comments), enough to compare a revision with a spec.
pub(super) fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut props = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let end = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
        let (key, rest) = line.split_at(end);
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix('=')
            .or_else(|| rest.strip_prefix(':'))
            .unwrap_or(rest);
        props.insert(key.to_string(), rest.trim().to_string());
    }
    props
}

/// The configuration named `name`, from ListConfigurations (all pages).
async fn lookup(kafka: &Client, name: &str) -> Result<Option<Configuration>, ProviderError> {
    let mut token: Option<String> = None;
    loop {
        let page = kafka
            .list_configurations()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| classify("ListConfigurations", e))?;
        if let Some(conf) = page
            .configurations()
            .iter()
            .find(|c| c.name() == Some(name))
        {
            return Ok(Some(conf.clone()));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(None),
        }
    }
}

/// DescribeConfiguration; `None` when there is no such configuration.
async fn describe(kafka: &Client, arn: &str) -> Result<Option<Configuration>, ProviderError> {
    match kafka.describe_configuration().arn(arn).send().await {
        Ok(out) => Ok(Some(
            Configuration::builder()
                .set_arn(out.arn().map(str::to_owned))
                .set_name(out.name().map(str::to_owned))
                .set_kafka_versions(Some(out.kafka_versions().to_vec()))
                .set_latest_revision(out.latest_revision().cloned())
                .set_state(out.state().cloned())
                .build(),
        )),
        Err(e) => {
            let err = classify(&format!("DescribeConfiguration {arn}"), e);
            if err.class == ErrorClass::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Waits until the configuration `arn` is gone.
async fn wait_gone(kafka: &Client, name: &str, arn: &str) -> Result<(), ProviderError> {
    wait::until(
        &format!("MSK configuration `{name}` deletion"),
        DELETE_DEADLINE,
        POLL,
        || async {
            match describe(kafka, arn).await? {
                None => Ok(Poll::Ready(())),
                Some(conf) if conf.state() == Some(&ConfigurationState::DeleteFailed) => {
                    Err(ProviderError::new(
                        ErrorClass::Retryable,
                        format!(
                            "MSK configuration `{name}` ({arn}): deletion failed (DELETE_FAILED)"
                        ),
                    ))
                }
                Some(conf) => Ok(Poll::Pending(
                    conf.state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "unknown".into()),
                )),
            }
        },
    )
    .await
}

pub(super) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: MskConfigurationSpec = r.spec()?;
    let kafka = c.kafka(&r.region);
    match lookup(&kafka, &spec.name).await? {
        None => Ok(None),
        Some(conf) => {
            if conf.state() == Some(&ConfigurationState::Deleting) {
                let arn = conf.arn().unwrap_or_default().to_string();
                wait_gone(&kafka, &spec.name, &arn).await?;
                return Ok(None);
            }
            // ACTIVE, or DELETE_FAILED (a delete refused, e.g. while a cluster used it):
            // the configuration is intact and its name taken, so it is adopted.
            if conf.kafka_versions() != spec.kafka_versions.as_slice() {
                tracing::warn!(
                    configuration = %spec.name,
                    found = ?conf.kafka_versions(),
                    wanted = ?spec.kafka_versions,
                    "adopted MSK configuration has other Kafka versions (they cannot be changed in place)"
                );
            }
            outputs_of(&conf).map(Some)
        }
    }
}

pub(super) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: MskConfigurationSpec = r.spec()?;
    let what = format!("MSK configuration `{}`", spec.name);
    let text = properties_text(&spec.server_properties, &what)?;
    let kafka = c.kafka(&r.region);
    let result = kafka
        .create_configuration()
        .name(&spec.name)
        .set_kafka_versions(Some(spec.kafka_versions.clone()))
        .server_properties(Blob::new(text.into_bytes()))
        .send()
        .await;
    match result {
        Ok(out) => {
            let arn = out
                .arn()
                .ok_or_else(|| missing("arn of CreateConfiguration"))?;
            let revision = out
                .latest_revision()
                .and_then(|r| r.revision())
                .ok_or_else(|| missing("revision of CreateConfiguration"))?;
            Ok(outputs(arn, revision))
        }
        Err(e) => {
            let code = code_of(&e);
            let err = classify(&format!("CreateConfiguration {}", spec.name), e);
            if code.as_deref() != Some("ConflictException") {
                return Err(err);
            }
            // The name is taken: by an earlier attempt of ours whose answer was lost, or
            // by anyone (a configuration has no ownership tags). Adopt it, as `find` does.
            match find(c, r).await? {
                Some(found) => reconcile(&kafka, &found, &spec, &what).await,
                None => Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!("{what}: the name was taken by a configuration that has gone since"),
                )),
            }
        }
    }
}

/// Makes the latest revision carry the spec's server properties; returns the outputs.
async fn reconcile(
    kafka: &Client,
    current: &Outputs,
    spec: &MskConfigurationSpec,
    what: &str,
) -> Result<Outputs, ProviderError> {
    let arn = current
        .get("arn")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::new(ErrorClass::Fatal, format!("{what}: no arn recorded")))?;
    let conf = describe(kafka, arn).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("{what}: configuration {arn} does not exist"),
        )
    })?;
    let latest = conf
        .latest_revision()
        .and_then(|r| r.revision())
        .ok_or_else(|| missing("revision of DescribeConfiguration"))?;
    let revision = kafka
        .describe_configuration_revision()
        .arn(arn)
        .revision(latest)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeConfigurationRevision {arn} {latest}"), e))?;
    let actual = revision
        .server_properties()
        .map(|b| parse_properties(&String::from_utf8_lossy(b.as_ref())))
        .unwrap_or_default();
    if actual == spec.server_properties {
        return Ok(outputs(arn, latest));
    }
    let text = properties_text(&spec.server_properties, what)?;
    let out = kafka
        .update_configuration()
        .arn(arn)
        .server_properties(Blob::new(text.into_bytes()))
        .send()
        .await
        .map_err(|e| classify(&format!("UpdateConfiguration {arn}"), e))?;
    let revision = out
        .latest_revision()
        .and_then(|r| r.revision())
        .ok_or_else(|| missing("revision of UpdateConfiguration"))?;
    Ok(outputs(arn, revision))
}

pub(super) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let spec: MskConfigurationSpec = r.spec()?;
    let wants = changed.is_empty() || changed.iter().any(|f| f == "server_properties");
    if !wants {
        return Ok(prior.outputs.clone());
    }
    let what = format!("MSK configuration `{}`", spec.name);
    reconcile(&c.kafka(&r.region), &prior.outputs, &spec, &what).await
}

pub(super) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let kafka = c.kafka(&prior.region);
    let arn = match prior.outputs.get("arn").and_then(Value::as_str) {
        Some(arn) => arn.to_string(),
        // A create interrupted before it was recorded: delete what it left, if anything.
        None => match find(c, &from_state(id, prior)).await? {
            Some(found) => found
                .get("arn")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            None => return Ok(()),
        },
    };
    let name = prior
        .props
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(id)
        .to_string();
    if let Err(e) = kafka.delete_configuration().arn(&arn).send().await {
        let code = code_of(&e);
        let mut err = classify(&format!("DeleteConfiguration {arn}"), e);
        match (err.class, code.as_deref()) {
            (ErrorClass::NotFound, _) => return Ok(()),
            // Refused while a cluster still uses it (one being deleted, or replaced).
            (_, Some("BadRequestException")) => {
                err.class = ErrorClass::Retryable;
                err.message = format!("{} (is a cluster still using it?)", err.message);
                return Err(err);
            }
            _ => return Err(err),
        }
    }
    wait_gone(&kafka, &name, &arn).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{meta, mock_clients, recorder};
    use aws_sdk_kafka::operation::create_configuration::{
        CreateConfigurationError, CreateConfigurationInput, CreateConfigurationOutput,
    };
    use aws_sdk_kafka::operation::delete_configuration::{
        DeleteConfigurationError, DeleteConfigurationOutput,
    };
    use aws_sdk_kafka::operation::describe_configuration::{
        DescribeConfigurationError, DescribeConfigurationOutput,
    };
    use aws_sdk_kafka::operation::describe_configuration_revision::DescribeConfigurationRevisionOutput;
    use aws_sdk_kafka::operation::list_configurations::ListConfigurationsOutput;
    use aws_sdk_kafka::operation::update_configuration::{
        UpdateConfigurationInput, UpdateConfigurationOutput,
    };
    use aws_sdk_kafka::types::ConfigurationRevision;
    use aws_smithy_mocks::{mock, Rule, RuleMode};
    use glinfra_core::Kind;

    const REGION: &str = "eu-west-1";
    const ARN: &str = "arn:aws:kafka:eu-west-1:111122223333:configuration/prod-kafka/abc-1";

    fn mock_kafka(rules: &[&Rule]) -> Clients {
        mock_clients!(aws_sdk_kafka, "kafka", REGION, RuleMode::Sequential, rules)
    }

    fn spec() -> MskConfigurationSpec {
        MskConfigurationSpec {
            name: "prod-kafka".into(),
            kafka_versions: vec!["3.6.0".into()],
            server_properties: BTreeMap::from([
                ("log.retention.hours".to_string(), "168".to_string()),
                ("auto.create.topics.enable".to_string(), "false".to_string()),
            ]),
        }
    }

    const TEXT: &str = "auto.create.topics.enable=false\nlog.retention.hours=168\n";

    fn resource(spec: &MskConfigurationSpec) -> ResolvedResource {
        ResolvedResource {
            stack: "prod".into(),
            id: "kafka-config".into(),
            kind: Kind::MskConfiguration,
            region: REGION.into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: BTreeMap::new(),
        }
    }

    fn state(spec: &MskConfigurationSpec, outputs: Outputs) -> ResourceState {
        ResourceState {
            kind: Kind::MskConfiguration,
            region: REGION.into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: BTreeMap::new(),
            outputs,
            dependencies: Default::default(),
            pending: None,
        }
    }

    fn listed(name: &str, arn: &str, revision: i64, state: ConfigurationState) -> Configuration {
        Configuration::builder()
            .name(name)
            .arn(arn)
            .kafka_versions("3.6.0")
            .latest_revision(ConfigurationRevision::builder().revision(revision).build())
            .state(state)
            .build()
    }

    fn list_rule(configs: Vec<Configuration>, next: Option<&'static str>) -> Rule {
        mock!(Client::list_configurations).then_output(move || {
            ListConfigurationsOutput::builder()
                .set_configurations(Some(configs.clone()))
                .set_next_token(next.map(str::to_owned))
                .build()
        })
    }

    fn describe_rule(revision: i64, state: ConfigurationState) -> Rule {
        mock!(Client::describe_configuration)
            .match_requests(|r| r.arn() == Some(ARN))
            .then_output(move || {
                DescribeConfigurationOutput::builder()
                    .arn(ARN)
                    .name("prod-kafka")
                    .kafka_versions("3.6.0")
                    .latest_revision(ConfigurationRevision::builder().revision(revision).build())
                    .state(state.clone())
                    .build()
            })
    }

    fn describe_missing() -> Rule {
        mock!(Client::describe_configuration)
            .then_error(|| DescribeConfigurationError::generic(meta("NotFoundException")))
    }

    fn revision_rule(revision: i64, text: &'static str) -> Rule {
        mock!(Client::describe_configuration_revision)
            .match_requests(move |r| r.arn() == Some(ARN) && r.revision() == Some(revision))
            .then_output(move || {
                DescribeConfigurationRevisionOutput::builder()
                    .arn(ARN)
                    .revision(revision)
                    .server_properties(Blob::new(text))
                    .build()
            })
    }

    fn all_called_once(rules: &[Rule]) {
        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule {i}");
        }
    }

    #[test]
    fn properties_are_sorted_key_value_lines_and_read_back() {
        let text = properties_text(&spec().server_properties, "c").unwrap();
        assert_eq!(text, TEXT);
        assert_eq!(parse_properties(&text), spec().server_properties);
        assert_eq!(
            parse_properties("# comment\n\n a.b = 1 \nc.d:2\ne.f 3\n! other\ng.h=x=y\n"),
            BTreeMap::from([
                ("a.b".to_string(), "1".to_string()),
                ("c.d".to_string(), "2".to_string()),
                ("e.f".to_string(), "3".to_string()),
                ("g.h".to_string(), "x=y".to_string()),
            ])
        );
        let bad = BTreeMap::from([("a b".to_string(), "1".to_string())]);
        assert_eq!(
            properties_text(&bad, "c").unwrap_err().class,
            ErrorClass::Invalid
        );
        let bad = BTreeMap::from([("a".to_string(), "1\nb=2".to_string())]);
        assert_eq!(
            properties_text(&bad, "c").unwrap_err().class,
            ErrorClass::Invalid
        );
    }

    #[tokio::test]
    async fn create_sends_name_versions_and_sorted_properties() {
        let (seen, see) = recorder::<CreateConfigurationInput>();
        let rules = [mock!(Client::create_configuration)
            .match_requests(see)
            .then_output(|| {
                CreateConfigurationOutput::builder()
                    .arn(ARN)
                    .name("prod-kafka")
                    .latest_revision(ConfigurationRevision::builder().revision(1).build())
                    .state(ConfigurationState::Active)
                    .build()
            })];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

        let out = create(&c, &resource(&spec())).await.unwrap();

        assert_eq!(out, outputs(ARN, 1));
        assert_eq!(out["latest_revision"], Value::from("1"));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].name(), Some("prod-kafka"));
        assert_eq!(seen[0].kafka_versions(), ["3.6.0".to_string()]);
        assert_eq!(
            seen[0].server_properties().map(|b| b.as_ref().to_vec()),
            Some(TEXT.as_bytes().to_vec())
        );
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn create_adopts_the_configuration_of_its_name_on_conflict() {
        let rules = [
            mock!(Client::create_configuration)
                .then_error(|| CreateConfigurationError::generic(meta("ConflictException"))),
            list_rule(
                vec![listed("prod-kafka", ARN, 3, ConfigurationState::Active)],
                None,
            ),
            describe_rule(3, ConfigurationState::Active),
            // Same properties, written differently: no new revision.
            revision_rule(
                3,
                "log.retention.hours = 168\nauto.create.topics.enable=false\n",
            ),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

        let out = create(&c, &resource(&spec())).await.unwrap();

        assert_eq!(out, outputs(ARN, 3));
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn find_matches_the_exact_name_across_pages() {
        let other = "arn:aws:kafka:eu-west-1:111122223333:configuration/prod-kafka-2/x-1";
        let rules = [
            list_rule(
                vec![listed("prod-kafka-2", other, 1, ConfigurationState::Active)],
                Some("t1"),
            ),
            mock!(Client::list_configurations)
                .match_requests(|r| r.next_token() == Some("t1"))
                .then_output(|| {
                    ListConfigurationsOutput::builder()
                        .configurations(listed("prod-kafka", ARN, 2, ConfigurationState::Active))
                        .build()
                }),
            list_rule(
                vec![listed("prod-kafka-2", other, 1, ConfigurationState::Active)],
                None,
            ),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let r = resource(&spec());

        assert_eq!(find(&c, &r).await.unwrap(), Some(outputs(ARN, 2)));
        assert_eq!(find(&c, &r).await.unwrap(), None);
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn find_waits_for_a_deleting_configuration_to_go() {
        let rules = [
            list_rule(
                vec![listed("prod-kafka", ARN, 1, ConfigurationState::Deleting)],
                None,
            ),
            describe_rule(1, ConfigurationState::Deleting),
            describe_missing(),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

        assert_eq!(find(&c, &resource(&spec())).await.unwrap(), None);
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn update_of_server_properties_makes_a_new_revision() {
        let before = spec();
        let mut after = spec();
        after
            .server_properties
            .insert("num.partitions".into(), "6".into());
        let (seen, see) = recorder::<UpdateConfigurationInput>();
        let rules = [
            describe_rule(1, ConfigurationState::Active),
            revision_rule(1, TEXT),
            mock!(Client::update_configuration)
                .match_requests(see)
                .then_output(|| {
                    UpdateConfigurationOutput::builder()
                        .arn(ARN)
                        .latest_revision(ConfigurationRevision::builder().revision(2).build())
                        .build()
                }),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

        let out = update(
            &c,
            &state(&before, outputs(ARN, 1)),
            &resource(&after),
            &["server_properties".into()],
        )
        .await
        .unwrap();

        assert_eq!(out["latest_revision"], Value::from("2"));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].arn(), Some(ARN));
        assert_eq!(
            seen[0].server_properties().map(|b| b.as_ref().to_vec()),
            Some(
                "auto.create.topics.enable=false\nlog.retention.hours=168\nnum.partitions=6\n"
                    .as_bytes()
                    .to_vec()
            )
        );
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn update_with_properties_in_line_makes_no_revision() {
        // The recorded revision is stale (1); the configuration is at 2 already.
        let rules = [
            describe_rule(2, ConfigurationState::Active),
            revision_rule(2, TEXT),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

        let out = update(
            &c,
            &state(&spec(), outputs(ARN, 1)),
            &resource(&spec()),
            &[],
        )
        .await
        .unwrap();

        assert_eq!(out, outputs(ARN, 2));
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn delete_waits_until_the_configuration_is_gone() {
        let rules = [
            mock!(Client::delete_configuration)
                .match_requests(|r| r.arn() == Some(ARN))
                .then_output(|| {
                    DeleteConfigurationOutput::builder()
                        .arn(ARN)
                        .state(ConfigurationState::Deleting)
                        .build()
                }),
            describe_rule(1, ConfigurationState::Deleting),
            describe_rule(1, ConfigurationState::Deleting),
            describe_missing(),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

        delete(&c, "kafka-config", &state(&spec(), outputs(ARN, 1)))
            .await
            .unwrap();
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn delete_of_a_gone_configuration_succeeds_and_one_in_use_is_retryable() {
        let rules = [
            mock!(Client::delete_configuration)
                .then_error(|| DeleteConfigurationError::generic(meta("NotFoundException"))),
            mock!(Client::delete_configuration)
                .then_error(|| DeleteConfigurationError::generic(meta("BadRequestException"))),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let prior = state(&spec(), outputs(ARN, 1));

        delete(&c, "kafka-config", &prior).await.unwrap();
        let err = delete(&c, "kafka-config", &prior).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Retryable);
        assert!(
            err.message.contains("BadRequestException"),
            "{}",
            err.message
        );
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn delete_without_outputs_deletes_what_the_name_finds() {
        let rules = [
            list_rule(
                vec![listed("prod-kafka", ARN, 1, ConfigurationState::Active)],
                None,
            ),
            mock!(Client::delete_configuration)
                .match_requests(|r| r.arn() == Some(ARN))
                .then_output(|| DeleteConfigurationOutput::builder().arn(ARN).build()),
            describe_missing(),
            list_rule(vec![], None),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let prior = state(&spec(), Outputs::new());

        delete(&c, "kafka-config", &prior).await.unwrap();
        // Nothing of that name: nothing to do.
        delete(&c, "kafka-config", &prior).await.unwrap();
        all_called_once(&rules);
    }
}
