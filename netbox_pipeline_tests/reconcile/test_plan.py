"""Plan building, including the central guarantee: after applying a plan, the next plan is empty.

`FakeNetBox` applies a plan the way the HTTP layer will (to_payload, first pass then second
pass) and renders objects from the recorded NetBox 4.4 / 4.6 responses, so the live side has
every real-world spelling: `{value, label}` choices, `vcpus: 2.0`, nested references,
upper-case MACs, addresses with prefix length, `owner` fields, counters, extra custom fields.
"""

import copy
import itertools
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from netbox_pipeline.netbox.schema import TYPES, build_live, get_type, to_payload
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import SyncPolicy, build_plan, validate_plan
from netbox_pipeline.sandbox.demo_estate import write_demo_inventory
from netbox_pipeline.sources.filesystem import read_inventory_file
from netbox_pipeline_tests.conftest import NETBOX_REFERENCE_DIR, require_real

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
FILE = ("filesystem", "rack")
TEMPLATE_FILES = {
    "tags": "14_create_tag.json", "manufacturers": "01_create_manufacturer.json",
    "sites": "02_create_site.json", "device_roles": "03_create_device_role.json",
    "device_types": "04_create_device_type.json", "platforms": "05_create_platform.json",
    "cluster_types": "10_create_cluster_type.json", "clusters": "11_create_cluster.json",
    "devices": "06_create_device.json", "interfaces": "07_create_interface.json",
    "virtual_machines": "12_create_virtual_machine.json",
    "vm_interfaces": "13_create_vm_interface.json",
    "mac_addresses": "19_create_mac_address_on_interface.json",
    "ip_addresses": "08_create_ip_address_on_interface.json",
}
SERVICE_TEMPLATE = {
    "id": 0, "url": "", "display_url": "", "display": "", "parent_object_type": None,
    "parent_object_id": None, "parent": None, "name": "", "protocol": None, "ports": [],
    "ipaddresses": [], "description": "", "comments": "", "tags": [], "custom_fields": {},
    "created": "2026-11-20T23:09:09Z", "last_updated": "2026-11-20T23:09:09Z",
}


def _examples_dir(version: str) -> Path:
    folder = NETBOX_REFERENCE_DIR / "examples" if version == "4.4" else NETBOX_REFERENCE_DIR / "v4.6" / "examples"
    require_real(folder.is_dir(), f"NetBox {version} recordings in {folder}")
    return folder


