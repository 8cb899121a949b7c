use super::*;
use crate::driver::Driver;
use crate::rds::DbParameterGroupDriver;
use crate::test_support::{all_used, meta, ok_rule, recorder, update};
use aws_sdk_rds::operation::create_db_parameter_group::{
    CreateDbParameterGroupInput, CreateDbParameterGroupOutput,
};
use aws_sdk_rds::operation::delete_db_parameter_group::{
    DeleteDBParameterGroupError, DeleteDbParameterGroupOutput,
};
use aws_sdk_rds::operation::describe_db_parameter_groups::{
    DescribeDBParameterGroupsError, DescribeDbParameterGroupsOutput,
};
use aws_sdk_rds::operation::describe_db_parameters::DescribeDbParametersOutput;
use aws_sdk_rds::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_rds::operation::modify_db_parameter_group::{
    ModifyDbParameterGroupInput, ModifyDbParameterGroupOutput,
};
use aws_sdk_rds::operation::reset_db_parameter_group::{
    ResetDbParameterGroupInput, ResetDbParameterGroupOutput,
};
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use aws_sdk_rds::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::rds::{DbParameterGroupOutputs, DbParameterGroupSpec};
use glinfra_engine::ErrorClass;

const NAME: &str = "greenlang-prod-postgres16";
const ARN: &str = "arn:aws:rds:eu-west-1:111122223333:pg:greenlang-prod-postgres16";

