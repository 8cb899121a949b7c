"""Security services (seed 8.1): GuardDuty, Security Hub, Inspector, WAF and Shield,
served from moto with the gaps filled. Each test runs in an account of its own (the
access key of twelve digits is the account, in LocalStack), because these resources are
one per account and region."""

import random

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION, error_of, wait_for

pytestmark = pytest.mark.glinfra_provider


@pytest.fixture
def account(endpoint):
    """client(service) in a fresh account."""
    account_id = "".join(random.choice("0123456789") for _ in range(12))

    def make(service: str, region: str = REGION):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=account_id,
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    make.id = account_id
    return make


def fails(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as e:
        call()
    return error_of(e)


# GuardDuty


def test_guardduty_one_detector_per_account_and_region_and_tokens_repeat(account):
    gd = account("guardduty")
    made = gd.create_detector(
        Enable=True,
        ClientToken="t-1",
        FindingPublishingFrequency="FIFTEEN_MINUTES",
        Features=[{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}],
        Tags={"glinfra:stack": "prod"},
    )["DetectorId"]
    # The same create again (its token): the same detector.
    assert gd.create_detector(Enable=True, ClientToken="t-1")["DetectorId"] == made
    # Another create: refused, as AWS refuses a second detector.
    code, status = fails(lambda: gd.create_detector(Enable=True, ClientToken="t-2"))
    assert (code, status) == ("BadRequestException", 400)
    assert gd.list_detectors()["DetectorIds"] == [made]
    # Another region has its own.
    assert account("guardduty", "eu-west-1").create_detector(Enable=True)["DetectorId"]
    got = gd.get_detector(DetectorId=made)
    assert got["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    assert got["Tags"] == {"glinfra:stack": "prod"}
    assert {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}.items() <= got["Features"][0].items()


def test_guardduty_tags_by_detector_arn(account):
    gd = account("guardduty")
    detector = gd.create_detector(Enable=True)["DetectorId"]
    arn = f"arn:aws:guardduty:{REGION}:{account.id}:detector/{detector}"
    gd.tag_resource(ResourceArn=arn, Tags={"a": "1", "b": "2"})
    gd.untag_resource(ResourceArn=arn, TagKeys=["b"])
    assert gd.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"a": "1"}
    assert gd.get_detector(DetectorId=detector)["Tags"] == {"a": "1"}
    other = f"arn:aws:guardduty:{REGION}:{account.id}:detector/0123456789abcdef0123456789abcdef"
    assert fails(lambda: gd.list_tags_for_resource(ResourceArn=other))[0] == "BadRequestException"
    gd.delete_detector(DetectorId=detector)
    assert gd.list_detectors()["DetectorIds"] == []



def test_guardduty_update_detector_changes_only_the_features_it_names(account):
    gd = account("guardduty")
    detector = gd.create_detector(
        Enable=True,
        Features=[
            {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
            {"Name": "EKS_AUDIT_LOGS", "Status": "ENABLED"},
            {"Name": "EBS_MALWARE_PROTECTION", "Status": "DISABLED"},
        ],
    )["DetectorId"]

    def status() -> dict:
        return {f["Name"]: f["Status"] for f in gd.get_detector(DetectorId=detector)["Features"]}

    # One feature turned off, as the console's switch does: the others stay as they were.
    gd.update_detector(DetectorId=detector, Features=[{"Name": "EKS_AUDIT_LOGS", "Status": "DISABLED"}])
    assert status() == {"S3_DATA_EVENTS": "ENABLED", "EKS_AUDIT_LOGS": "DISABLED", "EBS_MALWARE_PROTECTION": "DISABLED"}
    # A feature not there yet is added; an update without features leaves them.
    gd.update_detector(DetectorId=detector, Features=[{"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"}])
    gd.update_detector(DetectorId=detector, FindingPublishingFrequency="ONE_HOUR", Enable=False)
    got = gd.get_detector(DetectorId=detector)
    assert (got["Status"], got["FindingPublishingFrequency"]) == ("DISABLED", "ONE_HOUR")
    assert status() == {
        "S3_DATA_EVENTS": "ENABLED",
        "EKS_AUDIT_LOGS": "DISABLED",
        "EBS_MALWARE_PROTECTION": "DISABLED",
        "RDS_LOGIN_EVENTS": "ENABLED",
    }

# Security Hub

CIS_300 = f"arn:aws:securityhub:{REGION}::standards/cis-aws-foundations-benchmark/v/3.0.0"


def test_securityhub_off_is_invalid_access_and_enabling_twice_conflicts(account):
    hub = account("securityhub")
    assert fails(hub.describe_hub) == ("InvalidAccessException", 401)
    assert fails(hub.get_enabled_standards)[0] == "InvalidAccessException"
    hub.enable_security_hub(EnableDefaultStandards=False, ControlFindingGenerator="STANDARD_CONTROL", Tags={"k": "v"})
    assert fails(lambda: hub.enable_security_hub(EnableDefaultStandards=False)) == ("ResourceConflictException", 409)
    described = hub.describe_hub()
    assert described["HubArn"] == f"arn:aws:securityhub:{REGION}:{account.id}:hub/default"
    assert described["ControlFindingGenerator"] == "STANDARD_CONTROL"
    assert described["AutoEnableControls"] is True
    hub.update_security_hub_configuration(AutoEnableControls=False, ControlFindingGenerator="SECURITY_CONTROL")
    described = hub.describe_hub()
    assert (described["AutoEnableControls"], described["ControlFindingGenerator"]) == (False, "SECURITY_CONTROL")
    assert hub.get_enabled_standards()["StandardsSubscriptions"] == []
    arn = described["HubArn"]
    assert hub.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"k": "v"}
    hub.tag_resource(ResourceArn=arn, Tags={"glinfra:stack": "prod"})
    hub.untag_resource(ResourceArn=arn, TagKeys=["k"])
    assert hub.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"glinfra:stack": "prod"}
    hub.disable_security_hub()
    assert fails(hub.describe_hub)[0] == "InvalidAccessException"