class FakeNetBox:
    """Stores write bodies; renders them like the recordings. Not a NetBox: no validation."""

    def __init__(self, version: str = "4.4"):
        folder = _examples_dir(version)
        self.version = version
        self.templates = {t: json.loads((folder / f).read_text())["response_body"]
                          for t, f in TEMPLATE_FILES.items()}
        self.templates["services"] = dict(SERVICE_TEMPLATE, **({"owner": None} if version == "4.6" else {}))
        self.bodies: dict[str, dict[int, dict[str, Any]]] = {t: {} for t in TYPES}
        self.ids = itertools.count(1)
        self.object_map: dict[tuple, dict[str, Any]] = {}

    # -- writes --------------------------------------------------------------------------
    def add(self, type_name: str, body: dict[str, Any]) -> int:
        """What a person does in the UI (or what an earlier write left)."""
        new_id = next(self.ids)
        self.bodies[type_name][new_id] = dict(body)
        return new_id

    def apply(self, plan) -> None:
        index = build_live(self.snapshot()).index
        resolve = index.resolve_id
        for item in plan.items:
            if item.action == "create":
                new_id = self.add(item.type, to_payload(item.type, item.first_pass(), resolve))
                index.key_to_id[(item.type, item.key)] = new_id
                item.netbox_id = new_id
            elif item.action == "update":
                self.bodies[item.type][item.netbox_id].update(to_payload(item.type, item.first_pass(), resolve))
            elif item.action == "delete":
                del self.bodies[item.type][item.netbox_id]
                self.object_map.pop((item.type, item.key), None)
        for item in plan.items:
            if item.action in ("create", "update") and item.second_pass():
                self.bodies[item.type][item.netbox_id].update(to_payload(item.type, item.second_pass(), resolve))
            if item.action in ("create", "update") and not item.removal:
                self.object_map[(item.type, item.key)] = {
                    "last_written": item.written_fields, "netbox_id": item.netbox_id,
                    "missing_runs": 0, "instances": [list(i) for i in item.instances]}
        for ident, runs in plan.next_missing_runs.items():
            if ident in self.object_map:
                self.object_map[ident]["missing_runs"] = runs

    def stored_object_map(self) -> dict[tuple, dict[str, Any]]:
        """The object map as the staging DB gives it back: through JSON (tuples become lists)."""
        rows = json.loads(json.dumps([[t, list(k), v] for (t, k), v in self.object_map.items()]))
        return {(t, tuple(k)): v for t, k, v in rows}

    # -- reads ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {t: [self.render(t, i) for i in sorted(b)] for t, b in self.bodies.items()}

    def find(self, type_name: str, **match: Any) -> int:
        return next(i for i, b in self.bodies[type_name].items()
                    if all(b.get(k) == v for k, v in match.items()))

    def nested(self, type_name: str, object_id: int | None) -> dict[str, Any] | None:
        if object_id is None:
            return None
        body = self.bodies[type_name][object_id]
        endpoint = get_type(type_name).endpoint
        nested = {"id": object_id, "url": f"http://127.0.0.1:8000/api/{endpoint}/{object_id}/",
                  "display": str(body.get("name") or body.get("model") or body.get("address")
                                 or body.get("mac_address") or object_id), "description": ""}
        for field in ("name", "slug", "model", "address", "mac_address"):
            if field in body:
                nested[field] = body[field]
        if type_name == "ip_addresses":
            nested["family"] = {"value": 4, "label": "IPv4"}
            if self.version == "4.6":
                nested.update(dns_name="", nat_inside=None, nat_outside=[])
        if type_name == "mac_addresses":
            nested["mac_address"] = body["mac_address"].upper()
        if type_name in ("device_roles", "platforms"):
            nested.update(device_count=0, virtualmachine_count=0, _depth=0)
        return nested

    def render(self, type_name: str, object_id: int) -> dict[str, Any]:
        t = get_type(type_name)
        body = self.bodies[type_name][object_id]
        obj = copy.deepcopy(self.templates[type_name])
        obj["id"] = object_id
        obj["url"] = f"http://127.0.0.1:8000/api/{t.endpoint}/{object_id}/"
        for name in t.compared:  # what NetBox shows for a field nobody set
            if name in t.refs:
                obj[name] = None
            elif name in t.generic_refs:
                generic = t.generic_refs[name]
                obj[generic.type_field] = obj[generic.id_field] = obj[name] = None
            elif name == "tags":
                obj[name] = []
            elif name == "custom_fields":
                obj[name] = {}
            elif name in obj:
                obj[name] = "" if isinstance(obj[name], str) else None
        generic_by_field = {g.type_field: (n, g) for n, g in t.generic_refs.items()}
        for name, value in body.items():
            if name in t.refs:
                obj[name] = self.nested(t.refs[name], value)
            elif name in generic_by_field:
                ref_name, generic = generic_by_field[name]
                obj[name] = value
                obj[generic.id_field] = body[generic.id_field]
                target = next((x for x in TYPES.values() if x.content_type == value), None)
                obj[ref_name] = self.nested(target.name, body[generic.id_field]) if target else None
            elif name in {g.id_field for g in t.generic_refs.values()}:
                continue
            elif name == "tags":
                obj[name] = [self._tag(v["slug"]) for v in value]
            elif name == "custom_fields":
                obj[name] = {"asset_owner": "set by a person", **value}
            elif name in t.choices and value is not None:
                obj[name] = {"value": value, "label": str(value).title()}
            elif name == "vcpus" and value is not None:
                obj[name] = float(value)
            elif name == "mac_address":
                obj[name] = value.upper()
            else:
                obj[name] = value
        if type_name == "virtual_machines" and obj.get("site") is None and body.get("cluster"):
            cluster = self.bodies["clusters"][body["cluster"]]
            if cluster.get("scope_type") == "dcim.site":  # NetBox copies the cluster's site
                obj["site"] = self.nested("sites", cluster["scope_id"])
        return obj

    def _tag(self, slug: str) -> dict[str, Any]:
        tag_id = next((i for i, b in self.bodies["tags"].items() if b["slug"] == slug), 0)
        name = self.bodies["tags"].get(tag_id, {}).get("name", slug)
        return {"id": tag_id, "url": f"http://127.0.0.1:8000/api/extras/tags/{tag_id}/",
                "display": name, "name": name, "slug": slug, "color": "9e9e9e"}


