"""Route 53 gap fill: a DELETE with a SetIdentifier deletes only the record set whose Name,
Type and SetIdentifier match (moto deleted every record set with that set identifier), and
fails with InvalidChangeBatch when there is none (API reference, ChangeResourceRecordSets
and ResourceRecordSet)."""

import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import error_of


@pytest.fixture
def zone(client, name):
    """A fresh public hosted zone: (zone id, zone name without the trailing dot)."""
    r53 = client("route53")
    zone_name = f"{name}.example.com"
    zone_id = r53.create_hosted_zone(Name=zone_name, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    return zone_id, zone_name


def latency(name, zone_name, set_identifier="us-east-1", value="lb.example.net", ttl=60):
    return {
        "Name": f"{name}.{zone_name}",
        "Type": "CNAME",
        "SetIdentifier": set_identifier,
        "Region": set_identifier,
        "TTL": ttl,
        "ResourceRecords": [{"Value": value}],
    }


def simple(name, zone_name, value="192.0.2.10", ttl=300):
    return {"Name": f"{name}.{zone_name}", "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": value}]}


def change(client, zone_id, *changes):
    """changes: (action, record set) pairs, as one batch."""
    return client("route53").change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": a, "ResourceRecordSet": s} for a, s in changes]},
    )


def record_sets(client, zone_id):
    """{(name, type, set identifier): record set} of the zone, without its NS and SOA."""
    sets = client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {(s["Name"], s["Type"], s.get("SetIdentifier")): s for s in sets if s["Type"] not in ("NS", "SOA")}


@pytest.mark.glinfra_provider
def test_deleting_a_latency_record_leaves_others_with_the_same_set_identifier(client, zone):
    zone_id, zone_name = zone
    api, factory = latency("api", zone_name), latency("factory", zone_name)
    change(client, zone_id, ("CREATE", api), ("CREATE", factory))
    assert set(record_sets(client, zone_id)) == {
        (f"api.{zone_name}.", "CNAME", "us-east-1"),
        (f"factory.{zone_name}.", "CNAME", "us-east-1"),
    }

    info = change(client, zone_id, ("DELETE", api))["ChangeInfo"]
    assert info["Status"] == "INSYNC"

    remaining = record_sets(client, zone_id)
    assert set(remaining) == {(f"factory.{zone_name}.", "CNAME", "us-east-1")}
    assert remaining[(f"factory.{zone_name}.", "CNAME", "us-east-1")]["ResourceRecords"] == [{"Value": "lb.example.net"}]

    # Deleting it again: it is not there (AWS's InvalidChangeBatch, which glinfra reads as "already gone").
    with pytest.raises(ClientError) as excinfo:
        change(client, zone_id, ("DELETE", api))
    assert error_of(excinfo) == ("InvalidChangeBatch", 400)
    assert excinfo.value.response["Error"]["Message"] == (
        f"Tried to delete resource record set [name='api.{zone_name}.', type='CNAME', "
        "set-identifier='us-east-1'] but it was not found"
    )
    assert set(record_sets(client, zone_id)) == {(f"factory.{zone_name}.", "CNAME", "us-east-1")}

    # The deleted record can be created again (moto's change journal would have refused it).
    change(client, zone_id, ("CREATE", api))
    assert set(record_sets(client, zone_id)) == {
        (f"api.{zone_name}.", "CNAME", "us-east-1"),
        (f"factory.{zone_name}.", "CNAME", "us-east-1"),
    }
    # ... and deleted again; the other one is still untouched.
    change(client, zone_id, ("DELETE", api))
    assert set(record_sets(client, zone_id)) == {(f"factory.{zone_name}.", "CNAME", "us-east-1")}


@pytest.mark.glinfra_provider
def test_a_set_identifier_delete_matches_name_type_and_set_identifier(client, zone):
    zone_id, zone_name = zone
    east, west = latency("api", zone_name, "us-east-1"), latency("api", zone_name, "eu-west-1")
    change(client, zone_id, ("CREATE", east), ("CREATE", west))

    for wrong in (
        latency("api", zone_name, "ap-south-1"),  # no such set identifier for this name
        latency("other", zone_name, "us-east-1"),  # no such name for this set identifier
        {**east, "Type": "TXT", "ResourceRecords": [{"Value": '"lb.example.net"'}]},  # another type
    ):
        with pytest.raises(ClientError) as excinfo:
            change(client, zone_id, ("DELETE", wrong))
        assert error_of(excinfo) == ("InvalidChangeBatch", 400)
        assert "but it was not found" in excinfo.value.response["Error"]["Message"]

    # Names compare case-insensitively and with or without the trailing dot, as on Route 53.
    change(client, zone_id, ("DELETE", {**west, "Name": f"API.{zone_name.upper()}."}))
    assert set(record_sets(client, zone_id)) == {(f"api.{zone_name}.", "CNAME", "us-east-1")}


