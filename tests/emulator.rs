//! Integration tests against the emulator named by `AWS_ENDPOINT_URL` (started by
//! `scripts/test`). Each test has its own stack and environment names, so they run
//! in parallel on one emulator. Nothing here skips: without an endpoint, they fail.

use aws_sdk_ec2::types::Filter;
use glinfra::engine::NoObserver;
use glinfra::{Session, Stack};
use greenlang_agent_factory::{config::Environment, stack_for};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn require_emulator() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "these tests need an emulator: run them through scripts/test (it starts LocalStack and sets AWS_ENDPOINT_URL)"
    );
}

/// The prod environment renamed for one test, with buckets that empty themselves on destroy.
fn environment(test: &str) -> Environment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/prod-us-east-1.toml");
    let mut env = greenlang_agent_factory::load(&path).unwrap();
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let nonce = format!(
        "{:06x}",
        (millis ^ u64::from(std::process::id()) << 20) & 0xff_ffff
    );
    env.stack.name = format!("it-{test}-{nonce}");
    env.stack.environment = format!("it{}-{nonce}", &test[..3]);
    env.storage.force_destroy = true;
    env
}

struct Run {
    session: Session,
    _dir: tempfile::TempDir,
}

impl Run {
    async fn new() -> Run {
        require_emulator();
        let dir = tempfile::tempdir().unwrap();
        Run {
            session: Session::aws(dir.path()).await,
            _dir: dir,
        }
    }

    fn calls(&self) -> (u64, u64) {
        let c = self.session.aws_provider().unwrap().api_calls();
        (c.total, c.mutating)
    }

    /// Plans and applies `stack`; returns the plan's summary text and the report.
    async fn up(&self, stack: &Stack) -> (glinfra::Plan, glinfra::engine::ApplyReport) {
        let graph = glinfra::ResourceGraph::build(stack).unwrap();
        let lock = self.session.lock(stack.name()).unwrap();
        let plan = self.session.plan(&lock, &graph).unwrap();
        let report = self
            .session
            .apply(lock, &plan, Arc::new(NoObserver))
            .await
            .unwrap();
        assert!(
            report.is_success(),
            "{}",
            serde_json::to_string_pretty(&report).unwrap()
        );
        (plan, report)
    }

    async fn destroy(&self, stack: &Stack) {
        let lock = self.session.lock(stack.name()).unwrap();
        let plan = self.session.plan_destroy(&lock).unwrap();
        let report = self
            .session
            .apply(lock, &plan, Arc::new(NoObserver))
            .await
            .unwrap();
        assert!(
            report.is_success(),
            "{}",
            serde_json::to_string_pretty(&report).unwrap()
        );
    }

