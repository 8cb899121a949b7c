//! The README's table of what each kind's changes do agrees with the declarations:
//! the fields that force replacement and those whose change rule decides by the
//! values, per kind. A field marked or unmarked without its row changed fails here.

use glinfra::core::Kind;

/// The rows the declarations give, one per kind.
fn rows() -> Vec<String> {
    Kind::all()
        .iter()
        .map(|kind| {
            let list = |fields: Vec<&str>| {
                if fields.is_empty() {
                    "—".to_string()
                } else {
                    fields
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let replace = std::iter::once("region")
                .chain(kind.replace_fields().iter().copied())
                .collect();
            let by_value = kind.change_rules().iter().map(|(f, _)| *f).collect();
            format!(
                "| `{}` | {} | {} |",
                kind.type_name(),
                list(replace),
                list(by_value)
            )
        })
        .collect()
}

#[test]
fn the_readme_says_per_field_what_replaces_and_what_depends_on_the_values() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("### What a change does, per field")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a `What a change does, per field` section");
    let listed: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| `aws:"))
        .collect();
    let expected = rows();
    assert_eq!(
        listed,
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "the README's table should read:\n{}",
        expected.join("\n")
    );
}
