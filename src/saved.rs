//! Saved plans: `plan --out FILE` writes the plan as its documented JSON, and
//! `apply FILE` applies exactly that plan, refusing it, with the reason, when it
//! is not a plan, is for another stack, or the program changed since it was made.
//! (A state that changed since is refused by the executor itself: a plan applies
//! only to the state serial it was made from.)

use glinfra_core::plan::PLAN_SCHEMA;
use glinfra_core::{render, Plan, ResourceGraph};
use std::path::{Path, PathBuf};

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The file could not be read or written.
    #[error("plan file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a glinfra plan of this version.
    #[error("{path} is not a {PLAN_SCHEMA} plan ({why}); write one with `plan --out {path}`")]
    NotAPlan {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The plan is for another stack.
    #[error("{path} is a plan for stack `{planned}`, not `{declared}`")]
    OtherStack {
        /// The file.
        path: PathBuf,
        /// The plan's stack.
        planned: String,
        /// The program's stack.
        declared: String,
    },
    /// The program is not the one the plan was made from.
    #[error("the program changed since {path} was made (its resources, specs, tags or options differ); plan again with `plan --out {path}` and review it")]
    ProgramChanged {
        /// The file.
        path: PathBuf,
    },
}

/// Writes `plan` to `path` as JSON, readable by its owner only (a plan holds
/// the program's values and the state's outputs).
pub fn write(plan: &Plan, path: &Path) -> Result<(), SavedPlanError> {
    let io = |source| SavedPlanError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut file, render::json(plan).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads the plan saved at `path` and checks it was made for `graph`, the
/// program as it is now.
pub fn read(path: &Path, graph: &ResourceGraph) -> Result<Plan, SavedPlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let not_a_plan = |why: String| SavedPlanError::NotAPlan {
        path: path.to_path_buf(),
        why,
    };
    let plan: Plan = serde_json::from_str(&text).map_err(|e| not_a_plan(e.to_string()))?;
    if plan.schema != PLAN_SCHEMA {
        return Err(not_a_plan(format!("its schema is `{}`", plan.schema)));
    }
    if plan.stack != graph.stack_name() {
        return Err(SavedPlanError::OtherStack {
            path: path.to_path_buf(),
            planned: plan.stack,
            declared: graph.stack_name().to_string(),
        });
    }
    // A destroy plan does not depend on the program; every other plan does.
    if plan.program.as_ref().is_some_and(|p| *p != graph.digest()) {
        return Err(SavedPlanError::ProgramChanged {
            path: path.to_path_buf(),
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glinfra_core::spec::ec2::VpcSpec;
    use glinfra_core::{plan::plan, Stack, State};

    fn graph(cidr: &str) -> ResourceGraph {
        let mut stack = Stack::new("saved", "us-east-1");
        stack.add("vpc", VpcSpec::new(cidr));
        ResourceGraph::build(&stack).unwrap()
    }

    #[test]
    fn a_saved_plan_reads_back_as_the_same_plan_for_the_same_program() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let p = plan(&graph("10.0.0.0/16"), &State::empty("saved"));
        write(&p, &path).unwrap();
        assert_eq!(read(&path, &graph("10.0.0.0/16")).unwrap(), p);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_saved_plan_is_refused_when_the_program_or_the_stack_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        write(&plan(&graph("10.0.0.0/16"), &State::empty("saved")), &path).unwrap();
        let err = read(&path, &graph("10.1.0.0/16")).unwrap_err();
        assert!(
            matches!(err, SavedPlanError::ProgramChanged { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("plan again with `plan --out"));
        let mut other = Stack::new("other", "us-east-1");
        other.add("vpc", VpcSpec::new("10.0.0.0/16"));
        let err = read(&path, &ResourceGraph::build(&other).unwrap()).unwrap_err();
        assert!(matches!(err, SavedPlanError::OtherStack { .. }), "{err}");
        std::fs::write(&path, "{\"schema\": \"glinfra.plan/v1\"}").unwrap();
        assert!(matches!(
            read(&path, &graph("10.0.0.0/16")).unwrap_err(),
            SavedPlanError::NotAPlan { .. }
        ));
    }
}