fn spec(parameters: &[(&str, &str)]) -> DbParameterGroupSpec {
    DbParameterGroupSpec {
        name: NAME.into(),
        family: "postgres16".into(),
        description: "GreenLang prod PostgreSQL 16 settings".into(),
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

const DRIVER: DbParameterGroupDriver = DbParameterGroupDriver;

fn r(spec: &DbParameterGroupSpec) -> Desired<DbParameterGroupSpec> {
    resource("db-params", spec)
}

fn group_outputs() -> DbParameterGroupOutputs {
    DbParameterGroupOutputs {
        name: NAME.into(),
        arn: ARN.into(),
    }
}

fn recorded(spec: &DbParameterGroupSpec) -> Recorded<DbParameterGroupSpec> {
    state("db-params", spec, group_outputs())
}

fn group() -> DbParameterGroup {
    DbParameterGroup::builder()
        .db_parameter_group_name(NAME)
        .db_parameter_group_arn(ARN)
        .db_parameter_group_family("postgres16")
        .description("GreenLang prod PostgreSQL 16 settings")
        .build()
}

/// A listed parameter: name, apply type, source, value.
fn param(name: &str, apply_type: &str, source: &str, value: Option<&str>) -> Parameter {
    Parameter::builder()
        .parameter_name(name)
        .apply_type(apply_type)
        .source(source)
        .set_parameter_value(value.map(str::to_owned))
        .build()
}

fn listing(params: Vec<Parameter>, marker: Option<&'static str>) -> Rule {
    mock!(Client::describe_db_parameters)
        .match_requests(|r| r.db_parameter_group_name() == Some(NAME))
        .then_output(move || {
            DescribeDbParametersOutput::builder()
                .set_parameters(Some(params.clone()))
                .set_marker(marker.map(str::to_owned))
                .build()
        })
}

fn methods(params: &[Parameter]) -> BTreeMap<String, (Option<String>, ApplyMethod)> {
    params
        .iter()
        .map(|p| {
            (
                p.parameter_name().unwrap().to_string(),
                (
                    p.parameter_value().map(str::to_owned),
                    p.apply_method().unwrap().clone(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn create_sets_parameters_in_batches_of_20_with_the_apply_method_of_each() {
    // 25 parameters: p00..p19 dynamic (listed on the first page), p20..p24 static
    // (second page).
    let wanted: Vec<(String, String)> = (0..25)
        .map(|i| (format!("p{i:02}"), format!("{i}")))
        .collect();
    let pairs: Vec<(&str, &str)> = wanted
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let spec = spec(&pairs);
    let (created, see_create) = recorder::<CreateDbParameterGroupInput>();
    let (modified, see_modify) = recorder::<ModifyDbParameterGroupInput>();
    let page1: Vec<Parameter> = (0..20)
        .map(|i| param(&format!("p{i:02}"), "dynamic", "engine-default", Some("x")))
        .collect();
    let page2: Vec<Parameter> = (20..25)
        .map(|i| param(&format!("p{i:02}"), "static", "engine-default", None))
        .collect();
    let modify = mock!(Client::modify_db_parameter_group)
        .match_requests(see_modify)
        .sequence()
        .output(|| {
            ModifyDbParameterGroupOutput::builder()
                .db_parameter_group_name(NAME)
                .build()
        })
        .times(2)
        .build();
    let rules = [
        mock!(Client::create_db_parameter_group)
            .match_requests(see_create)
            .then_output(|| {
                CreateDbParameterGroupOutput::builder()
                    .db_parameter_group(group())
                    .build()
            }),
        listing(page1, Some("page-2")),
        mock!(Client::describe_db_parameters)
            .match_requests(|r| r.marker() == Some("page-2"))
            .then_output(move || {
                DescribeDbParametersOutput::builder()
                    .set_parameters(Some(page2.clone()))
                    .build()
            }),
        modify,
    ];
    let c = mock_rds(&rules);

    let out = DRIVER.create(&c, &r(&spec)).await.unwrap();

    assert_eq!(out, group_outputs());
    let created = created.lock().unwrap();
    assert_eq!(created[0].db_parameter_group_name(), Some(NAME));
    assert_eq!(created[0].db_parameter_group_family(), Some("postgres16"));
    assert_eq!(
        created[0].description(),
        Some("GreenLang prod PostgreSQL 16 settings")
    );
    assert_eq!(tag_map(created[0].tags()), owner_tags("db-params"));
    let modified = modified.lock().unwrap();
    assert_eq!(modified.len(), 2);
    assert_eq!(modified[0].parameters().len(), 20);
    assert_eq!(modified[1].parameters().len(), 5);
    let mut sent = methods(modified[0].parameters());
    sent.extend(methods(modified[1].parameters()));
    for (i, (name, value)) in wanted.iter().enumerate() {
        let method = if i < 20 {
            ApplyMethod::Immediate
        } else {
            ApplyMethod::PendingReboot
        };
        assert_eq!(sent[name], (Some(value.clone()), method), "{name}");
    }
    assert_eq!(rules[0].num_calls(), 1);
    assert_eq!(rules[1].num_calls(), 1);
    assert_eq!(rules[2].num_calls(), 1);
    assert_eq!(rules[3].num_calls(), 2);
}

#[tokio::test]
async fn update_sends_only_changed_values_and_resets_removed_parameters() {
    let before = spec(&[
        ("work_mem", "4096"),
        ("max_connections", "100"),
        ("log_min_duration_statement", "1000"),
    ]);
    let after = spec(&[("work_mem", "4096"), ("max_connections", "200")]);
    let (modified, see_modify) = recorder::<ModifyDbParameterGroupInput>();
    let (reset, see_reset) = recorder::<ResetDbParameterGroupInput>();
    let rules = [
        listing(
            vec![
                param("work_mem", "dynamic", "user", Some("4096")),
                param("max_connections", "static", "user", Some("100")),
                param(
                    "log_min_duration_statement",
                    "dynamic",
                    "user",
                    Some("1000"),
                ),
                // Set by hand outside glinfra: reset too (the spec does not name it).
                param("shared_buffers", "static", "user", Some("1024")),
                param("random_page_cost", "dynamic", "engine-default", Some("4")),
            ],
            None,
        ),
        ok_rule!(Client::modify_db_parameter_group(see_modify) -> ModifyDbParameterGroupOutput),
        ok_rule!(Client::reset_db_parameter_group(see_reset) -> ResetDbParameterGroupOutput),
    ];
    let c = mock_rds(&rules);

    let out = update(&DRIVER, &c, &recorded(&before), &r(&after), &["parameters"])
        .await
        .unwrap();

    assert_eq!(out, recorded(&before).outputs);
    let modified = modified.lock().unwrap();
    assert_eq!(
        methods(modified[0].parameters()),
        BTreeMap::from([(
            "max_connections".to_string(),
            (Some("200".to_string()), ApplyMethod::PendingReboot)
        )])
    );
    let reset = reset.lock().unwrap();
    assert_eq!(reset[0].db_parameter_group_name(), Some(NAME));
    assert_eq!(reset[0].reset_all_parameters(), Some(false));
    assert_eq!(
        methods(reset[0].parameters()),
        BTreeMap::from([
            (
                "log_min_duration_statement".to_string(),
                (None, ApplyMethod::Immediate)
            ),
            (
                "shared_buffers".to_string(),
                (None, ApplyMethod::PendingReboot)
            ),
        ])
    );
    all_used(&rules);
}

#[tokio::test]
async fn update_with_nothing_to_change_sends_no_parameter_call() {
    let s = spec(&[("work_mem", "4096")]);
    let rules = [listing(
        vec![param("work_mem", "dynamic", "user", Some("4096"))],
        None,
    )];
    let c = mock_rds(&rules);
    update(&DRIVER, &c, &recorded(&s), &r(&s), &["parameters"])
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn find_adopts_only_our_group() {
    let tags = |t: Vec<Tag>| {
        mock!(Client::list_tags_for_resource)
            .match_requests(|r| r.resource_name() == Some(ARN))
            .then_output(move || {
                ListTagsForResourceOutput::builder()
                    .set_tag_list(Some(t.clone()))
                    .build()
            })
    };
    let describe = || {
        mock!(Client::describe_db_parameter_groups)
            .match_requests(|r| r.db_parameter_group_name() == Some(NAME))
            .then_output(|| {
                DescribeDbParameterGroupsOutput::builder()
                    .db_parameter_groups(group())
                    .build()
            })
    };
    let rules = [
        describe(),
        tags(ours("db-params")),
        describe(),
        tags(theirs("db-params")),
        mock!(Client::describe_db_parameter_groups).then_error(|| {
            DescribeDBParameterGroupsError::generic(meta("DBParameterGroupNotFound"))
        }),
    ];
    let c = mock_rds(&rules);
    let r = r(&spec(&[]));

    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), Some(group_outputs()));
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

#[tokio::test]
async fn delete_in_use_is_retryable_gone_is_success_and_it_waits_until_gone() {
    let rules = [
        mock!(Client::delete_db_parameter_group).then_error(|| {
            DeleteDBParameterGroupError::generic(meta("InvalidDBParameterGroupState"))
        }),
        mock!(Client::delete_db_parameter_group)
            .then_error(|| DeleteDBParameterGroupError::generic(meta("DBParameterGroupNotFound"))),
        mock!(Client::delete_db_parameter_group)
            .match_requests(|r| r.db_parameter_group_name() == Some(NAME))
            .then_output(|| DeleteDbParameterGroupOutput::builder().build()),
        mock!(Client::describe_db_parameter_groups).then_output(|| {
            DescribeDbParameterGroupsOutput::builder()
                .db_parameter_groups(group())
                .build()
        }),
        mock!(Client::describe_db_parameter_groups).then_error(|| {
            DescribeDBParameterGroupsError::generic(meta("DBParameterGroupNotFound"))
        }),
    ];
    let c = mock_rds(&rules);
    let prior = recorded(&spec(&[]));

    let err = DRIVER.delete(&c, &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(
        err.message.contains("InvalidDBParameterGroupState"),
        "{}",
        err.message
    );
    DRIVER.delete(&c, &prior).await.unwrap();
    DRIVER.delete(&c, &prior).await.unwrap();
    all_used(&rules);
}

/// ListTagsForResource of the group of `arn`, answering `tags`.
fn tags_at(arn: &'static str, tags: Vec<Tag>) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(move |r| r.resource_name() == Some(arn))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tag_list(Some(tags.clone()))
                .build()
        })
}

/// DescribeDBParameters of the group, with `Source=user`, answering `params`; each
/// request is recorded.
fn user_listing(
    params: Vec<Parameter>,
) -> (
    Seen<aws_sdk_rds::operation::describe_db_parameters::DescribeDbParametersInput>,
    Rule,
) {
    let (seen, see) = recorder();
    let rule = mock!(Client::describe_db_parameters)
        .match_requests(see)
        .then_output(move || {
            DescribeDbParametersOutput::builder()
                .set_parameters(Some(params.clone()))
                .build()
        });
    (seen, rule)
}

/// Recorded: ours (`db-params`) and `old-params`, whose group now carries another
/// stack's tags. A group state does not know is listed too; its tags are not read.
#[tokio::test]
async fn observe_lists_every_group_once_and_reads_the_user_parameters_of_ours() {
    const OLD_ARN: &str = "arn:aws:rds:eu-west-1:111122223333:pg:greenlang-old";
    let (listed, see_list) = recorder::<
        aws_sdk_rds::operation::describe_db_parameter_groups::DescribeDbParameterGroupsInput,
    >();
    let old_group = DbParameterGroup::builder()
        .db_parameter_group_name("greenlang-old")
        .db_parameter_group_arn(OLD_ARN)
        .db_parameter_group_family("postgres15")
        .description("old")
        .build();
    let unknown = DbParameterGroup::builder()
        .db_parameter_group_name("default.postgres16")
        .db_parameter_group_arn("arn:aws:rds:eu-west-1:111122223333:pg:default.postgres16")
        .build();
    let (params_seen, params) = user_listing(vec![
        param("max_connections", "static", "user", Some("500")),
        // Set outside glinfra and not in the spec: not compared.
        param("work_mem", "dynamic", "user", Some("64MB")),
    ]);
    let rules = [
        mock!(Client::describe_db_parameter_groups)
            .match_requests(see_list)
            .then_output(move || {
                DescribeDbParameterGroupsOutput::builder()
                    .db_parameter_groups(group())
                    .db_parameter_groups(unknown.clone())
                    .db_parameter_groups(old_group.clone())
                    .build()
            }),
        tags_at(ARN, ours("db-params")),
        tags_at(OLD_ARN, theirs("old-params")),
        params,
    ];
    let c = mock_rds(&rules);
    let mine = spec(&[("max_connections", "400"), ("shared_buffers", "4GB")]);
    let mut old = spec(&[]);
    old.name = "greenlang-old".into();
    let scope = crate::test_support::scope(
        STACK,
        REGION,
        vec![recorded(&mine), state("old-params", &old, group_outputs())],
    );

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(listed.lock().unwrap()[0].db_parameter_group_name(), None);
    let asked = params_seen.lock().unwrap();
    assert_eq!(asked[0].db_parameter_group_name(), Some(NAME));
    assert_eq!(asked[0].source(), Some("user"));
    assert_eq!(live.len(), 1, "the other stack's group is dropped");
    assert_eq!(live[0].id, "db-params");
    assert_eq!(live[0].outputs, group_outputs());
    let read = live[0].spec.as_ref().unwrap();
    // 400 became 500; shared_buffers was reset to the default; work_mem is not ours.
    assert_eq!(
        read.parameters,
        BTreeMap::from([("max_connections".to_string(), "500".to_string())])
    );
    assert_eq!(read.family, "postgres16");
    all_used(&rules);
}

#[tokio::test]
async fn observe_of_an_unchanged_group_reads_exactly_the_recorded_spec() {
    let mine = spec(&[("max_connections", "400")]);
    let (_, params) = user_listing(vec![param(
        "max_connections",
        "static",
        "user",
        Some("400"),
    )]);
    let rules = [
        mock!(Client::describe_db_parameter_groups).then_output(|| {
            DescribeDbParameterGroupsOutput::builder()
                .db_parameter_groups(group())
                .build()
        }),
        tags_at(ARN, ours("db-params")),
        params,
    ];
    let c = mock_rds(&rules);
    let scope = crate::test_support::scope(STACK, REGION, vec![recorded(&mine)]);

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&mine).unwrap()
    );
    all_used(&rules);
}
