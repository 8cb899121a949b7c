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

/// At most this many tags on one resource (EC2, S3, IAM, KMS, RDS, ElastiCache,
/// EKS, MSK, CloudWatch Logs all document 50).
pub const MAX_TAGS: usize = 50;

/// The problems with a resource's tags, by AWS's common tagging rules
/// ("Tagging AWS resources", Tag naming limits and requirements): at most 50
/// tags; keys 1 to 128 and values 0 to 256 Unicode characters; letters, digits,
/// spaces and `_ . : / = + - @`; keys may not start with the reserved `aws:`.
pub fn tag_problems(tags: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    let mut out = Vec::new();
    if tags.len() > MAX_TAGS {
        out.push(format!(
            "{} tags: AWS allows at most {MAX_TAGS} per resource (ownership tags included)",
            tags.len()
        ));
    }
    for (k, v) in tags {
        let key_len = k.chars().count();
        if key_len == 0 || key_len > 128 {
            out.push(format!(
                "tag key `{k}` has {key_len} characters: a key has 1 to 128"
            ));
        }
        if v.chars().count() > 256 {
            out.push(format!(
                "tag `{k}`: the value has {} characters: a value has at most 256",
                v.chars().count()
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            out.push(format!(
                "tag key `{k}`: the `aws:` prefix is reserved for AWS"
            ));
        }
        if let Some(c) = k.chars().chain(v.chars()).find(|c| !allowed(*c)) {
            out.push(format!(
                "tag `{k}`: `{c}` is not allowed (letters, digits, spaces and _ . : / = + - @)"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn tags_follow_the_common_aws_rules() {
        let ok = BTreeMap::from([
            ("glinfra:stack".to_string(), "prod-us-east-1".to_string()),
            ("team".into(), "a b_c.d/e=f+g-h@i".into()),
        ]);
        assert!(tag_problems(&ok).is_empty());
        let cases = [
            ("aws:owner", "x", "reserved"),
            ("", "x", "1 to 128"),
            (&"k".repeat(129) as &str, "x", "1 to 128"),
            ("k", &"v".repeat(257) as &str, "at most 256"),
            ("k", "a;b", "`;` is not allowed"),
        ];
        for (k, v, says) in cases {
            let problems = tag_problems(&BTreeMap::from([(k.to_string(), v.to_string())]));
            assert!(
                problems.iter().any(|p| p.contains(says)),
                "{k}={v}: {problems:?}"
            );
        }
        let many: BTreeMap<String, String> =
            (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(tag_problems(&many)[0].contains("at most 50"));
    }

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
