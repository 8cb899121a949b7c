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
/// Otherwise the message that says what to do.
pub fn check(plan: &Plan, stack: &Stack, destroy: bool, consent: &Consent) -> Result<(), String> {
    let refused = refusals(plan);
    if !refused.is_empty() {
        let lines: Vec<String> = refused.iter().map(|r| format!("  {r}")).collect();
        return Err(format!(
            "refused: this plan would delete or replace protected resources:\n{}\nNothing was changed. Unprotect them first (lifecycle.protect = false, then apply), or change the program so they are kept.",
            lines.join("\n")
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
    if destructive == 0 || consent.yes {
        return Ok(());
    }
    let question =
        format!("This plan deletes or replaces {destructive} resources. Type `yes` to apply it: ");
    if std::io::stdin().is_terminal() {
        print!("{question}");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() == "yes" {
            return Ok(());
        }
        return Err("not applied: the answer was not `yes`".into());
    }
    Err(format!(
        "this plan deletes or replaces {destructive} resources and no terminal is attached to ask: review it and pass --yes"
    ))
}