ESTATE = """
clusters:
  - {name: pve, type: Proxmox VE, site: Home}
devices:
  - name: SW-01
    site: Home
    role: Switch
    manufacturer: Ubiquiti
    model: USW-24-PoE
    platform: UniFi OS
    serial: SN1
    description: core switch
    tags: [Core]
    custom_fields: {rack_unit: 12}
    primary_ip4: 192.0.2.2
    interfaces:
      - {name: mgmt0, type: 1000base-t, mac: "aa:bb:cc:00:00:01", ip_addresses: [192.0.2.2/24], mtu: 1500}
      - {name: sfp1, type: 10gbase-x-sfpp, enabled: false, description: uplink}
  - name: nas
    site: Home
    model: TS-453
    manufacturer: QNAP
    interfaces:
      - {name: eth0, mac: "aa-bb-cc-00-00-02", ip_addresses: ["2001:DB8::0002/64", 192.0.2.3/24]}
virtual_machines:
  - name: vm-01
    cluster: pve
    role: Server
    vcpus: 2
    memory_mb: 4096
    disk_mb: 51200
    primary_ip4: 203.0.113.10
    interfaces:
      - {name: net0, mac: "aa:bb:cc:00:00:03", ip_addresses: [203.0.113.10/24]}
services:
  - {name: ssh, protocol: tcp, ports: [22], parent: SW-01}
  - {name: dns, protocol: udp, ports: [53], parent: vm-01, parent_kind: virtual_machine}
ip_addresses:
  - {address: 203.0.113.99, dns_name: printer.lan, status: reserved}
  - {address: 192.0.2.3, dns_name: nas.lan}
"""


def desired_from(tmp_path: Path, text: str = ESTATE, name: str = "rack.yaml"):
    path = tmp_path / name
    path.write_text(text)
    result = read_inventory_file(path, "rack", observed_at=NOW, defaults={"site": "home"},
                                 custom_fields={"rack_unit": "integer", "os": "text"})
    assert result.errors == []
    return desired_objects(merge([result], default_precedence()))


def synced(tmp_path: Path, version: str = "4.4", text: str = ESTATE):
    """An estate written once into a fake NetBox; returns (desired, netbox)."""
    desired = desired_from(tmp_path, text)
    netbox = FakeNetBox(version)
    netbox.apply(build_plan(desired, {}))
    return desired, netbox


def replan(desired, netbox: FakeNetBox, healthy_instances=frozenset({FILE}), **options):
    return build_plan(desired, build_live(netbox.snapshot()), object_map=netbox.stored_object_map(),
                      healthy_instances=healthy_instances, policy=SyncPolicy(**options))


def writes(plan) -> dict[str, int]:
    totals = plan.totals()
    return {a: totals[a] for a in ("create", "update", "delete")}


# ------------------------------------------------------------------------------ creates


def test_empty_netbox_gets_everything_created(tmp_path):
    desired = desired_from(tmp_path)
    plan = build_plan(desired, {})
    assert plan.totals()["create"] == desired.count()
    assert {a for a in plan.totals() if plan.totals()[a]} == {"create"}
    device = plan.item("devices", ("home", "sw-01"))
    assert device.payload_fields["status"] == "active"  # create_only: NetBox needs a status
    assert device.second_pass() == {"primary_ip4": ("", "192.0.2.2")}
    assert "primary_ip4" not in device.first_pass()
    role = plan.item("device_roles", ("switch",))
    assert role.payload_fields == {"slug": "switch", "name": "Switch", "color": "9e9e9e", "vm_role": True,
                                   "tags": ("netbox-pipeline", "source-filesystem")}


def test_creates_come_in_dependency_order(tmp_path):
    plan = build_plan(desired_from(tmp_path), {})
    order = list(TYPES)
    positions = [order.index(item.type) for item in plan.items]
    assert positions == sorted(positions)


