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

/// Which characters may open a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum First {
    /// Any character the name may hold.
    Any,
    /// An ASCII letter.
    Letter,
    /// An ASCII letter or digit.
    LetterOrDigit,
}

/// How one service names a resource: length, characters, first character, the
/// prefixes and names it reserves, and AWS's own words for the rule, which every
/// message quotes. Built with [`NameRule::new`] and the `const` setters below.
#[derive(Clone, Copy, Debug)]
pub struct NameRule {
    /// What it names, for messages ("an RDS DB instance identifier").
    pub what: &'static str,
    /// Where AWS documents it: API action and parameter ("CreateDBInstance, DBInstanceIdentifier").
    pub source: &'static str,
    /// AWS's words for the rule, quoted in messages.
    pub aws: &'static str,
    /// The longest name, in characters (`usize::MAX`: AWS documents no limit).
    pub max: usize,
    /// Lower-case letters only.
    pub lowercase: bool,
    /// Other characters allowed besides ASCII letters, digits and hyphens.
    pub also: &'static str,
    /// What the first character may be.
    pub first: First,
    /// No `--` and no trailing hyphen.
    pub tidy_hyphens: bool,
    /// A prefix every name has (`alias/`, `/`).
    pub prefix: &'static str,
    /// A suffix every name has (`/`).
    pub suffix: &'static str,
    /// Prefixes no name may have (`sg-`, `alias/aws/`, `aws/`).
    pub reserved: &'static [&'static str],
    /// Names no one may use (`default`), compared without case.
    pub taken: &'static [&'static str],
}

/// Every printable ASCII character that is not a letter, a digit, a hyphen or a
/// space: with those, the range `!` (`\u0021`) to `~` (`\u007E`).
pub const ASCII_PUNCTUATION: &str = "!\"#$%&'()*+,./:;<=>?@[\\]^_`{|}~";

impl NameRule {
    /// A rule for `what`: 1 to `max` ASCII letters, digits and hyphens, any of them
    /// first, as AWS documents it at `source` in the words `aws`.
    pub const fn new(
        what: &'static str,
        max: usize,
        source: &'static str,
        aws: &'static str,
    ) -> NameRule {
        NameRule {
            what,
            source,
            aws,
            max,
            lowercase: false,
            also: "",
            first: First::Any,
            tidy_hyphens: false,
            prefix: "",
            suffix: "",
            reserved: &[],
            taken: &[],
        }
    }

    /// Allows the characters of `also` too.
    pub const fn also(self, also: &'static str) -> NameRule {
        NameRule { also, ..self }
    }

    /// Allows lower-case letters only.
    pub const fn lowercase(self) -> NameRule {
        NameRule {
            lowercase: true,
            ..self
        }
    }

    /// Says what the first character may be.
    pub const fn first(self, first: First) -> NameRule {
        NameRule { first, ..self }
    }

    /// Refuses `--` and a trailing hyphen.
    pub const fn tidy_hyphens(self) -> NameRule {
        NameRule {
            tidy_hyphens: true,
            ..self
        }
    }

    /// Every name starts with `prefix` and ends with `suffix`.
    pub const fn framed(self, prefix: &'static str, suffix: &'static str) -> NameRule {
        NameRule {
            prefix,
            suffix,
            ..self
        }
    }

