//! PostgreSQL settings from the seed's human units to the units RDS parameter
//! groups take (PostgreSQL's own: 8 kB pages, kB or MB, depending on the setting).

/// The unit, in bytes, PostgreSQL uses for a memory setting; `None` for unitless ones.
fn unit_bytes(name: &str) -> Option<u64> {
    match name {
        "shared_buffers" | "effective_cache_size" | "wal_buffers" | "temp_buffers" => {
            Some(8 * 1024)
        }
        "work_mem"
        | "maintenance_work_mem"
        | "autovacuum_work_mem"
        | "logical_decoding_work_mem" => Some(1024),
        "max_wal_size" | "min_wal_size" | "wal_keep_size" => Some(1024 * 1024),
        _ => None,
    }
}

/// Parses `16GB`, `256MB`, `64kB` into bytes.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    let number: u64 = digits.parse().ok()?;
    let factor = match text[digits.len()..].trim() {
        "B" => 1,
        "kB" | "KB" => 1024,
        "MB" => 1024 * 1024,
        "GB" => 1024 * 1024 * 1024,
        "TB" => 1024u64.pow(4),
        _ => return None,
    };
    Some(number * factor)
}

/// The value RDS takes for setting `name`, from the environment file's value.
pub fn to_parameter(name: &str, value: &toml::Value) -> Result<String, String> {
    match (unit_bytes(name), value) {
        (Some(unit), toml::Value::String(text)) => {
            let bytes = parse_size(text)
                .ok_or_else(|| format!("`{text}` is not a size like `16GB` or `256MB`"))?;
            if bytes % unit != 0 {
                return Err(format!(
                    "`{text}` is not a whole number of {unit}-byte units"
                ));
            }
            Ok((bytes / unit).to_string())
        }
        (Some(_), other) => Err(format!("takes a size like `16GB`, got {other}")),
        (None, toml::Value::Integer(i)) => Ok(i.to_string()),
        (None, toml::Value::Float(f)) => Ok(f.to_string()),
        (None, toml::Value::String(s)) => Ok(s.clone()),
        (None, toml::Value::Boolean(b)) => Ok(if *b { "1" } else { "0" }.to_string()),
        (None, other) => Err(format!("unsupported value {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, v: toml::Value) -> String {
        to_parameter(name, &v).unwrap()
    }

    #[test]
    fn seed_settings_convert_to_postgres_units() {
        // Seed 2.2, performance_settings.
        assert_eq!(p("shared_buffers", "16GB".into()), "2097152"); // 8 kB pages
        assert_eq!(p("effective_cache_size", "48GB".into()), "6291456");
        assert_eq!(p("work_mem", "256MB".into()), "262144"); // kB
        assert_eq!(p("maintenance_work_mem", "2GB".into()), "2097152");
        assert_eq!(p("wal_buffers", "64MB".into()), "8192");
        assert_eq!(p("max_wal_size", "4GB".into()), "4096"); // MB
        assert_eq!(p("max_connections", 500.into()), "500");
        assert_eq!(p("checkpoint_completion_target", 0.9.into()), "0.9");
        assert_eq!(p("random_page_cost", 1.1.into()), "1.1");
        assert_eq!(p("effective_io_concurrency", 200.into()), "200");
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(to_parameter("shared_buffers", &"16 gigs".into()).is_err());
        assert!(to_parameter("shared_buffers", &"1kB".into()).is_err()); // not whole pages
        assert!(to_parameter("work_mem", &toml::Value::Integer(5)).is_err());
    }
}
