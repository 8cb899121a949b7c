//! [`BackendUrl`]: where a session keeps stacks' state, as the command line and
//! programs name it.

pub use glinfra_aws::backend::{S3Location, S3LocationError};
use std::path::PathBuf;

/// Where state lives: a local directory (the default), or `s3://BUCKET/PREFIX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendUrl {
    /// A directory: a state file, a journal and an OS lock per stack.
    Local(PathBuf),
    /// An S3 bucket and prefix: a state object, journal objects and a leased lock
    /// object per stack, all written conditionally.
    S3(S3Location),
}

impl std::str::FromStr for BackendUrl {
    type Err = S3LocationError;

    /// `s3://BUCKET/PREFIX[?region=R]`, `file://DIR`, or a directory path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("s3://") {
            return s.parse().map(BackendUrl::S3);
        }
        if s.contains("://") && !s.starts_with("file://") {
            return Err(S3LocationError {
                location: s.to_string(),
                problem: "not a backend glinfra knows (s3://, file://, or a directory)".into(),
            });
        }
        Ok(BackendUrl::Local(PathBuf::from(
            s.strip_prefix("file://").unwrap_or(s),
        )))
    }
}

impl std::fmt::Display for BackendUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendUrl::Local(dir) => write!(f, "{}", dir.display()),
            BackendUrl::S3(location) => write!(f, "{location}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_directory_or_a_bucket() {
        assert_eq!(
            ".glinfra/state".parse::<BackendUrl>().unwrap(),
            BackendUrl::Local(".glinfra/state".into())
        );
        assert_eq!(
            "file:///var/glinfra".parse::<BackendUrl>().unwrap(),
            BackendUrl::Local("/var/glinfra".into())
        );
        let BackendUrl::S3(l) = "s3://acme-state/glinfra".parse().unwrap() else {
            panic!()
        };
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("acme-state", "glinfra")
        );
        assert!("gs://bucket/x".parse::<BackendUrl>().is_err());
    }
}