# ------------------------------------------------------------------------------ round trip


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_round_trip_plans_nothing(tmp_path, version):
    desired, netbox = synced(tmp_path, version)
    plan = replan(desired, netbox)
    assert writes(plan) == {"create": 0, "update": 0, "delete": 0}, [
        (i.type, i.key, i.action, i.changes) for i in plan.writes()]
    assert plan.totals()["unchanged"] == desired.count()
    assert plan.delete_ratio() == 0.0


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_round_trip_of_the_demo_estate(tmp_path, version):
    paths = write_demo_inventory(tmp_path / "demo", datacenter=False)  # the fake renders no skeleton types
    results = [read_inventory_file(p, p.stem, observed_at=NOW) for p in paths]
    desired = desired_objects(merge(results, default_precedence()))
    netbox = FakeNetBox(version)
    first = build_plan(desired, {})
    netbox.apply(first)
    second = replan(desired, netbox, healthy_instances={("filesystem", p.stem) for p in paths})
    assert first.totals()["create"] == desired.count() > 250
    assert writes(second) == {"create": 0, "update": 0, "delete": 0}


def test_live_side_really_uses_netbox_spellings(tmp_path):
    """Guards the round-trip tests against a renderer that would simply echo the inventory."""
    _, netbox = synced(tmp_path, "4.6")
    snapshot = netbox.snapshot()
    vm = snapshot["virtual_machines"][0]
    assert vm["vcpus"] == 2.0 and isinstance(vm["vcpus"], float)
    assert vm["status"] == {"value": "active", "label": "Active"}
    assert vm["site"]["slug"] == "home" and "owner" in vm  # site copied from the cluster
    mac = next(m for m in snapshot["mac_addresses"] if m["mac_address"].endswith("02"))
    assert mac["mac_address"] == "AA:BB:CC:00:00:02"
    printer = next(i for i in snapshot["ip_addresses"] if i["address"].startswith("203.0.113.99"))
    assert printer["address"] == "203.0.113.99/32"
    device = next(d for d in snapshot["devices"] if d["name"] == "SW-01")
    assert device["custom_fields"]["asset_owner"] == "set by a person"
    assert device["primary_ip4"]["address"] == "192.0.2.2/24"


# ------------------------------------------------------------------------------ updates


def test_one_changed_field_is_one_update_carrying_just_that_field(tmp_path):
    _, netbox = synced(tmp_path)
    changed = desired_from(tmp_path, ESTATE.replace("serial: SN1", "serial: SN2"))
    plan = replan(changed, netbox)
    (item,) = plan.writes()
    assert (item.type, item.key, item.action) == ("devices", ("home", "sw-01"), "update")
    assert item.payload_fields == {"serial": "SN2"}
    assert item.changes == {"serial": ("SN1", "SN2")}
    assert item.netbox_id == netbox.find("devices", name="SW-01")


def test_name_case_change_updates_the_same_device(tmp_path):
    _, netbox = synced(tmp_path)
    plan = replan(desired_from(tmp_path, ESTATE.replace("name: SW-01", "name: sw-01")), netbox)
    (item,) = plan.writes()
    assert item.action == "update" and item.payload_fields == {"name": "sw-01"}


def test_unmanaged_field_changed_by_a_person_is_left_alone(tmp_path):
    desired, netbox = synced(tmp_path)
    device_id = netbox.find("devices", name="SW-01")
    netbox.bodies["devices"][device_id].update(comments="rack 3, left", asset_tag="A-77")
    netbox.bodies["devices"][device_id]["custom_fields"]["warranty"] = "2027"
    assert writes(replan(desired, netbox)) == {"create": 0, "update": 0, "delete": 0}


def test_tags_a_person_added_are_kept(tmp_path):
    desired, netbox = synced(tmp_path)
    netbox.add("tags", {"name": "Critical", "slug": "critical"})
    device_id = netbox.find("devices", name="SW-01")
    netbox.bodies["devices"][device_id]["tags"].append({"slug": "critical"})
    assert writes(replan(desired, netbox))["update"] == 0
    # When a tag of ours is missing, the write sends the union, never dropping "critical".
    netbox.bodies["devices"][device_id]["tags"] = [
        t for t in netbox.bodies["devices"][device_id]["tags"] if t["slug"] != "core"]
    (item,) = replan(desired, netbox).writes()
    assert item.payload_fields == {"tags": ("core", "critical", "netbox-pipeline", "source-filesystem")}


