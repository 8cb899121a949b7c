//! glinfra's benchmarks, with no AWS SDK in the build: [`scenarios`] applies the
//! Agent Factory topology in the simulated AWS account and measures each run
//! against its bound (`simbench`); [`synthetic`] declares stacks of any size for
//! planning at scale (`planbench`, and the criterion bench `plan_at_scale`).

pub mod scenarios;
pub mod stats;
pub mod synthetic;
