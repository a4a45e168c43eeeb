import json

import pytest

from netbox_pipeline.netbox.schema import (
    read_fields,
    read_params,
    OWNER_TAG,
    TYPES,
    UNRESOLVED,
    LiveObject,
    NetBoxType,
    UnresolvedReference,
    build_live,
    from_live,
    get_type,
    key_from_fields,
    live_index,
    normalise_field,
    second_pass_fields,
    split_second_pass,
    to_payload,
    type_for_content_type,
    values_equal,
)
from netbox_pipeline_tests.conftest import NETBOX_REFERENCE_DIR, require_real

VERSIONS = {"4.4": NETBOX_REFERENCE_DIR / "examples", "4.6": NETBOX_REFERENCE_DIR / "v4.6" / "examples"}
# ids of the recording run -> natural keys
KEYS = {
    ("sites", 1): ("site-alpha",), ("device_roles", 1): ("leaf-switch",),
    ("device_types", 1): ("acme-networks", "ax-1000"), ("platforms", 1): ("acmeos",),
    ("manufacturers", 2): ("acme-networks",), ("devices", 1): ("site-alpha", "leaf-01"),
    ("interfaces", 1): ("site-alpha", "leaf-01", "eth0"), ("cluster_types", 1): ("vmware-vsphere",),
    ("clusters", 1): ("Cluster-01",), ("virtual_machines", 1): ("Cluster-01", "vm-01"),
}


def key_of(type_name, object_id):
    return KEYS.get((type_name, object_id))


def recorded(version: str, name: str) -> dict:
    folder = VERSIONS[version]
    require_real(folder.is_dir(), f"NetBox {version} recordings in {folder}")
    return json.loads(next(folder.glob(f"{name}_*.json")).read_text())["response_body"]


# ------------------------------------------------------------------------------ the table


def test_registry_is_in_dependency_order():
    assert list(TYPES) == [
        "tags", "manufacturers", "tenant_groups", "tenants", "regions", "site_groups", "sites", "locations",
        "rack_roles", "racks", "device_roles", "device_types", "platforms", "ipam_roles", "vrfs", "vlan_groups",
        "vlans", "prefixes", "ip_ranges",
        "cluster_types", "clusters", "devices", "interfaces", "inventory_item_roles", "inventory_items",
        "virtual_machines", "vm_interfaces",
        "virtual_disks", "mac_addresses", "ip_addresses", "services", "cables",
    ]
    seen: set[str] = set()
    for name, t in TYPES.items():
        assert t.dependencies() <= seen, name  # every first-pass reference points backwards
        seen.add(name)


def test_second_pass_fields_are_declared():
    assert second_pass_fields("devices") == ("primary_ip4",)
    assert second_pass_fields("virtual_machines") == ("primary_ip4",)
    assert second_pass_fields("interfaces") == ("primary_mac_address", "lag", "parent", "bridge")
    assert split_second_pass("devices", {"name": "a", "primary_ip4": ("1.2.3.4",)}) == (
        {"name": "a"}, {"primary_ip4": ("1.2.3.4",)})


def test_only_declared_skeleton_types_are_both_reference_and_prunable_and_statuses_are_declared():
    # Reference and prunable: used when a person made it, pruned (after the grace runs) only when ours.
    assert {t.name for t in TYPES.values() if t.reference and t.prunable} == {
        "tenant_groups", "tenants", "regions", "site_groups", "racks", "vrfs", "vlan_groups", "vlans"}
    for t in TYPES.values():
        if t.offline_status:
            assert "status" in t.managed and "status" in t.choices
    assert {t.name for t in TYPES.values() if t.prunable} == {
        "devices", "interfaces", "inventory_items", "virtual_machines", "vm_interfaces", "virtual_disks",
        "mac_addresses", "ip_addresses", "services", "tenant_groups", "tenants", "regions", "site_groups",
        "racks", "vrfs", "vlan_groups", "vlans", "prefixes", "ip_ranges", "cables"}