def test_drift_is_overwritten_by_default(tmp_path):
    desired, netbox = synced(tmp_path)
    device_id = netbox.find("devices", name="SW-01")
    netbox.bodies["devices"][device_id]["description"] = "edited by hand"
    (item,) = replan(desired, netbox).writes()
    assert item.payload_fields == {"description": "core switch"}
    assert item.drift == {"description": ("core switch", "edited by hand")}
    assert "drift in NetBox (overwritten): description" in item.reason


def test_drift_is_kept_when_policy_says_so(tmp_path):
    desired, netbox = synced(tmp_path)
    device_id = netbox.find("devices", name="SW-01")
    netbox.bodies["devices"][device_id]["description"] = "edited by hand"
    plan = replan(desired, netbox, drift_policy="keep")
    assert writes(plan)["update"] == 0
    item = plan.item("devices", ("home", "sw-01"))
    assert item.action == "unchanged" and item.drift == {"description": ("core switch", "edited by hand")}


def test_a_source_change_wins_over_a_hand_edit_without_drift(tmp_path):
    _, netbox = synced(tmp_path)
    netbox.bodies["devices"][netbox.find("devices", name="SW-01")]["description"] = "edited by hand"
    changed = desired_from(tmp_path, ESTATE.replace("description: core switch", "description: spine"))
    (item,) = replan(changed, netbox, drift_policy="keep").writes()
    assert item.payload_fields == {"description": "spine"} and item.drift == {}


def test_only_changed_custom_field_keys_are_sent(tmp_path):
    _, netbox = synced(tmp_path)
    changed = desired_from(tmp_path, ESTATE.replace("{rack_unit: 12}", "{rack_unit: 14, os: edge}"))
    (item,) = replan(changed, netbox).writes()
    assert item.payload_fields == {"custom_fields": {"rack_unit": 14, "os": "edge"}}
    assert item.changes["custom_fields"] == ({"rack_unit": 12, "os": None}, {"rack_unit": 14, "os": "edge"})


# ------------------------------------------------------------------------------ ownership


def test_unowned_device_is_skipped_with_its_children(tmp_path):
    desired = desired_from(tmp_path)
    netbox = FakeNetBox()
    site = netbox.add("sites", {"name": "Home", "slug": "home", "status": "active"})
    netbox.add("devices", {"name": "sw-01", "site": site, "status": "active"})  # by hand, other case
    plan = build_plan(desired, build_live(netbox.snapshot()))
    device = plan.item("devices", ("home", "sw-01"))
    assert device.action == "skip"
    assert "without the owner tag 'netbox-pipeline'" in device.reason
    assert plan.item("interfaces", ("home", "sw-01", "mgmt0")).action == "skip"
    assert plan.item("ip_addresses", ("", "192.0.2.2")).action == "skip"
    assert plan.item("services", ("devices", "home", "sw-01", "tcp", "ssh")).action == "skip"
    assert plan.item("sites", ("home",)).reason == "exists, not owned"
    assert plan.item("devices", ("home", "nas")).action == "create"


def test_unowned_reference_object_is_used_not_modified(tmp_path):
    desired = desired_from(tmp_path)
    netbox = FakeNetBox()
    netbox.add("manufacturers", {"name": "Ubiquiti Inc.", "slug": "ubiquiti", "description": "mine"})
    plan = build_plan(desired, build_live(netbox.snapshot()))
    item = plan.item("manufacturers", ("ubiquiti",))
    assert (item.action, item.reason, item.payload_fields) == ("unchanged", "exists, not owned", {})
    netbox.apply(plan)  # the device type is created against the existing manufacturer
    device_type = netbox.bodies["device_types"][netbox.find("device_types", slug="usw-24-poe")]
    assert netbox.bodies["manufacturers"][device_type["manufacturer"]]["name"] == "Ubiquiti Inc."


