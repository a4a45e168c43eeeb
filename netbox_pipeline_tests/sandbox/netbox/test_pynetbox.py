"""pynetbox, unchanged, against the sandbox in both version modes (v2 `nbt_` token for 4.6)."""

import pynetbox
import pytest

from netbox_pipeline.sandbox.netbox import DEFAULT_V1_TOKEN, DEFAULT_V2_TOKEN, NetBoxSandbox

MODES = [("4.4", DEFAULT_V1_TOKEN), ("4.6", DEFAULT_V2_TOKEN)]


@pytest.fixture(params=MODES, ids=["4.4-v1", "4.6-v2"])
def nb(request):
    version, token = request.param
    with NetBoxSandbox(version=version) as sandbox:
        yield pynetbox.api(sandbox.url, token=token), sandbox


def _site_and_type(api):
    maker = api.dcim.manufacturers.create(name="Acme", slug="acme")
    site = api.dcim.sites.create(name="Home", slug="home", status="active")
    role = api.dcim.device_roles.create(name="Server", slug="server", color="ff0000")
    dtype = api.dcim.device_types.create(manufacturer=maker.id, model="X1", slug="x1")
    return maker, site, role, dtype


def test_version_status_and_auth_scheme(nb):
    api, sandbox = nb
    assert api.version == sandbox.version
    assert api.status()["netbox-version"].startswith(sandbox.version)
    assert sandbox.count("GET", "/api/status/") == 1


def test_crud_and_filters(nb):
    api, sandbox = nb
    maker, site, role, dtype = _site_and_type(api)
    device = api.dcim.devices.create(name="srv-1", site=site.id, role=role.id, device_type=dtype.id, serial="S1")
    assert device.id == 1 and device.site.slug == "home" and device.status.value == "active"
    fetched = api.dcim.devices.get(device.id)
    assert fetched.device_type.manufacturer.name == "Acme"
    assert api.dcim.devices.get(name="SRV-1").id == device.id  # device name filter is case-insensitive
    assert api.dcim.manufacturers.get(name="ACME") is None  # manufacturer name is case-sensitive
    assert [d.name for d in api.dcim.devices.filter(site="home")] == ["srv-1"]
    assert list(api.dcim.devices.filter(manufacturer="acme"))[0].name == "srv-1"
    fetched.serial = "S2"
    assert fetched.save() is True
    assert api.dcim.devices.get(device.id).serial == "S2"
    iface = api.dcim.interfaces.create(device=device.id, name="eth0", type="1000base-t")
    ip = api.ipam.ip_addresses.create(address="192.0.2.5/24", assigned_object_type="dcim.interface", assigned_object_id=iface.id)
    assert api.ipam.ip_addresses.get(address="192.0.2.5").id == ip.id
    assert api.ipam.ip_addresses.get(device_id=device.id).id == ip.id
    assert fetched.update({"primary_ip4": ip.id})
    assert api.dcim.devices.get(device.id).primary_ip4.address == "192.0.2.5/24"
    assert api.dcim.devices.get(device.id).delete() is True
    assert api.dcim.devices.get(device.id) is None
    assert api.ipam.ip_addresses.get(ip.id) is None  # the interface's IPs go with the device


def test_pagination_beyond_max_page_size(nb):
    api, sandbox = nb
    made = api.dcim.manufacturers.create([{"name": f"Vendor {i:04d}", "slug": f"vendor-{i:04d}"} for i in range(1203)])
    assert len(made) == 1203
    sandbox.reset_log()
    everything = list(api.dcim.manufacturers.all())
    assert len(everything) == 1203 and len({m.id for m in everything}) == 1203
    assert sandbox.count("GET", "/api/dcim/manufacturers/") == 2  # 1000 + 203
    assert api.dcim.manufacturers.count() == 1203


def test_bulk_create_update_delete_devices(nb):
    api, sandbox = nb
    _maker, site, role, dtype = _site_and_type(api)
    created = api.dcim.devices.create(
        [{"name": f"node-{i}", "site": site.id, "role": role.id, "device_type": dtype.id} for i in range(5)]
    )
    assert [d.name for d in created] == [f"node-{i}" for i in range(5)]
    updated = api.dcim.devices.update([{"id": d.id, "serial": f"SN{d.id}"} for d in created])
    assert sorted(d.serial for d in updated) == sorted(f"SN{d.id}" for d in created)
    assert api.dcim.devices.delete([d.id for d in created[:3]]) is True
    assert sorted(d.name for d in api.dcim.devices.all()) == ["node-3", "node-4"]
    assert sandbox.count("DELETE", "/api/dcim/devices/") == 1


def test_errors_surface_as_request_errors(nb):
    api, _sandbox = nb
    api.dcim.manufacturers.create(name="Acme", slug="acme")
    with pytest.raises(pynetbox.RequestError) as info:
        api.dcim.manufacturers.create(name="Acme", slug="acme")
    assert info.value.error == '{"name":["manufacturer with this name already exists."],"slug":["manufacturer with this slug already exists."]}'


def test_cursor_pagination_on_46():
    with NetBoxSandbox(version="4.6") as sandbox:
        api = pynetbox.api(sandbox.url, token=DEFAULT_V2_TOKEN, pagination="cursor")
        api.dcim.manufacturers.create([{"name": f"V{i:04d}", "slug": f"v{i:04d}"} for i in range(1001)])
        sandbox.reset_log()
        names = [m.name for m in api.dcim.manufacturers.all()]
        assert len(names) == 1001
        queries = [e.query for e in sandbox.request_log if e.path == "/api/dcim/manufacturers/"]
        assert any("start=0" in q for q in queries) and any("start=1001" in q for q in queries)
