//! Live values read back into spec fields, for a refresh: spellings AWS reports
//! differently from how a spec names the same thing, so that a resource nothing
//! changed reads as exactly what state recorded (no false drift).

use super::live::like;
use glinfra_core::Input;

/// The ids (subnets, security groups) AWS reports, as spec inputs in the recorded
/// order when they are the same set.
pub(crate) fn ids<'a>(
    live: impl IntoIterator<Item = &'a str>,
    recorded: Option<&[Input<String>]>,
) -> Vec<Input<String>> {
    let live = live
        .into_iter()
        .map(|id| Input::Value(id.to_string()))
        .collect();
    like(live, recorded)
}

/// A name AWS reports as `live`, as the spec field that recorded `recorded` says
/// it: the recorded input when it is the same name in another case (RDS and
/// ElastiCache keep names in lower case), the live name otherwise.
pub(crate) fn name(recorded: Option<&Input<String>>, live: &str) -> Input<String> {
    match recorded {
        Some(r) if r.value().is_some_and(|n| n.eq_ignore_ascii_case(live)) => r.clone(),
        _ => Input::Value(live.to_string()),
    }
}

/// True when a KMS key given as `named` (a key ARN, a key id, an alias name or
/// alias ARN) may be the key whose ARN AWS reports as `arn`. An alias cannot be
/// told apart without a call per key, so it is taken as naming the key: AWS
/// resolves it once, at creation, and a key of an encrypted resource cannot change
/// in place.
pub(crate) fn names_key(named: &str, arn: &str) -> bool {
    named == arn
        || arn.ends_with(&format!(":key/{named}"))
        || named.starts_with("alias/")
        || named.contains(":alias/")
}

/// An optional field AWS fills in when a spec leaves it out (a default key, a
/// default group): left out when the record leaves it out, otherwise what `read`
/// makes of the recorded value. `recorded` is the field as recorded, or `None` for
/// a resource state does not know (then `read` gets `None` and says what is live).
pub(crate) fn filled<T, U>(
    recorded: Option<&Option<T>>,
    read: impl FnOnce(Option<&T>) -> Option<U>,
) -> Option<U> {
    match recorded {
        Some(None) => None,
        Some(Some(r)) => read(Some(r)),
        None => read(None),
    }
}

/// The KMS key of a spec field that recorded `recorded`, when AWS reports the key
/// ARN `live`: the recorded input when it names that key ([`names_key`]), the
/// live ARN otherwise, and `None` when the resource has no key.
pub(crate) fn key(recorded: Option<&Input<String>>, live: Option<&str>) -> Option<Input<String>> {
    let live = live.filter(|k| !k.is_empty())?;
    match recorded {
        Some(r) if r.value().is_some_and(|named| names_key(named, live)) => Some(r.clone()),
        _ => Some(Input::Value(live.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Input<String> {
        Input::Value(s.to_string())
    }

    const ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/k-1";

    #[test]
    fn ids_keep_the_recorded_order_of_the_same_set() {
        let recorded = [v("a"), v("b")];
        assert_eq!(ids(["b", "a"], Some(&recorded[..])), recorded.to_vec());
        assert_eq!(ids(["b", "c"], Some(&recorded[..])), vec![v("b"), v("c")]);
        assert_eq!(ids(["b"], None), vec![v("b")]);
    }

    #[test]
    fn names_in_another_case_read_as_recorded() {
        assert_eq!(name(Some(&v("Data-Pg")), "data-pg"), v("Data-Pg"));
        assert_eq!(name(Some(&v("data-pg")), "other"), v("other"));
        assert_eq!(name(None, "data-pg"), v("data-pg"));
    }

    #[test]
    fn a_field_recorded_unset_stays_unset() {
        let read = |r: Option<&i32>| Some(r.copied().unwrap_or(0) + 1);
        assert_eq!(filled(Some(&None), read), None);
        assert_eq!(filled(Some(&Some(1)), read), Some(2));
        assert_eq!(filled(None, read), Some(1));
    }

    #[test]
    fn a_key_named_by_arn_id_or_alias_reads_as_recorded() {
        for named in [
            ARN,
            "k-1",
            "alias/data",
            "arn:aws:kms:eu-west-1:1:alias/data",
        ] {
            assert_eq!(key(Some(&v(named)), Some(ARN)), Some(v(named)), "{named}");
        }
        let other = "arn:aws:kms:eu-west-1:111122223333:key/k-2";
        assert_eq!(key(Some(&v(other)), Some(ARN)), Some(v(ARN)));
        assert_eq!(key(None, Some(ARN)), Some(v(ARN)));
        assert_eq!(key(Some(&v(ARN)), None), None);
        assert_eq!(key(Some(&v(ARN)), Some("")), None);
    }
}