def test_securityhub_default_standards_are_subscribed_unless_refused(account):
    hub = account("securityhub")
    hub.enable_security_hub()
    arns = {s["StandardsArn"] for s in hub.get_enabled_standards()["StandardsSubscriptions"]}
    assert arns == {
        f"arn:aws:securityhub:{REGION}::standards/aws-foundational-security-best-practices/v/1.0.0",
        "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0",
    }


def test_securityhub_cis_subscription_is_pending_then_ready_then_deleting_then_gone(account):
    hub = account("securityhub")
    hub.enable_security_hub(EnableDefaultStandards=False)
    made = hub.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": CIS_300}])
    sub = made["StandardsSubscriptions"][0]
    assert sub["StandardsArn"] == CIS_300
    assert sub["StandardsSubscriptionArn"] == (
        f"arn:aws:securityhub:{REGION}:{account.id}:subscription/cis-aws-foundations-benchmark/v/3.0.0"
    )
    assert sub["StandardsStatus"] == "PENDING"
    # Enabling it again answers the same subscription.
    again = hub.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": CIS_300}])
    assert again["StandardsSubscriptions"][0]["StandardsSubscriptionArn"] == sub["StandardsSubscriptionArn"]

    def status():
        subs = hub.get_enabled_standards()["StandardsSubscriptions"]
        return subs[0]["StandardsStatus"] if subs else "gone"

    wait_for(lambda: status() == "READY", timeout=10)
    only = hub.get_enabled_standards(StandardsSubscriptionArns=[sub["StandardsSubscriptionArn"]])
    assert len(only["StandardsSubscriptions"]) == 1
    out = hub.batch_disable_standards(StandardsSubscriptionArns=[sub["StandardsSubscriptionArn"]])
    assert out["StandardsSubscriptions"][0]["StandardsStatus"] == "DELETING"
    wait_for(lambda: status() == "gone", timeout=10)


