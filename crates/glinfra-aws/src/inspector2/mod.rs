//! Amazon Inspector (inspector2): one kind, scanning enabled for an account and
//! region ([`enabler`]).

mod enabler;
#[cfg(test)]
mod tests;

pub(crate) use enabler::EnablerDriver;
