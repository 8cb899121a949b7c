//! VPC flow logs: CreateFlowLogs on one VPC, delivering to a CloudWatch Logs log
//! group through a role; DescribeFlowLogs filtered by the ownership tags to find
//! one; CreateTags / DeleteTags on its `fl-` id to retag it; DeleteFlowLogs.
//!
//! AWS has no call that modifies a flow log: every spec field forces replacement,
//! so an update only changes tags (an adopted flow log is retagged, nothing more).
//!
//! CreateFlowLogs and DeleteFlowLogs report a failure on a resource in the answer's
//! `Unsuccessful` list, not as an error: a flow log of the same traffic type and
//! destination already on the VPC is `FlowLogAlreadyExists`, and deleting an id that
//! is gone is `InvalidFlowLogId.NotFound`. Those codes are classified here like
//! error codes. DescribeFlowLogs of an id that is gone answers an empty list.
//!
//! A flow log has no lifecycle states to wait for: it is `ACTIVE` when created.
//! Whether the role may write to the group is checked only when logs are delivered:
//! a role that may not shows as `DeliverLogsStatus: FAILED`, never as a create error.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::ec2::{
    create_tags, delete_tags, describe_stack, owner_filters, pick, read_id, tag_specification,
    DescribeTagged, Tagged,
};
use crate::error::{classify, classify_code};
use crate::kit::live::{Live, Scope};
use crate::kit::{self, resolved_str, tags, wait, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, FlowLog, FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType,
    UnsuccessfulItem,
};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{FlowLogOutputs, FlowLogSpec, FlowLogTraffic};
use glinfra_engine::{ErrorClass, ProviderError};
use std::time::Duration;

/// How long a deleted flow log may stay listed.
const GONE_DEADLINE: Duration = Duration::from_secs(2 * 60);

/// The driver of `aws:ec2/flow-log`.
pub(crate) struct FlowLogDriver;

fn traffic_type(t: FlowLogTraffic) -> TrafficType {
    match t {
        FlowLogTraffic::All => TrafficType::All,
        FlowLogTraffic::Accept => TrafficType::Accept,
        FlowLogTraffic::Reject => TrafficType::Reject,
    }
}

/// The error an `Unsuccessful` item of `operation` stands for, classified by its code.
fn unsuccessful(operation: &str, item: &UnsuccessfulItem) -> ProviderError {
    let code = item.error().and_then(|e| e.code()).unwrap_or("Unknown");
    let message = item.error().and_then(|e| e.message()).unwrap_or("");
    let on = item.resource_id().unwrap_or("?");
    ProviderError::new(
        classify_code(code, None),
        format!("{operation} {on}: {code}: {message}"),
    )
    .operation(operation)
    .code(code)
}

/// Every flow log DescribeFlowLogs lists for `filters` and `ids`, over every page.
async fn describe(
    ec2: &Client,
    filters: Vec<Filter>,
    ids: Vec<String>,
) -> Result<Vec<FlowLog>, ProviderError> {
    let found = ec2
        .describe_flow_logs()
        .set_flow_log_ids((!ids.is_empty()).then_some(ids))
        .all_filtered(filters)
        .await
        .or_absent()?;
    Ok(found.unwrap_or_default())
}

fn outputs(f: &FlowLog) -> Result<FlowLogOutputs, ProviderError> {
    Ok(FlowLogOutputs {
        id: kit::required(f.flow_log_id(), "FlowLog flowLogId")?.to_string(),
    })
}