def test_securityhub_refuses_a_standard_of_another_region_or_unknown(account):
    hub = account("securityhub")
    hub.enable_security_hub(EnableDefaultStandards=False)
    other = "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/3.0.0"
    for arn in (other, f"arn:aws:securityhub:{REGION}::standards/cis-aws-foundations-benchmark/v/9.9.9"):
        code = fails(lambda: hub.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": arn}]))[0]
        assert code == "InvalidInputException"
    unknown = f"arn:aws:securityhub:{REGION}:{account.id}:subscription/nist-800-53/v/5.0.0"
    assert fails(lambda: hub.batch_disable_standards(StandardsSubscriptionArns=[unknown]))[0] == "InvalidInputException"


# Inspector


def test_inspector_enables_and_disables_the_callers_account(account):
    ins = account("inspector2")
    status = ins.batch_get_account_status()["accounts"]
    assert [a["accountId"] for a in status] == [account.id]
    assert status[0]["resourceState"]["ec2"]["status"] == "DISABLED"
    out = ins.enable(resourceTypes=["EC2", "ECR"])
    assert out["accounts"][0]["accountId"] == account.id
    state = ins.batch_get_account_status()["accounts"][0]["resourceState"]
    assert (state["ec2"]["status"], state["ecr"]["status"], state["lambda"]["status"]) == ("ENABLED", "ENABLED", "DISABLED")
    ins.disable(resourceTypes=["EC2"])
    state = ins.batch_get_account_status()["accounts"][0]["resourceState"]
    assert (state["ec2"]["status"], state["ecr"]["status"]) == ("DISABLED", "ENABLED")
    assert fails(lambda: ins.enable(resourceTypes=["S3"]))[0] == "ValidationException"


# WAF


def test_waf_regional_web_acl_with_managed_rule_groups_and_lock_tokens(account, name):
    waf = account("wafv2")
    vis = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}
    rules = [
        {
            "Name": group,
            "Priority": priority,
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
            "OverrideAction": {"None": {}},
            "VisibilityConfig": {**vis, "MetricName": group},
        }
        for priority, group in (
            (10, "AWSManagedRulesAmazonIpReputationList"),
            (20, "AWSManagedRulesCommonRuleSet"),
            (30, "AWSManagedRulesKnownBadInputsRuleSet"),
        )
    ]
    made = waf.create_web_acl(
        Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}}, Rules=rules,
        VisibilityConfig=vis, Tags=[{"Key": "glinfra:stack", "Value": "prod"}],
    )["Summary"]
    assert made["ARN"].startswith(f"arn:aws:wafv2:{REGION}:{account.id}:regional/webacl/{name}/")
    got = waf.get_web_acl(Name=name, Scope="REGIONAL", Id=made["Id"])
    assert [r["Name"] for r in got["WebACL"]["Rules"]] == [r["Name"] for r in rules]
    tags = waf.list_tags_for_resource(ResourceARN=made["ARN"])["TagInfoForResource"]["TagList"]
    assert tags == [{"Key": "glinfra:stack", "Value": "prod"}]
    assert fails(lambda: waf.create_web_acl(
        Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=vis))[0] == "WAFDuplicateItemException"
    token = got["LockToken"]
    waf.update_web_acl(Name=name, Scope="REGIONAL", Id=made["Id"], DefaultAction={"Block": {}},
                       Rules=rules[:2], VisibilityConfig=vis, LockToken=token)
    # The token of before the update is stale.
    stale = fails(lambda: waf.delete_web_acl(Name=name, Scope="REGIONAL", Id=made["Id"], LockToken=token))
    assert stale[0] == "WAFOptimisticLockException"
    got = waf.get_web_acl(Name=name, Scope="REGIONAL", Id=made["Id"])
    assert "Block" in got["WebACL"]["DefaultAction"] and len(got["WebACL"]["Rules"]) == 2
    waf.delete_web_acl(Name=name, Scope="REGIONAL", Id=made["Id"], LockToken=got["LockToken"])
    missing = fails(lambda: waf.get_web_acl(Name=name, Scope="REGIONAL", Id=made["Id"]))
    assert missing[0] == "WAFNonexistentItemException"


# Shield


def test_shield_subscription_is_one_per_account_and_updatable(account):
    shield = account("shield")
    assert fails(shield.describe_subscription)[0] == "ResourceNotFoundException"
    shield.create_subscription()
    assert fails(shield.create_subscription)[0] == "ResourceAlreadyExistsException"
    sub = shield.describe_subscription()["Subscription"]
    assert sub["SubscriptionArn"].startswith(f"arn:aws:shield::{account.id}:subscription/")
    assert sub["TimeCommitmentInSeconds"] == 365 * 24 * 3600
    assert sub["EndTime"] > sub["StartTime"]
    assert sub["AutoRenew"] == "ENABLED"
    shield.update_subscription(AutoRenew="DISABLED")
    assert shield.describe_subscription()["Subscription"]["AutoRenew"] == "DISABLED"
    assert fails(lambda: shield.update_subscription(AutoRenew="MAYBE"))[0] == "InvalidParameterException"
    # The same account from another region: the same (global) subscription.
    assert account("shield", "eu-west-1").describe_subscription()["Subscription"]["SubscriptionArn"] == sub["SubscriptionArn"]
