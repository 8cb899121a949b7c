//! AWS Shield Advanced: one kind, the account's subscription ([`subscription`]).

mod subscription;
#[cfg(test)]
mod tests;

pub(crate) use subscription::SubscriptionDriver;
