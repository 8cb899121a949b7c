//! Idempotency tokens: the one place a create's token is decided.
//!
//! A token is derived, never random: from the stack, the logical id, the state
//! serial when the create first began (kept in its pending record, so the run
//! that resumes a killed create sends the same token), and the request itself
//! (the resolved spec and the tags). So retries of one create, in this run or a
//! later one, are the same request to AWS, which answers with the resource the
//! first made; a create after a delete of the same logical id began at a later
//! serial and is a new request; and a create whose request changed in between
//! (the program was edited) is a new request too, instead of the same token with
//! other parameters, which AWS refuses (`IdempotentParameterMismatch`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// The idempotency token of one create, as drivers pass it to AWS.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyToken(String);

impl IdempotencyToken {
    /// Its length: 26 lowercase hex digits (104 bits), within every limit of the
    /// APIs that take one: EC2 `ClientToken` (at most 64 ASCII characters), EKS
    /// `clientRequestToken` (no limit stated; the SDK's own is a 36-character
    /// UUID), Route 53 `CallerReference` after the driver's prefix (at most 128
    /// for a hosted zone, 64 for a health check, whose prefix is at most 38).
    pub const LEN: usize = 26;

    /// The token of the create of `id` in `stack` that first began at state serial
    /// `since_serial`, sending `props` and `tags`.
    pub fn for_create(
        stack: &str,
        id: &str,
        since_serial: u64,
        props: &Value,
        tags: &BTreeMap<String, String>,
    ) -> Self {
        let mut h = Sha256::new();
        for part in ["glinfra create v1", stack, id, &since_serial.to_string()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        feed(&mut h, props);
        h.update([0]);
        for (k, v) in tags {
            feed(&mut h, &Value::String(k.clone()));
            feed(&mut h, &Value::String(v.clone()));
        }
        let digest = h.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        IdempotencyToken(hex[..Self::LEN].to_string())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Feeds `v` to `h` as canonical JSON (object keys sorted), so the same value
/// gives the same token whatever order its keys were read in.
fn feed(h: &mut Sha256, v: &Value) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            h.update(b"{");
            for (k, x) in entries {
                feed(h, &Value::String(k.clone()));
                h.update(b":");
                feed(h, x);
                h.update(b",");
            }
            h.update(b"}");
        }
        Value::Array(items) => {
            h.update(b"[");
            for x in items {
                feed(h, x);
                h.update(b",");
            }
            h.update(b"]");
        }
        scalar => h.update(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(stack: &str, id: &str, serial: u64, props: Value) -> String {
        let tags = BTreeMap::from([("glinfra:stack".to_string(), stack.to_string())]);
        IdempotencyToken::for_create(stack, id, serial, &props, &tags)
            .as_str()
            .to_string()
    }

    #[test]
    fn the_same_create_gets_the_same_token_whatever_the_key_order() {
        let a = token(
            "s",
            "nat",
            4,
            json!({"subnet_id": "subnet-1", "connectivity": "public"}),
        );
        let b = token(
            "s",
            "nat",
            4,
            json!({"connectivity": "public", "subnet_id": "subnet-1"}),
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), IdempotencyToken::LEN);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn another_stack_id_serial_or_request_gets_another_token() {
        let base = token("s", "nat", 4, json!({"subnet_id": "subnet-1"}));
        let others = [
            token("t", "nat", 4, json!({"subnet_id": "subnet-1"})),
            token("s", "nat2", 4, json!({"subnet_id": "subnet-1"})),
            token("s", "nat", 5, json!({"subnet_id": "subnet-1"})),
            token("s", "nat", 4, json!({"subnet_id": "subnet-2"})),
            token("s", "nat", 4, json!({"subnet_id": ["subnet-1"]})),
        ];
        for other in others {
            assert_ne!(base, other);
        }
    }
}
