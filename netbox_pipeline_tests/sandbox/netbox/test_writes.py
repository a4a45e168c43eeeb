"""Write validation: uniqueness, required fields, choices, references, bulk all-or-nothing, model rules, custom fields."""

import pytest

from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline_tests.sandbox.netbox.conftest import Client, build_device


def test_manufacturer_name_and_slug_unique(client):
    client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
    both = client("POST", "dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
    assert both.json() == {"name": ["manufacturer with this name already exists."],
                           "slug": ["manufacturer with this slug already exists."]}
    slug = client("POST", "dcim/manufacturers/", {"name": "Acme 2", "slug": "acme"})
    assert (slug.status_code, slug.json()) == (400, {"slug": ["manufacturer with this slug already exists."]})


def test_device_name_unique_per_site_case_insensitive_and_null_names_allowed(client):
    device = build_device(client, "leaf-01")
    dup = {k: device[k]["id"] for k in ("site", "role", "device_type")}
    reply = client("POST", "dcim/devices/", {"name": "LEAF-01", **dup})
    assert reply.json() == {"__all__": ["Device name must be unique per site."]}
    first = client.post("dcim/devices/", {"name": None, **dup})
    second = client.post("dcim/devices/", {"name": None, **dup})
    assert first["display"] == f"Acme AX ({first['id']})" and second["id"] == first["id"] + 1


def test_interface_name_unique_per_device(client):
    device = build_device(client)
    client.post("dcim/interfaces/", {"device": device["id"], "name": "eth0", "type": "1000base-t"})
    reply = client("POST", "dcim/interfaces/", {"device": device["id"], "name": "eth0", "type": "1000base-t"})
    assert reply.json() == {"non_field_errors": ["The fields device, name must make a unique set."]}


def test_required_fields_choices_and_references(client):
    build_device(client)
    assert client("POST", "dcim/devices/", {"name": "x"}).json() == {
        "device_type": ["This field is required."], "role": ["This field is required."], "site": ["This field is required."]}
    bad = client("POST", "dcim/devices/", {"name": "x", "device_type": 1, "role": 1, "site": 1, "status": "bogus"})
    assert bad.json() == {"status": ["bogus is not a valid choice."]}
    by_slug = client.post("dcim/devices/", {"name": "y", "device_type": {"slug": "ax"}, "role": {"slug": "leaf"}, "site": {"name": "Site A"}})
    assert by_slug["site"]["slug"] == "site-a" and by_slug["device_type"]["manufacturer"]["name"] == "Acme"
    missing = client("POST", "dcim/devices/", {"name": "z", "device_type": {"slug": "nope"}, "role": 1, "site": 999})
    assert missing.json() == {"device_type": ["Related object not found using the provided attributes: {'slug': 'nope'}"],
                              "site": ["Related object not found using the provided numeric ID: 999"]}
    put = client("PUT", f"dcim/devices/{by_slug['id']}/", {"serial": "only"})
    assert set(put.json()) == {"device_type", "role", "site"}


def test_bulk_create_is_all_or_nothing_with_aligned_errors(client, sandbox):
    client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
    reply = client("POST", "dcim/manufacturers/", [
        {"name": "A", "slug": "a"}, {"name": "B", "slug": "acme"}, {"name": "C", "slug": "c"}])
    assert (reply.status_code, reply.json()) == (400, [{}, {"slug": ["manufacturer with this slug already exists."]}, {}])
    assert [m["name"] for m in sandbox.objects("dcim/manufacturers")] == ["Acme"]


def test_bulk_update_and_delete_responses(client, sandbox):
    client.post("dcim/manufacturers/", [{"name": f"M{i}", "slug": f"m{i}"} for i in range(3)])
    assert client("PATCH", "dcim/manufacturers/", [{"description": "no id"}]).json() == [{"id": ["This field is required."]}]
    assert client("PATCH", "dcim/manufacturers/", [{"id": 999, "description": "x"}]).json() == []
    updated = client("PATCH", "dcim/manufacturers/", [{"id": 2, "description": "two"}, {"id": 1, "description": "one"}])
    assert [(m["id"], m["description"]) for m in updated.json()] == [(1, "one"), (2, "two")]
    assert client("DELETE", "dcim/manufacturers/", [{"id": 999}]).status_code == 204
    gone = client("DELETE", "dcim/manufacturers/", [{"id": 1}, {"id": 2}])
    assert (gone.status_code, gone.content) == (204, b"")
    assert [m["id"] for m in sandbox.objects("dcim/manufacturers")] == [3]


def test_platform_must_match_device_type_manufacturer(client):
    device = build_device(client)
    other = client.post("dcim/manufacturers/", {"name": "Other", "slug": "other"})
    platform = client.post("dcim/platforms/", {"name": "OtherOS", "slug": "otheros", "manufacturer": other["id"]})
    reply = client("PATCH", f"dcim/devices/{device['id']}/", {"platform": platform["id"]})
    assert reply.json() == {"platform": [
        "The assigned platform is limited to Other device types, but this device's type belongs to Acme."]}


def test_primary_ip4_must_be_on_the_devices_own_interface(client):
    one, two = build_device(client, "one"), build_device(client, "two")
    iface = client.post("dcim/interfaces/", {"device": one["id"], "name": "eth0", "type": "1000base-t"})
    ip = client.post("ipam/ip-addresses/", {"address": "192.0.2.1/24", "assigned_object_type": "dcim.interface",
                                            "assigned_object_id": iface["id"]})
    wrong = client("PATCH", f"dcim/devices/{two['id']}/", {"primary_ip4": ip["id"]})
    assert wrong.json() == {"primary_ip4": ["The specified IP address (192.0.2.1/24) is not assigned to this device."]}
    right = client("PATCH", f"dcim/devices/{one['id']}/", {"primary_ip4": ip["id"]}).json()
    assert right["primary_ip4"]["address"] == right["primary_ip"]["address"] == "192.0.2.1/24"


def test_interface_primary_mac_sets_mac_address(client):
    device = build_device(client)
    iface = client.post("dcim/interfaces/", {"device": device["id"], "name": "eth0", "type": "1000base-t"})
    mac = client.post("dcim/mac-addresses/", {"mac_address": "00:11:22:aa:bb:cc", "assigned_object_type": "dcim.interface",
                                              "assigned_object_id": iface["id"]})
    assert mac["mac_address"] == "00:11:22:AA:BB:CC"
    patched = client("PATCH", f"dcim/interfaces/{iface['id']}/", {"primary_mac_address": mac["id"]}).json()
    assert patched["mac_address"] == "00:11:22:AA:BB:CC" and len(patched["mac_addresses"]) == 1


def test_vm_gets_site_from_cluster_and_vcpus_is_float(client):
    site = client.post("dcim/sites/", {"name": "S", "slug": "s"})
    ctype = client.post("virtualization/cluster-types/", {"name": "PVE", "slug": "pve"})
    cluster = client.post("virtualization/clusters/", {"name": "c1", "type": ctype["id"], "scope_type": "dcim.site",
                                                       "scope_id": site["id"]})
    assert cluster["scope"]["slug"] == "s"
    vm = client.post("virtualization/virtual-machines/", {"name": "vm1", "cluster": cluster["id"], "vcpus": 2})
    assert vm["site"]["id"] == site["id"] and vm["vcpus"] == 2.0 and isinstance(vm["vcpus"], float)
    dup = client("POST", "virtualization/virtual-machines/", {"name": "VM1", "cluster": cluster["id"]})
    assert dup.json() == {"__all__": ["Virtual machine name must be unique per cluster."]}


def test_tags_by_name_or_slug_render_nested(client):
    client.post("extras/tags/", {"name": "Discovered", "slug": "discovered"})
    device = build_device(client, tags=[{"name": "Discovered"}])
    assert [t["slug"] for t in device["tags"]] == ["discovered"]
    assert set(device["tags"][0]) == {"id", "url", "display_url", "display", "name", "slug", "color"}


@pytest.mark.parametrize(
    ("cf_type", "good", "bad", "message"),
    [
        ("integer", 5, "five", "Value must be an integer."),
        ("boolean", True, "yes", "Value must be true or false."),
        ("text", "team", 5, "Value must be a string."),
        ("date", "2026-01-31", "31/01/2026", "Date values must be in ISO 8601 format (YYYY-MM-DD)."),
    ],
)
def test_custom_fields_are_typed_and_rendered_as_null_when_unset(client, cf_type, good, bad, message):
    before = build_device(client, "before")
    client.post("extras/custom-fields/", {"name": "owner_cf", "type": cf_type, "object_types": ["dcim.device"]})
    assert client("GET", f"dcim/devices/{before['id']}/").json()["custom_fields"] == {"owner_cf": None}
    ok = build_device(client, "ok", custom_fields={"owner_cf": good})
    assert ok["custom_fields"] == {"owner_cf": good}
    reply = client("POST", "dcim/devices/", {"name": "bad", "site": 1, "role": 1, "device_type": 1, "custom_fields": {"owner_cf": bad}})
    assert reply.json() == {"custom_fields": [f"Invalid value for custom field 'owner_cf': {message}"]}
    assert client("GET", "dcim/devices/?cf_owner_cf=" + str(good).lower()).json()["count"] == 1


def test_unknown_custom_field_key_per_version():
    for version, status in (("4.4", 201), ("4.6", 400)):
        with NetBoxSandbox(version=version) as sb:
            client = Client(sb)
            build_device(client)
            reply = client("POST", "dcim/devices/", {"name": "x", "site": 1, "role": 1, "device_type": 1,
                                                     "custom_fields": {"nope": "x"}})
            assert reply.status_code == status
            if status == 400:
                assert reply.json() == {"custom_fields": {"nope": "Custom field 'nope' does not exist for this object type."}}


def test_delete_protects_and_cascades(client, sandbox):
    device = build_device(client)
    iface = client.post("dcim/interfaces/", {"device": device["id"], "name": "eth0", "type": "1000base-t"})
    client.post("ipam/ip-addresses/", {"address": "192.0.2.9/24", "assigned_object_type": "dcim.interface",
                                       "assigned_object_id": iface["id"]})
    blocked = client("DELETE", f"dcim/sites/{device['site']['id']}/")
    assert blocked.status_code == 409 and "1 dependent objects were found: leaf-01" in blocked.json()["detail"]
    assert client("DELETE", f"dcim/devices/{device['id']}/").status_code == 204
    assert sandbox.objects("dcim/interfaces") == [] and sandbox.objects("ipam/ip-addresses") == []
