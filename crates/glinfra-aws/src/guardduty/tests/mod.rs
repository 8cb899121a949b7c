//! SDK-mock tests of the GuardDuty detector driver: request shapes, adoption of
//! the account's one detector by its tags, in-place changes, idempotent deletes.

mod detector;
