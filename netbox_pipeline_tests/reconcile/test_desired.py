from datetime import datetime, timezone

from netbox_pipeline.model import Cluster, Device, Inventory, IPAddress, Service, VirtualMachine
from netbox_pipeline.reconcile.desired import desired_objects, source_tag
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.sources.base import SourceResult, stamp_provenance

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
OWNED = ("netbox-pipeline", "source-filesystem")


def inventory_of(*records, kind="filesystem", instance="rack") -> Inventory:
    for record in records:
        stamp_provenance(record, source_kind=kind, instance=instance, record_id="r", location="f:1",
                         observed_at=NOW)
    return merge([SourceResult(kind, instance, records=list(records))], default_precedence())


def small_inventory() -> Inventory:
    return inventory_of(
        Cluster(name="pve", type="Proxmox VE", site="Home"),
        Device(name="SW-01", site="Home", role="Switch", manufacturer="Ubiquiti", model="USW-24",
               platform="UniFi OS", serial="S1", tags=["Core"], primary_ip4="192.0.2.2",
               interfaces=[{"name": "mgmt0", "mac": "aa:bb:cc:00:00:01", "ip_addresses": ["192.0.2.2/24"]},
                           {"name": "sfp1"}]),
        VirtualMachine(name="vm-01", cluster="pve", vcpus=2.0, memory_mb=2048,
                       interfaces=[{"name": "net0", "mac": "aa:bb:cc:00:00:02",
                                    "ip_addresses": ["203.0.113.10/24"]}]),
        Service(name="ssh", protocol="tcp", ports=[22], parent="sw-01"),
        IPAddress(address="192.0.2.2", dns_name="sw-01.lan"),
        IPAddress(address="203.0.113.99", status="reserved"),
    )


def test_exact_objects_per_type():
    desired = desired_objects(small_inventory())
    counts = {name: len(objects) for name, objects in desired.items()}
    assert counts == {"tags": 3, "manufacturers": 1, "sites": 1, "locations": 0, "device_roles": 2, "device_types": 1,
                      "platforms": 1, "vlans": 0, "cluster_types": 1, "clusters": 1, "devices": 1,
                      "interfaces": 2, "virtual_machines": 1, "vm_interfaces": 1, "virtual_disks": 0,
                      "mac_addresses": 2, "ip_addresses": 3, "services": 1,
                      **dict.fromkeys(("tenant_groups", "tenants", "regions", "site_groups", "rack_roles", "racks",
                                       "ipam_roles", "vrfs", "vlan_groups", "prefixes", "ip_ranges",
                                       "inventory_item_roles", "inventory_items", "cables"), 0)}
    assert desired.count() == 22 and desired.problems == []


def test_references_use_slugs_and_natural_keys():
    desired = desired_objects(small_inventory())
    assert desired["sites"][("home",)].fields == {"slug": "home", "name": "Home", "tags": OWNED}
    assert set(desired["device_roles"]) == {("switch",), ("server",)}  # the VM's role is the default
    assert desired["device_types"][("ubiquiti", "usw-24")].fields["manufacturer"] == ("ubiquiti",)
    device = desired["devices"][("home", "sw-01")]
    assert device.fields["device_type"] == ("ubiquiti", "usw-24")
    assert device.fields["platform"] == ("unifi-os",)
    assert device.fields["primary_ip4"] == ("", "192.0.2.2")
    assert device.fields["tags"] == ("core", "netbox-pipeline", "source-filesystem")
    assert device.fields["status"] is None  # no opinion: create_only fills "active"
    cluster = desired["clusters"][("pve",)]
    assert cluster.fields["type"] == ("proxmox-ve",) and cluster.fields["scope"] == ("sites", ("home",))
    vm = desired["virtual_machines"][("pve", "vm-01")]
    assert (vm.fields["vcpus"], vm.fields["memory"], vm.fields["cluster"]) == (2, 2048, ("pve",))
    assert isinstance(vm.fields["vcpus"], int)