@pytest.mark.glinfra_provider
def test_a_set_identifier_delete_must_give_the_current_values(client, zone):
    zone_id, zone_name = zone
    api = latency("api", zone_name)
    change(client, zone_id, ("CREATE", api))

    for stale in ({**api, "TTL": 300}, {**api, "ResourceRecords": [{"Value": "old.example.net"}]}):
        with pytest.raises(ClientError) as excinfo:
            change(client, zone_id, ("DELETE", stale))
        assert error_of(excinfo) == ("InvalidChangeBatch", 400)
        assert excinfo.value.response["Error"]["Message"].endswith(
            "but the values provided do not match the current values"
        )
    assert set(record_sets(client, zone_id)) == {(f"api.{zone_name}.", "CNAME", "us-east-1")}

    change(client, zone_id, ("DELETE", api))
    assert record_sets(client, zone_id) == {}


@pytest.mark.glinfra_provider
def test_a_batch_with_a_failing_set_identifier_delete_changes_nothing(client, zone):
    zone_id, zone_name = zone
    api, factory = latency("api", zone_name), latency("factory", zone_name)
    change(client, zone_id, ("CREATE", api))
    before = record_sets(client, zone_id)

    # A CREATE and a good DELETE before the failing DELETE: none of them stays.
    with pytest.raises(ClientError) as excinfo:
        change(
            client,
            zone_id,
            ("CREATE", simple("www", zone_name)),
            ("DELETE", api),
            ("DELETE", factory),  # not there
        )
    assert error_of(excinfo) == ("InvalidChangeBatch", 400)
    assert record_sets(client, zone_id) == before

    # A failure in a change moto handles after our DELETE also undoes the DELETE.
    with pytest.raises(ClientError) as excinfo:
        change(client, zone_id, ("DELETE", api), ("CREATE", simple("www", "elsewhere.example.org")))
    assert error_of(excinfo)[1] == 400
    assert record_sets(client, zone_id) == before

    # DELETE and CREATE of the same record set in one batch (applied in order) works.
    change(client, zone_id, ("DELETE", api), ("CREATE", api))
    assert record_sets(client, zone_id) == before

    # Replacing a latency record's value that way works too.
    moved = latency("api", zone_name, value="lb2.example.net")
    change(client, zone_id, ("DELETE", api), ("CREATE", moved), ("CREATE", factory))
    after = record_sets(client, zone_id)
    assert set(after) == {(f"api.{zone_name}.", "CNAME", "us-east-1"), (f"factory.{zone_name}.", "CNAME", "us-east-1")}
    assert after[(f"api.{zone_name}.", "CNAME", "us-east-1")]["ResourceRecords"] == [{"Value": "lb2.example.net"}]


@pytest.mark.glinfra_provider
def test_simple_deletes_still_work(client, zone):
    zone_id, zone_name = zone
    www, zzz = simple("www", zone_name), simple("zzz", zone_name, value="192.0.2.20")
    change(client, zone_id, ("CREATE", www), ("CREATE", zzz), ("CREATE", latency("www", zone_name)))

    change(client, zone_id, ("DELETE", www))
    assert set(record_sets(client, zone_id)) == {
        (f"zzz.{zone_name}.", "A", None),
        (f"www.{zone_name}.", "CNAME", "us-east-1"),
    }

    # Created again: moto's journal refused this while a record set sorting after it existed.
    change(client, zone_id, ("CREATE", www))
    assert (f"www.{zone_name}.", "A", None) in record_sets(client, zone_id)

    change(client, zone_id, ("DELETE", www), ("DELETE", zzz))
    assert set(record_sets(client, zone_id)) == {(f"www.{zone_name}.", "CNAME", "us-east-1")}
