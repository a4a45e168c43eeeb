"""The TrueNAS source, pure parts: values, interfaces, VMs, storage and the whole snapshot mapping."""

import copy
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from netbox_pipeline.sandbox.truenas.estate import generated_nas, hdd, inet, pool, seeded_nas
from netbox_pipeline.sources.truenas import TrueNASConfig, TrueNASOptions, normalise_snapshot
from netbox_pipeline.sources.truenas.interfaces import (
    host_interface,
    host_interfaces,
    interface_addresses,
    interface_links,
    interface_mac,
    primary_address,
)
from netbox_pipeline.sources.truenas.normalise import share_service
from netbox_pipeline.sources.truenas.storage import disk_items, human_size, pool_items, topology_disks
from netbox_pipeline.sources.truenas.values import physical_type, real_value, truenas_version
from netbox_pipeline.sources.truenas.vms import cpu_count, instance_record, vm_nics, vm_record

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
OPTIONS = TrueNASOptions(site="home", role="storage", manufacturer="Generic", device_type="DIY NAS",
                         vm_role="vm", container_role="container")


def snapshot_of(nas=None, **changes):
    """A fetched snapshot as fetch_snapshot builds it, from a sandbox estate."""
    nas = nas or seeded_nas()
    snapshot = {"warnings": [], "missing": [], "absent": [], "auth": "auth.login_ex API_KEY_PLAIN",
                "system": dict(nas.system), "network": dict(nas.network), "interfaces": nas.interfaces,
                "disks": nas.disks, "pools": nas.pools, "smb_shares": nas.smb_shares, "nfs_shares": nas.nfs_shares,
                "vms": nas.vms, "instances": nas.containers}
    snapshot.update(changes)
    return copy.deepcopy(snapshot)


def normalise(snapshot, options=OPTIONS):
    return normalise_snapshot(snapshot, options, instance="nas01", observed_at=NOW, base_url="wss://nas:443/api/current")


def host(result):
    return result.of_type("device")[0]


# ============================================================================ values


@pytest.mark.parametrize("raw, version", [
    ("TrueNAS-SCALE-24.10.2.1", "24.10.2.1"), ("25.04.2", "25.04.2"), ("25.10-RC.1", "25.10-RC.1"), (None, None)])
def test_release_numbers_from_both_version_styles(raw, version):
    assert truenas_version(raw) == version


@pytest.mark.parametrize("raw", ["To Be Filled By O.E.M.", "to be filled by o.e.m.", "Default string",
                                 "System Product Name", "Not Specified", "  ", "", None, "0000000000", "O.E.M."])
def test_firmware_placeholders_are_not_values(raw):
    assert real_value(raw) is None


@pytest.mark.parametrize("raw", ["iXsystems", "TRUENAS-MINI-3.0-XL+", "X11SSH-F", "A1-204117"])
def test_real_firmware_strings_are_kept(raw):
    assert real_value(raw) == raw


@pytest.mark.parametrize("subtype, netbox_type", [
    ("10000Mb/s Twisted Pair", "10gbase-t"), ("1000Mb/s Twisted Pair", "1000base-t"),
    ("25000Mb/s FIBRE", "25gbase-x-sfp28"), ("10000Mb/s Direct Attach Copper", "10gbase-x-sfpp"),
    ("1000baseT <full-duplex>", "1000base-t"), ("10Gbase-SR <full-duplex>", "10gbase-x-sfpp"),
    ("2500Mb/s Twisted Pair", "2.5gbase-t"), ("", "other"), ("Unknown! (255)", "other"), ("123Mb/s", "other")])
def test_physical_nic_type_from_active_media(subtype, netbox_type):
    assert physical_type({"active_media_subtype": subtype}) == netbox_type


# ============================================================================ interfaces


def _entries():
    return {e["name"]: e for e in seeded_nas().interfaces}


def test_interface_kinds_map_to_netbox_types():
    entries = _entries()
    assert host_interface(entries["enp1s0"]).type == "10gbase-t"
    assert host_interface(entries["bond0"]).type == "lag"
    assert host_interface(entries["br0"]).type == "bridge"
    vlan = host_interface(entries["vlan20"])
    assert (vlan.type, vlan.vlan, vlan.description) == ("virtual", 20, "VLAN 20 on bond0")