def test_adoption_manages_an_unowned_device_and_adds_the_owner_tag(tmp_path):
    desired = desired_from(tmp_path)
    netbox = FakeNetBox()
    site = netbox.add("sites", {"name": "Home", "slug": "home"})
    netbox.add("devices", {"name": "SW-01", "site": site, "serial": "SN1", "status": "active",
                           "tags": [{"slug": "mine"}]})
    plan = build_plan(desired, build_live(netbox.snapshot()), policy=SyncPolicy(adopt=frozenset({"devices"})))
    item = plan.item("devices", ("home", "sw-01"))
    assert item.action == "update" and item.reason.startswith("adopted")
    assert "netbox-pipeline" in item.payload_fields["tags"] and "mine" in item.payload_fields["tags"]
    assert "serial" not in item.payload_fields
    assert plan.item("sites", ("home",)).action == "unchanged"  # adopt covers devices only


def test_removing_the_owner_tag_hands_the_object_back(tmp_path):
    desired, netbox = synced(tmp_path)
    device_id = netbox.find("devices", name="SW-01")
    netbox.bodies["devices"][device_id]["tags"] = [{"slug": "core"}]
    plan = replan(desired, netbox)
    assert plan.item("devices", ("home", "sw-01")).action == "skip"
    assert writes(plan) == {"create": 0, "update": 0, "delete": 0}


def test_deleted_in_netbox_is_recreated(tmp_path):
    desired, netbox = synced(tmp_path)
    service_id = netbox.find("services", name="ssh")
    del netbox.bodies["services"][service_id]
    (item,) = replan(desired, netbox).writes()
    assert (item.type, item.action, item.reason) == ("services", "create", "recreate: missing from NetBox")


# ------------------------------------------------------------------------------ deletion


WITHOUT_NAS = ESTATE.replace("""  - name: nas
    site: Home
    model: TS-453
    manufacturer: QNAP
    interfaces:
      - {name: eth0, mac: "aa-bb-cc-00-00-02", ip_addresses: ["2001:DB8::0002/64", 192.0.2.3/24]}
""", "").replace("  - {address: 192.0.2.3, dns_name: nas.lan}\n", "")
NAS_OBJECTS = {
    ("devices", ("home", "nas")), ("interfaces", ("home", "nas", "eth0")),
    ("mac_addresses", ("interfaces", "home", "nas", "eth0", "AA:BB:CC:00:00:02")),
    ("ip_addresses", ("", "2001:db8::2")), ("ip_addresses", ("", "192.0.2.3")),
}


def _nas_gone(tmp_path, netbox, missing_runs=0, **options):
    for ident in NAS_OBJECTS & set(netbox.object_map):
        netbox.object_map[ident]["missing_runs"] = missing_runs
    return replan(desired_from(tmp_path, WITHOUT_NAS, "smaller.yaml"), netbox, **options)


def test_absent_object_is_an_orphan_until_grace_runs_pass(tmp_path):
    _, netbox = synced(tmp_path)
    plan = _nas_gone(tmp_path, netbox)
    orphans = {(i.type, i.key) for i in plan.by_action("orphan")}
    assert NAS_OBJECTS <= orphans
    assert plan.item("devices", ("home", "nas")).reason == "absent from every source for 1/3 runs"
    assert all(plan.next_missing_runs[i] == 1 for i in NAS_OBJECTS)
    assert plan.next_missing_runs[("devices", ("home", "sw-01"))] == 0
    assert writes(plan)["delete"] == 0


def test_orphan_is_deleted_after_grace_children_first(tmp_path):
    _, netbox = synced(tmp_path)
    plan = _nas_gone(tmp_path, netbox, missing_runs=2)
    deletions = plan.deletions()
    assert {(i.type, i.key) for i in deletions} == NAS_OBJECTS
    assert [i.type for i in deletions] == ["ip_addresses", "ip_addresses", "mac_addresses",
                                           "interfaces", "devices"]
    assert plan.items[-len(deletions):] == deletions
    assert all(i.netbox_id for i in deletions)


