//! Known AWS regions and their availability-zone letters, for validation before any call.

/// Regions glinfra knows, each with the letters of its availability zones.
const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "abcdef"),
    ("us-east-2", "abc"),
    ("us-west-1", "abc"),
    ("us-west-2", "abcd"),
    ("ca-central-1", "abd"),
    ("eu-west-1", "abc"),
    ("eu-west-2", "abc"),
    ("eu-west-3", "abc"),
    ("eu-central-1", "abc"),
    ("eu-north-1", "abc"),
    ("eu-south-1", "abc"),
    ("ap-southeast-1", "abc"),
    ("ap-southeast-2", "abc"),
    ("ap-northeast-1", "acd"),
    ("ap-northeast-2", "abcd"),
    ("ap-south-1", "abc"),
    ("sa-east-1", "abc"),
];

/// True when `region` is a region glinfra knows.
pub fn is_known_region(region: &str) -> bool {
    REGIONS.iter().any(|(r, _)| *r == region)
}

/// The availability zones of `region` (`us-east-1a`, ...), empty if unknown.
pub fn availability_zones(region: &str) -> Vec<String> {
    REGIONS
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(r, letters)| letters.chars().map(|c| format!("{r}{c}")).collect())
        .unwrap_or_default()
}

/// Every known region name.
pub fn known_regions() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|(r, _)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_east_1_has_six_zones_and_unknown_region_none() {
        assert_eq!(availability_zones("us-east-1").len(), 6);
        assert_eq!(availability_zones("eu-west-1")[2], "eu-west-1c");
        assert!(availability_zones("mars-1").is_empty());
        assert!(!is_known_region("mars-1"));
    }
}