def test_interfaces_macs_and_ips():
    desired = desired_objects(small_inventory())
    mgmt = desired["interfaces"][("home", "sw-01", "mgmt0")]
    assert mgmt.fields["device"] == ("home", "sw-01")
    assert mgmt.fields["primary_mac_address"] == ("interfaces", "home", "sw-01", "mgmt0", "AA:BB:CC:00:00:01")
    assert desired["interfaces"][("home", "sw-01", "sfp1")].fields["primary_mac_address"] is None
    mac = desired["mac_addresses"][("interfaces", "home", "sw-01", "mgmt0", "AA:BB:CC:00:00:01")]
    assert mac.fields["assigned_object"] == ("interfaces", ("home", "sw-01", "mgmt0"))
    ip = desired["ip_addresses"][("", "192.0.2.2")]
    assert ip.fields["address"] == "192.0.2.2/24"  # the interface knows the prefix length
    assert ip.fields["dns_name"] == "sw-01.lan"  # the standalone record adds the DNS name
    assert ip.fields["assigned_object"] == ("interfaces", ("home", "sw-01", "mgmt0"))
    assert desired["ip_addresses"][("", "203.0.113.10")].fields["assigned_object"] == (
        "vm_interfaces", ("pve", "vm-01", "net0"))
    lone = desired["ip_addresses"][("", "203.0.113.99")]
    assert (lone.fields["assigned_object"], lone.fields["status"]) == (None, "reserved")


def test_services_point_at_their_parent():
    desired = desired_objects(small_inventory())
    (service,) = desired["services"].values()
    assert service.key == ("devices", "home", "sw-01", "tcp", "ssh")
    assert service.fields["parent"] == ("devices", ("home", "sw-01")) and service.fields["ports"] == (22,)


def test_tags_objects_and_source_tags_per_contributing_kind():
    first = Device(name="a", site="home", interfaces=[{"name": "eth0", "mac": "aa:bb:cc:00:00:09"}])
    second = Device(name="a", site="home", serial="X")
    for record, kind in ((first, "filesystem"), (second, "nmap")):
        stamp_provenance(record, source_kind=kind, instance="i", record_id="r", location=None, observed_at=NOW)
    inventory = merge([SourceResult("filesystem", "i", records=[first]), SourceResult("nmap", "i", records=[second])], default_precedence())
    desired = desired_objects(inventory, owner_tag="synced")
    device = desired["devices"][("home", "a")]
    assert device.fields["tags"] == ("source-filesystem", "source-nmap", "synced")
    assert device.source_kinds == {"filesystem", "nmap"}
    assert device.instances == {("filesystem", "i"), ("nmap", "i")}
    assert set(desired["tags"]) == {("synced",), ("source-filesystem",), ("source-nmap",)}
    assert source_tag("home_assistant") == "source-home_assistant"
    assert "tags" not in desired["tags"][("synced",)].fields  # tags carry no tags


def test_defaults_fill_what_netbox_requires():
    desired = desired_objects(inventory_of(Device(name="bare", site="lab")),
                              defaults={"device_role": "Appliance", "manufacturer": "Unknown Vendor",
                                        "device_type": "Unknown"})
    device = desired["devices"][("lab", "bare")]
    assert device.fields["role"] == ("appliance",)
    assert device.fields["device_type"] == ("unknown-vendor", "unknown")


def test_device_without_site_is_a_problem_unless_defaulted():
    inventory = inventory_of(Device(name="nowhere"))
    desired = desired_objects(inventory)
    assert desired["devices"] == {}
    (problem,) = desired.problems
    assert problem.check == "missing_site" and "nowhere" in problem.message
    assert set(desired_objects(inventory, defaults={"site": "home"})["devices"]) == {("home", "nowhere")}


def test_ip_claimed_twice_is_reported_and_kept_on_the_first():
    desired = desired_objects(inventory_of(
        Device(name="a", site="home", interfaces=[{"name": "eth0", "ip_addresses": ["192.0.2.7/24"]}]),
        Device(name="b", site="home", interfaces=[{"name": "eth0", "ip_addresses": ["192.0.2.7/25"]}]),
    ))
    assert desired["ip_addresses"][("", "192.0.2.7")].fields["assigned_object"] == ("interfaces", ("home", "a", "eth0"))
    (problem,) = desired.problems
    assert problem.check == "identity_collision" and problem.to_dict()["key"] == "/192.0.2.7"


def test_provenance_is_mapped_to_netbox_field_names():
    desired = desired_objects(small_inventory())
    device = desired["devices"][("home", "sw-01")]
    assert device.provenance["device_type"].location == "f:1"  # from the inventory's "model"
    assert "model" not in device.provenance
    assert desired["interfaces"][("home", "sw-01", "mgmt0")].provenance["mac"].source_kind == "filesystem"
    assert desired["ip_addresses"][("", "192.0.2.2")].provenance["address"].instance == "rack"


