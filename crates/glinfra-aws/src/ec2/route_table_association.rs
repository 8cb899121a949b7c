//! Route table associations: a subnet bound to a route table. Untaggable, found
//! by natural key (table and subnet). A subnet associated with another table
//! fails `Resource.AlreadyAssociated`; moved to another table, the association is
//! replaced in one call (ReplaceRouteTableAssociation).

use super::route_table::{describe_table, tables_of};
use super::{settle, SETTLE_DEADLINE};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::wait::{self, Poll};
use crate::kit::{required, resolved_str, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{RouteTableAssociation, RouteTableAssociationStateCode as Code};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{RouteTableAssociationOutputs, RouteTableAssociationSpec};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:ec2/route-table-association`.
pub(crate) struct RouteTableAssociationDriver;

fn is_live(a: &RouteTableAssociation) -> bool {
    !matches!(
        a.association_state().and_then(|s| s.state()),
        Some(Code::Disassociated | Code::Disassociating | Code::Failed)
    )
}

async fn wait_associated(ec2: &Client, table: &str, id: &str) -> Result<(), ProviderError> {
    wait::until(
        &format!("association {id} to become associated"),
        SETTLE_DEADLINE,
        wait::POLL,
        || async {
            let tables = describe_table(ec2, table).await?;
            let state = tables
                .iter()
                .flat_map(|t| t.associations())
                .find(|a| a.route_table_association_id() == Some(id))
                .and_then(|a| a.association_state())
                .and_then(|s| s.state().cloned());
            match state {
                Some(Code::Associated) => Ok(Poll::Ready(())),
                Some(Code::Associating) | None => Ok(Poll::Pending("associating".into())),
                Some(other) => Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!("association {id} of {table} is {}", other.as_str()),
                )),
            }
        },
    )
    .await
}

#[async_trait]
impl Driver for RouteTableAssociationDriver {
    type Spec = RouteTableAssociationSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<RouteTableAssociationSpec>,
    ) -> Result<Option<RouteTableAssociationOutputs>, ProviderError> {
        let table = resolved_str(&r.spec.route_table_id, "route_table_id")?;
        let subnet = resolved_str(&r.spec.subnet_id, "subnet_id")?;
        let tables = describe_table(&c.ec2(&r.region), table).await?;
        Ok(tables
            .iter()
            .flat_map(|t| t.associations())
            .filter(|a| is_live(a))
            .find(|a| a.subnet_id() == Some(subnet))
            .and_then(|a| a.route_table_association_id())
            .map(|id| RouteTableAssociationOutputs { id: id.to_string() }))
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<RouteTableAssociationSpec>,
    ) -> Result<RouteTableAssociationOutputs, ProviderError> {
        let ec2 = &c.ec2(&r.region);
        let table = resolved_str(&r.spec.route_table_id, "route_table_id")?;
        let subnet = resolved_str(&r.spec.subnet_id, "subnet_id")?;
        // The table and subnet were made a moment ago: they may not be visible yet.
        let created = settle("AssociateRouteTable", || async move {
            ec2.associate_route_table()
                .route_table_id(table)
                .subnet_id(subnet)
                .send()
                .await
                .map_err(|e| classify(&format!("AssociateRouteTable {table} {subnet}"), e))
        })
        .await?;
        let id = required(
            created.association_id(),
            "AssociateRouteTable association id",
        )?;
        if created.association_state().and_then(|s| s.state()) == Some(&Code::Associating) {
            wait_associated(ec2, table, id).await?;
        }
        Ok(RouteTableAssociationOutputs { id: id.to_string() })
    }

    /// Another route table: ReplaceRouteTableAssociation moves the subnet to it in
    /// one call (never without a table; AWS gives the association a new id). A subnet
    /// found on the new table already (a resumed move) is left as it is; an
    /// association that is gone is made again.
    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<RouteTableAssociationSpec>,
        r: &Desired<RouteTableAssociationSpec>,
        changed: Changed<'_>,
    ) -> Result<RouteTableAssociationOutputs, ProviderError> {
        if !changed.has("route_table_id") {
            return Ok(prior.outputs.clone());
        }
        if let Some(found) = self.find(c, r).await? {
            return Ok(found);
        }
        let ec2 = &c.ec2(&r.region);
        let table = resolved_str(&r.spec.route_table_id, "route_table_id")?;
        let old = prior.outputs.id.as_str();
        let replaced = ec2
            .replace_route_table_association()
            .association_id(old)
            .route_table_id(table)
            .send()
            .await
            .map_err(|e| classify(&format!("ReplaceRouteTableAssociation {old} {table}"), e))
            .or_absent()?;
        let Some(replaced) = replaced else {
            return self.create(c, r).await;
        };
        let id = required(
            replaced.new_association_id(),
            "ReplaceRouteTableAssociation new association id",
        )?;
        if replaced.association_state().and_then(|s| s.state()) == Some(&Code::Associating) {
            wait_associated(ec2, table, id).await?;
        }
        Ok(RouteTableAssociationOutputs { id: id.to_string() })
    }

    /// Associations take no tags: the recorded ones are read through their tables,
    /// all in one DescribeRouteTables for the stack's tables (plus one by id for
    /// recorded tables the stack does not own). An association is known by its id;
    /// one gone (disassociated, or replaced by ReplaceRouteTableAssociation, which
    /// makes a new id) is not returned. Associations state does not know are not
    /// looked for (nothing marks them as the stack's).
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<RouteTableAssociationSpec>,
    ) -> Result<Option<Vec<Live<RouteTableAssociationSpec>>>, ProviderError> {
        let ids = scope
            .recorded
            .iter()
            .map(|r| resolved_str(&r.spec.route_table_id, "route_table_id").map(str::to_owned))
            .collect::<Result<_, _>>()?;
        let tables = tables_of(&c.ec2(&scope.region), &scope.stack, ids).await?;
        let mut live = Vec::new();
        for prior in &scope.recorded {
            let id = prior.outputs.id.as_str();
            let Some((table, association)) = tables.values().find_map(|t| {
                let a = t
                    .associations()
                    .iter()
                    .find(|a| a.route_table_association_id() == Some(id))?;
                Some((t, a))
            }) else {
                continue;
            };
            if !is_live(association) {
                continue;
            }
            let mut spec = prior.spec.clone();
            if let Some(t) = association.route_table_id().or(table.route_table_id()) {
                spec.route_table_id = t.to_string().into();
            }
            if let Some(subnet) = association.subnet_id() {
                spec.subnet_id = subnet.to_string().into();
            }
            live.push(Live {
                id: prior.id.clone(),
                outputs: prior.outputs.clone(),
                tags: Default::default(),
                spec: Some(spec),
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<RouteTableAssociationSpec>,
    ) -> Result<(), ProviderError> {
        let id = &prior.outputs.id;
        // InvalidAssociationID.NotFound: already gone.
        c.ec2(&prior.region)
            .disassociate_route_table()
            .association_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DisassociateRouteTable {id}"), e))
            .or_gone()
    }
}