def test_lag_description_names_the_protocol_not_the_members():
    # Members live on each member's `lag` in NetBox: a member change must not rewrite the LAG too.
    assert host_interface(_entries()["bond0"]).description == "LACP link aggregation"


def test_every_interface_says_its_lag_parent_and_bridge_or_that_it_has_none():
    interfaces = {i.name: i for i in host_interfaces(seeded_nas().interfaces)}
    assert (interfaces["enp1s0"].lag, interfaces["enp2s0"].lag) == ("bond0", "bond0")
    assert (interfaces["bond0"].bridge, interfaces["vlan20"].parent) == ("br0", "bond0")
    assert (interfaces["br0"].lag, interfaces["br0"].parent, interfaces["br0"].bridge) == ("", "", "")


def test_a_link_to_an_interface_the_server_did_not_list_is_none():
    entries = [e for e in seeded_nas().interfaces if e["name"] != "bond0"]
    interfaces = {i.name: i for i in host_interfaces(entries)}
    assert interfaces["enp1s0"].lag == "" and interfaces["vlan20"].parent == ""


def test_own_description_wins():
    assert host_interface(_entries()["br0"]).description == "LAN bridge"


def test_links_say_lag_bridge_and_vlan_parent():
    links = interface_links(seeded_nas().interfaces)
    assert links["enp1s0"].lag == links["enp2s0"].lag == "bond0"
    assert links["bond0"].bridge == "br0"
    assert links["vlan20"].parent == "bond0"
    assert "br0" not in links  # hangs on nothing


def test_only_physical_nics_carry_their_own_permanent_mac():
    entries = _entries()
    # enp2s0 carries the LAG's MAC at runtime; its own is the permanent address.
    assert interface_mac(entries["enp2s0"]) == "3C:EC:EF:12:34:02"
    assert [interface_mac(entries[n]) for n in ("bond0", "br0", "vlan20")] == [None, None, None]
    entries["enp1s0"]["state"].update(permanent_link_address=None, hardware_link_address="00:00:00:00:00:00")
    assert interface_mac(entries["enp1s0"]) == "3C:EC:EF:12:34:01"  # falls back to the current one


def test_a_mac_reported_twice_stays_on_the_first_interface():
    entries = seeded_nas().interfaces
    for entry in entries:  # an older release without permanent addresses: both ports show the bond's
        entry["state"].update(permanent_link_address=None, hardware_link_address=None)
    macs = {i.name: i.mac for i in host_interfaces(entries)}
    assert (macs["enp1s0"], macs["enp2s0"]) == ("3C:EC:EF:12:34:01", None)


def test_addresses_union_configured_and_runtime_without_link_local():
    entry = {"aliases": [inet("192.168.10.20", 24)],
             "state": {"aliases": [inet("192.168.10.20", 24, broadcast="192.168.10.255"), inet("fe80::1", 64),
                                   inet("2001:db8::5", 64), {"type": "LINK", "address": "3c:ec:ef:12:34:10"},
                                   inet("169.254.3.4", 16), inet("10.9.0.7", 16)]}}
    assert interface_addresses(entry) == ["192.168.10.20/24", "2001:db8::5/64", "10.9.0.7/16"]


def test_dhcp_address_comes_from_runtime_only():
    entry = {"aliases": [], "ipv4_dhcp": True, "state": {"aliases": [inet("192.168.1.77", 24)]}}
    assert interface_addresses(entry) == ["192.168.1.77/24"]


def test_primary_ip_is_on_the_default_gateway_network():
    entries = seeded_nas().interfaces
    interfaces = [host_interface(e) for e in entries]
    assert primary_address(entries, interfaces, "192.168.10.1") == "192.168.10.20"
    assert primary_address(entries, interfaces, "10.20.0.1") == "10.20.0.5"