def test_lookup_helpers():
    assert get_type("devices").endpoint == "dcim/devices"
    assert type_for_content_type("virtualization.vminterface").name == "vm_interfaces"
    assert type_for_content_type("dcim.cable").name == "cables"
    assert type_for_content_type("dcim.powerfeed") is None
    with pytest.raises(KeyError, match="unknown NetBox type 'power_feeds'"):
        get_type("power_feeds")
    assert read_fields("ip_addresses") == ("id", "tags", "vrf", "address", "tenant", "status", "dns_name",
                                           "description", "assigned_object_type", "assigned_object_id")
    assert read_fields("ip_ranges") == ("id", "tags", "vrf", "start_address", "end_address", "status", "tenant",
                                        "role", "description")
    assert read_params("devices")["fields"].split(",")[:3] == ["id", "tags", "site"]


def test_a_new_type_is_one_declaration():
    wlans = NetBoxType(name="wireless_lans", endpoint="wireless/wireless-lans",
                       content_type="wireless.wirelesslan", natural_key=("ssid",),
                       managed=("ssid", "status", "tags"), choices=("status",), prunable=True)
    live = from_live(wlans, {"id": 9, "ssid": "home", "status": {"value": "active", "label": "Active"},
                             "tags": [{"slug": OWNER_TAG}]}, key_of)
    assert (live.key, live.fields["status"], live.owned) == (("home",), "active", True)
    assert to_payload(wlans, {"ssid": "home", "tags": ("a",)}, lambda t, k: None) == {
        "ssid": "home", "tags": [{"slug": "a"}]}


# ------------------------------------------------------------------------------ from_live


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_device_from_recording(version):
    live = from_live("devices", recorded(version, "06"), key_of)
    assert live.key == ("site-alpha", "leaf-01")
    assert live.fields["site"] == ("site-alpha",)
    assert live.fields["device_type"] == ("acme-networks", "ax-1000")
    assert live.fields["status"] == "active"
    assert live.fields["asset_tag"] is None and live.fields["description"] is None
    assert live.fields["primary_ip4"] is None
    assert live.owned is False and live.tags == frozenset()


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_device_primary_ip_waits_for_the_addresses_its_vrf_is_on(version):
    # NetBox's nested address has no VRF, which is part of the address's key: alone, the device
    # cannot say which address it means; build_live resolves it by id (below).
    live = from_live("devices", recorded(version, "18"), key_of)
    assert live.fields["primary_ip4"] == (UNRESOLVED, recorded(version, "18")["primary_ip4"]["id"])


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_ip_address_with_generic_assignment(version):
    live = from_live("ip_addresses", recorded(version, "08"), key_of)
    assert live.key == ("", "192.0.2.10") and live.fields["vrf"] is None
    assert live.fields["address"] == "192.0.2.10/24"
    assert live.fields["assigned_object"] == ("interfaces", ("site-alpha", "leaf-01", "eth0"))
    assert live.fields["dns_name"] == "leaf-01.example.com"


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_cluster_scope_and_vm_numbers(version):
    cluster = from_live("clusters", recorded(version, "11"), key_of)
    assert cluster.fields["scope"] == ("sites", ("site-alpha",))
    assert cluster.fields["type"] == ("vmware-vsphere",)
    vm = from_live("virtual_machines", recorded(version, "12"), key_of)
    assert vm.key == ("Cluster-01", "vm-01")
    assert vm.fields["vcpus"] == 2 and isinstance(vm.fields["vcpus"], int)
    assert (vm.fields["memory"], vm.fields["disk"]) == (4096, 51200)


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_mac_address_and_interface_primary_mac(version):
    mac = from_live("mac_addresses", recorded(version, "19"), key_of)
    assert mac.key == ("interfaces", "site-alpha", "leaf-01", "eth0", "00:11:22:33:44:55")
    interface = from_live("interfaces", recorded(version, "20"), key_of)
    assert interface.key == ("site-alpha", "leaf-01", "eth0")
    assert interface.fields["primary_mac_address"] == mac.key
    assert interface.fields["type"] == "1000base-t"


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_tags_and_custom_fields_from_recording(version):
    live = from_live("devices", recorded(version, "16"), key_of)
    assert live.tags == frozenset({"discovered"})
    assert live.fields["tags"] == ("discovered",)
    assert live.fields["custom_fields"] == {"asset_owner": "team-net"}