    /// No name starts with any of `reserved`.
    pub const fn reserved(self, reserved: &'static [&'static str]) -> NameRule {
        NameRule { reserved, ..self }
    }

    /// None of `taken` is a name (compared without case).
    pub const fn taken(self, taken: &'static [&'static str]) -> NameRule {
        NameRule { taken, ..self }
    }

    /// Why `name` breaks the rule, quoting AWS's words, or `None`.
    pub fn problem(&self, name: &str) -> Option<String> {
        let allowed = |c: char| {
            (c.is_ascii_alphanumeric() && !(self.lowercase && c.is_ascii_uppercase()))
                || c == '-'
                || self.also.contains(c)
        };
        let shown = |c: char| match c {
            ' ' => "a space".to_string(),
            c if c.is_ascii_uppercase() && self.lowercase => format!("the capital `{c}`"),
            c => format!("`{c}`"),
        };
        let length = name.chars().count();
        let problem = if length == 0 {
            "it is empty".to_string()
        } else if length > self.max {
            format!("it has {length} characters, more than {}", self.max)
        } else if !name.starts_with(self.prefix) {
            format!("it does not start with `{}`", self.prefix)
        } else if let Some(p) = self.reserved.iter().find(|p| name.starts_with(**p)) {
            format!("it starts with `{p}`")
        } else if let Some(c) = name.chars().find(|c| !allowed(*c)) {
            format!("it has {}", shown(c))
        } else if let Some(c) =
            name[self.prefix.len()..]
                .chars()
                .next()
                .filter(|c| match self.first {
                    First::Any => false,
                    First::Letter => !c.is_ascii_alphabetic(),
                    First::LetterOrDigit => !c.is_ascii_alphanumeric(),
                })
        {
            let wanted = if self.first == First::Letter {
                "a letter"
            } else {
                "a letter or digit"
            };
            format!("it starts with {}, not {wanted}", shown(c))
        } else if !name.ends_with(self.suffix) {
            format!("it does not end with `{}`", self.suffix)
        } else if self.tidy_hyphens && name.contains("--") {
            "it has two hyphens in a row".to_string()
        } else if self.tidy_hyphens && name.ends_with('-') {
            "it ends with a hyphen".to_string()
        } else if self.taken.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            "AWS keeps that name for itself".to_string()
        } else {
            return None;
        };
        Some(format!(
            "`{name}` cannot be {}: {problem}. AWS ({}): \"{}\"",
            self.what, self.source, self.aws
        ))
    }

    /// Reports `name` on `field` of the resource being checked when it breaks the rule.
    pub fn check(&self, cx: &mut crate::stack::SpecCheck<'_>, field: &str, name: &str) {
        if let Some(problem) = self.problem(name) {
            cx.error(field, problem);
        }
    }
}

/// RDS DB instance identifiers: CreateDBInstance, `DBInstanceIdentifier` (RDS API Reference).
pub const RDS_INSTANCE: NameRule = NameRule::new(
    "an RDS DB instance identifier",
    63,
    "CreateDBInstance, DBInstanceIdentifier",
    "Must contain from 1 to 63 letters, numbers, or hyphens. First character must be a letter. Can't end with a hyphen or contain two consecutive hyphens.",
)
.first(First::Letter)
.tidy_hyphens();

/// RDS DB parameter group names: CreateDBParameterGroup, `DBParameterGroupName` (RDS
/// API Reference; the RDS User Guide adds that custom names take no period).
pub const RDS_PARAMETER_GROUP: NameRule = NameRule::new(
    "an RDS DB parameter group name",
    255,
    "CreateDBParameterGroup, DBParameterGroupName",
    "Must be 1 to 255 letters, numbers, or hyphens. First character must be a letter. Can't end with a hyphen or contain two consecutive hyphens.",
)
.first(First::Letter)
.tidy_hyphens();

/// RDS DB subnet group names: CreateDBSubnetGroup, `DBSubnetGroupName` (RDS API Reference).
pub const RDS_SUBNET_GROUP: NameRule = NameRule::new(
    "an RDS DB subnet group name",
    255,
    "CreateDBSubnetGroup, DBSubnetGroupName",
    "Must contain no more than 255 letters, numbers, periods, underscores, spaces, or hyphens. Must not be default. First character must be a letter.",
)
.also("._ ")
.first(First::Letter)
.taken(&["default"]);

/// ElastiCache replication group ids: CreateReplicationGroup, `ReplicationGroupId`
/// (ElastiCache API Reference). AWS stores the id in lower case, so glinfra takes it
/// in lower case: a capital would make the declared id differ from the live one.
pub const ELASTICACHE_GROUP: NameRule = NameRule::new(
    "an ElastiCache replication group id",
    40,
    "CreateReplicationGroup, ReplicationGroupId",
    "This parameter is stored as a lowercase string. A name must contain from 1 to 40 alphanumeric characters or hyphens. The first character must be a letter. A name cannot end with a hyphen or contain two consecutive hyphens.",
)
.lowercase()
.first(First::Letter)
.tidy_hyphens();

/// ElastiCache subnet group names: CreateCacheSubnetGroup, `CacheSubnetGroupName`
/// (ElastiCache API Reference).
pub const ELASTICACHE_SUBNET_GROUP: NameRule = NameRule::new(
    "an ElastiCache subnet group name",
    255,
    "CreateCacheSubnetGroup, CacheSubnetGroupName",
    "Must contain no more than 255 alphanumeric characters or hyphens.",
);