/// A log group ARN without the `:*` that names its streams.
fn group_arn(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

/// What the live flow log `f` is as a spec, given what state recorded (`was`):
/// each field read from the answer, or the recorded one when the answer lacks it
/// (`None` when neither has it). The destination is kept as recorded when it
/// names the same group (with or without `:*`).
fn live_spec(f: &FlowLog, was: Option<FlowLogSpec>) -> Option<FlowLogSpec> {
    let was = was.as_ref();
    let destination = match (f.log_destination(), was) {
        (Some(live), Some(w))
            if w.log_group_arn.value().map(|a| group_arn(a)) == Some(group_arn(live)) =>
        {
            Some(w.log_group_arn.clone())
        }
        (live, w) => read_id(live.map(group_arn), w.map(|w| &w.log_group_arn)),
    };
    Some(FlowLogSpec {
        vpc_id: read_id(f.resource_id(), was.map(|w| &w.vpc_id))?,
        traffic_type: match f.traffic_type() {
            Some(t) => t.as_str().parse().ok()?,
            None => was?.traffic_type,
        },
        log_group_arn: destination?,
        delivery_role_arn: read_id(
            f.deliver_logs_permission_arn(),
            was.map(|w| &w.delivery_role_arn),
        )?,
        max_aggregation_interval: match f.max_aggregation_interval() {
            Some(i) => i,
            None => was?.max_aggregation_interval,
        },
    })
}

/// The flow log of id `id`, if it is still there.
async fn by_id(ec2: &Client, id: &str) -> Result<Option<FlowLog>, ProviderError> {
    Ok(describe(ec2, Vec::new(), vec![id.to_string()])
        .await?
        .into_iter()
        .find(|f| f.flow_log_id() == Some(id)))
}

#[async_trait]
impl Driver for FlowLogDriver {
    type Spec = FlowLogSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<FlowLogSpec>,
    ) -> Result<Option<FlowLogOutputs>, ProviderError> {
        let found = describe(&c.ec2(&r.region), owner_filters(r), Vec::new()).await?;
        pick(r, found)?.map(|f| outputs(&f)).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<FlowLogSpec>,
    ) -> Result<FlowLogOutputs, ProviderError> {
        let spec = &r.spec;
        let vpc = resolved_str(&spec.vpc_id, "vpc_id")?;
        let out = c
            .ec2(&r.region)
            .create_flow_logs()
            .resource_type(FlowLogsResourceType::Vpc)
            .resource_ids(vpc)
            .traffic_type(traffic_type(spec.traffic_type))
            .log_destination_type(LogDestinationType::CloudWatchLogs)
            .log_destination(resolved_str(&spec.log_group_arn, "log_group_arn")?)
            .deliver_logs_permission_arn(resolved_str(
                &spec.delivery_role_arn,
                "delivery_role_arn",
            )?)
            .max_aggregation_interval(spec.max_aggregation_interval)
            .tag_specifications(tag_specification(ResourceType::VpcFlowLog, r)?)
            .set_client_token(r.token())
            .send()
            .await
            .map_err(|e| classify(&format!("CreateFlowLogs {vpc}"), e))?;
        if let Some(item) = out.unsuccessful().first() {
            return Err(unsuccessful("CreateFlowLogs", item));
        }
        let id = kit::required(out.flow_log_ids().first(), "CreateFlowLogs flowLogIds")?;
        Ok(FlowLogOutputs { id: id.clone() })
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<FlowLogSpec>,
        r: &Desired<FlowLogSpec>,
        changed: Changed<'_>,
    ) -> Result<FlowLogOutputs, ProviderError> {
        if !changed.has("tags") {
            return Ok(prior.outputs.clone());
        }
        let ec2 = c.ec2(&r.region);
        let id = &prior.outputs.id;
        let live = by_id(&ec2, id).await?.ok_or_else(|| {
            ProviderError::new(ErrorClass::NotFound, format!("flow log {id} is gone"))
        })?;
        let (set, remove) = tags::delta(&tags::from_sdk(live.tags()), &r.owned_tags());
        create_tags(&ec2, id, &set).await?;
        delete_tags(&ec2, id, &remove).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeFlowLogs for the stack (paginated): every field of the spec is
    /// in it ([`live_spec`]). A flow log has no state to skip: deleted, it is not
    /// listed.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<FlowLogSpec>,
    ) -> Result<Option<Vec<Live<FlowLogSpec>>>, ProviderError> {
        let ec2 = c.ec2(&scope.region);
        let mut live = Vec::new();
        for f in describe_stack(ec2.describe_flow_logs(), &scope.stack).await? {
            let tags = f.tag_map();
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            live.push(Live {
                outputs: outputs(&f)?,
                spec: live_spec(&f, scope.recorded_spec(&id)),
                tags,
                id,
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<FlowLogSpec>,
    ) -> Result<(), ProviderError> {
        let ec2 = c.ec2(&prior.region);
        let id = &prior.outputs.id;
        let out = ec2
            .delete_flow_logs()
            .flow_log_ids(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteFlowLogs {id}"), e))
            .or_absent()?;
        if let Some(item) = out.as_ref().and_then(|o| o.unsuccessful().first()) {
            Err::<(), _>(unsuccessful("DeleteFlowLogs", item)).or_gone()?;
        }
        wait::gone(&format!("flow log {id}"), GONE_DEADLINE, || async {
            Ok(by_id(&ec2, id)
                .await?
                .map(|f| f.flow_log_status().unwrap_or("present").to_string()))
        })
        .await
    }
}
