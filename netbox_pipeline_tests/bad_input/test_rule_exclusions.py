"""A record NetBox would reject is left out of the plan with a located error; the rest is written.

Before, any of these failed the blocking `netbox_rules` check and nothing at all was written.
"""

from datetime import datetime, timezone
from pathlib import Path

from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import blocking, build_plan, exclude_rejected, validate_plan
from netbox_pipeline.sources.filesystem import read_inventory_file

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)

GOOD = """\
  - name: good-1
    site: home
    interfaces: [{name: eth0, mac: "02:00:00:00:00:01", ip_addresses: [192.0.2.1/24]}]
    primary_ip4: 192.0.2.1
"""


def plan_of(tmp_path: Path, bad: str):
    path = tmp_path / "rack.yaml"
    path.write_text("devices:\n" + GOOD + bad)
    result = read_inventory_file(path, "rack", observed_at=NOW)
    assert result.errors == []
    desired = desired_objects(merge([result], default_precedence()))
    plan = build_plan(desired, {})
    problems = exclude_rejected(plan, desired, validate_plan(plan, desired))
    return plan, problems, str(path)


def actions(plan, type_name: str) -> dict[str, str]:
    return {"/".join(map(str, item.key)): item.action for item in plan.items if item.type == type_name}


def test_primary_ip_not_on_the_device_leaves_out_only_that_field(tmp_path):
    plan, problems, path = plan_of(tmp_path, """\
  - name: bad-1
    site: home
    interfaces: [{name: eth0, ip_addresses: [192.0.2.9/24]}]
    primary_ip4: 192.0.2.1
""")
    assert blocking(problems) == []
    assert [(p.check, p.severity, p.message) for p in problems if p.check == "primary_ip_not_on_device"] == [
        ("primary_ip_not_on_device", "excluded",
         f"{path}:6: primary_ip4 192.0.2.1 is not on an interface of home/bad-1; NetBox rejects it")]
    bad = plan.item("devices", ("home", "bad-1"))
    assert bad.action == "create" and "primary_ip4" not in bad.payload_fields
    assert "primary_ip4 left out" in bad.reason
    assert plan.item("devices", ("home", "good-1")).payload_fields["primary_ip4"] == ("", "192.0.2.1")


def test_shared_ip_is_kept_on_the_first_claim_and_nothing_blocks(tmp_path):
    plan, problems, path = plan_of(tmp_path, """\
  - name: web-9
    site: home
    interfaces: [{name: eth0, ip_addresses: [192.0.2.1/24]}]
""")
    assert blocking(problems) == []
    assert [(p.check, p.severity, p.message) for p in problems] == [
        ("identity_collision", "excluded",
         f"{path}:6: IP 192.0.2.1 in the global table is claimed by good-1 eth0 and by web-9 eth0; kept on the first")]
    assert actions(plan, "devices") == {"home/good-1": "create", "home/web-9": "create"}
    assert actions(plan, "ip_addresses") == {"/192.0.2.1": "create"}
    assert plan.item("ip_addresses", ("", "192.0.2.1")).payload_fields["assigned_object"][1][1] == "good-1"


def test_shared_mac_leaves_out_every_claim_of_it_and_nothing_else(tmp_path):
    plan, problems, path = plan_of(tmp_path, """\
  - name: bad-1
    site: home
    interfaces: [{name: eth0, mac: "02:00:00:00:00:01"}]
""")
    assert blocking(problems) == []
    (problem,) = problems
    assert (problem.check, problem.severity) == ("identity_collision", "excluded")
    assert problem.message.startswith(f"{path}:")
    assert "MAC 02:00:00:00:00:01 is claimed by 2 different parents" in problem.message
    assert set(actions(plan, "mac_addresses").values()) == {"skip"}
    assert actions(plan, "devices") == {"home/good-1": "create", "home/bad-1": "create"}
    assert set(actions(plan, "interfaces").values()) == {"create"}
    # the interfaces are written without the primary MAC that would name an excluded object
    assert "primary_mac_address" not in plan.item("interfaces", ("home", "good-1", "eth0")).payload_fields


def test_an_excluded_object_takes_what_depends_on_it_along(tmp_path):
    plan, problems, path = plan_of(tmp_path, """\
  - name: bad-1
    site: home
    platform: UniFi OS
    manufacturer: Acme
    interfaces: [{name: eth0, ip_addresses: [192.0.2.7/24]}]
platforms:
  - {name: UniFi OS, manufacturer: Ubiquiti}
""")
    assert blocking(problems) == []
    (problem,) = problems
    assert problem.check == "platform_manufacturer"
    assert problem.message.startswith(f"{path}:6: platform unifi-os belongs to manufacturer ubiquiti")
    assert actions(plan, "devices") == {"home/good-1": "create", "home/bad-1": "skip"}
    assert actions(plan, "interfaces") == {"home/good-1/eth0": "create", "home/bad-1/eth0": "skip"}
    assert actions(plan, "ip_addresses") == {"/192.0.2.1": "create", "/192.0.2.7": "skip"}
    assert plan.item("interfaces", ("home", "bad-1", "eth0")).reason == (
        "excluded: needs devices home/bad-1, which is excluded")


def test_what_only_an_excluded_record_names_is_not_created(tmp_path):
    plan, problems, _ = plan_of(tmp_path, """\
  - name: bad-1
    site: stray-site
    role: Oddball
    manufacturer: Bad Co
    model: Z-1
    platform: UniFi OS
platforms:
  - {name: UniFi OS, manufacturer: Ubiquiti}
""")
    assert [p.check for p in problems] == ["platform_manufacturer"]
    assert actions(plan, "devices") == {"home/good-1": "create", "stray-site/bad-1": "skip"}
    assert actions(plan, "sites") == {"home": "create", "stray-site": "skip"}
    assert actions(plan, "device_roles")["oddball"] == "skip"
    assert actions(plan, "device_types")["bad-co/z-1"] == "skip"
    assert (actions(plan, "manufacturers")["bad-co"], actions(plan, "manufacturers")["ubiquiti"]) == ("skip", "create")
    assert plan.item("sites", ("stray-site",)).reason == "excluded: named only by excluded devices stray-site/bad-1"
    # a record of its own is written as declared, even when only an excluded record uses it
    assert actions(plan, "platforms") == {"unifi-os": "create"}
