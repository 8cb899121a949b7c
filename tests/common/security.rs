//! Reads the security services of an applied Agent Factory back through the AWS
//! APIs (seed 8.1): the GuardDuty detector, Security Hub and its CIS subscription,
//! Inspector's scanning, the regional web ACL, and
//! every KMS key's 90-day rotation.

use greenlang_agent_factory::config::Environment;
use greenlang_agent_factory::security::ids;
use std::collections::BTreeMap;

/// `env`'s security services as its file has them (the copies tests make switch off
/// the ones there is one of per account and region); Shield stays off.
pub fn services_on(env: &mut Environment, file: &str) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("environments/{file}.toml"));
    env.security_services = greenlang_agent_factory::load(&path)
        .unwrap()
        .security_services;
    env.security_services.shield_advanced = false;
}

/// Checks every security service `env` declares against what the APIs answer.
pub async fn check(
    env: &Environment,
    out: &BTreeMap<String, String>,
    config: &aws_config::SdkConfig,
) {
    let s = &env.security_services;
    let region = &env.stack.region;

    // Every key rotates every key_rotation_days.
    let kms = aws_sdk_kms::Client::new(config);
    for (k, key_id) in out
        .iter()
        .filter(|(k, _)| k.starts_with("kms-") && k.ends_with(".key_id"))
    {
        if !k.starts_with("kms-s3.") && !k.starts_with("kms-data.") {
            continue; // keys of other regions are read in theirs
        }
        let r = kms
            .get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .unwrap();
        assert!(r.key_rotation_enabled(), "{k}");
        assert_eq!(
            r.rotation_period_in_days(),
            Some(s.key_rotation_days),
            "{k}"
        );
    }

    if s.guardduty.enabled {
        let gd = aws_sdk_guardduty::Client::new(config);
        let id = &out[&format!("{}.detector_id", ids::GUARDDUTY)];
        let d = gd.get_detector().detector_id(id).send().await.unwrap();
        assert_eq!(
            d.finding_publishing_frequency().map(|f| f.as_str()),
            Some(s.guardduty.finding_publishing_frequency.as_str())
        );
        let mut on: Vec<String> = d
            .features()
            .iter()
            .filter(|f| f.status().map(|x| x.as_str()) == Some("ENABLED"))
            .filter_map(|f| f.name().map(|n| n.as_str().to_string()))
            .collect();
        on.sort();
        let mut want: Vec<String> = s.guardduty.features.iter().map(|f| f.to_string()).collect();
        want.sort();
        assert_eq!(on, want);
        assert_eq!(d.tags().unwrap()["glinfra:stack"], env.stack.name);
    }

    if s.security_hub.enabled {
        let hub = aws_sdk_securityhub::Client::new(config);
        let d = hub.describe_hub().send().await.unwrap();
        assert_eq!(
            d.hub_arn(),
            Some(out[&format!("{}.hub_arn", ids::SECURITY_HUB)].as_str())
        );
        assert_eq!(
            d.control_finding_generator().map(|g| g.as_str()),
            Some(s.security_hub.control_finding_generator.as_str())
        );
        let enabled = hub.get_enabled_standards().send().await.unwrap();
        let arns: Vec<&str> = enabled
            .standards_subscriptions()
            .iter()
            .filter_map(|x| x.standards_arn())
            .collect();
        assert_eq!(
            arns,
            [format!(
                "arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/{}",
                s.security_hub.cis_version
            )]
        );
    }

    if s.inspector.enabled {
        let ins = aws_sdk_inspector2::Client::new(config);
        let status = ins.batch_get_account_status().send().await.unwrap();
        let r = status.accounts()[0].resource_state().unwrap();
        for t in &s.inspector.resource_types {
            let state = match t.as_str() {
                "EC2" => r.ec2(),
                "ECR" => r.ecr(),
                "LAMBDA" => r.lambda(),
                _ => r.lambda_code(),
            };
            assert_eq!(state.unwrap().status().as_str(), "ENABLED", "{t}");
        }
    }

    if s.waf.enabled {
        let waf = aws_sdk_wafv2::Client::new(config);
        let arn = &out[&format!("{}.arn", ids::WAF)];
        assert!(arn.contains(":regional/webacl/"), "{arn}");
        let acl = waf
            .get_web_acl()
            .name(format!("greenlang-{}-regional", env.stack.environment))
            .scope(aws_sdk_wafv2::types::Scope::Regional)
            .id(&out[&format!("{}.id", ids::WAF)])
            .send()
            .await
            .unwrap();
        let rules: Vec<(String, i32)> = acl
            .web_acl()
            .unwrap()
            .rules()
            .iter()
            .map(|r| (r.name().to_string(), r.priority()))
            .collect();
        let want: Vec<(String, i32)> = s
            .waf
            .rules
            .iter()
            .map(|r| (r.name.clone(), r.priority))
            .collect();
        assert_eq!(rules, want);
    }
}
