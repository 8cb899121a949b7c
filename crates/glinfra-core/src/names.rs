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

/// How one service names a resource: length, characters, first character.
#[derive(Clone, Copy, Debug)]
pub struct NameRule {
    /// What it names, for messages ("RDS DB instance identifier").
    pub what: &'static str,
    /// The longest name.
    pub max: usize,
    /// Lower-case letters only (ElastiCache).
    pub lowercase: bool,
    /// Other characters allowed besides ASCII letters, digits and hyphens.
    pub also: &'static str,
    /// It must start with a letter (else a letter or digit).
    pub starts_with_letter: bool,
    /// No `--` and no trailing hyphen.
    pub tidy_hyphens: bool,
}

/// RDS DB instance identifiers (CreateDBInstance, `DBInstanceIdentifier`).
pub const RDS_INSTANCE: NameRule = NameRule {
    what: "an RDS DB instance identifier",
    max: 63,
    lowercase: false,
    also: "",
    starts_with_letter: true,
    tidy_hyphens: true,
};
/// ElastiCache replication group ids (CreateReplicationGroup, `ReplicationGroupId`).
pub const ELASTICACHE_GROUP: NameRule = NameRule {
    what: "an ElastiCache replication group id",
    max: 40,
    lowercase: true,
    also: "",
    starts_with_letter: true,
    tidy_hyphens: true,
};
/// EKS cluster names (CreateCluster, `name`: `^[0-9A-Za-z][A-Za-z0-9\-_]*`, 1 to 100).
pub const EKS_CLUSTER: NameRule = NameRule {
    what: "an EKS cluster name",
    max: 100,
    lowercase: false,
    also: "_",
    starts_with_letter: false,
    tidy_hyphens: false,
};
/// MSK cluster names (CreateClusterV2, `ClusterName`, 1 to 64).
pub const MSK_CLUSTER: NameRule = NameRule {
    what: "an MSK cluster name",
    max: 64,
    lowercase: false,
    also: "",
    starts_with_letter: true,
    tidy_hyphens: false,
};

/// Why `name` breaks `rule`, or `None`.
pub fn name_problem(name: &str, rule: NameRule) -> Option<String> {
    let NameRule {
        what,
        max,
        lowercase,
        also,
        starts_with_letter,
        tidy_hyphens,
    } = rule;
    let allowed = |c: char| {
        (c.is_ascii_alphanumeric() && !(lowercase && c.is_ascii_uppercase()))
            || c == '-'
            || also.contains(c)
    };
    let first_ok = name.chars().next().is_some_and(|c| {
        if starts_with_letter {
            c.is_ascii_alphabetic()
        } else {
            c.is_ascii_alphanumeric()
        }
    });
    let case = if lowercase { "lower-case " } else { "" };
    let problem = if name.is_empty() || name.len() > max {
        format!("has {} characters: {what} has 1 to {max}", name.len())
    } else if let Some(c) = name.chars().find(|c| !allowed(*c)) {
        format!(
            "has `{c}`: {what} takes {case}letters, digits and hyphens{}",
            if also.is_empty() {
                String::new()
            } else {
                format!(" and `{also}`")
            }
        )
    } else if !first_ok {
        format!(
            "{what} starts with a {}",
            if starts_with_letter {
                "letter"
            } else {
                "letter or digit"
            }
        )
    } else if tidy_hyphens && (name.contains("--") || name.ends_with('-')) {
        format!("{what} has no two hyphens in a row and does not end with one")
    } else {
        return None;
    };
    Some(format!("`{name}` {problem}"))
}

/// Why `window` is not a weekly window AWS accepts (`ddd:hh24:mi-ddd:hh24:mi`, UTC, at
/// least 30 minutes), or `None`. RDS and ElastiCache document the same format.
pub fn window_problem(window: &str) -> Option<String> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let minute_of_week = |part: &str| -> Option<i32> {
        let mut it = part.split(':');
        let (day, h, m) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || h.len() != 2 || m.len() != 2 {
            return None;
        }
        let day = DAYS.iter().position(|d| *d == day.to_ascii_lowercase())? as i32;
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m)).then_some(day * 1440 + h * 60 + m)
    };
    let rule = "a weekly window is `ddd:hh24:mi-ddd:hh24:mi` in UTC (sun:03:00-sun:04:00), at least 30 minutes long";
    let Some((start, end)) = window
        .split_once('-')
        .and_then(|(a, b)| Some((minute_of_week(a)?, minute_of_week(b)?)))
    else {
        return Some(format!("`{window}` is not a window: {rule}"));
    };
    let length = (end - start).rem_euclid(7 * 1440);
    (length < 30).then(|| format!("`{window}` lasts {length} minutes: {rule}"))
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
    fn service_names_follow_each_services_rule() {
        let cases: &[(NameRule, &str, &str, &str)] = &[
            (
                RDS_INSTANCE,
                "greenlang-prod-primary",
                "greenlang--prod",
                "two hyphens",
            ),
            (RDS_INSTANCE, "a1", "1abc", "starts with a letter"),
            (RDS_INSTANCE, &"a".repeat(63), &"a".repeat(64), "1 to 63"),
            (
                ELASTICACHE_GROUP,
                "greenlang-prod",
                "Greenlang-prod",
                "lower-case letters",
            ),
            (
                ELASTICACHE_GROUP,
                &"a".repeat(40),
                &"a".repeat(41),
                "1 to 40",
            ),
            (EKS_CLUSTER, "greenlang_prod-1", "greenlang.prod", "and `_`"),
            (EKS_CLUSTER, "1cluster", "-cluster", "letter or digit"),
            (
                MSK_CLUSTER,
                "greenlang-prod",
                "greenlang_prod",
                "letters, digits and hyphens",
            ),
        ];
        for (rule, good, bad, says) in cases {
            assert_eq!(name_problem(good, *rule), None, "{good}");
            let problem = name_problem(bad, *rule).unwrap_or_default();
            assert!(problem.contains(says), "{bad}: {problem}");
        }
    }

    #[test]
    fn windows_are_weekly_utc_ranges_of_at_least_30_minutes() {
        for ok in [
            "sun:03:00-sun:04:00",
            "sat:23:45-sun:00:15",
            "Mon:00:00-mon:00:30",
        ] {
            assert_eq!(window_problem(ok), None, "{ok}");
        }
        for (bad, says) in [
            ("sun:03:00-sun:03:20", "lasts 20 minutes"),
            ("sun:3:00-sun:04:00", "is not a window"),
            ("sunday:03:00-sunday:04:00", "is not a window"),
            ("sun:24:00-mon:01:00", "is not a window"),
            ("sun:03:00", "is not a window"),
        ] {
            assert!(
                window_problem(bad).unwrap_or_default().contains(says),
                "{bad}"
            );
        }
    }

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