    fn outputs(&self, stack: &Stack) -> BTreeMap<String, String> {
        let lock = self.session.lock(stack.name()).unwrap();
        let state = lock.load().unwrap();
        let mut out = BTreeMap::new();
        for (id, r) in &state.resources {
            for (k, v) in &r.outputs {
                if let Value::String(s) = v {
                    out.insert(format!("{id}.{k}"), s.clone());
                }
            }
        }
        out
    }
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

fn tag_filter(stack: &Stack) -> Filter {
    Filter::builder()
        .name("tag:glinfra:stack")
        .values(stack.name())
        .build()
}

fn owned(tags: &[aws_sdk_ec2::types::Tag], stack: &Stack) -> bool {
    tags.iter()
        .any(|t| t.key() == Some("glinfra:stack") && t.value() == Some(stack.name()))
}

/// Everything EC2 still holds with this stack's ownership tag.
async fn ec2_leftovers(ec2: &aws_sdk_ec2::Client, stack: &Stack) -> Vec<String> {
    let f = tag_filter(stack);
    let mut left = Vec::new();
    for v in ec2
        .describe_vpcs()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .vpcs()
    {
        left.push(format!("vpc {}", v.vpc_id().unwrap()));
    }
    for s in ec2
        .describe_subnets()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .subnets()
    {
        left.push(format!("subnet {}", s.subnet_id().unwrap()));
    }
    for n in ec2
        .describe_nat_gateways()
        .filter(f.clone())
        .send()
        .await
        .unwrap()
        .nat_gateways()
    {
        // LocalStack ignores tag filters on this call: check the tags here.
        if n.state().map(|s| s.as_str()) != Some("deleted") && owned(n.tags(), stack) {
            left.push(format!("nat {}", n.nat_gateway_id().unwrap()));
        }
    }
    for a in ec2
        .describe_addresses()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .addresses()
    {
        left.push(format!("eip {}", a.allocation_id().unwrap()));
    }
    for r in ec2
        .describe_route_tables()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .route_tables()
    {
        left.push(format!("rtb {}", r.route_table_id().unwrap()));
    }
    for g in ec2
        .describe_internet_gateways()
        .filters(f)
        .send()
        .await
        .unwrap()
        .internet_gateways()
    {
        left.push(format!("igw {}", g.internet_gateway_id().unwrap()));
    }
    left
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_reads_back_then_replans_empty_then_destroys_everything() {
    let env = environment("apply");
    let (stack, _) = stack_for(&env).unwrap();
    let run = Run::new().await;
    let started = Instant::now();
    let (plan, report) = run.up(&stack).await;
    let first = (started.elapsed(), run.calls());
    assert_eq!(plan.summary.create, stack.declarations().len());
    assert_eq!(report.succeeded(), stack.declarations().len());
    let out = run.outputs(&stack);
    let config = sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);

    // Network, read back through the EC2 API.
    let vpc_id = &out["vpc.id"];
    let vpcs = ec2.describe_vpcs().vpc_ids(vpc_id).send().await.unwrap();
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.0.0.0/16"));
    let subnets = ec2
        .describe_subnets()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .unwrap();
    let mut seen: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .map(|s| {
            (
                s.cidr_block().unwrap().to_string(),
                s.availability_zone().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut expected: Vec<(String, String)> = Vec::new();
    for (list, _) in [
        (&env.network.public_subnets, "public"),
        (&env.network.app_subnets, "app"),
        (&env.network.data_subnets, "data"),
    ] {
        for (cidr, zone) in list.iter().zip(&env.network.availability_zones) {
            expected.push((cidr.clone(), zone.clone()));
        }
    }
    expected.sort();
    assert_eq!(
        seen, expected,
        "the nine subnets of the seed over three zones"
    );
    let public_a = subnets
        .subnets()
        .iter()
        .find(|s| s.cidr_block() == Some("10.0.0.0/20"))
        .unwrap();
    assert_eq!(public_a.map_public_ip_on_launch(), Some(true));

    let nats = ec2
        .describe_nat_gateways()
        .filter(tag_filter(&stack))
        .send()
        .await
        .unwrap();
    let live: Vec<_> = nats
        .nat_gateways()
        .iter()
        .filter(|n| n.state().map(|s| s.as_str()) == Some("available") && owned(n.tags(), &stack))
        .collect();
    assert_eq!(live.len(), 3, "one NAT gateway per zone");
    for zone in ["a", "b", "c"] {
        let nat = &out[&format!("nat-{zone}.id")];
        let n = live
            .iter()
            .find(|n| n.nat_gateway_id() == Some(nat))
            .unwrap();
        assert_eq!(
            n.subnet_id(),
            Some(out[&format!("subnet-public-{zone}.id")].as_str())
        );
        assert_eq!(
            n.nat_gateway_addresses()[0].allocation_id(),
            Some(out[&format!("eip-nat-{zone}.allocation_id")].as_str())
        );
        for tier in ["app", "data"] {
            let rt = ec2
                .describe_route_tables()
                .route_table_ids(&out[&format!("rt-{tier}-{zone}.id")])
                .send()
                .await
                .unwrap();
            let rt = &rt.route_tables()[0];
            let default = rt
                .routes()
                .iter()
                .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
                .unwrap();
            assert_eq!(
                default.nat_gateway_id(),
                Some(nat.as_str()),
                "{tier}-{zone} leaves through its zone's NAT"
            );
            let assoc: Vec<_> = rt
                .associations()
                .iter()
                .filter_map(|a| a.subnet_id())
                .collect();
            assert_eq!(assoc, [out[&format!("subnet-{tier}-{zone}.id")].as_str()]);
        }
    }
    let public_rt = ec2
        .describe_route_tables()
        .route_table_ids(&out["rt-public.id"])
        .send()
        .await
        .unwrap();
    let default = public_rt.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .unwrap();
    assert_eq!(default.gateway_id(), Some(out["igw.id"].as_str()));

    // Storage, read back through the S3 API.
    let s3 = aws_sdk_s3::Client::new(&config);
    let envname = &env.stack.environment;
    let packs = format!("greenlang-agent-packs-{envname}");
    assert_eq!(
        s3.get_bucket_versioning()
            .bucket(&packs)
            .send()
            .await
            .unwrap()
            .status()
            .map(|s| s.as_str()),
        Some("Enabled")
    );
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&packs)
        .send()
        .await
        .unwrap();
    let rule = &lifecycle.rules()[0];
    let days: Vec<(i32, String)> = rule
        .transitions()
        .iter()
        .map(|t| {
            (
                t.days().unwrap(),
                t.storage_class().unwrap().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            (90, "STANDARD_IA".to_string()),
            (365, "GLACIER".to_string())
        ]
    );
    assert_eq!(rule.expiration().unwrap().days(), Some(2555));
    let enc = s3
        .get_bucket_encryption()
        .bucket(&packs)
        .send()
        .await
        .unwrap();
    let sse = enc.server_side_encryption_configuration().unwrap().rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap();
    assert_eq!(sse.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(sse.kms_master_key_id(), Some(out["kms-s3.arn"].as_str()));
    let pab = s3
        .get_public_access_block()
        .bucket(&packs)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (pab.block_public_acls(), pab.restrict_public_buckets()),
        (Some(true), Some(true))
    );
    let policy = s3.get_bucket_policy().bucket(&packs).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
    let audit = format!("greenlang-audit-logs-{envname}");
    let lock = s3
        .get_object_lock_configuration()
        .bucket(&audit)
        .send()
        .await
        .unwrap();
    let retention = lock
        .object_lock_configuration()
        .unwrap()
        .rule()
        .unwrap()
        .default_retention()
        .unwrap();
    assert_eq!(
        (retention.mode().unwrap().as_str(), retention.days()),
        ("COMPLIANCE", Some(2555))
    );
    let backups = format!("greenlang-backups-{envname}");
    let replication = s3
        .get_bucket_replication()
        .bucket(&backups)
        .send()
        .await
        .unwrap();
    let replication = replication.replication_configuration().unwrap();
    assert_eq!(
        replication.role(),
        out["iam-backups-replication.arn"].as_str()
    );
    assert_eq!(
        replication.rules()[0].destination().unwrap().bucket(),
        format!("arn:aws:s3:::{backups}-replica-us-west-2")
    );
    let kms = aws_sdk_kms::Client::new(&config);
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&out["kms-s3.key_id"])
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());

    // DNS, read back through the Route 53 API.
    let r53 = aws_sdk_route53::Client::new(&config);
    let records = r53
        .list_resource_record_sets()
        .hosted_zone_id(&out["zone.zone_id"])
        .send()
        .await
        .unwrap();
    let api = records
        .resource_record_sets()
        .iter()
        .find(|r| r.name() == "api.greenlang.ai.")
        .unwrap();
    assert_eq!(api.r#type().as_str(), "CNAME");
    assert_eq!(
        api.resource_records()[0].value(),
        "api.us-east-1.ingress.greenlang.ai"
    );

    // A second run changes nothing and calls nothing that mutates.
    let before = run.calls();
    let started = Instant::now();
    let (plan, report) = run.up(&stack).await;
    let second = (started.elapsed(), run.calls());
    assert!(plan.is_empty(), "{}", glinfra::render::text(&plan));
    assert_eq!(report.outcomes.len(), 0);
    assert_eq!(second.1 .1, before.1, "zero mutating calls on a no-op run");
    eprintln!(
        "MEASURED first apply: {:.1}s, {} API calls ({} mutating); no-op re-run: {:.3}s, {} API calls",
        first.0.as_secs_f64(), first.1 .0, first.1 .1, second.0.as_secs_f64(), second.1 .0 - before.0
    );

    // Destroy leaves nothing carrying the stack's tag.
    run.destroy(&stack).await;
    assert_eq!(ec2_leftovers(&ec2, &stack).await, Vec::<String>::new());
    for bucket in [&packs, &audit, &backups] {
        assert!(
            s3.head_bucket().bucket(bucket).send().await.is_err(),
            "{bucket} is gone"
        );
    }
    let zones = r53
        .list_hosted_zones_by_name()
        .dns_name("greenlang.ai")
        .send()
        .await
        .unwrap();
    for z in zones.hosted_zones() {
        assert_ne!(
            z.id().trim_start_matches("/hostedzone/"),
            out["zone.zone_id"],
            "the zone is gone"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn in_place_changes_and_replacements_apply() {
    let env = environment("change");
    let (stack, _) = stack_for(&env).unwrap();
    let run = Run::new().await;
    run.up(&stack).await;
    let before = run.outputs(&stack);

    // In place: a lifecycle rule and a subnet tag.
    let mut changed_env = env.clone();
    changed_env.storage.buckets[2].lifecycle[0].transitions[0].days = 45;
    let (mut changed, _) = stack_for(&changed_env).unwrap();
    changed.set_tag("subnet-app-a", "tier", "application");
    let (plan, _) = run.up(&changed).await;
    let actions: Vec<(String, glinfra::Action)> = plan
        .steps
        .iter()
        .map(|s| (s.resource.clone(), s.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("subnet-app-a".to_string(), glinfra::Action::Update),
            ("bucket-reports".to_string(), glinfra::Action::Update)
        ]
    );
    let config = sdk().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    let reports = format!("greenlang-reports-{}", env.stack.environment);
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&reports)
        .send()
        .await
        .unwrap();
    assert_eq!(lifecycle.rules()[0].transitions()[0].days(), Some(45));
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let subnet = ec2
        .describe_subnets()
        .subnet_ids(&before["subnet-app-a.id"])
        .send()
        .await
        .unwrap();
    let tags: BTreeMap<&str, &str> = subnet.subnets()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(
        tags.get("tier"),
        Some(&"application"),
        "updated in place: same subnet id"
    );

    // Replace: a subnet CIDR; its association follows.
    let mut replaced_env = changed_env.clone();
    replaced_env.network.app_subnets[2] = "10.0.224.0/19".into();
    let (mut replaced, _) = stack_for(&replaced_env).unwrap();
    replaced.set_tag("subnet-app-a", "tier", "application");
    let (plan, _) = run.up(&replaced).await;
    let actions: Vec<(String, glinfra::Action)> = plan
        .steps
        .iter()
        .map(|s| (s.resource.clone(), s.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("subnet-app-c".to_string(), glinfra::Action::Replace),
            ("rta-app-c".to_string(), glinfra::Action::Replace)
        ]
    );
    let after = run.outputs(&replaced);
    assert_ne!(after["subnet-app-c.id"], before["subnet-app-c.id"]);
    let old = ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("subnet-id")
                .values(&before["subnet-app-c.id"])
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(old.subnets().is_empty(), "the old subnet is gone");
    let new = ec2
        .describe_subnets()
        .subnet_ids(&after["subnet-app-c.id"])
        .send()
        .await
        .unwrap();
    assert_eq!(new.subnets()[0].cidr_block(), Some("10.0.224.0/19"));
    let rt = ec2
        .describe_route_tables()
        .route_table_ids(&after["rt-app-c.id"])
        .send()
        .await
        .unwrap();
    let assoc: Vec<_> = rt.route_tables()[0]
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id())
        .collect();
    assert_eq!(assoc, [after["subnet-app-c.id"].as_str()]);

    run.destroy(&replaced).await;
    assert_eq!(ec2_leftovers(&ec2, &replaced).await, Vec::<String>::new());
}
