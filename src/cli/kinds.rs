//! `kinds`: every kind as its declaration says.

/// Every kind as its declaration says: type name, outputs, fields that force replacement.
pub fn kinds_table() -> String {
    let mut out = String::new();
    for kind in glinfra_core::Kind::all() {
        let info = kind.info();
        let outputs: Vec<String> = info
            .outputs
            .iter()
            .map(|o| format!("{}: {}", o.name, o.ty))
            .collect();
        let replace: Vec<&str> = std::iter::once("region")
            .chain(info.replace_fields.iter().copied())
            .collect();
        let by_value: Vec<&str> = info.change_rules.iter().map(|(f, _)| *f).collect();
        let by_value = if by_value.is_empty() {
            String::new()
        } else {
            format!(
                "  in place, replaced or refused by the values: {}\n",
                by_value.join(", ")
            )
        };
        out.push_str(&format!(
            "{}\n  outputs: {}\n  forces replacement: {}\n{by_value}  tags: {}\n",
            kind.type_name(),
            outputs.join(", "),
            replace.join(", "),
            if info.taggable {
                "yes"
            } else {
                "no (found by its natural key)"
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The README's table of kinds names every kind, and no other: a kind added
    /// without its row, or a row left for a kind removed, fails here.
    #[test]
    fn readme_lists_every_kind_exactly() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("## Resource kinds")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("README has a Resource kinds section");
        let mut listed = BTreeSet::new();
        for row in section.lines().filter(|l| l.starts_with("| `")) {
            let first = row
                .trim_start_matches("| ")
                .split(" |")
                .next()
                .unwrap_or("");
            let mut service = String::new();
            for name in first.split(", ").map(|n| n.trim_matches('`')) {
                if let Some((s, _)) = name.split_once('/') {
                    service = s.to_string();
                    listed.insert(name.to_string());
                } else {
                    listed.insert(format!("{service}/{name}"));
                }
            }
        }
        let all: BTreeSet<String> = glinfra_core::Kind::all()
            .iter()
            .map(|k| k.type_name().to_string())
            .collect();
        assert_eq!(listed, all);
    }

    #[test]
    fn the_kinds_table_shows_each_declaration() {
        let table = super::kinds_table();
        assert!(table.contains("aws:ec2/subnet\n  outputs: id: String, arn: String\n  forces replacement: region, vpc_id, cidr_block, availability_zone\n"), "{table}");
        assert!(
            table.contains(
                "aws:route53/hosted-zone\n  outputs: zone_id: String, name_servers: Vec<String>"
            ),
            "{table}"
        );
    }
}