def test_primary_ip_without_gateway_prefers_a_static_address():
    entries = [{"name": "eno1", "aliases": [], "state": {"aliases": [inet("192.168.1.77", 24)]}},
               {"name": "eno2", "aliases": [inet("10.0.0.5", 24)], "state": {"aliases": []}}]
    interfaces = [host_interface(dict(e, type="PHYSICAL")) for e in entries]
    assert primary_address(entries, interfaces, "") == "10.0.0.5"
    assert primary_address(entries[:1], interfaces[:1], None) == "192.168.1.77"
    assert primary_address([], [], "10.0.0.1") is None


# ============================================================================ VMs and containers


def test_vm_numbers_status_and_nic():
    vm = vm_record(seeded_nas().vms[0], "nas01", OPTIONS)
    assert (vm.name, vm.cluster, vm.device, vm.site, vm.role) == ("homeassistant", "nas01", "nas01", "home", "vm")
    assert (vm.vcpus, vm.memory_mb, vm.status) == (2.0, 4096, "active")
    assert [(i.name, i.mac, i.description) for i in vm.interfaces] == [("nic0", "00:A0:98:3B:11:01", "VIRTIO on br0")]
    assert vm_record(seeded_nas().vms[1], "nas01", OPTIONS).status == "offline"


def test_vm_nics_understand_the_older_device_shape():
    devices = [{"id": 3, "dtype": "NIC", "attributes": {"type": "E1000", "mac": "00:a0:98:00:00:09"}},
               {"id": 1, "dtype": "DISK", "attributes": {"path": "/dev/zvol/tank/x"}},
               {"id": 2, "dtype": "NIC", "attributes": {"type": "VIRTIO", "mac": "00:a0:98:00:00:08", "nic_attach": "br0"}}]
    assert [(n.name, n.mac, n.description) for n in vm_nics(devices)] == [
        ("nic0", "00:A0:98:00:00:08", "VIRTIO on br0"), ("nic1", "00:A0:98:00:00:09", "E1000")]


@pytest.mark.parametrize("value, count", [("2", 2.0), (4, 4.0), ("0-3", 4.0), ("0,2,4", 3.0), ("0-1,4", 3.0),
                                          (None, None), ("", None), ("0", None), ("x-y", None)])
def test_container_cpu_counts(value, count):
    assert cpu_count(value) == count


def test_container_is_a_vm_with_the_container_role():
    instance = {"id": "unifi", "name": "unifi", "type": "CONTAINER", "status": "RUNNING", "cpu": "0-1",
                "memory": 2 * 1024 ** 3, "image": {"os": "Debian", "release": "bookworm"},
                "aliases": [inet("192.168.10.40", 24), inet("fe80::216:3eff:fe00:1", 64)]}
    vm = instance_record(instance, "nas01", OPTIONS)
    assert (vm.role, vm.platform, vm.vcpus, vm.memory_mb, vm.status) == ("container", "Debian", 2.0, 2048, "active")
    assert vm.primary_ip4 == "192.168.10.40"
    assert vm.interfaces[0].ip_addresses == ["192.168.10.40/24"]
    assert instance_record(dict(instance, type="VM"), "nas01", OPTIONS).role == "vm"


def test_a_container_named_like_a_vm_is_skipped_with_a_warning():
    snapshot = snapshot_of(instances=[{"id": "x", "name": "HomeAssistant", "type": "CONTAINER", "status": "RUNNING"}])
    result = normalise(snapshot)
    assert [v.name for v in result.of_type("virtual_machine")] == ["homeassistant", "pbs"]
    assert any("HomeAssistant" in w and "VM is kept" in w for w in result.warnings)


def test_an_invalid_vm_is_a_located_record_error_and_the_rest_still_flows():
    nas = seeded_nas()
    nas.vms[1]["name"] = ""
    result = normalise(snapshot_of(nas))
    assert [v.name for v in result.of_type("virtual_machine")] == ["homeassistant", "jellyfin"]
    [error] = result.errors
    assert (error.record_key, error.field, error.location) == ("vm/2", "name", "wss://nas:443/api/current#vm.query")
    assert result.of_type("device")


# ============================================================================ storage


def test_pools_read_layout_size_and_member_disks():
    pools = {p.name: p for p in pool_items(seeded_nas().pools)}
    assert pools["tank"].layout == "RAIDZ2"
    assert pools["tank"].disks == ("sda", "sdb", "sdc", "sdd", "sde", "sdf")
    assert pools["fast"].layout == "MIRROR"
    assert pools["tank"].description == "ONLINE, 43.0 TiB, 42% used, RAIDZ2, 6 disks"


