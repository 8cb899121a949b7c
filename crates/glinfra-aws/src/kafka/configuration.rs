//! The MSK configuration driver.
//!
//! A configuration cannot carry ownership tags: CreateConfiguration takes no Tags,
//! and the kind is untaggable in glinfra (`r.tags` is empty). Its name is unique per
//! account and region, so the name is the natural key: `find` lists the
//! configurations and adopts the one of that name, whoever made it. The server
//! properties are sent as Java properties text, `key=value` lines sorted by key;
//! changing them makes a new revision (UpdateConfiguration), which becomes the
//! `latest_revision` output (a number, as clusters take it).
//!
//! A refresh reads the configurations state recorded (by their ARN: without tags,
//! one state does not know cannot be told ours) from one ListConfigurations, and
//! the server properties of each one's latest revision.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{like, Live, Scope};
use crate::kit::wait;
use crate::kit::{required, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_kafka::primitives::Blob;
use aws_sdk_kafka::types::{Configuration, ConfigurationRevision, ConfigurationState};
use aws_sdk_kafka::Client;
use glinfra_core::spec::msk::{MskConfigurationOutputs, MskConfigurationSpec};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a deleted configuration may take to go away.
const DELETE_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// The driver of `aws:msk/configuration`.
pub(crate) struct MskConfigurationDriver;

/// The revision number of `revision`, which `what` always carries.
fn revision_of(revision: Option<&ConfigurationRevision>, what: &str) -> Result<i64, ProviderError> {
    required(revision.and_then(|r| r.revision()).as_ref(), what).copied()
}

/// The outputs of a configuration as listed or described.
fn outputs_of(conf: &Configuration) -> Result<MskConfigurationOutputs, ProviderError> {
    Ok(MskConfigurationOutputs {
        arn: required(conf.arn(), "the arn of a listed configuration")?.to_string(),
        latest_revision: revision_of(
            conf.latest_revision(),
            "the revision of a listed configuration",
        )?,
    })
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
    let out = kafka
        .describe_configuration()
        .arn(arn)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeConfiguration {arn}"), e))
        .or_absent()?;
    Ok(out.map(|out| {
        Configuration::builder()
            .set_arn(out.arn().map(str::to_owned))
            .set_name(out.name().map(str::to_owned))
            .set_kafka_versions(Some(out.kafka_versions().to_vec()))
            .set_latest_revision(out.latest_revision().cloned())
            .set_state(out.state().cloned())
            .build()
    }))
}

/// Waits until the configuration `arn` is gone. DELETE_FAILED ends the wait (as a
/// Fatal error, which the wait does not poll through) and is reported Retryable:
/// the executor calls DeleteConfiguration again.
async fn wait_gone(kafka: &Client, name: &str, arn: &str) -> Result<(), ProviderError> {
    let delete_failed = AtomicBool::new(false);
    wait::gone(
        &format!("MSK configuration `{name}`"),
        DELETE_DEADLINE,
        || async {
            match describe(kafka, arn).await? {
                None => Ok(None),
                Some(conf) if conf.state() == Some(&ConfigurationState::DeleteFailed) => {
                    delete_failed.store(true, Ordering::Relaxed);
                    Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!(
                            "MSK configuration `{name}` ({arn}): deletion failed (DELETE_FAILED)"
                        ),
                    ))
                }
                Some(conf) => Ok(Some(
                    conf.state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "unknown".into()),
                )),
            }
        },
    )
    .await
    .map_err(|mut e| {
        if delete_failed.load(Ordering::Relaxed) {
            e.class = ErrorClass::Retryable;
        }
        e
    })
}

/// The server properties of revision `revision` of the configuration `arn`.
async fn server_properties(
    kafka: &Client,
    arn: &str,
    revision: i64,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = kafka
        .describe_configuration_revision()
        .arn(arn)
        .revision(revision)
        .send()
        .await
        .map_err(|e| {
            classify(
                &format!("DescribeConfigurationRevision {arn} {revision}"),
                e,
            )
        })?;
    Ok(out
        .server_properties()
        .map(|b| parse_properties(&String::from_utf8_lossy(b.as_ref())))
        .unwrap_or_default())
}

/// Makes the latest revision of the configuration `arn` carry the spec's server
/// properties; returns the outputs.
async fn reconcile(
    kafka: &Client,
    arn: &str,
    spec: &MskConfigurationSpec,
    what: &str,
) -> Result<MskConfigurationOutputs, ProviderError> {
    let conf = describe(kafka, arn).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("{what}: configuration {arn} does not exist"),
        )
    })?;
    let latest = revision_of(
        conf.latest_revision(),
        "the revision of DescribeConfiguration",
    )?;
    let actual = server_properties(kafka, arn, latest).await?;
    let outputs = |latest_revision| MskConfigurationOutputs {
        arn: arn.to_string(),
        latest_revision,
    };
    if actual == spec.server_properties {
        return Ok(outputs(latest));
    }
    let text = properties_text(&spec.server_properties, what)?;
    let out = kafka
        .update_configuration()
        .arn(arn)
        .server_properties(Blob::new(text.into_bytes()))
        .send()
        .await
        .map_err(|e| classify(&format!("UpdateConfiguration {arn}"), e))?;
    Ok(outputs(revision_of(
        out.latest_revision(),
        "the revision of UpdateConfiguration",
    )?))
}

