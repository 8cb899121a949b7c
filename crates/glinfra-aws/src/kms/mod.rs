//! KMS: one kind, the key with its alias ([`key`]). Every call uses the KMS
//! client of the resource's own region.

mod key;
#[cfg(test)]
mod tests;

pub(crate) use key::KmsKeyDriver;