/// ElastiCache parameter group names: CreateCacheParameterGroup,
/// `CacheParameterGroupName` (ElastiCache API Reference); the constraints are the
/// ElastiCache User Guide's, "Creating an ElastiCache parameter group".
pub const ELASTICACHE_PARAMETER_GROUP: NameRule = NameRule::new(
    "an ElastiCache parameter group name",
    255,
    "CreateCacheParameterGroup, CacheParameterGroupName",
    "Must begin with an ASCII letter. Can only contain ASCII letters, digits, and hyphens. Must be 1-255 characters long. Can't contain two consecutive hyphens. Can't end with a hyphen.",
)
.first(First::Letter)
.tidy_hyphens();

/// EKS cluster names: CreateCluster, `name` (EKS API Reference).
pub const EKS_CLUSTER: NameRule = NameRule::new(
    "an EKS cluster name",
    100,
    "CreateCluster, name",
    "The name can contain only alphanumeric characters (case-sensitive), hyphens, and underscores. It must start with an alphanumeric character and can't be longer than 100 characters.",
)
.also("_")
.first(First::LetterOrDigit);

/// EKS managed node group names: CreateNodegroup, `nodegroupName` (EKS API
/// Reference, which gives no constraint); the rule is the EKS User Guide's, "Create
/// a managed node group".
pub const EKS_NODE_GROUP: NameRule = NameRule::new(
    "an EKS node group name",
    63,
    "CreateNodegroup, nodegroupName",
    "The node group name can't be longer than 63 characters. It must start with letter or digit, but can also include hyphens and underscores for the remaining characters.",
)
.also("_")
.first(First::LetterOrDigit);

/// MSK cluster names: CreateClusterV2, `ClusterName` (MSK API Reference, which
/// documents the length only; letters, digits and hyphens from a letter are glinfra's).
pub const MSK_CLUSTER: NameRule = NameRule::new(
    "an MSK cluster name",
    64,
    "CreateClusterV2, ClusterName",
    "Length Constraints: Minimum length of 1. Maximum length of 64.",
)
.first(First::Letter);

/// MSK configuration names: CreateConfiguration, `Name` (MSK API Reference); the
/// pattern is the MSK Developer Guide's, "Create a configuration". No length limit
/// is documented.
pub const MSK_CONFIGURATION: NameRule = NameRule::new(
    "an MSK configuration name",
    usize::MAX,
    "CreateConfiguration, Name",
    "The name that you choose for your configuration must match the following regex: \"^[0-9A-Za-z][0-9A-Za-z-]{0,}$\".",
)
.first(First::LetterOrDigit);

/// IAM role names: CreateRole, `RoleName` (IAM API Reference).
pub const IAM_ROLE: NameRule = NameRule::new(
    "an IAM role name",
    64,
    "CreateRole, RoleName",
    "Length Constraints: Minimum length of 1. Maximum length of 64. Pattern: [\\w+=,.@-]+",
)
.also("_+=,.@");

/// IAM role paths: CreateRole, `Path` (IAM API Reference).
pub const IAM_PATH: NameRule = NameRule::new(
    "an IAM path",
    512,
    "CreateRole, Path",
    "This parameter allows (through its regex pattern) a string of characters consisting of either a forward slash (/) by itself or a string that must begin and end with forward slashes. Length Constraints: Minimum length of 1. Maximum length of 512. Pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
)
.also(ASCII_PUNCTUATION)
.framed("/", "/");

/// The characters EC2 takes in security group names and descriptions and in rule
/// descriptions, besides letters, digits and hyphens.
const EC2_TEXT: &str = " ._:/()#,@[]+=&;{}!$*";

/// Security group names: CreateSecurityGroup, `GroupName` (EC2 API Reference).
pub const SECURITY_GROUP: NameRule = NameRule::new(
    "a security group name",
    255,
    "CreateSecurityGroup, GroupName",
    "Constraints: Up to 255 characters in length. Can't start with sg-. Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
)
.also(EC2_TEXT)
.reserved(&["sg-"]);

/// Security group descriptions: CreateSecurityGroup, `Description` (EC2 API
/// Reference); AWS requires one.
pub const SECURITY_GROUP_DESCRIPTION: NameRule = NameRule::new(
    "a security group description",
    255,
    "CreateSecurityGroup, Description",
    "Constraints: Up to 255 characters in length. Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
)
.also(EC2_TEXT);

/// Security group rule descriptions: `IpRange.Description` of
/// AuthorizeSecurityGroupIngress/Egress (EC2 API Reference).
pub const SECURITY_GROUP_RULE_DESCRIPTION: NameRule = NameRule::new(
    "a security group rule description",
    255,
    "IpRange, Description",
    "Constraints: Up to 255 characters in length. Allowed characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
)
.also(EC2_TEXT);

