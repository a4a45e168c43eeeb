from datetime import datetime, timezone

from netbox_pipeline.model import Cluster, Device, IdentityLink, InventoryItem, IPAddress, Service, VirtualMachine
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources.base import SourceResult, failed_result, stamp_provenance

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
PRECEDENCE = {"default": ["filesystem", "proxmox", "nmap"]}


def result(kind: str, instance: str, *records) -> SourceResult:
    for index, record in enumerate(records):
        stamp_provenance(record, source_kind=kind, instance=instance, record_id=f"{instance}#{index}",
                         location=f"{instance}:{index + 1}", observed_at=NOW)
    return SourceResult(kind, instance, records=list(records), observed_at=NOW)


def test_same_key_from_two_sources_merges_by_precedence_with_provenance():
    inventory = merge([
        result("nmap", "lan", Device(name="nas", site="home", description="from nmap", serial="N1")),
        result("filesystem", "rack", Device(name="NAS", site="home", description="from file")),
    ], PRECEDENCE)
    (device,) = inventory.devices
    assert device.name == "NAS" and device.description == "from file"
    assert device.serial == "N1"  # the file does not know it: falls through to nmap
    assert device.provenance["description"].source_kind == "filesystem"
    assert device.provenance["serial"].instance == "lan"
    assert inventory.instances_of("devices", ("home", "nas")) == [("filesystem", "rack"), ("nmap", "lan")]
    conflict = next(c for c in inventory.conflicts if c.field == "description")
    assert conflict.values == {"filesystem/rack": "from file", "nmap/lan": "from nmap"}
    assert "filesystem/rack wins" in conflict.message


def test_per_field_precedence():
    precedence = {**PRECEDENCE, "serial": ["nmap", "filesystem"]}
    inventory = merge([
        result("filesystem", "rack", Device(name="a", site="home", serial="FILE")),
        result("nmap", "lan", Device(name="a", site="home", serial="SCAN")),
    ], precedence)
    assert inventory.devices[0].serial == "SCAN"
    assert inventory.devices[0].provenance["serial"].source_kind == "nmap"


def test_unknown_source_kinds_rank_last_and_order_of_results_does_not_matter():
    records = [("truenas", "nas1", "T"), ("nmap", "lan", "N"), ("filesystem", "rack", "F")]
    forward = merge([result(k, i, Device(name="a", site="home", description=d)) for k, i, d in records],
                    PRECEDENCE)
    backward = merge([result(k, i, Device(name="a", site="home", description=d)) for k, i, d in reversed(records)],
                     PRECEDENCE)
    assert forward.devices[0].description == backward.devices[0].description == "F"
    alone = merge([result("truenas", "n", Device(name="a", site="home", description="T")),
                   result("nmap", "l", Device(name="a", site="home", description="N"))], PRECEDENCE)
    assert alone.devices[0].description == "N"


def test_the_default_precedence_is_the_registered_order_of_the_sources():
    """One list says which kind wins by default: `sources.SOURCES`; the merge holds no copy of it."""
    import inspect

    from netbox_pipeline.config import PrecedenceConfig
    from netbox_pipeline.sources import SOURCES, default_precedence

    assert default_precedence() == {"default": list(SOURCES)}
    assert PrecedenceConfig().mapping() == default_precedence()
    assert inspect.signature(merge).parameters["precedence"].default is inspect.Parameter.empty
    first, *_, last = SOURCES
    inventory = merge([result(last, "b", Device(name="a", site="home", description="last")),
                       result(first, "a", Device(name="a", site="home", description="first"))], default_precedence())
    assert inventory.devices[0].description == "first"
    overridden = PrecedenceConfig(fields={"description": [last]}).mapping()
    inventory = merge([result(last, "b", Device(name="a", site="home", description="last")),
                       result(first, "a", Device(name="a", site="home", description="first"))], overridden)
    assert inventory.devices[0].description == "last"