def test_topology_leaves_of_every_vdev_kind():
    disks = [hdd(i) for i in range(4)]
    topology = pool(1, "p", [("MIRROR", disks[:2]), ("MIRROR", disks[2:])], 1, 0)["topology"]
    topology["cache"] = [{"type": "DISK", "disk": "nvme0n1", "children": []}]
    assert sorted(topology_disks(topology)) == ["nvme0n1", "sda", "sdb", "sdc", "sdd"]
    assert pool_items([pool(1, "p", [("MIRROR", disks[:2]), ("MIRROR", disks[2:])], 1, 0)])[0].layout == "2 x MIRROR"


def test_disk_pool_from_disk_query_else_from_topology():
    nas = seeded_nas()
    pools = pool_items(nas.pools)
    without_pool = [dict(d, pool=None) for d in nas.disks]
    assert {d.name: d.pool for d in disk_items(without_pool, pools)}["sdc"] == "tank"
    spare = dict(hdd(20), pool=None)
    assert disk_items([spare], pools)[0].pool is None


def test_disk_description_and_identity():
    [disk] = disk_items([hdd(0)], [])
    assert disk.description == "8.0 TB, HDD, 7200 rpm, ATA, pool tank"
    assert disk.key == "serial:ZL20000000"
    assert disk_items([dict(hdd(0), serial="")], [])[0].key == "name:sda"


def test_disks_are_items_named_by_serial_with_the_kernel_name_as_label():
    items = {i.name: i for i in normalise(snapshot_of()).of_type("inventory_item")}
    disk = items["ZL20000000"]
    assert (disk.device, disk.site, disk.label, disk.role, disk.serial) == ("nas01", "home", "sda", "Disk", "ZL20000000")
    assert disk.part_id and disk.description == "8.0 TB, HDD, 7200 rpm, ATA, pool tank"
    assert disk.custom_fields == {"truenas_pool": "tank"}
    assert disk.key == ("home", "nas01", "ZL20000000")


def test_pools_are_items_carrying_their_own_name_in_the_pool_field():
    items = {i.name: i for i in normalise(snapshot_of()).of_type("inventory_item")}
    tank = items["tank"]
    assert (tank.role, tank.custom_fields, tank.serial) == ("ZFS pool", {"truenas_pool": "tank"}, None)
    assert tank.description == "ONLINE, 43.0 TiB, 42% used, RAIDZ2, 6 disks"


def test_a_replaced_disk_is_a_new_item_under_the_same_kernel_name():
    nas = seeded_nas()
    nas.disks[0]["serial"] = "NEW-SERIAL-1"
    names = {i.name for i in normalise(snapshot_of(nas)).of_type("inventory_item")}
    assert "NEW-SERIAL-1" in names and "ZL20000000" not in names


@pytest.mark.parametrize("value, decimal, text", [(8001563222016, True, "8.0 TB"), (960 * 1024 ** 3, False, "960.0 GiB"),
                                                   (512, False, "512 B"), (None, False, "?")])
def test_human_sizes(value, decimal, text):
    assert human_size(value, decimal=decimal) == text


# ============================================================================ shares


def test_enabled_shares_make_one_service_per_protocol():
    result = normalise(snapshot_of())
    services = {s.name: s for s in result.of_type("service")}
    assert (services["SMB"].protocol, services["SMB"].ports) == ("tcp", [445])
    assert services["SMB"].description == "2 shares: backups, media"  # old-projects is disabled
    assert services["NFS"].ports == [2049]
    assert services["NFS"].parent == "nas01" and services["NFS"].parent_scope == "home"


def test_no_enabled_share_no_service():
    assert share_service([{"name": "x", "enabled": False}], "SMB", 445, "nas01", None) is None
    assert share_service([], "SMB", 445, "nas01", None) is None
    assert share_service(None, "SMB", 445, "nas01", None) is None