def test_unknown_reference_id_never_matches_a_key():
    obj = recorded("4.4", "06")
    live = from_live("devices", obj, lambda t, i: None)
    assert live.fields["site"] == (UNRESOLVED, 1)


def test_owned_by_owner_tag():
    obj = dict(recorded("4.4", "01"), tags=[{"id": 3, "slug": OWNER_TAG, "name": OWNER_TAG}])
    assert from_live("manufacturers", obj, key_of).owned
    assert not from_live("manufacturers", obj, key_of, owner_tag="other").owned


def test_tags_are_never_owned_by_tag():
    live = from_live("tags", recorded("4.4", "14"), key_of)
    assert (live.key, live.owned) == (("discovered",), False)


# ------------------------------------------------------------------------------ build_live


def test_build_live_resolves_references_in_one_ordered_pass():
    snapshot = {name: [recorded("4.4", number)] for name, number in [
        ("manufacturers", "01"), ("sites", "02"), ("device_roles", "03"), ("device_types", "04"),
        ("platforms", "05"), ("devices", "18"), ("interfaces", "20"), ("mac_addresses", "19"),
        ("ip_addresses", "08"), ("cluster_types", "10"), ("clusters", "11"),
        ("virtual_machines", "12"), ("vm_interfaces", "13"), ("tags", "14")]}
    state = build_live(snapshot)
    device = state.objects["devices"][("site-alpha", "leaf-01")]
    assert device.fields["device_type"] == ("acme-networks", "ax-1000")
    assert state.objects["vm_interfaces"][("Cluster-01", "vm-01", "eth0")].id == 1
    assert state.index.resolve_id("ip_addresses", ("", "192.0.2.10")) == 1
    assert device.fields["primary_ip4"] == ("", "192.0.2.10")  # by id, once the addresses are read
    assert state.index.key_of("devices", 1) == ("site-alpha", "leaf-01")
    assert state.duplicates == []


def test_build_live_reports_duplicate_keys_and_keeps_the_lowest_id():
    first = recorded("4.4", "08")
    second = dict(first, id=7, address="192.0.2.10/32", assigned_object_type=None, assigned_object_id=None)
    state = build_live({"ip_addresses": [second, first]})
    assert state.objects["ip_addresses"][("", "192.0.2.10")].id == 1
    assert [d.id for d in state.duplicates] == [7]


def test_live_index():
    objects = [LiveObject("sites", 4, ("home",), {}, frozenset(), False)]
    index = live_index(objects)
    assert index.resolve_id("sites", ["home"]) == 4 and index.key_of("sites", 4) == ("home",)
    assert index.resolve_id("sites", ("lab",)) is None


# ------------------------------------------------------------------------------ to_payload


IDS = {("sites", ("home",)): 1, ("device_roles", ("server",)): 2,
       ("device_types", ("acme", "ax-1")): 3, ("interfaces", ("home", "a", "eth0")): 10,
       ("devices", ("home", "a")): 5, ("ip_addresses", ("", "192.0.2.1")): 20,
       ("sites", ("lab",)): 6, ("cluster_types", ("pve",)): 7}


def resolve(type_name, key):
    return IDS.get((type_name, tuple(key)))


def test_payload_turns_references_into_ids():
    fields = {"name": "a", "site": ("home",), "role": ["server"], "device_type": ("acme", "ax-1"),
              "status": "active", "tags": ("netbox-pipeline", "source-filesystem"),
              "custom_fields": {"owner": "x"}, "platform": None, "primary_ip4": ("", "192.0.2.1")}
    assert to_payload("devices", fields, resolve) == {
        "name": "a", "site": 1, "role": 2, "device_type": 3, "status": "active",
        "tags": [{"slug": "netbox-pipeline"}, {"slug": "source-filesystem"}],
        "custom_fields": {"owner": "x"}, "platform": None, "primary_ip4": 20}