def test_discovered_host_attaches_to_the_device_with_its_mac():
    discovered = Device(name="host-192-0-2-5", site="home", interfaces=[
        {"name": "nmap0", "mac": "aa:bb:cc:dd:ee:01", "ip_addresses": ["192.0.2.5/24"]}])
    declared = Device(name="nas", site="home", model="TS-453", interfaces=[
        {"name": "eth0", "mac": "AA-BB-CC-DD-EE-01", "type": "1000base-t"}])
    inventory = merge([result("nmap", "lan", discovered), result("filesystem", "rack", declared)], PRECEDENCE)
    (device,) = inventory.devices
    assert device.name == "nas" and device.model == "TS-453"
    (interface,) = device.interfaces
    assert (interface.name, interface.type, interface.ip_addresses) == ("eth0", "1000base-t", ["192.0.2.5/24"])
    assert device.provenance["interfaces[eth0].ip_addresses"].source_kind == "nmap"
    assert device.provenance["interfaces[eth0].type"].source_kind == "filesystem"
    assert inventory.instances_of("devices", device.key) == [("filesystem", "rack"), ("nmap", "lan")]
    # Why the scanned host is this device: kept as a link, named by the nmap record's own id.
    assert inventory.links == [IdentityLink(record_type="device", key=("home", "nas"), source_kind="nmap",
                                            instance="lan", record_key="lan#0", reason="MAC AA:BB:CC:DD:EE:01")]


def test_serial_matches_across_sources():
    inventory = merge([
        result("truenas", "nas1", Device(name="truenas", site="home", serial="S-1")),
        result("filesystem", "rack", Device(name="storage", site="home", serial="S-1")),
    ], PRECEDENCE)
    assert [d.name for d in inventory.devices] == ["storage"]
    assert [(link.key, link.source_kind, link.instance, link.record_key, link.reason) for link in inventory.links] == [
        (("home", "storage"), "truenas", "nas1", "nas1#0", "serial S-1")]


def test_records_joined_by_their_own_key_leave_no_link():
    mac = [{"name": "eth0", "mac": "aa:bb:cc:dd:ee:09"}]
    inventory = merge([
        result("nmap", "lan", Device(name="nas", site="home", serial="S-9", interfaces=mac),
               Service(name="ssh", protocol="tcp", ports=[22], parent="nas", parent_scope="home")),
        result("filesystem", "rack", Device(name="NAS", site="home", serial="S-9", interfaces=mac),
               InventoryItem(device="nas", site="home", name="disk-1", serial="D1")),
        result("truenas", "nas1", InventoryItem(device="NAS", site="home", name="disk-1", serial="D1")),
    ], PRECEDENCE)
    assert len(inventory.devices) == 1 and len(inventory.services) == 1 and len(inventory.inventory_items) == 1
    assert inventory.links == []


def test_a_vm_host_follows_its_device_record_into_the_merged_device():
    nas = Device(name="nas01", site="home", serial="A1", cluster="nas01")
    inventory = merge([
        result("truenas", "nas01", nas, VirtualMachine(name="ha", cluster="nas01", site="home", device="nas01")),
        result("filesystem", "rack", Device(name="nas-rack", site="home", serial="A1"),
               VirtualMachine(name="other", cluster="pve", site="home", device="pve1")),
    ], {"default": ["filesystem", "truenas"]})
    assert [d.key for d in inventory.devices] == [("home", "nas-rack")]
    # a host no device record names stays as written
    assert {v.name: (v.device, v.site) for v in inventory.virtual_machines} == {
        "ha": ("nas-rack", "home"), "other": ("pve1", "home")}