def test_a_declared_spelling_wins_over_an_earlier_mention_and_locations_collide_within_their_site():
    from netbox_pipeline.model import Region
    from netbox_pipeline.reconcile.plan import build_plan, exclude_rejected, validate_plan

    inventory = inventory_of(
        Region(name="Amsterdam", parent="EU West"),  # built before eu-west, but the declaration wins
        Region(name="eu.west"),
        Device(name="a", site="home", location="Rack Room"),
        Device(name="b", site="home", location="rack.room"),
        Device(name="c", site="lab", location="rack.room"),  # another site: another location
    )
    desired = desired_objects(inventory)
    assert {k: o.fields["name"] for k, o in desired["regions"].items()} == {("amsterdam",): "Amsterdam",
                                                                           ("eu-west",): "eu.west"}
    plan = build_plan(desired, {})
    problems = exclude_rejected(plan, desired, validate_plan(plan, desired))
    assert [p.message for p in problems] == [
        "f:1: region amsterdam field parent: region 'EU West' and 'eu.west' (f:1) make the same slug 'eu-west'; "
        "NetBox keeps one region per slug: write one spelling everywhere",
        "f:1: device home/b field location: location 'rack.room' and 'Rack Room' (f:1) make the same slug "
        "'rack-room'; NetBox keeps one location per slug: write one spelling everywhere",
    ]
    skipped = {(i.type, i.key) for i in plan.items if i.action == "skip"}
    assert skipped == {("regions", ("amsterdam",)), ("devices", ("home", "b"))}
    assert sorted(o.fields["name"] for o in desired["locations"].values()) == ["Rack Room", "rack.room"]


def test_a_device_types_part_number_is_the_first_one_given():
    def plug(name: str, part_number: str | None) -> Device:
        return Device(name=name, site="Home", manufacturer="TP-Link", model="KP115", part_number=part_number)

    # devices are built in key order: a-plug knows none, b-plug gives it, c-plug disagrees
    desired = desired_objects(inventory_of(plug("c-plug", "KP115-OTHER"), plug("a-plug", None),
                                           plug("b-plug", "KP115(EU)")))
    assert desired["device_types"][("tp-link", "kp115")].fields["part_number"] == "KP115(EU)"
    assert desired.problems == []

    # a type no device gives a part number has no opinion on it: a part number set in NetBox stays
    desired = desired_objects(inventory_of(plug("a-plug", None)))
    assert desired["device_types"][("tp-link", "kp115")].fields["part_number"] is None


def test_one_device_from_two_sources_takes_the_part_number_by_precedence():
    def results(file_part: str | None) -> list[SourceResult]:
        file_device = Device(name="plug", site="Home", manufacturer="TP-Link", model="KP115", part_number=file_part,
                             interfaces=[{"name": "eth0", "mac": "50:91:e3:00:00:01"}])
        ha_device = Device(name="Desk Plug", site="Home", manufacturer="TP-Link", model="KP115",
                           part_number="KP115(EU)", interfaces=[{"name": "eth0", "mac": "50:91:e3:00:00:01"}])
        stamp_provenance(file_device, source_kind="filesystem", instance="rack", record_id="r", location="f:1",
                         observed_at=NOW)
        stamp_provenance(ha_device, source_kind="home_assistant", instance="home", record_id="device/1",
                         location="ha", observed_at=NOW)
        return [SourceResult("filesystem", "rack", records=[file_device]),
                SourceResult("home_assistant", "home", records=[ha_device])]

    for file_part, expected in ((None, "KP115(EU)"), ("KP115-FILE", "KP115-FILE")):
        inventory = merge(results(file_part), default_precedence())
        [device] = inventory.devices
        assert device.part_number == expected
        desired = desired_objects(inventory)
        assert desired["device_types"][("tp-link", "kp115")].fields["part_number"] == expected


def test_the_build_table_covers_every_record_list_and_every_netbox_type():
    """BUILDS is the one declaration of how records become NetBox objects: every `Inventory` list
    has its one row, every field spec is a row built from it, and every NetBox type is made by a row
    (tags excepted: added for the objects' tags at the end; manufacturers: only ever named by a
    device, device type, platform or inventory item)."""
    from netbox_pipeline.model import RECORD_LISTS, Inventory
    from netbox_pipeline.netbox.schema import TYPES
    from netbox_pipeline.reconcile.build_datacenter import SPECS
    from netbox_pipeline.reconcile.desired import BUILDS

    lists = [build.records for build in BUILDS]
    assert sorted(lists) == sorted(set(RECORD_LISTS.values())) and len(lists) == len(set(lists))
    assert set(lists) <= set(Inventory.model_fields)
    for build in BUILDS:
        assert build.produces[0] == build.records  # its own type, named as its records are
        assert set(build.produces) <= set(TYPES), build.records
        from_spec = build.build.__qualname__.startswith("from_spec.")
        assert from_spec == (build.records in SPECS), build.records
    assert set(SPECS) <= set(lists)
    produced = {name for build in BUILDS for name in build.produces}
    assert set(TYPES) - produced == {"tags", "manufacturers"}