def test_payload_generic_references():
    ip = to_payload("ip_addresses", {"address": "192.0.2.1",
                                     "assigned_object": ("interfaces", ("home", "a", "eth0"))}, resolve)
    assert ip == {"address": "192.0.2.1/32", "assigned_object_type": "dcim.interface",
                  "assigned_object_id": 10}
    cluster = to_payload("clusters", {"name": "c", "type": ("pve",), "scope": ("sites", ("lab",))}, resolve)
    assert cluster == {"name": "c", "type": 7, "scope_type": "dcim.site", "scope_id": 6}
    service = to_payload("services", {"parent": ["devices", ["home", "a"]], "protocol": "tcp",
                                      "ports": (443, 22)}, resolve)
    assert service == {"parent_object_type": "dcim.device", "parent_object_id": 5,
                       "protocol": "tcp", "ports": [22, 443]}
    assert to_payload("ip_addresses", {"assigned_object": None}, resolve) == {
        "assigned_object_type": None, "assigned_object_id": None}


def test_payload_with_unknown_reference_raises():
    with pytest.raises(UnresolvedReference, match=r"devices.site: no sites with key \('nowhere',\)"):
        to_payload("devices", {"site": ("nowhere",)}, resolve)


# ------------------------------------------------------------------------------ comparison


@pytest.mark.parametrize(("type_name", "field", "desired", "live", "equal"), [
    ("devices", "tags", ("a",), ("a", "b"), True),
    ("devices", "tags", ("a", "c"), ("a", "b"), False),
    ("devices", "custom_fields", {"a": 1}, {"a": 1.0, "other": "x"}, True),
    ("devices", "custom_fields", {"a": 1}, {"a": 2}, False),
    ("devices", "status", "active", {"value": "active", "label": "Active"}, True),
    ("devices", "description", None, "", True),
    ("devices", "site", ["home"], ("home",), True),
    ("virtual_machines", "vcpus", 2, 2.0, True),
    ("ip_addresses", "address", "192.0.2.1", "192.0.2.1/24", True),
    ("ip_addresses", "address", "192.0.2.1/32", "192.0.2.1/24", False),
    ("mac_addresses", "mac_address", "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", True),
    ("services", "ports", [80, 22], [22, 80], True),
    ("ip_addresses", "assigned_object", ["interfaces", ["a", "b"]], ("interfaces", ("a", "b")), True),
])
def test_values_equal(type_name, field, desired, live, equal):
    assert values_equal(type_name, field, desired, live) is equal


def test_normalise_field_is_idempotent_across_kinds():
    cases = [("devices", "site", ["home"]), ("ip_addresses", "address", "2001:DB8::1/64"),
             ("mac_addresses", "mac_address", "aa-bb-cc-dd-ee-ff"), ("services", "ports", [443, 22]),
             ("devices", "tags", [{"slug": "x"}, "Y"]), ("devices", "custom_fields", {"a": ""}),
             ("ip_addresses", "assigned_object", ["interfaces", ["a"]]),
             ("virtual_machines", "vcpus", 4.0)]
    for type_name, field, value in cases:
        once = normalise_field(type_name, field, value)
        assert normalise_field(type_name, field, once) == once


def test_key_from_fields_flattens_and_folds():
    assert key_from_fields("devices", {"site": ("home",), "name": "SW-01"}) == ("home", "sw-01")
    assert key_from_fields("interfaces", {"device": ("home", "sw-01"), "name": "Eth0"}) == ("home", "sw-01", "Eth0")
    assert key_from_fields("virtual_machines", {"cluster": None, "name": "A"}) == ("", "a")
    assert key_from_fields("ip_addresses", {"address": "192.0.2.1/24"}) == ("", "192.0.2.1")
    assert key_from_fields("ip_addresses", {"vrf": ("blue",), "address": "192.0.2.1/24"}) == ("blue", "192.0.2.1")
    assert key_from_fields("ip_ranges", {"vrf": ("blue",), "start_address": "192.0.2.10/24",
                                         "end_address": "192.0.2.20/24"}) == ("blue", "192.0.2.10", "192.0.2.20")
    assert key_from_fields("mac_addresses", {"assigned_object": ("interfaces", ("h", "d", "e")),
                                             "mac_address": "aa:bb:cc:dd:ee:ff"}) == (
        "interfaces", "h", "d", "e", "AA:BB:CC:DD:EE:FF")
