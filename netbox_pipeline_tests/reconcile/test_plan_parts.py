"""The plan for parts of a device (pure): inventory items, interface links (LAG, parent, bridge),
and absences an instance could not observe (a NAS that refused its disk list this run)."""

from datetime import datetime, timezone

from netbox_pipeline.model import Device, Interface, InventoryItem, SourceResult
from netbox_pipeline.netbox.schema import build_live, to_payload
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import SyncPolicy, build_plan

NAS = ("truenas", "nas01")
OWNED = [{"slug": "netbox-pipeline"}, {"slug": "source-truenas"}]
POLICY = SyncPolicy(grace_runs=3)
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)


def _inventory(disks=("NEW-1",), interfaces=(), results=()):
    device = Device(name="nas01", site="home", interfaces=list(interfaces))
    items = [InventoryItem(device="nas01", site="home", name=serial, serial=serial, role="Disk") for serial in disks]
    result = SourceResult(*NAS, records=[device, *items], observed_at=NOW)
    return merge([result, *results], default_precedence())


def _live(items=(), interfaces=()):
    """NetBox as read: one site, one owned device, its owned inventory items and interfaces."""
    return build_live({
        "sites": [{"id": 1, "slug": "home", "name": "home", "tags": []}],
        "devices": [{"id": 10, "site": {"id": 1}, "name": "nas01", "tags": OWNED}],
        "inventory_items": [{"id": 100 + n, "device": {"id": 10}, "name": name, "serial": name, "tags": OWNED}
                            for n, name in enumerate(items)],
        "interfaces": [{"id": 200 + n, "device": {"id": 10}, "name": name, "tags": OWNED,
                        "lag": {"id": 0, "name": lag} if lag else None} for n, (name, lag) in enumerate(interfaces)],
    })


def _object_map(key, missing_runs):
    return {("inventory_items", key): {"instances": [NAS], "missing_runs": missing_runs, "last_written": None}}


OLD = ("home", "nas01", "OLD-1")


def test_an_absent_disk_is_deleted_after_the_grace_when_its_nas_observed_its_disks():
    desired = desired_objects(_inventory())
    plan = build_plan(desired, _live(items=["OLD-1"]), object_map=_object_map(OLD, 2),
                      healthy_instances={NAS}, policy=POLICY)
    assert [(i.type, i.key) for i in plan.deletions()] == [("inventory_items", OLD)]
    assert plan.item("inventory_items", ("home", "nas01", "NEW-1")).action == "create"


def test_a_type_the_instance_could_not_observe_does_not_count_absences():
    desired = desired_objects(_inventory(disks=()))
    plan = build_plan(desired, _live(items=["OLD-1"]), object_map=_object_map(OLD, 2),
                      healthy_instances={NAS}, policy=POLICY, unobserved={NAS: {"inventory_items"}})
    item = plan.item("inventory_items", OLD)
    assert (item.action, item.missing_runs) == ("orphan", 2)
    assert "truenas/nas01 could not observe inventory_items this run" in item.reason
    assert plan.next_missing_runs[("inventory_items", OLD)] == 2
    assert plan.deletions() == []


def test_an_unobserved_type_leaves_other_types_of_the_same_instance_counted():
    desired = desired_objects(_inventory(disks=()))
    object_map = {**_object_map(OLD, 0), ("interfaces", ("home", "nas01", "eth9")): {
        "instances": [NAS], "missing_runs": 0, "last_written": None}}
    plan = build_plan(desired, _live(items=["OLD-1"], interfaces=[("eth9", None)]), object_map=object_map,
                      healthy_instances={NAS}, policy=POLICY, unobserved={NAS: {"inventory_items"}})
    assert plan.next_missing_runs[("interfaces", ("home", "nas01", "eth9"))] == 1
    assert plan.next_missing_runs[("inventory_items", OLD)] == 0


def test_a_disk_another_source_knows_by_serial_is_one_item():
    bay = InventoryItem(device="nas01", site="home", name="bay 3", serial="NEW-1", label="front bay 3")
    inventory = _inventory(results=[SourceResult("filesystem", "rack", records=[bay], observed_at=NOW)])
    (item,) = inventory.inventory_items
    assert (item.name, item.serial, item.label, item.role) == ("bay 3", "NEW-1", "front bay 3", "Disk")
    assert inventory.instances_of("inventory_items", item.key) == [("filesystem", "rack"), NAS]


def test_lag_membership_is_a_reference_to_an_interface_of_the_same_device():
    interfaces = [Interface(name="bond0", type="lag", lag=""), Interface(name="eth0", lag="bond0")]
    desired = desired_objects(_inventory(interfaces=interfaces))
    assert desired["interfaces"][("home", "nas01", "eth0")].fields["lag"] == ("home", "nas01", "bond0")
    in_sync = build_plan(desired, _live(interfaces=[("bond0", None), ("eth0", "bond0")]), policy=POLICY)
    assert in_sync.item("interfaces", ("home", "nas01", "eth0")).action == "unchanged"


def test_a_port_taken_out_of_its_lag_is_one_update_clearing_the_lag():
    interfaces = [Interface(name="bond0", type="lag", lag=""), Interface(name="eth0", lag="bond0"),
                  Interface(name="eth1", lag="")]
    desired = desired_objects(_inventory(interfaces=interfaces))
    live = _live(interfaces=[("bond0", None), ("eth0", "bond0"), ("eth1", "bond0")])
    plan = build_plan(desired, live, policy=POLICY)
    updates = [i for i in plan.items if i.action == "update" and i.type == "interfaces" and i.key[-1] != "bond0"]
    assert [(i.key, i.payload_fields) for i in updates] == [(("home", "nas01", "eth1"), {"lag": None})]
    assert to_payload("interfaces", updates[0].payload_fields, live.index.resolve_id) == {"lag": None}


def test_an_unknown_lag_is_no_opinion():
    desired = desired_objects(_inventory(interfaces=[Interface(name="eth1")]))
    plan = build_plan(desired, _live(interfaces=[("bond0", None), ("eth1", "bond0")]), policy=POLICY)
    assert plan.item("interfaces", ("home", "nas01", "eth1")).action == "unchanged"