def test_unhealthy_owner_instance_does_not_count_absence(tmp_path):
    _, netbox = synced(tmp_path)
    plan = _nas_gone(tmp_path, netbox, missing_runs=2, healthy_instances=set())
    assert writes(plan)["delete"] == 0
    item = plan.item("devices", ("home", "nas"))
    assert item.action == "orphan" and item.missing_runs == 2
    assert "filesystem/rack did not succeed with records this run" in item.reason
    assert plan.next_missing_runs[("devices", ("home", "nas"))] == 2


def test_owned_object_without_recorded_instances_is_never_counted(tmp_path):
    _, netbox = synced(tmp_path)
    netbox.object_map[("devices", ("home", "nas"))]["instances"] = []
    item = _nas_gone(tmp_path, netbox, missing_runs=5).item("devices", ("home", "nas"))
    assert item.action == "orphan" and "no owning source instance recorded" in item.reason


def test_offline_mode_retires_instead_of_deleting(tmp_path):
    _, netbox = synced(tmp_path)
    plan = _nas_gone(tmp_path, netbox, missing_runs=2, deletion_mode="offline")
    device = plan.item("devices", ("home", "nas"))
    assert device.action == "update" and device.removal
    assert device.payload_fields == {"status": "offline"}
    assert device.changes == {"status": ("active", "offline")}
    assert plan.item("ip_addresses", ("", "192.0.2.3")).payload_fields == {"status": "deprecated"}
    # children without a status stay with their retired parent (deleting the interface
    # would make NetBox delete its addresses too)
    interface = plan.item("interfaces", ("home", "nas", "eth0"))
    assert interface.action == "orphan" and "kept with its retired parent" in interface.reason
    assert writes(plan)["delete"] == 0
    netbox.apply(plan)
    again = _nas_gone(tmp_path, netbox, missing_runs=3, deletion_mode="offline")
    assert again.item("devices", ("home", "nas")).action == "unchanged"
    assert again.item("devices", ("home", "nas")).reason == "absent for 4 runs; already offline"


def test_offline_mode_deletes_a_child_whose_parent_stays(tmp_path):
    _, netbox = synced(tmp_path)
    smaller = ESTATE.replace("      - {name: sfp1, type: 10gbase-x-sfpp, enabled: false, description: uplink}\n", "")
    netbox.object_map[("interfaces", ("home", "sw-01", "sfp1"))]["missing_runs"] = 2
    plan = replan(desired_from(tmp_path, smaller), netbox, deletion_mode="offline")
    (item,) = plan.writes()
    assert (item.type, item.key, item.action) == ("interfaces", ("home", "sw-01", "sfp1"), "delete")


def test_reference_types_are_never_pruned(tmp_path):
    _, netbox = synced(tmp_path)
    plan = _nas_gone(tmp_path, netbox, missing_runs=10)
    item = plan.item("manufacturers", ("qnap",))
    assert item.action == "orphan" and "never pruned" in item.reason
    assert plan.item("device_types", ("qnap", "ts-453")).action == "orphan"


def test_deletion_ratio_and_guard(tmp_path):
    _, netbox = synced(tmp_path)
    plan = _nas_gone(tmp_path, netbox, missing_runs=2)
    owned = plan.owned_live_count
    assert owned == sum(len(b) for b in netbox.bodies.values()) - len(netbox.bodies["tags"]) + 3
    assert plan.delete_ratio() == pytest.approx(5 / owned)
    assert not plan.deletion_guard_ok(0.1)
    assert plan.deletion_guard_ok(0.2)


def test_person_created_objects_are_never_orphans(tmp_path):
    desired, netbox = synced(tmp_path)
    site = netbox.find("sites", slug="home")
    netbox.add("devices", {"name": "hand-made", "site": site, "status": "active"})
    plan = replan(desired, netbox)
    assert plan.item("devices", ("home", "hand-made")) is None


# ------------------------------------------------------------------------------ output


def test_summary_rows_and_by_type(tmp_path):
    desired, netbox = synced(tmp_path)
    plan = replan(desired_from(tmp_path, ESTATE.replace("serial: SN1", "serial: SN2")), netbox)
    assert plan.summary()["devices"] == {"create": 0, "update": 1, "unchanged": 1, "orphan": 0,
                                         "delete": 0, "skip": 0}
    assert len(plan.by_type("interfaces")) == 3
    row = next(r for r in plan.rows() if r["action"] == "update")
    assert row == {"type": "devices", "key": "home/sw-01", "action": "update",
                   "netbox_id": netbox.find("devices", name="SW-01"),
                   "changes": {"serial": ["SN1", "SN2"]}, "reason": "changed: serial", "drift": {},
                   "desired_hash": row["desired_hash"], "missing_runs": 0}
    json.dumps(plan.rows())  # plain data, storable as is
    assert len(row["desired_hash"]) == 64


