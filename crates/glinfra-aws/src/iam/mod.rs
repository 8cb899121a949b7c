//! IAM: one kind, the role ([`role`]). IAM is a global service: every call uses
//! the one IAM client, whatever the resource's region.

mod listing;
mod role;
#[cfg(test)]
mod tests;

pub(crate) use role::IamRoleDriver;