def test_services_and_parts_that_follow_their_device_by_mac_are_linked():
    discovered = Device(name="host-192-0-2-7", interfaces=[{"name": "nmap0", "mac": "aa:bb:cc:dd:ee:07"}])
    inventory = merge([
        result("nmap", "lan", discovered, Service(name="http", protocol="tcp", ports=[80], parent="host-192-0-2-7")),
        result("filesystem", "rack", Device(name="web", site="home", interfaces=[{"name": "eth0", "mac": "aa:bb:cc:dd:ee:07"}]),
               InventoryItem(device="web", site="home", name="disk-WD1", serial="WD1")),
        result("truenas", "nas1", Device(name="truenas", interfaces=[{"name": "eno1", "mac": "aa:bb:cc:dd:ee:07"}]),
               InventoryItem(device="truenas", name="bay 3", serial="WD1")),
    ], {"default": ["filesystem", "truenas", "nmap"]})
    assert [d.key for d in inventory.devices] == [("home", "web")]
    assert [s.key for s in inventory.services] == [("device", "home", "web", "tcp", "http")]
    assert [i.key for i in inventory.inventory_items] == [("home", "web", "disk-WD1")]
    assert [(link.record_type, link.key, f"{link.source_kind}/{link.instance}", link.record_key, link.reason)
            for link in inventory.links] == [
        ("device", ("home", "web"), "nmap/lan", "lan#0", "MAC AA:BB:CC:DD:EE:07"),
        ("device", ("home", "web"), "truenas/nas1", "nas1#0", "MAC AA:BB:CC:DD:EE:07"),
        ("inventory_item", ("home", "web", "disk-WD1"), "truenas/nas1", "nas1#1", "device MAC AA:BB:CC:DD:EE:07, serial WD1"),
        ("service", ("device", "home", "web", "tcp", "http"), "nmap/lan", "lan#1", "device MAC AA:BB:CC:DD:EE:07"),
    ]
    # The same estate in another order gives the same links (the merge never depends on order).
    again = merge([
        result("truenas", "nas1", Device(name="truenas", interfaces=[{"name": "eno1", "mac": "aa:bb:cc:dd:ee:07"}]),
               InventoryItem(device="truenas", name="bay 3", serial="WD1")),
        result("filesystem", "rack", Device(name="web", site="home", interfaces=[{"name": "eth0", "mac": "aa:bb:cc:dd:ee:07"}]),
               InventoryItem(device="web", site="home", name="disk-WD1", serial="WD1")),
        result("nmap", "lan", Device(name="host-192-0-2-7", interfaces=[{"name": "nmap0", "mac": "aa:bb:cc:dd:ee:07"}]),
               Service(name="http", protocol="tcp", ports=[80], parent="host-192-0-2-7")),
    ], {"default": ["filesystem", "truenas", "nmap"]})
    assert again.links == inventory.links


def test_match_inside_one_instance_is_refused():
    mac = [{"name": "eth0", "mac": "aa:bb:cc:dd:ee:02"}]
    inventory = merge([result("filesystem", "rack", Device(name="a", site="home", interfaces=mac),
                              Device(name="b", site="home", interfaces=mac))], PRECEDENCE)
    assert [d.name for d in inventory.devices] == ["a", "b"]
    messages = [c.message for c in inventory.conflicts]
    assert any("match was refused: both records come from filesystem/rack" in m for m in messages)
    assert any("MAC AA:BB:CC:DD:EE:02 is claimed by home/b" in m for m in messages)


def test_match_with_different_serials_is_refused():
    mac = [{"name": "eth0", "mac": "aa:bb:cc:dd:ee:03"}]
    inventory = merge([
        result("filesystem", "rack", Device(name="a", site="home", serial="X", interfaces=mac)),
        result("nmap", "lan", Device(name="b", site="home", serial="Y", interfaces=mac)),
    ], PRECEDENCE)
    assert len(inventory.devices) == 2
    assert any("serials differ (Y vs X)" in c.message for c in inventory.conflicts)


def test_failed_results_contribute_nothing():
    failed = failed_result("proxmox", "pve", "connection refused")
    failed.records = [VirtualMachine(name="ghost")]  # whatever a failed fetch left behind
    inventory = merge([failed, result("filesystem", "rack", Device(name="a", site="home"))], PRECEDENCE)
    assert inventory.virtual_machines == [] and len(inventory.devices) == 1


def test_tags_union_and_custom_fields_by_precedence():
    inventory = merge([
        result("nmap", "lan", Device(name="a", site="home", tags=["scanned"], custom_fields={"os": "linux", "x": 1})),
        result("filesystem", "rack", Device(name="a", site="home", tags=["core"], custom_fields={"os": "debian"})),
    ], PRECEDENCE)
    device = inventory.devices[0]
    assert device.tags == ["core", "scanned"]
    assert device.custom_fields == {"os": "debian", "x": 1}
    assert device.provenance["custom_fields.os"].source_kind == "filesystem"
    assert device.provenance["custom_fields.x"].source_kind == "nmap"