def test_desired_hash_is_stable_across_runs(tmp_path):
    desired, netbox = synced(tmp_path)
    first = build_plan(desired, {})
    second = replan(desired_from(tmp_path), netbox)
    assert [i.desired_hash for i in first.items] == [i.desired_hash for i in second.items]


# ------------------------------------------------------------------------------ validate_plan


def _checks(problems):
    return sorted({(p.check, p.severity) for p in problems})


def test_valid_estate_has_no_problems(tmp_path):
    desired = desired_from(tmp_path)
    assert validate_plan(build_plan(desired, {}), desired) == []


def test_platform_of_another_manufacturer_is_a_problem(tmp_path):
    desired = desired_from(tmp_path)
    netbox = FakeNetBox()
    other = netbox.add("manufacturers", {"name": "Other", "slug": "other"})
    netbox.add("platforms", {"name": "UniFi OS", "slug": "unifi-os", "manufacturer": other})
    problems = validate_plan(build_plan(desired, build_live(netbox.snapshot())), desired)
    (problem,) = problems
    assert (problem.check, problem.key) == ("platform_manufacturer", ("home", "sw-01"))
    assert "belongs to manufacturer other" in problem.message


def test_primary_ip_not_on_the_device(tmp_path):
    text = ESTATE.replace("primary_ip4: 192.0.2.2\n", "primary_ip4: 192.0.2.3\n")
    desired = desired_from(tmp_path, text)
    (problem,) = validate_plan(build_plan(desired, {}), desired)
    assert (problem.check, problem.type, problem.key) == ("primary_ip_not_on_device", "devices", ("home", "sw-01"))


def test_primary_ip_of_a_vm_on_its_own_interface_is_fine_and_standalone_is_not(tmp_path):
    text = ESTATE.replace("primary_ip4: 203.0.113.10", "primary_ip4: 203.0.113.99")
    desired = desired_from(tmp_path, text)
    (problem,) = validate_plan(build_plan(desired, {}), desired)
    assert (problem.type, problem.key) == ("virtual_machines", ("pve", "vm-01"))


def test_same_ip_on_two_devices_is_an_identity_collision(tmp_path):
    text = ESTATE.replace('ip_addresses: ["2001:DB8::0002/64", 192.0.2.3/24]',
                          'ip_addresses: [192.0.2.2/24]')
    desired = desired_from(tmp_path, text)
    problems = validate_plan(build_plan(desired, {}), desired)
    # kept on the first device in key order, so SW-01's primary IP is no longer its own
    assert _checks(problems) == [("identity_collision", "error"), ("primary_ip_not_on_device", "error")]
    assert "IP 192.0.2.2 in the global table is claimed by nas eth0 and by SW-01 mgmt0; kept on the first" in [
        p.message for p in problems]


def test_same_mac_on_two_devices_is_an_identity_collision(tmp_path):
    desired = desired_from(tmp_path, ESTATE.replace("aa-bb-cc-00-00-02", "aa:bb:cc:00:00:01"))
    problems = validate_plan(build_plan(desired, {}), desired)
    assert _checks(problems) == [("identity_collision", "error")]
    assert problems[0].key == ("AA:BB:CC:00:00:01",)


def test_duplicate_device_names_per_site_ignore_case(tmp_path):
    desired = desired_from(tmp_path)
    sw = desired["devices"][("home", "sw-01")]
    # Keys fold with casefold(), NetBox with LOWER(): "ß" is where they part ways.
    desired["devices"][("home", "x")] = type(sw)(type="devices", key=("home", "x"),
                                                 fields=dict(sw.fields, name="sw-01"),
                                                 source_kinds=sw.source_kinds, instances=sw.instances)
    problems = validate_plan(build_plan(desired, {}), desired)
    assert ("duplicate_device_name", "error") in _checks(problems)
