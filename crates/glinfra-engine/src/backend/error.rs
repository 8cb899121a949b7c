//! The errors of every state backend.

use super::lock::LockInfo;
use std::path::PathBuf;

/// Errors of a state backend (the local directory or an object store such as S3).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another run holds the stack's lock.
    #[error("stack `{stack}` is locked by {holder}; {advice}")]
    Locked {
        /// The stack.
        stack: String,
        /// Who holds it.
        holder: Box<LockInfo>,
        /// What to do: wait, or when the lease expires.
        advice: String,
    },
    /// This run's lock was taken over, removed, or its lease ran out before it could
    /// be renewed: the run must make no further change.
    #[error("the lock of stack `{stack}` is no longer this run's ({reason}); nothing more was started. Run again once the other run is done (see `force-unlock` for a stuck lock)")]
    LockLost {
        /// The stack.
        stack: String,
        /// What happened, naming the new holder when there is one.
        reason: String,
    },
    /// A conditional write found the object changed since this run read it: someone
    /// else wrote the stack's state (a lost update, refused).
    #[error("the state of stack `{stack}` at {location} was changed by someone else since this run read it ({detail}); nothing was overwritten. Run again: the next run reads their state and its refresh finds what this run made")]
    Conflict {
        /// The stack.
        stack: String,
        /// The object.
        location: String,
        /// What the store said.
        detail: String,
    },
    /// `force-unlock` named a lock that is not the stack's current one.
    #[error("stack `{stack}`: {found}; nothing was removed (force-unlock needs the id of the current lock, so that no one unlocks by accident)")]
    NotTheLock {
        /// The stack.
        stack: String,
        /// What is there instead.
        found: String,
    },
    /// The backend cannot do this (say, force-unlock a local OS lock).
    #[error("{0}")]
    Unsupported(String),
    /// The remote store failed (network, permissions, throttling after retries).
    #[error("state backend {location}: {message}")]
    Remote {
        /// The bucket and key, or the prefix.
        location: String,
        /// What failed.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("state store {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The stack name could not be a file name inside the state directory.
    #[error("invalid stack name: {problem}")]
    InvalidStackName {
        /// What is wrong, and the rule.
        problem: String,
    },
    /// `state rm` named a resource the stack does not record.
    #[error("stack `{stack}` records no resource `{id}` (see `state list`)")]
    NotRecorded {
        /// The stack.
        stack: String,
        /// The logical id asked for.
        id: String,
    },
    /// A state or journal file is not what glinfra wrote.
    #[error("state file {path} is unreadable: {message}")]
    Corrupt {
        /// The file (or object).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}
