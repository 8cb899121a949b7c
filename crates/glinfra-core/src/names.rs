//! Names glinfra turns into file names and AWS names: checked once, here.

/// The longest stack name: it prefixes AWS names that have their own limits
/// (an ElastiCache replication group id has 40 characters).
pub const MAX_STACK_NAME: usize = 40;

/// Why a stack name is refused, or `None` when it is a valid identifier: 1 to
/// [`MAX_STACK_NAME`] ASCII letters, digits and hyphens, starting with a letter,
/// not ending with a hyphen. Such a name cannot contain a path separator or `..`,
/// so it always names a file inside the state directory.
pub fn stack_name_problem(name: &str) -> Option<String> {
    let rule = format!(
        "a stack name is 1 to {MAX_STACK_NAME} letters, digits and hyphens, starting with a letter and not ending with a hyphen"
    );
    if name.is_empty() || name.len() > MAX_STACK_NAME {
        return Some(format!("`{name}` has {} characters: {rule}", name.len()));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Some(format!(
            "`{name}` has characters other than letters, digits and hyphens: {rule}"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) || name.ends_with('-') {
        return Some(format!("`{name}`: {rule}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identifiers_pass_and_paths_do_not() {
        for ok in ["a", "prod-us-east-1", "Dev2"] {
            assert_eq!(stack_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "../../evil",
            "a/b",
            "a\\b",
            "..",
            ".hidden",
            "-a",
            "a-",
            "1a",
            "a b",
            "é",
            &"a".repeat(41),
        ] {
            assert!(stack_name_problem(bad).is_some(), "{bad:?} was accepted");
        }
    }

    proptest! {
        /// Whatever the validator accepts is one plain file-name component.
        #[test]
        fn accepted_names_are_one_path_component(name in "\\PC{0,50}") {
            if stack_name_problem(&name).is_none() {
                let path = std::path::Path::new("state").join(format!("{name}.state.json"));
                prop_assert_eq!(path.parent(), Some(std::path::Path::new("state")));
                prop_assert!(path.components().all(|c| matches!(c, std::path::Component::Normal(_))));
            }
        }
    }
}
