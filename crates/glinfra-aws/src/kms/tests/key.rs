//! The key driver: the create protocol, find by alias and by scan, alias moves, delete.

use super::*;
use crate::driver::Driver;
use crate::kit::{tags, Changed};
use crate::kms::KmsKeyDriver;
use crate::test_support::{all_used, ok_rule, recorder};
use aws_sdk_kms::operation::create_alias::{CreateAliasError, CreateAliasOutput};
use aws_sdk_kms::operation::create_key::{CreateKeyInput, CreateKeyOutput};
use aws_sdk_kms::operation::delete_alias::DeleteAliasOutput;
use aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput;
use aws_sdk_kms::operation::list_aliases::ListAliasesOutput;
use aws_sdk_kms::operation::list_keys::ListKeysOutput;
use aws_sdk_kms::operation::schedule_key_deletion::{
    ScheduleKeyDeletionInput, ScheduleKeyDeletionOutput,
};
use aws_sdk_kms::types::{AliasListEntry, KeyListEntry, KeySpec, KeyUsageType};
use glinfra_engine::ErrorClass;

#[tokio::test]
async fn delete_removes_the_alias_and_schedules_deletion_with_the_window() {
    let (scheduled, see) = recorder::<ScheduleKeyDeletionInput>();
    let rules = [
        describe_ok("k1", "k1", KeyState::Enabled),
        describe_ok("alias/prod/data", "k1", KeyState::Enabled),
        mock!(Client::delete_alias)
            .match_requests(|r| r.alias_name() == Some("alias/prod/data"))
            .then_output(|| DeleteAliasOutput::builder().build()),
        ok_rule!(Client::schedule_key_deletion(see) -> ScheduleKeyDeletionOutput),
    ];
    let c = mock_kms(&rules.iter().collect::<Vec<_>>());

    KmsKeyDriver.delete(&c, &state(spec())).await.unwrap();

    let scheduled = scheduled.lock().unwrap();
    assert_eq!(scheduled[0].key_id(), Some("k1"));
    assert_eq!(scheduled[0].pending_window_in_days(), Some(10));
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_key_pending_deletion_or_gone_is_success() {
    let rules = [
        describe_ok("k1", "k1", KeyState::PendingDeletion),
        // The alias was re-pointed at another key: left alone.
        describe_ok("alias/prod/data", "k2", KeyState::Enabled),
        describe_missing("k1"),
    ];
    let c = mock_kms(&rules.iter().collect::<Vec<_>>());
    KmsKeyDriver.delete(&c, &state(spec())).await.unwrap();
    KmsKeyDriver.delete(&c, &state(spec())).await.unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn create_makes_a_tagged_symmetric_key_with_rotation_then_the_alias() {
    let (created, see) = recorder::<CreateKeyInput>();
    let rules = [
        describe_missing("alias/prod/data"),
        mock!(Client::create_key)
            .match_requests(see)
            .then_output(|| {
                CreateKeyOutput::builder()
                    .key_metadata(key("k9", KeyState::Enabled))
                    .build()
            }),
        mock!(Client::enable_key_rotation)
            .match_requests(|r| r.key_id() == Some("k9"))
            .then_output(|| EnableKeyRotationOutput::builder().build()),
        mock!(Client::create_alias)
            .match_requests(|r| {
                r.alias_name() == Some("alias/prod/data") && r.target_key_id() == Some("k9")
            })
            .then_output(|| CreateAliasOutput::builder().build()),
    ];
    let c = mock_kms(&rules.iter().collect::<Vec<_>>());

    let out = KmsKeyDriver.create(&c, &resource(spec())).await.unwrap();

    assert_eq!(out.key_id, "k9");
    assert_eq!(out.arn, format!("arn:aws:kms:{REGION}:111122223333:key/k9"));
    let created = created.lock().unwrap();
    assert_eq!(created[0].key_spec(), Some(&KeySpec::SymmetricDefault));
    assert_eq!(created[0].key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    assert_eq!(created[0].description(), Some("data at rest"));
    assert_eq!(tags::from_sdk(created[0].tags()), owner_tags());
    all_used(&rules);
}

#[tokio::test]
async fn create_deletes_its_new_key_when_the_alias_fails() {
    let mut spec = spec();
    spec.enable_key_rotation = false;
    let rules = [
        describe_missing("alias/prod/data"),
        mock!(Client::create_key).then_output(|| {
            CreateKeyOutput::builder()
                .key_metadata(key("k9", KeyState::Enabled))
                .build()
        }),
        mock!(Client::create_alias)
            .then_error(|| CreateAliasError::generic(meta("KMSInternalException"))),
        mock!(Client::schedule_key_deletion)
            .match_requests(|r| r.key_id() == Some("k9") && r.pending_window_in_days() == Some(7))
            .then_output(|| ScheduleKeyDeletionOutput::builder().build()),
    ];
    let c = mock_kms(&rules.iter().collect::<Vec<_>>());

    let err = KmsKeyDriver.create(&c, &resource(spec)).await.unwrap_err();

    assert!(err.message.contains("CreateAlias"), "{}", err.message);
    all_used(&rules);
}

#[tokio::test]
async fn find_by_alias_adopts_only_our_key() {
    let rules = [
        describe_ok("alias/prod/data", "k1", KeyState::Enabled),
        tags_rule("k1", OURS),
        describe_ok("alias/prod/data", "k5", KeyState::Enabled),
        tags_rule("k5", THEIRS),
    ];
    let c = mock_kms(&rules.iter().collect::<Vec<_>>());
    let r = resource(spec());
    assert_eq!(
        KmsKeyDriver.find(&c, &r).await.unwrap(),
        Some(outputs("k1"))
    );
    let err = KmsKeyDriver.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
}

#[tokio::test]
async fn find_falls_back_to_unaliased_keys_with_our_tags() {
    let rules = [
        describe_missing("alias/prod/data"),
        mock!(Client::list_aliases).then_output(|| {
            ListAliasesOutput::builder()
                .aliases(
                    AliasListEntry::builder()
                        .alias_name("alias/aws/s3")
                        .target_key_id("k-aws")
                        .build(),
                )
                .aliases(
                    AliasListEntry::builder()
                        .alias_name("alias/other")
                        .target_key_id("k1")
                        .build(),
                )
                .truncated(false)
                .build()
        }),
        mock!(Client::list_keys).then_output(|| {
            ListKeysOutput::builder()
                .keys(KeyListEntry::builder().key_id("k-aws").build())
                .keys(KeyListEntry::builder().key_id("k1").build())
                .keys(KeyListEntry::builder().key_id("k2").build())
                .keys(KeyListEntry::builder().key_id("k3").build())
                .keys(KeyListEntry::builder().key_id("k4").build())
                .truncated(false)
                .build()
        }),
        tags_rule("k2", THEIRS),
        // Ours, but being deleted: not adopted.
        tags_rule("k3", OURS),
        describe_ok("k3", "k3", KeyState::PendingDeletion),
        tags_rule("k4", OURS),
        describe_ok("k4", "k4", KeyState::Enabled),
    ];
    let c = mock_kms(&rules.iter().collect::<Vec<_>>());

    let out = KmsKeyDriver.find(&c, &resource(spec())).await.unwrap();

    assert_eq!(out, Some(outputs("k4")));
    all_used(&rules);
}

#[tokio::test]
async fn update_moves_the_alias_new_first_then_old() {
    let before = spec();
    let mut after = spec();
    after.alias = "prod/data-v2".into();
    let rules = [
        describe_missing("alias/prod/data-v2"),
        mock!(Client::create_alias)
            .match_requests(|r| {
                r.alias_name() == Some("alias/prod/data-v2") && r.target_key_id() == Some("k1")
            })
            .then_output(|| CreateAliasOutput::builder().build()),
        describe_ok("alias/prod/data", "k1", KeyState::Enabled),
        mock!(Client::delete_alias)
            .match_requests(|r| r.alias_name() == Some("alias/prod/data"))
            .then_output(|| DeleteAliasOutput::builder().build()),
    ];
    let c = mock_kms(&rules.iter().collect::<Vec<_>>());

    let prior = state(before);
    let out = KmsKeyDriver
        .update(&c, &prior, &resource(after), Changed(&["alias".into()]))
        .await
        .unwrap();

    assert_eq!(out, prior.outputs);
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_key_scheduled_meanwhile_is_success() {
    let rules = [
        describe_ok("k1", "k1", KeyState::Enabled),
        describe_missing("alias/prod/data"),
        mock!(Client::schedule_key_deletion).then_error(|| {
            aws_sdk_kms::operation::schedule_key_deletion::ScheduleKeyDeletionError::generic(meta(
                "KMSInvalidStateException",
            ))
        }),
        describe_ok("k1", "k1", KeyState::PendingDeletion),
    ];
    let c = mock_kms(&rules.iter().collect::<Vec<_>>());
    KmsKeyDriver.delete(&c, &state(spec())).await.unwrap();
    all_used(&rules);
}

// ------------------------------------------------------------------ refresh

mod observe {
    use super::*;
    use crate::test_support::scope;
    use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;

    /// The reads of a refresh run at once: rules match by request, not order
    /// (and answer every call they match: the tests count them).
    fn mock_any(rules: &[&Rule]) -> Clients {
        mock_clients!(aws_sdk_kms, "kms", REGION, RuleMode::MatchAny, rules)
    }

    fn described(id: &'static str, state: KeyState, description: &'static str) -> Rule {
        mock!(Client::describe_key)
            .match_requests(move |r| r.key_id() == Some(id))
            .then_output(move || {
                let mut meta = key(id, state.clone());
                meta.description = Some(description.into());
                DescribeKeyOutput::builder().key_metadata(meta).build()
            })
    }

    fn rotation(id: &'static str, enabled: bool) -> Rule {
        mock!(Client::get_key_rotation_status)
            .match_requests(move |r| r.key_id() == Some(id))
            .then_output(move || {
                GetKeyRotationStatusOutput::builder()
                    .key_rotation_enabled(enabled)
                    .build()
            })
    }

    /// ListAliases answering `aliases` (name, key), on one page.
    fn aliases(aliases: &'static [(&'static str, &'static str)]) -> Rule {
        mock!(Client::list_aliases).then_output(move || {
            ListAliasesOutput::builder()
                .set_aliases(Some(
                    aliases
                        .iter()
                        .map(|(name, key)| {
                            AliasListEntry::builder()
                                .alias_name(*name)
                                .target_key_id(*key)
                                .build()
                        })
                        .collect(),
                ))
                .truncated(false)
                .build()
        })
    }

    fn recorded_key(id: &str, key_id: &str) -> Recorded<KmsKeySpec> {
        crate::test_support::recorded(&desired("prod", id, REGION, spec()), outputs(key_id))
    }

    #[tokio::test]
    async fn an_unchanged_key_round_trips_exactly() {
        let rules = [
            aliases(&[("alias/aws/s3", "k-aws"), ("alias/prod/data", "k1")]),
            described("k1", KeyState::Enabled, "data at rest"),
            rotation("k1", true),
            tags_rule("k1", OURS),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        let before = state(spec());
        let live = KmsKeyDriver
            .observe(&c, &scope("prod", REGION, vec![before.clone()]))
            .await
            .unwrap()
            .unwrap();
        // Rule #0: ListAliases, once for the region.
        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule #{i}");
        }
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].outputs, outputs("k1"));
        assert_eq!(
            serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
            serde_json::to_value(&before.spec).unwrap()
        );
    }

    /// A key the bulk tag read listed (`Scope::tagged`) has no ListResourceTags
    /// (no rule answers one: it would fail the test); one it did not list (made
    /// since, say) has its tags read on its own.
    #[tokio::test]
    async fn tags_listed_by_the_bulk_read_are_not_read_again() {
        let rules = [
            aliases(&[("alias/prod/data", "k1")]),
            described("k1", KeyState::Enabled, "data at rest"),
            rotation("k1", true),
            described("k2", KeyState::Enabled, "data at rest"),
            rotation("k2", true),
            tags_rule("k2", OURS_TOO),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        let mut scope = scope(
            "prod",
            REGION,
            vec![state(spec()), recorded_key("other-key", "k2")],
        );
        scope.tagged = Some(crate::kit::tagged::Pending::ready(
            [(outputs("k1").arn, owner_tags())].into(),
        ));

        let live = KmsKeyDriver.observe(&c, &scope).await.unwrap().unwrap();

        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule #{i}");
        }
        assert_eq!(live.len(), 2);
        assert_eq!(live[0].tags, owner_tags());
        assert_eq!(live[1].id, "other-key");
    }

    #[tokio::test]
    async fn changes_read_live_and_gone_pending_or_others_keys_are_dropped() {
        let rules = [
            // The key's alias was deleted outside glinfra.
            aliases(&[("alias/other", "k2")]),
            described("k1", KeyState::Enabled, "changed outside"),
            rotation("k1", false),
            tags_rule("k1", OURS),
            described("k2", KeyState::Enabled, "data at rest"),
            rotation("k2", true),
            tags_rule("k2", THEIRS),
            describe_missing("k3"),
            // Pending deletion is gone: neither its rotation nor its tags are read.
            described("k4", KeyState::PendingDeletion, "data at rest"),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        let recorded = vec![
            recorded_key("data-key", "k1"),
            recorded_key("taken", "k2"),
            recorded_key("deleted", "k3"),
            recorded_key("pending", "k4"),
        ];
        let live = KmsKeyDriver
            .observe(&c, &scope("prod", REGION, recorded))
            .await
            .unwrap()
            .unwrap();
        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule #{i}");
        }
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].id, "data-key");
        let read = live[0].spec.as_ref().unwrap();
        assert_eq!(read.description, "changed outside");
        assert!(!read.enable_key_rotation);
        assert_eq!(read.alias, "", "no alias names the key any more");
        assert_eq!(read.deletion_window_days, 10, "not readable: as recorded");
    }

    #[tokio::test]
    async fn an_update_after_the_alias_was_deleted_outside_only_creates_it() {
        // State after that refresh: the alias recorded as none.
        let mut prior = state(spec());
        prior.spec.alias = String::new();
        let (created, see) = recorder::<aws_sdk_kms::operation::create_alias::CreateAliasInput>();
        let rules = [
            describe_missing("alias/prod/data"),
            ok_rule!(Client::create_alias(see) -> CreateAliasOutput),
        ];
        let c = mock_kms(&rules.iter().collect::<Vec<_>>());
        let changed = vec!["alias".to_string()];
        KmsKeyDriver
            .update(&c, &prior, &resource(spec()), Changed(&changed))
            .await
            .unwrap();
        all_used(&rules);
        assert_eq!(
            created.lock().unwrap()[0].alias_name(),
            Some("alias/prod/data")
        );
    }

    /// GetKeyRotationStatus answering `enabled`, with `period` when given.
    fn rotation_every(id: &'static str, enabled: bool, period: Option<i32>) -> Rule {
        mock!(Client::get_key_rotation_status)
            .match_requests(move |r| r.key_id() == Some(id))
            .then_output(move || {
                GetKeyRotationStatusOutput::builder()
                    .key_rotation_enabled(enabled)
                    .set_rotation_period_in_days(period)
                    .build()
            })
    }

    #[tokio::test]
    async fn rotation_turned_off_keeps_the_recorded_period_and_a_new_period_is_read() {
        // k1: DisableKeyRotation outside (no period answered); k2: EnableKeyRotation
        // with 365 days outside.
        let rules = [
            aliases(&[("alias/prod/data", "k1")]),
            described("k1", KeyState::Enabled, "data at rest"),
            rotation_every("k1", false, None),
            tags_rule("k1", OURS),
            described("k2", KeyState::Enabled, "data at rest"),
            rotation_every("k2", true, Some(365)),
            tags_rule("k2", OURS_TOO),
        ];
        let c = mock_any(&rules.iter().collect::<Vec<_>>());
        let every_90 = |id: &str, key_id: &str| {
            let mut r = recorded_key(id, key_id);
            r.spec.rotation_period_days = Some(90);
            r
        };
        let recorded = vec![every_90("data-key", "k1"), every_90("other-key", "k2")];
        let live = KmsKeyDriver
            .observe(&c, &scope("prod", REGION, recorded))
            .await
            .unwrap()
            .unwrap();
        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule #{i}");
        }
        let read: Vec<(bool, Option<i32>)> = live
            .iter()
            .map(|l| {
                let s = l.spec.as_ref().unwrap();
                (s.enable_key_rotation, s.rotation_period_days)
            })
            .collect();
        assert_eq!(read, [(false, Some(90)), (true, Some(365))]);
    }

    #[tokio::test]
    async fn nothing_recorded_makes_no_call() {
        // No rule: any call would panic.
        let c = mock_any(&[]);
        let live = KmsKeyDriver
            .observe(&c, &scope::<KmsKeySpec>("prod", REGION, vec![]))
            .await
            .unwrap();
        assert_eq!(live.map(|l| l.len()), Some(0));
    }
}
