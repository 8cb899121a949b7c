//! Drivers for the RDS kinds: DB subnet groups, DB parameter groups and DB
//! instances (primaries and read replicas, possibly in another region than their
//! source).
//!
//! How every driver here keeps the [`Driver`](crate::driver::Driver) contract:
//!
//! - Every call uses the RDS client of the resource's own region (a replica's
//!   region, not its source's).
//! - **find** describes the resource by its deterministic name and adopts it only
//!   when it carries this resource's ownership tags (`glinfra:stack`,
//!   `glinfra:logical-id`); a same-named resource owned by anyone else is an
//!   `AlreadyExists` error naming its owner. An instance being deleted is waited
//!   out and reported absent; a failed one is not adopted.
//! - **create** passes every tag on the create call itself, so a crash before the
//!   engine records the resource leaves something `find` adopts. An
//!   `...AlreadyExists` answer is resolved through `find` (ours: adopted and
//!   brought in line; anyone else's: the `AlreadyExists` error).
//! - **update** changes only the named fields (every in-place field when none is
//!   named), and waits until an instance is usable again.
//! - **delete** works from the recorded outputs; a resource already gone is
//!   success, and it waits until the resource is gone.
//!
//! No client token is relied upon: none of these calls takes one.

mod instance;
mod parameter_group;
mod subnet_group;
#[cfg(test)]
mod tests;

pub(crate) use instance::DbInstanceDriver;
pub(crate) use parameter_group::DbParameterGroupDriver;
pub(crate) use subnet_group::DbSubnetGroupDriver;

// RDS tags by ARN (ListTagsForResource, AddTagsToResource, RemoveTagsFromResource).
crate::kit::tags::tagging!(aws_sdk_rds::Client, by_name, std::convert::identity);
