//! The S3 backend's requests, against SDK mocks: the conditions each write
//! carries, how S3's answers are read, and the location grammar.

use super::store::S3Store;
use super::S3Location;
use crate::test_support::{meta, recorder};
use aws_sdk_s3::operation::delete_object::{
    DeleteObjectError, DeleteObjectInput, DeleteObjectOutput,
};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectInput, PutObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_sdk_s3::Client;
use aws_smithy_mocks::{mock, RuleMode};
use glinfra_engine::backend::{Condition, ObjectError, ObjectStore};

fn store(client: Client) -> S3Store {
    S3Store::new(client, "state-bucket", "/teams/platform/")
}

fn client(rules: &[&aws_smithy_mocks::Rule]) -> Client {
    Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKID", "SECRET", None, None, "test",
            ))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(crate::test_support::interceptor(RuleMode::MatchAny, rules))
            .build(),
    )
}

#[tokio::test]
async fn each_write_carries_its_condition_under_the_prefix() {
    // (key, If-Match, If-None-Match) of each PutObject (its input is not Clone).
    type Seen = (Option<String>, Option<String>, Option<String>);
    let (seen, see) = recorder::<Seen>();
    let put = mock!(Client::put_object)
        .match_requests(move |r: &PutObjectInput| {
            see(&(
                r.key().map(str::to_string),
                r.if_match().map(str::to_string),
                r.if_none_match().map(str::to_string),
            ))
        })
        .then_output(|| PutObjectOutput::builder().e_tag("\"e2\"").build());
    let s = store(client(&[&put]));
    let etag = s
        .put("app/lock.json", b"{}".to_vec(), Condition::Absent)
        .await
        .unwrap();
    assert_eq!(etag, "\"e2\"");
    s.put(
        "app/state.json",
        b"{}".to_vec(),
        Condition::Matches("\"e1\"".into()),
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    let owned = |s: &str| Some(s.to_string());
    assert_eq!(
        seen[0],
        (owned("teams/platform/app/lock.json"), None, owned("*"))
    );
    assert_eq!(
        seen[1],
        (
            owned("teams/platform/app/state.json"),
            owned("\"e1\""),
            None
        )
    );
    assert_eq!(
        s.location("app/state.json"),
        "s3://state-bucket/teams/platform/app/state.json"
    );
}

#[tokio::test]
async fn a_failed_condition_is_a_change_and_a_conflict_is_transient() {
    let failed = mock!(Client::put_object)
        .match_requests(|r| r.if_match().is_some())
        .then_error(|| PutObjectError::generic(meta("PreconditionFailed")));
    let conflict = mock!(Client::put_object)
        .match_requests(|r| r.if_none_match().is_some())
        .then_error(|| PutObjectError::generic(meta("ConditionalRequestConflict")));
    let s = store(client(&[&failed, &conflict]));
    let err = s
        .put("k", vec![], Condition::Matches("\"old\"".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ObjectError::Changed(_)), "{err}");
    let err = s.put("k", vec![], Condition::Absent).await.unwrap_err();
    assert!(matches!(err, ObjectError::Transient(_)), "{err}");
}

#[tokio::test]
async fn a_release_is_a_delete_if_match_and_a_missing_key_reads_as_none() {
    let (seen, see) = recorder::<DeleteObjectInput>();
    let delete = mock!(Client::delete_object)
        .match_requests(see)
        .then_output(|| DeleteObjectOutput::builder().build());
    let missing = mock!(Client::get_object)
        .match_requests(|r| r.key() == Some("teams/platform/gone"))
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let found = mock!(Client::get_object)
        .match_requests(|r| r.key() == Some("teams/platform/here"))
        .then_output(|| {
            GetObjectOutput::builder()
                .e_tag("\"e9\"")
                .body(ByteStream::from_static(b"{\"a\":1}"))
                .build()
        });
    let gone_delete = mock!(Client::delete_object)
        .match_requests(|r| r.key() == Some("teams/platform/other"))
        .then_error(|| DeleteObjectError::generic(meta("NoSuchKey")));
    let s = store(client(&[&gone_delete, &delete, &missing, &found]));
    s.delete("app/lock.json", Condition::Matches("\"e3\"".into()))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap()[0].if_match(), Some("\"e3\""));
    assert_eq!(s.get("gone").await.unwrap(), None);
    let o = s.get("here").await.unwrap().unwrap();
    assert_eq!(
        (o.bytes.as_slice(), o.etag.as_str()),
        (&b"{\"a\":1}"[..], "\"e9\"")
    );
    let err = s
        .delete("other", Condition::Matches("\"e3\"".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ObjectError::Changed(_)), "{err}");
}

#[test]
fn locations_parse_with_their_prefix_and_region() {
    let l: S3Location = "s3://acme-state/glinfra/prod".parse().unwrap();
    assert_eq!(
        l,
        S3Location {
            bucket: "acme-state".into(),
            prefix: "glinfra/prod".into(),
            region: None
        }
    );
    let l: S3Location = "s3://acme-state?region=eu-west-1".parse().unwrap();
    assert_eq!(
        (l.prefix.as_str(), l.region.as_deref()),
        ("", Some("eu-west-1"))
    );
    assert_eq!(l.to_string(), "s3://acme-state/?region=eu-west-1");
    for bad in [
        "acme-state/x",
        "s3://Acme_State/x",
        "s3://acme-state/a/../b",
        "s3://acme-state/x?profile=p",
    ] {
        assert!(bad.parse::<S3Location>().is_err(), "{bad}");
    }
}