def test_many_shares_keep_the_description_within_netbox_limits():
    nas = generated_nas(disks=10, shares=200)
    service = share_service(nas.smb_shares, "SMB", 445, "nas-big", None)
    assert service.description.startswith("100 shares: share0000, share0001")
    assert len(service.description) == 200 and service.description.endswith("…")


# ============================================================================ the whole host


def test_the_nas_as_a_device():
    result = normalise(snapshot_of())
    device = host(result)
    assert (device.name, device.manufacturer, device.model, device.serial) == (
        "nas01", "iXsystems", "TRUENAS-MINI-3.0-XL+", "A1-204117")
    assert device.platform == "TrueNAS SCALE 25.04.2"
    assert (device.site, device.role, device.status, device.cluster) == ("home", "storage", "active", "nas01")
    assert device.primary_ip4 == "192.168.10.20"
    assert device.description == "Intel(R) Atom(TM) CPU C3758 @ 2.20GHz (8 cores); 64 GiB ECC memory"
    assert [i.name for i in device.interfaces] == ["bond0", "br0", "enp1s0", "enp2s0", "vlan20"]
    # 2 VMs (vm.query) and a container (virt.instance.query)
    assert result.counts() == {"device": 1, "cluster": 1, "virtual_machine": 3, "service": 2, "inventory_item": 10}
    assert (len(result.disks), len(result.pools)) == (8, 2)


def test_a_diy_board_falls_back_to_the_configured_type_and_is_marked_defaulted():
    snapshot = snapshot_of()
    snapshot["system"].update(system_manufacturer="To Be Filled By O.E.M.", system_product="To Be Filled By O.E.M.",
                              system_serial="To Be Filled By O.E.M.", version="TrueNAS-SCALE-24.10.2.1")
    device = host(normalise(snapshot))
    assert (device.manufacturer, device.model, device.serial) == ("Generic", "DIY NAS", None)
    assert device.platform == "TrueNAS SCALE 24.10.2.1"
    assert device.provenance["model"].defaulted and device.provenance["model"].location == "config"
    assert not device.provenance["platform"].defaulted


def test_no_vms_no_cluster_and_the_host_in_none():
    result = normalise(snapshot_of(vms=None, instances=None))
    assert result.of_type("cluster") == [] and result.of_type("virtual_machine") == []
    assert host(result).cluster is None


def test_missing_parts_pass_through_as_warnings_and_unknowns():
    snapshot = snapshot_of(disks=None, smb_shares=None, missing=["disks", "smb_shares"],
                           warnings=["truenas nas01 (nas:443): disk.query: this server has no such method"])
    result = normalise(snapshot)
    assert result.missing == ["disks", "smb_shares"] and result.disks == []
    assert [s.name for s in result.of_type("service")] == ["NFS"]
    assert result.unobserved == {"inventory_items", "services"}  # unknown, not gone: the plan does not count them
    assert result.warnings == snapshot["warnings"]
    assert len(result.pools) == 2


def test_raw_records_pair_with_records():
    result = normalise(snapshot_of())
    assert [r["record_type"] for r in result.raw_records] == [
        "device", "cluster", *["virtual_machine"] * 3, "service", "service", *["inventory_item"] * 10]
    assert {r["record_key"] for r in result.raw_records} == {"/".join(r.key) for r in result.records}
    assert result.raw_records[0]["record_key"] == "home/nas01"


# ============================================================================ config


def test_config_url_and_defaults():
    config = TrueNASConfig(name="nas01", host="nas.lan")
    assert config.url == "wss://nas.lan:443/api/current"
    assert TrueNASConfig(name="n", host="::1", port=8443, api_path="/api/v25.04.0/").url == "wss://[::1]:8443/api/v25.04.0"


@pytest.mark.parametrize("path", ["/api/v2.0", "/websocket", "/api", "/api/"])
def test_config_refuses_endpoints_that_are_not_json_rpc(path):
    with pytest.raises(ValidationError, match="api_path"):
        TrueNASConfig(name="nas01", host="nas.lan", api_path=path)


def test_config_rejects_unknown_keys():
    with pytest.raises(ValidationError, match="extra"):
        TrueNASConfig(name="nas01", host="nas.lan", url="https://nas.lan")
