"""The datacenter skeleton: parsing (YAML, JSON, CSV), desired objects and planning per kind."""

import json
from datetime import datetime, timezone

import yaml

from netbox_pipeline.netbox.schema import OWNER_TAG, LiveObject, build_live
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import build_plan, validate_plan
from netbox_pipeline.sources.filesystem import read_inventory_file
from netbox_pipeline_tests.datacenter_estate import datacenter

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)


def read(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return read_inventory_file(path, "dc", observed_at=NOW)


def desired_from(tmp_path, data: dict):
    result = read(tmp_path, "dc.yaml", yaml.safe_dump(data))
    assert result.errors == []
    return desired_objects(merge([result], default_precedence()))


def test_every_kind_parses_from_yaml_and_json_alike(tmp_path):
    from_yaml = read(tmp_path, "dc.yaml", yaml.safe_dump(datacenter()))
    from_json = read(tmp_path, "dc.json", json.dumps(datacenter(), indent=2))
    assert from_yaml.errors == [] and from_json.errors == []
    assert from_yaml.counts() == from_json.counts() == {
        "region": 3, "site_group": 2, "tenant_group": 1, "tenant": 1, "site": 6, "location": 2, "rack": 1,
        "platform": 1, "vrf": 2, "vlan_group": 2, "vlan": 10, "prefix": 12, "device": 2, "cable": 10}


def test_csv_rows_of_the_new_kinds_and_interface_vlans(tmp_path):
    text = (
        "record_type,name,parent,region,site,vid,group,prefix,vrf,rd,interfaces,status\n"
        "region,Europe,,,,,,,,,,\n"
        "region,Netherlands,Europe,,,,,,,,,\n"
        "site,AMS1,,Netherlands,,,,,,,,active\n"
        "vrf,blue,,,,,,,,65000:1,,\n"
        "vlan_group,AMS1 VLANs,,,AMS1,,,,,,,\n"
        "vlan,users,,,,10,AMS1 VLANs,,,,,active\n"
        "prefix,,,,AMS1,,,10.1.0.0/24,blue,,,\n"
        'device,sw-1,,,AMS1,,,,,,"Ethernet1 mode=tagged untagged_vlan=10 tagged_vlans=10,11 vlan_group=\'AMS1 VLANs\'",\n'
        "vlan,bad,,,,5000,,,,,,\n"
    )
    result = read(tmp_path, "dc.csv", text)
    assert [(e.location, e.field) for e in result.errors] == [(f"{tmp_path}/dc.csv:10", "vid")]
    assert result.counts() == {"region": 2, "site": 1, "vrf": 1, "vlan_group": 1, "vlan": 1, "prefix": 1, "device": 1}
    (device,) = result.of_type("device")
    assert (device.interfaces[0].untagged_vlan, device.interfaces[0].tagged_vlans) == (10, [10, 11])


def test_located_errors_for_bad_skeleton_records(tmp_path):
    result = read(tmp_path, "dc.yaml", yaml.safe_dump({
        "vlan_groups": [{"name": "g", "site": "a", "region": "b"}],
        "prefixes": [{"prefix": "10.0.0.1/24"}, {"prefix": "10.0.0.0/24", "location": "Hall"}],
        "sites": [{"name": "x", "status": "open"}],
        "racks": [{"name": "R1"}],
    }, sort_keys=False))
    messages = sorted(f"{e.location.rsplit('/', 1)[-1]} {e.field}: {e.message}" for e in result.errors)
    assert len(messages) == 5 and result.records == []
    assert any("dc.yaml:2" in m and "site or to a region, not both" in m for m in messages)
    assert any("prefix" in m and "host bits set" in m for m in messages)
    assert any("names the location's site too" in m for m in messages)
    assert any("invalid site status 'open'" in m for m in messages)
    assert any("site" in m and "required" in m.lower() for m in messages)


def test_desired_objects_and_references_of_every_kind(tmp_path):
    desired = desired_from(tmp_path, datacenter())
    assert desired.problems == []
    counts = {name: len(objects) for name, objects in desired.items()}
    assert {k: counts[k] for k in ("regions", "site_groups", "tenants", "sites", "locations", "racks", "vrfs",
                                   "vlan_groups", "vlans", "prefixes", "platforms", "manufacturers")} == {
        "regions": 3, "site_groups": 2, "tenants": 1, "sites": 6, "locations": 2, "racks": 1, "vrfs": 2,
        "vlan_groups": 2, "vlans": 10, "prefixes": 12, "platforms": 1, "manufacturers": 1}
    assert desired["regions"][("netherlands",)].fields["parent"] == ("europe",)
    site = desired["sites"][("ams1",)].fields
    assert (site["region"], site["group"], site["tenant"], site["latitude"]) == (
        ("netherlands",), ("core",), ("acme",), 52.3)
    assert desired["vlan_groups"][("nl-vlans",)].fields["scope"] == ("regions", ("netherlands",))
    assert desired["vlans"][("ams1-vlans", "", 10)].fields["role"] == ("production",)
    prefix = desired["prefixes"][("blue", "10.1.0.0/24")].fields
    assert (prefix["vlan"], prefix["scope"], prefix["vrf"]) == (("ams1-vlans", "", 10), ("sites", ("ams1",)), ("blue",))
    assert desired["prefixes"][("", "192.0.2.0/24")].fields["scope"] == ("locations", ("ams1", "hall a"))
    assert desired["locations"][("ams1", "cage 1")].fields["parent"] == ("ams1", "hall a")
    assert desired["racks"][("ams1", "r1")].fields["location"] == ("ams1", "cage 1")
    assert desired["platforms"][("eos",)].fields["manufacturer"] == ("arista",)
    device = desired["devices"][("ams1", "sw-1")].fields
    assert (device["rack"], device["position"], device["face"], device["tenant"]) == (("ams1", "r1"), 39, "front", ("acme",))
    port = desired["interfaces"][("ams1", "sw-1", "Ethernet1")].fields
    assert (port["mode"], port["untagged_vlan"], port["tagged_vlans"]) == (
        "tagged", ("ams1-vlans", "", 10), (("ams1-vlans", "", 11), ("ams1-vlans", "", 12)))


def test_a_vid_without_group_resolves_near_the_site_or_is_reported_when_ambiguous(tmp_path):
    data = datacenter()
    for device in data["devices"]:
        for interface in device["interfaces"]:
            interface.pop("vlan_group")
    desired = desired_from(tmp_path, data)  # VID 10 is in AMS1's group and in the NL region's group
    assert {p.check for p in desired.problems} == {"ambiguous_vlan"}
    assert "name its vlan_group" in desired.problems[0].message
    data["vlans"] = [v for v in data["vlans"] if v["group"] != "NL VLANs"]
    desired = desired_from(tmp_path, data)
    assert desired.problems == []
    assert desired["interfaces"][("ams1", "sw-1", "Ethernet1")].fields["untagged_vlan"] == ("ams1-vlans", "", 10)


def test_plan_creates_everything_then_nothing_and_platform_mismatch_names_both(tmp_path):
    desired = desired_from(tmp_path, datacenter())
    plan = build_plan(desired, build_live({}), object_map={}, healthy_instances=[("filesystem", "dc")])
    assert validate_plan(plan, desired) == []
    assert plan.totals()["create"] == desired.count()
    data = datacenter()
    data["platforms"] = [{"name": "EOS", "manufacturer": "Cisco"}]
    desired = desired_from(tmp_path, data)
    plan = build_plan(desired, build_live({}), object_map={}, healthy_instances=[("filesystem", "dc")])
    (problem,) = [p for p in validate_plan(plan, desired) if p.check == "platform_manufacturer"][:1]
    assert "cisco" in problem.message and "arista" in problem.message


def test_a_vlan_a_remaining_prefix_points_at_is_kept_and_goes_after_its_prefix():
    vlan_key, prefix_key = ("ams1-vlans", "", 12), ("blue", "10.1.2.0/24")
    vlan = LiveObject("vlans", 7, vlan_key, {"vid": 12, "group": ("ams1-vlans",)}, frozenset({OWNER_TAG}), True)

    def plan_with(prefix_owned: bool):
        prefix = LiveObject("prefixes", 9, prefix_key, {"prefix": "10.1.2.0/24", "vrf": ("blue",), "vlan": vlan_key},
                            frozenset({OWNER_TAG} if prefix_owned else ()), prefix_owned)
        gone = {"instances": [["filesystem", "dc"]], "missing_runs": 2}
        return build_plan({}, {"vlans": [vlan], "prefixes": [prefix]},
                          object_map={("vlans", vlan_key): gone, ("prefixes", prefix_key): gone},
                          healthy_instances=[("filesystem", "dc")])

    # A person's prefix still names the VLAN: NetBox would refuse the DELETE (PROTECT), so it is kept.
    held = plan_with(prefix_owned=False)
    assert held.deletions() == []
    item = held.item("vlans", vlan_key)
    assert item.action == "orphan" and not item.removal
    assert "prefixes blue/10.1.2.0/24 still points at it (vlan)" in item.reason
    # Our prefix leaves too: both are deleted, the prefix first.
    both = plan_with(prefix_owned=True)
    assert [(i.type, i.key) for i in both.deletions()] == [("prefixes", prefix_key), ("vlans", vlan_key)]


def _cable_live(plan_items, desired, owned=True):
    """NetBox after the plan's creates: each cable in comparison form, as `build_live` would give it."""
    return {"cables": [LiveObject("cables", n, key, dict(desired["cables"][key].fields),
                                  frozenset({OWNER_TAG}) if owned else frozenset(), owned)
                       for n, key in enumerate(sorted(desired["cables"]), start=1)]}


def test_cables_parse_in_every_format_and_bad_ends_are_located(tmp_path):
    rows = ("record_type,a_device,a_interface,b_device,b_interface,type,length,length_unit,color\n"
            "cable,sw-1,Ethernet1,sw-2,Ethernet1,cat6,2,m,#00FF00\n"
            "cable,sw-1,Ethernet1,sw-1,Ethernet1,,,,\n"
            "cable,sw-1,Ethernet2,sw-2,Ethernet2,cat6,2,,\n")
    result = read(tmp_path, "c.csv", rows)
    (cable,) = [r for r in result.records if type(r).__name__ == "Cable"]
    assert (cable.a.device, cable.b.interface, cable.color, cable.length) == ("sw-1", "Ethernet1", "00ff00", 2.0)
    assert [e.location.rsplit(":", 1)[1] for e in result.errors] == ["3", "4"]
    assert "both ends are sw-1 Ethernet1" in result.errors[0].message and "length_unit" in result.errors[1].message

    data = datacenter()
    data["cables"][1]["a"] = {"device": "sw-1", "interface": "Ethernet1"}  # already cabled by the first
    data["cables"][2]["b"] = {"device": "sw-9", "interface": "Ethernet3"}
    desired = desired_from(tmp_path, data)
    problems = sorted(desired.problems, key=lambda p: p.message)
    assert len(desired["cables"]) == 8 and len(problems) == 2
    assert all(p.location.startswith(str(tmp_path / "dc.yaml:")) for p in problems)
    assert "interface sw-1/Ethernet1 is already cabled by cable sw-1:Ethernet1 - sw-2:Ethernet1 (" in problems[0].message
    assert "no device named 'sw-9'" in problems[1].message


def test_cable_ends_in_either_order_are_one_cable_and_a_moved_end_is_one_patch(tmp_path):
    data = datacenter()
    desired = desired_from(tmp_path, data)
    plan = build_plan(desired, build_live({}), object_map={}, healthy_instances=[("filesystem", "dc")])
    assert len([i for i in plan.items if i.type == "cables" and i.action == "create"]) == 10
    live = _cable_live(plan.items, desired)

    data["cables"][0]["a"], data["cables"][0]["b"] = data["cables"][0]["b"], data["cables"][0]["a"]
    swapped = desired_from(tmp_path, data)
    assert build_plan(swapped, live, object_map={}).by_type("cables")[0].action == "unchanged"

    data["cables"][0]["a"] = {"device": "sw-2", "interface": "Ethernet1"}
    data["cables"][0]["b"] = {"device": "sw-1", "interface": "Ethernet11"}  # sw-1's end moves to a spare port
    data["devices"][0]["interfaces"].append({"name": "Ethernet11"})
    moved = desired_from(tmp_path, data)
    plan = build_plan(moved, live, object_map={}, healthy_instances=[("filesystem", "dc")])
    writes = [i for i in plan.writes() if i.type == "cables"]
    assert [(i.action, i.netbox_id) for i in writes] == [("update", 1)]
    assert set(writes[0].payload_fields) <= {"a_terminations", "b_terminations"}
    assert validate_plan(plan, moved) == []


def test_a_cable_whose_end_netbox_has_cabled_by_someone_else_is_an_error_before_any_write(tmp_path):
    desired = desired_from(tmp_path, datacenter())
    person = _cable_live([], desired, owned=False)["cables"][0]
    # A person's cable from sw-1 Ethernet1 to another port: our C1 would need that port.
    elsewhere = dict(person.fields, b_terminations=(("interfaces", ("ams1", "sw-2", "Ethernet9")),))
    theirs = LiveObject("cables", 77, ("x",), elsewhere, frozenset(), False)
    plan = build_plan(desired, {"cables": [theirs]}, object_map={}, healthy_instances=[("filesystem", "dc")])
    taken = [p for p in validate_plan(plan, desired) if p.check == "cable_end_taken"]
    assert len(taken) == 2 and all(p.severity == "error" for p in taken)
    assert any("interface ams1/sw-1/Ethernet1 is already cabled in NetBox by cable id 77" in p.message
               and "not ours" in p.message and "dc.yaml:" in p.location for p in taken)