def test_vm_interfaces_merge_by_name_and_ips_union():
    inventory = merge([
        result("proxmox", "pve", VirtualMachine(name="vm1", cluster="pve", vcpus=2, interfaces=[
            {"name": "net0", "mac": "52:54:00:00:00:01"}])),
        result("nmap", "lan", VirtualMachine(name="VM1", cluster="pve", interfaces=[
            {"name": "net0", "ip_addresses": ["203.0.113.5/24"]}])),
    ], PRECEDENCE)
    (vm,) = inventory.virtual_machines
    assert vm.vcpus == 2 and vm.name == "vm1"
    assert vm.interfaces[0].mac == "52:54:00:00:00:01"
    assert vm.interfaces[0].ip_addresses == ["203.0.113.5/24"]


def test_services_are_pinned_to_their_parent_or_dropped():
    inventory = merge([result(
        "filesystem", "rack",
        Device(name="nas", site="Home"), Device(name="web", site="home"), Device(name="web", site="lab"),
        VirtualMachine(name="dns", cluster="pve"),
        Service(name="ssh", protocol="tcp", ports=[22], parent="NAS"),
        Service(name="http", protocol="tcp", ports=[80], parent="web"),
        Service(name="http", protocol="tcp", ports=[80], parent="web", parent_scope="lab"),
        Service(name="dns", protocol="udp", ports=[53], parent="dns", parent_kind="virtual_machine"),
        Service(name="x", protocol="tcp", ports=[1], parent="nowhere"),
    )], PRECEDENCE)
    assert [s.key for s in inventory.services] == [
        ("device", "home", "nas", "tcp", "ssh"), ("device", "lab", "web", "tcp", "http"),
        ("virtual_machine", "pve", "dns", "udp", "dns")]
    dropped = sorted(c.message for c in inventory.conflicts if c.record_type == "service")
    assert dropped == [
        "service 'http' (filesystem/rack) dropped: device 'web': parent name is ambiguous; set parent_scope",
        "service 'x' (filesystem/rack) dropped: device 'nowhere': no such parent",
    ]


def test_clusters_and_standalone_ips_merge_by_key():
    inventory = merge([
        result("proxmox", "pve", Cluster(name="pve", type="Proxmox VE"), IPAddress(address="192.0.2.9/24")),
        result("nmap", "lan", IPAddress(address="192.0.2.9", dns_name="host.lan")),
    ], PRECEDENCE)
    assert inventory.clusters[0].type == "Proxmox VE"
    (address,) = inventory.ip_addresses
    assert (address.address, address.dns_name) == ("192.0.2.9/24", "host.lan")
    assert inventory.counts() == {"devices": 0, "virtual_machines": 0, "clusters": 1, "services": 0,
                                  "ip_addresses": 1, "inventory_items": 0}


def test_a_value_a_source_gave_beats_one_filled_from_defaults_whatever_the_precedence():
    file_device = Device(name="nas", site="home", manufacturer="Generic", role="server")
    stamp_provenance(file_device, source_kind="filesystem", instance="rack", record_id="rack#0", location="rack:1",
                     observed_at=NOW, defaulted={"manufacturer"})
    inventory = merge([
        SourceResult("filesystem", "rack", records=[file_device], observed_at=NOW),
        result("nmap", "lan", Device(name="nas", site="home", manufacturer="Synology", role="nas")),
    ], PRECEDENCE)
    (device,) = inventory.devices
    assert device.manufacturer == "Synology" and device.provenance["manufacturer"].source_kind == "nmap"
    assert device.role == "server"  # given by both: precedence decides
    assert not [c for c in inventory.conflicts if c.field == "manufacturer"]  # a default losing is no disagreement


def test_two_spellings_of_one_slug_from_two_sources_are_not_merged_the_second_is_left_out():
    inventory = merge([
        result("filesystem", "a", Device(name="web", site="Home Lab", description="from a")),
        result("filesystem", "b", Device(name="web", site="home-lab", description="from b"),
               Device(name="db", site="home-lab")),
    ], PRECEDENCE)
    assert [(d.name, d.site, d.description) for d in inventory.devices] == [
        ("db", "home-lab", None), ("web", "Home Lab", "from a")]
    (rejected,) = inventory.rejected
    assert (rejected.key, rejected.field, rejected.location) == (("home-lab", "web"), "site", "b:1")
    assert rejected.message == ("'home-lab' and 'Home Lab' (a:1) make the same slug 'home-lab'; NetBox keeps one "
                                "site per slug: write one spelling everywhere")
