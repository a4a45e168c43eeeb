from datetime import datetime, timezone

from pydantic import ValidationError

from netbox_pipeline.model import Device, RecordError, SourceResult
from netbox_pipeline.sources.base import (
    error_path,
    failed_result,
    scrub,
    stamp_provenance,
    validation_problems,
)

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_scrub_replaces_every_secret_given():
    assert scrub("token s3cret and pw hunter2 at s3cret", "s3cret", "", "hunter2") == "token *** and pw *** at ***"
    assert scrub("nothing to hide") == "nothing to hide"


def test_error_path():
    assert error_path(("interfaces", 1, "mac")) == "interfaces[1].mac"
    assert error_path(("status",)) == "status"
    assert error_path(()) == ""


def test_validation_problems_are_reworded():
    try:
        Device(name="a", bogus=1, interfaces=[{"name": "e", "mac": "zz"}])
    except ValidationError as exc:
        problems = validation_problems(exc)
    assert problems == [("bogus", "unknown field"), ("interfaces[0].mac", "invalid MAC address 'zz'")]


def test_record_error_string_and_dict():
    error = RecordError("rack", "inv.yaml:4", "sw-1", "interfaces[1].mac", "invalid MAC address 'x'")
    assert str(error) == "inv.yaml:4 sw-1 field interfaces[1].mac: invalid MAC address 'x'"
    assert error.to_dict()["location"] == "inv.yaml:4"
    assert str(RecordError("rack", "inv.yaml:1", None, None, "bad")) == "inv.yaml:1: bad"


def test_result_health():
    assert not failed_result("nmap", "lan", "timeout").healthy
    assert not SourceResult("nmap", "lan").healthy  # ok but empty: its absences must not count
    assert SourceResult("nmap", "lan", records=[Device(name="a")]).healthy


def test_stamp_provenance_skips_unknown_fields():
    device = Device(name="a", site="home", serial=None,
                    interfaces=[{"name": "eth0", "mac": "00:11:22:33:44:55"}],
                    custom_fields={"owner": "x"})
    stamp_provenance(device, source_kind="nmap", instance="lan", record_id="r1", location="scan",
                     observed_at=NOW, defaulted={"site"})
    assert set(device.provenance) == {"name", "site", "interfaces[eth0].mac", "custom_fields.owner"}
    assert device.provenance["site"].location == "defaults"
    assert device.provenance["name"].location == "scan"
