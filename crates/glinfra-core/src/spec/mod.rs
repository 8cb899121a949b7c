//! Typed specs, one module per AWS service.
//!
//! Each spec is plain data; its `check` validates values without IO.
//! `Resource<Spec>` handles expose each kind's typed outputs.

pub mod ec2;
pub mod eks;
pub mod elasticache;
pub mod iam;
pub mod kms;
pub mod msk;
pub mod rds;
pub mod route53;
pub mod s3;

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
