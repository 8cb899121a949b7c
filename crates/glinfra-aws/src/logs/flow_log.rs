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
use crate::ec2::{create_tags, delete_tags, owner_filters, pick, tag_specification};
use crate::error::{classify, classify_code};
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
    let what = match ids.first() {
        Some(id) => format!("DescribeFlowLogs {id}"),
        None => "DescribeFlowLogs".to_string(),
    };
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = ec2
            .describe_flow_logs()
            .set_filter(Some(filters.clone()))
            .set_flow_log_ids((!ids.is_empty()).then(|| ids.clone()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(&what, e))
            .or_absent()?;
        let Some(out) = out else {
            return Ok(found);
        };
        found.extend(out.flow_logs().iter().cloned());
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(found),
        }
    }
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
        pick(r, found)
            .map(|f| {
                let id = kit::required(f.flow_log_id(), "FlowLog flowLogId")?;
                Ok(FlowLogOutputs { id: id.to_string() })
            })
            .transpose()
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
