//! Database rules: deletion protection and days of backups, on primaries (a read
//! replica holds a copy; its primary's protection and backups keep the data).

use super::{Baseline, Finding, Subject};
use crate::spec::rds::DbInstanceSpec;

fn primaries<'a>(
    s: &Subject<'a>,
) -> impl Iterator<Item = (&'a crate::Declaration, DbInstanceSpec)> + 'a {
    s.specs::<DbInstanceSpec>()
        .filter(|(_, db)| db.replicate_from.is_none())
}

/// Every primary database has deletion protection on.
pub(super) fn deletion_protection(s: &Subject<'_>, _: &Baseline) -> Vec<Finding> {
    primaries(s)
        .filter(|(_, db)| !db.deletion_protection)
        .map(|(d, _)| {
            Finding::new(
                &d.id,
                "deletion_protection",
                "the database can be deleted by one call: set `deletion_protection`",
            )
        })
        .collect()
}

/// Every primary database keeps at least `min_backup_days` of automated backups.
pub(super) fn backups(s: &Subject<'_>, p: &Baseline) -> Vec<Finding> {
    primaries(s)
        .filter(|(_, db)| db.backup_retention_days < p.min_backup_days)
        .map(|(d, db)| {
            Finding::new(
                &d.id,
                "backup_retention_days",
                format!(
                    "the database keeps {} days of backups; this environment requires at least {}",
                    db.backup_retention_days, p.min_backup_days
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{database, findings, findings_with};
    use super::super::{Baseline, Rule};
    use crate::Stack;

    #[test]
    fn primaries_need_protection_and_backups_replicas_do_not() {
        let mut stack = Stack::new("t", "us-east-1");
        let mut good = database("good");
        good.deletion_protection = true;
        good.backup_retention_days = 30;
        let good = stack.add("db-good", good);
        let mut weak = database("weak");
        weak.backup_retention_days = 7;
        stack.add("db-weak", weak);
        let mut replica = database("replica");
        replica.backup_retention_days = 0;
        replica.replicate_from = Some(good.arn());
        stack.add("db-replica", replica);
        assert_eq!(
            findings(&stack, Rule::DatabaseDeletionProtection),
            vec![("db-weak".into(), "deletion_protection".into())]
        );
        assert_eq!(
            findings(&stack, Rule::DatabaseBackups),
            vec![("db-weak".into(), "backup_retention_days".into())]
        );
        let mut dev = Baseline::strict();
        dev.min_backup_days = 7;
        assert!(findings_with(&stack, Rule::DatabaseBackups, &dev).is_empty());
    }
}
