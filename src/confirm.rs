//! What stands between a destructive plan and AWS on the command line: the
//! protected-resource refusal, and a confirmation for deletes and replacements.

use glinfra_core::safety::refusals;
use glinfra_core::{Action, Plan, Stack};
use std::io::{BufRead, IsTerminal, Write};

/// How the person running glinfra confirmed, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Consent {
    /// `--yes`: apply deletes and replacements without asking.
    pub yes: bool,
    /// `--confirm NAME`: the stack's name, which a production destroy needs.
    pub confirm: Option<String>,
}

/// True for a production stack (its `environment` tag starts with `prod`).
pub fn is_production(stack: &Stack) -> bool {
    stack
        .stack_tags()
        .get("environment")
        .is_some_and(|e| e.starts_with("prod"))
}

/// `Ok` when `plan` may be applied: it reaches no protected resource, and its
/// deletes and replacements are confirmed (`--yes`, or `yes` typed on a terminal;
/// a destroy always needs `--yes`, and of a production stack `--confirm NAME` too).
/// Otherwise the message that says what to do. `ask` puts a question to the person
/// at the terminal: `None` when there is none ([`ask_on_terminal`]).
pub fn check(
    plan: &Plan,
    stack: &Stack,
    destroy: bool,
    consent: &Consent,
    ask: impl FnOnce(&str) -> Option<bool>,
) -> Result<(), String> {
    let refused = refusals(plan);
    if !refused.is_empty() {
        return Err(format!(
            "{}\nNothing was changed.",
            glinfra_core::safety::message(&refused)
        ));
    }
    let destructive = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Delete | Action::Replace) && !s.retain)
        .count();
    if destroy {
        if !consent.yes {
            return Err(format!(
                "destroy deletes {destructive} resources of stack `{}`: review the plan above and pass --yes",
                stack.name()
            ));
        }
        if is_production(stack) && consent.confirm.as_deref() != Some(stack.name()) {
            return Err(format!(
                "`{0}` is a production stack: destroying it also needs --confirm {0}",
                stack.name()
            ));
        }
        return Ok(());
    }
    // A promotion cannot be undone either: it is confirmed like a delete, or by the
    // stack's name (what `failover` asks for).
    let promoted = crate::failover::promotions(plan).len();
    let named = consent.confirm.as_deref() == Some(stack.name());
    if (destructive == 0 && promoted == 0) || consent.yes || (destructive == 0 && named) {
        return Ok(());
    }
    let what = match (destructive, promoted) {
        (0, p) => format!("promotes {p} read replicas to primaries (irreversible)"),
        (d, 0) => format!("deletes or replaces {d} resources"),
        (d, p) => format!("deletes or replaces {d} resources and promotes {p} read replicas"),
    };
    let question = format!("This plan {what}. Type `yes` to apply it: ");
    match ask(&question) {
        Some(true) => Ok(()),
        Some(false) => Err("not applied: the answer was not `yes`".into()),
        None => Err(format!(
            "this plan {what} and no terminal is attached to ask: review it and pass --yes"
        )),
    }
}

/// Asks `question` on the terminal and reads the answer: `Some(true)` for `yes`,
/// `None` when stdin is not a terminal.
pub fn ask_on_terminal(question: &str) -> Option<bool> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Some(answer.trim() == "yes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use glinfra_core::plan::{plan, plan_destroy};
    use glinfra_core::spec::ec2::VpcSpec;
    use glinfra_core::{ResourceGraph, State};

    fn no_terminal(_: &str) -> Option<bool> {
        None
    }

    fn stack(env: &str) -> Stack {
        let mut s = Stack::new("prod-us-east-1", "us-east-1");
        s.tag("environment", env);
        s.add("vpc", VpcSpec::new("10.0.0.0/16"));
        s
    }

    fn recorded(s: &Stack) -> State {
        let p = plan(&ResourceGraph::build(s).unwrap(), &State::empty(s.name()));
        let mut state = State::empty(s.name());
        for step in p.steps {
            let d = glinfra_core::Declaration::clone(&step.desired.unwrap());
            state.resources.insert(
                d.id.clone(),
                glinfra_core::ResourceState {
                    kind: d.kind,
                    region: d.region,
                    props: d.props.value(),
                    tags: d.tags,
                    outputs: [("id".to_string(), "vpc-1".into())].into_iter().collect(),
                    dependencies: Default::default(),
                    pending: None,
                    lifecycle: d.lifecycle,
                },
            );
        }
        state
    }

    #[test]
    fn creates_and_updates_need_no_confirmation() {
        let s = stack("dev");
        let p = plan(&ResourceGraph::build(&s).unwrap(), &State::empty(s.name()));
        assert!(check(&p, &s, false, &Consent::default(), no_terminal).is_ok());
    }

    #[test]
    fn a_destroy_needs_yes_and_a_production_destroy_the_stack_name_too() {
        let dev = stack("dev");
        let d = plan_destroy(&recorded(&dev));
        let err = check(&d, &dev, true, &Consent::default(), no_terminal).unwrap_err();
        assert!(err.contains("pass --yes"), "{err}");
        let yes = Consent {
            yes: true,
            confirm: None,
        };
        assert!(check(&d, &dev, true, &yes, no_terminal).is_ok());

        let prod = stack("prod");
        let d = plan_destroy(&recorded(&prod));
        let err = check(&d, &prod, true, &yes, no_terminal).unwrap_err();
        assert!(err.contains("--confirm prod-us-east-1"), "{err}");
        let named = Consent {
            yes: true,
            confirm: Some("prod-us-east-1".into()),
        };
        assert!(check(&d, &prod, true, &named, no_terminal).is_ok());
        let wrong = Consent {
            yes: true,
            confirm: Some("prod".into()),
        };
        assert!(check(&d, &prod, true, &wrong, no_terminal).is_err());
    }

    #[test]
    fn deletes_in_an_apply_need_yes_without_a_terminal() {
        let dev = stack("dev");
        let mut empty = Stack::new("prod-us-east-1", "us-east-1");
        empty.tag("environment", "dev");
        let p = plan(&ResourceGraph::build(&empty).unwrap(), &recorded(&dev));
        let err = check(&p, &dev, false, &Consent::default(), no_terminal).unwrap_err();
        assert!(err.contains("deletes or replaces 1 resources"), "{err}");
        assert!(check(
            &p,
            &dev,
            false,
            &Consent {
                yes: true,
                confirm: None
            },
            no_terminal
        )
        .is_ok());
        // On a terminal, the answer decides; the question says how many.
        let asked = |q: &str| {
            assert!(q.contains("deletes or replaces 1 resources"), "{q}");
            Some(true)
        };
        assert!(check(&p, &dev, false, &Consent::default(), asked).is_ok());
        assert!(check(&p, &dev, false, &Consent::default(), |_| Some(false)).is_err());
    }
}