/// KMS alias names, `alias/` included: CreateAlias, `AliasName` (KMS API Reference;
/// the pattern `^[a-zA-Z0-9:/_-]+$` also takes colons).
pub const KMS_ALIAS: NameRule = NameRule::new(
    "a KMS alias name",
    256,
    "CreateAlias, AliasName",
    "This value must begin with alias/ followed by a name, such as alias/ExampleAlias. The AliasName value must be string of 1-256 characters. It can contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-). The alias name cannot begin with alias/aws/. Pattern: ^[a-zA-Z0-9:/_-]+$",
)
.also(":/_")
.framed("alias/", "")
.reserved(&["alias/aws/"]);

/// CloudWatch Logs log group names: CreateLogGroup, `logGroupName` (CloudWatch Logs
/// API Reference).
pub const LOG_GROUP: NameRule = NameRule::new(
    "a log group name",
    512,
    "CreateLogGroup, logGroupName",
    "Log group names can be between 1 and 512 characters long. Log group names consist of the following characters: a-z, A-Z, 0-9, '_' (underscore), '-' (hyphen), '/' (forward slash), '.' (period), and '#' (number sign). Log group names can't start with the string aws/",
)
.also("_/.#")
.reserved(&["aws/"]);

/// Why `name` breaks `rule`, or `None` (see [`NameRule::problem`]).
pub fn name_problem(name: &str, rule: NameRule) -> Option<String> {
    rule.problem(name)
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

/// WAFv2 names (web ACLs, metric names): CreateWebACL, `Name` (AWS WAFV2 API
/// Reference, "CreateWebACL").
pub const WAF_NAME: NameRule = NameRule::new(
    "a WAF web ACL name",
    128,
    "CreateWebACL, Name",
    "Length Constraints: Minimum length of 1. Maximum length of 128. Pattern: ^[\\w\\-]+$",
)
.also("_");

/// WAFv2 CloudWatch metric names: `VisibilityConfig.MetricName` (AWS WAFV2 API
/// Reference, "VisibilityConfig").
pub const WAF_METRIC_NAME: NameRule = NameRule::new(
    "a WAF metric name",
    255,
    "VisibilityConfig, MetricName",
    "Length Constraints: Minimum length of 1. Maximum length of 255. Pattern: ^[\\w#:\\.\\-/]+$",
)
.also("_#:.-/");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_name_rule_says_what_is_wrong_and_quotes_aws() {
        // Each service's rules have their rows in tests/aws_rules.rs; this is the machinery.
        let cases: &[(NameRule, &str, &str)] = &[
            (
                RDS_INSTANCE,
                "greenlang--prod",
                "it has two hyphens in a row",
            ),
            (RDS_INSTANCE, "greenlang-", "it ends with a hyphen"),
            (RDS_INSTANCE, "1abc", "it starts with `1`, not a letter"),
            (
                RDS_INSTANCE,
                &"a".repeat(64),
                "it has 64 characters, more than 63",
            ),
            (ELASTICACHE_GROUP, "Greenlang", "it has the capital `G`"),
            (EKS_CLUSTER, "-cluster", "not a letter or digit"),
            (
                RDS_SUBNET_GROUP,
                "Default",
                "AWS keeps that name for itself",
            ),
            (RDS_SUBNET_GROUP, "a b", ""),
            (SECURITY_GROUP, "sg-web", "it starts with `sg-`"),
            (SECURITY_GROUP, "web'", "it has `'`"),
            (SECURITY_GROUP_DESCRIPTION, "", "it is empty"),
            (KMS_ALIAS, "prod", "it does not start with `alias/`"),
            (KMS_ALIAS, "alias/aws/prod", "it starts with `alias/aws/`"),
            (IAM_PATH, "/a", "it does not end with `/`"),
            (IAM_PATH, "/a b/", "it has a space"),
        ];
        for (rule, name, says) in cases {
            let problem = rule.problem(name);
            if says.is_empty() {
                assert_eq!(problem, None, "{name}");
                continue;
            }
            let problem = problem.unwrap_or_default();
            assert!(problem.contains(says), "{name}: {problem}");
            assert!(
                problem.contains(rule.what) && problem.contains(rule.aws),
                "{problem}"
            );
        }
        for ok in ["/", "/greenlang/", "/a!~/"] {
            assert_eq!(IAM_PATH.problem(ok), None, "{ok}");
        }
        assert_eq!(MSK_CONFIGURATION.problem(&"a".repeat(300)), None);
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
