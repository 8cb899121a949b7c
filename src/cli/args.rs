//! The command line's arguments and verbs (clap).

use crate::backend::BackendUrl;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(about = "Plan and apply an environment's AWS infrastructure with glinfra")]
pub struct Args {
    /// What to do (default: plan, then apply).
    #[command(subcommand)]
    pub command: Option<Verb>,
    /// The environment file, or `all`: every environment file beside the default
    /// one, as one fleet (applied in the order their stack references make).
    #[arg(long, global = true)]
    pub env: Option<PathBuf>,
    /// Target real AWS through the standard credential chain (otherwise: an emulator).
    #[arg(long, global = true)]
    pub aws: bool,
    /// Print machine-readable JSON (the plan, apply events as JSON lines, the report).
    #[arg(long, global = true)]
    pub json: bool,
    /// Print the plan's operation graph as Graphviz DOT and stop.
    #[arg(long, global = true)]
    pub dot: bool,
    /// The state directory (default: `.glinfra/state/aws` or `.glinfra/state/local`).
    #[arg(long, global = true)]
    pub state_dir: Option<PathBuf>,
    /// Where state lives: `s3://BUCKET/PREFIX[?region=R]`, an S3 bucket every machine
    /// and CI runner shares (locks leased in the bucket itself; see `backend init`),
    /// or a directory (the default, `--state-dir`).
    #[arg(long, global = true, value_name = "URL", conflicts_with = "state_dir")]
    pub backend: Option<BackendUrl>,
    /// How long an S3 lock lasts unless its holder renews it (every third of it): a
    /// killed run's lock is taken over this long after its last renewal.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 60)]
    pub lock_lease: u64,
    /// Operations in flight at once.
    #[arg(long, global = true, default_value_t = 16, alias = "parallelism")]
    pub concurrency: usize,
    /// Apply deletes and replacements without asking (a destroy always needs it).
    #[arg(long, global = true)]
    pub yes: bool,
    /// The stack's name, which destroying a production stack also needs.
    #[arg(long, global = true, value_name = "STACK")]
    pub confirm: Option<String>,
    /// Plan only this resource and what it depends on (repeatable).
    #[arg(long, global = true, value_name = "ID")]
    pub target: Vec<String>,
    /// Leave this resource and what depends on it out of the plan (repeatable).
    #[arg(long, global = true, value_name = "ID")]
    pub exclude: Vec<String>,
    /// Replace this resource even though nothing forces it (repeatable).
    #[arg(long, global = true, value_name = "ID")]
    pub replace: Vec<String>,
    /// Read the live cloud before planning (`--refresh=false` plans from recorded
    /// state alone, with no AWS call).
    #[arg(long, global = true, default_value_t = true, action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Stop starting operations this many seconds after the run starts; those in
    /// flight finish (each within its lifecycle timeout), the state is saved, and
    /// the run exits 1 naming what it did not start. In-flight AWS calls are not
    /// cut off: that would leave resources half made.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// `plan` exits 0 when there is nothing to change, 2 when there is, 1 on error.
    #[arg(long, global = true)]
    pub detailed_exitcode: bool,
    /// Write a Gantt chart of the apply to this SVG file: one bar per operation,
    /// its waits for AWS shaded, the run's critical path in red.
    #[arg(long, global = true, value_name = "FILE.svg")]
    pub timeline: Option<PathBuf>,
}

/// The verbs.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Print the plan; change nothing.
    Plan {
        /// Also save the plan (its JSON) to this file, for `apply FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Plan and apply (the default); or apply a plan saved with `plan --out`.
    Apply {
        /// A saved plan: apply exactly it (refused if the program or the state
        /// changed since it was made). No refresh, no new plan.
        plan: Option<PathBuf>,
    },
    /// Delete everything the stack recorded, dependents first.
    Destroy,
    /// Read the live cloud, record what it says, and show what changed outside
    /// glinfra; plans nothing.
    Refresh,
    /// Inspect or edit recorded state.
    #[command(subcommand)]
    State(StateVerb),
    /// Take an existing AWS resource not made by glinfra under a declared logical
    /// id: tag it as this stack's, record it, and show the plan from there.
    Import {
        /// The logical id the program declares it under.
        id: String,
        /// Its AWS id (`vpc-0abc…`, a bucket name…).
        aws_id: String,
    },
    /// Remove the stack's lock (an S3 backend's), given its id (which a refused run
    /// prints), once sure its run is gone; says whose lock it removed.
    ForceUnlock {
        /// The lock's id.
        lock_id: String,
    },
    /// The state backend.
    #[command(subcommand)]
    Backend(BackendVerb),
    /// List every resource kind: its outputs and the fields that force replacement.
    Kinds,
    /// Disaster recovery: promote the standby database in REGION and move the DNS
    /// records to it. Shows the plan; applies it only with `--confirm STACK` (a
    /// promotion cannot be undone). See docs/disaster-recovery.md.
    Failover {
        /// The region whose standby becomes the primary.
        #[arg(long, value_name = "REGION")]
        to: String,
    },
    /// The monthly cost estimate of the declared stack, resource by resource (no
    /// AWS call); of what the state records (`--recorded`); or of a saved plan's change.
    Cost {
        /// A plan saved with `plan --out`: the monthly difference it makes.
        plan: Option<PathBuf>,
        /// Estimate what the state records instead of the declared stack.
        #[arg(long, conflicts_with = "plan")]
        recorded: bool,
    },
}

/// `backend` sub-verbs.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum BackendVerb {
    /// Check that a bucket can hold state: versioned (refused otherwise), encrypted
    /// with KMS by default and blocking public access (warned otherwise); with
    /// `--create`, create it so when it does not exist.
    Init {
        /// `s3://BUCKET/PREFIX` (default: `--backend`).
        url: Option<BackendUrl>,
        /// Create the bucket when it does not exist.
        #[arg(long)]
        create: bool,
        /// The KMS key new objects are encrypted with (default: the AWS-managed `aws/s3` key).
        #[arg(long, value_name = "KEY")]
        kms_key: Option<String>,
    },
}

/// `state` sub-verbs. They read and write only the state file: no AWS call.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum StateVerb {
    /// Every recorded resource: logical id, kind, region, AWS id.
    List,
    /// One recorded resource, as JSON.
    Show {
        /// Its logical id.
        id: String,
    },
    /// Forget a resource without deleting it: it stays in AWS, unmanaged.
    Rm {
        /// Its logical id.
        id: String,
    },
}
