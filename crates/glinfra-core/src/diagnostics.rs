//! Errors about the user's program, collected all at once (never one at a time).

use serde::Serialize;
use std::fmt;

/// One problem found in a declared stack or an environment file.
///
/// It names, where known, the file the value came from, the resource and the field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    /// The file the offending value came from (an environment file, say).
    pub file: Option<String>,
    /// The logical id of the resource concerned.
    pub resource: Option<String>,
    /// The field concerned, as a dotted path.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            file: None,
            resource: None,
            field: None,
            message: message.into(),
        }
    }

    /// Names the resource concerned.
    pub fn resource(mut self, id: impl Into<String>) -> Self {
        self.resource = Some(id.into());
        self
    }

    /// Names the field concerned.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Names the file concerned.
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("error")?;
        if let Some(file) = &self.file {
            write!(f, " in {file}")?;
        }
        if let Some(resource) = &self.resource {
            write!(f, ": resource `{resource}`")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A non-empty set of diagnostics, returned instead of a value when input is bad.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for a value that was returned as an error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        write!(
            f,
            "{} error{} found; nothing was sent to AWS",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )
    }
}
