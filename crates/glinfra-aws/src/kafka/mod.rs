//! Drivers for Amazon MSK: configurations ([`MskConfigurationDriver`],
//! `aws:msk/configuration`) and provisioned clusters ([`MskClusterDriver`],
//! `aws:msk/cluster`).
//!
//! - A **configuration** takes no tags (CreateConfiguration has no Tags parameter),
//!   so it cannot carry ownership tags: its name, unique per account and region, is
//!   its natural key, and `find` adopts a configuration of that name. Changing its
//!   server properties makes a new revision (UpdateConfiguration).
//! - A **cluster** is found by its exact name and adopted only when it carries our
//!   ownership tags. Every update call needs the cluster ACTIVE and its
//!   `CurrentVersion`, and MSK runs one operation at a time, so the driver waits for
//!   the cluster to be ACTIVE with a new `CurrentVersion` between calls.
//!
//! No ClientToken is relied upon: MSK's create calls take none.

mod cluster;
mod cluster_update;
mod configuration;
#[cfg(test)]
mod tests;

pub(crate) use cluster::MskClusterDriver;
pub(crate) use configuration::MskConfigurationDriver;

// MSK tags by ARN (ListTagsForResource, TagResource, UntagResource).
crate::kit::tags::tagging!(aws_sdk_kafka::Client, by_arn, std::convert::identity);