#[async_trait]
impl Driver for MskConfigurationDriver {
    type Spec = MskConfigurationSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<MskConfigurationSpec>,
    ) -> Result<Option<MskConfigurationOutputs>, ProviderError> {
        let spec = &r.spec;
        let kafka = c.kafka(&r.region);
        let Some(conf) = lookup(&kafka, &spec.name).await? else {
            return Ok(None);
        };
        if conf.state() == Some(&ConfigurationState::Deleting) {
            let arn = required(conf.arn(), "the arn of a listed configuration")?;
            wait_gone(&kafka, &spec.name, arn).await?;
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

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<MskConfigurationSpec>,
    ) -> Result<MskConfigurationOutputs, ProviderError> {
        let spec = &r.spec;
        let what = format!("MSK configuration `{}`", spec.name);
        let text = properties_text(&spec.server_properties, &what)?;
        let kafka = c.kafka(&r.region);
        let created = kafka
            .create_configuration()
            .name(&spec.name)
            .set_kafka_versions(Some(spec.kafka_versions.clone()))
            .server_properties(Blob::new(text.into_bytes()))
            .send()
            .await
            .map_err(|e| classify(&format!("CreateConfiguration {}", spec.name), e));
        match created {
            Ok(out) => Ok(MskConfigurationOutputs {
                arn: required(out.arn(), "the arn of CreateConfiguration")?.to_string(),
                latest_revision: revision_of(
                    out.latest_revision(),
                    "the revision of CreateConfiguration",
                )?,
            }),
            // The name is taken: by an earlier attempt of ours whose answer was lost, or
            // by anyone (a configuration has no ownership tags). Adopt it, as `find` does.
            Err(err) if err.has_code(&["ConflictException"]) => match self.find(c, r).await? {
                Some(found) => reconcile(&kafka, &found.arn, spec, &what).await,
                None => Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!("{what}: the name was taken by a configuration that has gone since"),
                )),
            },
            Err(err) => Err(err),
        }
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<MskConfigurationSpec>,
        r: &Desired<MskConfigurationSpec>,
        changed: Changed<'_>,
    ) -> Result<MskConfigurationOutputs, ProviderError> {
        if !changed.has("server_properties") {
            return Ok(prior.outputs.clone());
        }
        let what = format!("MSK configuration `{}`", r.spec.name);
        reconcile(&c.kafka(&r.region), &prior.outputs.arn, &r.spec, &what).await
    }

    /// ListConfigurations (one call per page), then DescribeConfigurationRevision of
    /// the latest revision of each configuration state recorded. Nothing recorded,
    /// no call.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<MskConfigurationSpec>,
    ) -> Result<Option<Vec<Live<MskConfigurationSpec>>>, ProviderError> {
        if scope.recorded.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let kafka = c.kafka(&scope.region);
        let listed: Vec<Configuration> =
            crate::kit::all_items!(kafka.list_configurations(), "ListConfigurations")?;
        let mut live = Vec::new();
        for conf in listed {
            let Some(recorded) = scope
                .recorded
                .iter()
                .find(|r| conf.arn() == Some(r.outputs.arn.as_str()))
            else {
                continue;
            };
            if conf.state() == Some(&ConfigurationState::Deleting) {
                continue;
            }
            let out = outputs_of(&conf)?;
            // Gone since it was listed: not there.
            let Some(properties) = server_properties(&kafka, &out.arn, out.latest_revision)
                .await
                .or_absent()?
            else {
                continue;
            };
            let spec = MskConfigurationSpec {
                name: conf.name().unwrap_or_default().to_string(),
                kafka_versions: like(
                    conf.kafka_versions().to_vec(),
                    Some(&recorded.spec.kafka_versions),
                ),
                server_properties: properties,
            };
            live.push(Live {
                id: recorded.id.clone(),
                outputs: out,
                tags: BTreeMap::new(),
                spec: Some(spec),
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<MskConfigurationSpec>,
    ) -> Result<(), ProviderError> {
        let kafka = c.kafka(&prior.region);
        let arn = prior.outputs.arn.as_str();
        let deleted = kafka
            .delete_configuration()
            .arn(arn)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteConfiguration {arn}"), e));
        match deleted {
            Ok(_) => wait_gone(&kafka, &prior.spec.name, arn).await,
            Err(err) if err.class == ErrorClass::NotFound => Ok(()),
            // Refused while a cluster still uses it (one being deleted, or replaced).
            Err(err) if err.has_code(&["BadRequestException"]) => {
                Err(err.reclassified(ErrorClass::Retryable, "is a cluster still using it?"))
            }
            Err(err) => Err(err),
        }
    }
}
