"""List filters: exact / OR / case rules, lookups, related objects, tags, custom fields, unknown parameters."""

from netbox_pipeline.sandbox.netbox.filters import natural_key
from netbox_pipeline_tests.sandbox.netbox.conftest import build_device


def _names(client, query):
    reply = client("GET", query)
    assert reply.status_code == 200, reply.text
    return [o.get("name") or o.get("address") for o in reply.json()["results"]]


def test_name_filters_case_rules(client):
    for name in ("leaf-01", "leaf-02", "spine-01"):
        build_device(client, name)
    assert _names(client, "dcim/devices/?name=LEAF-01") == ["leaf-01"]  # devices: iexact
    assert _names(client, "dcim/devices/?name=leaf-01&name=spine-01") == ["leaf-01", "spine-01"]  # repeated = OR
    assert _names(client, "dcim/devices/?name__ie=SPINE-01") == ["spine-01"]
    assert _names(client, "dcim/devices/?name__ic=LEAF") == ["leaf-01", "leaf-02"]
    assert _names(client, "dcim/devices/?name__n=leaf-01") == ["leaf-02", "spine-01"]
    assert _names(client, "dcim/manufacturers/?name=ACME") == []  # manufacturers: case-sensitive
    assert _names(client, "dcim/manufacturers/?slug=acme") == ["Acme"]
    assert _names(client, "dcim/devices/?id=1&id=3") == ["leaf-01", "spine-01"]
    assert len(_names(client, "dcim/devices/?no_such_filter=1")) == 3  # unknown parameters are ignored


def test_related_filters_by_slug_and_id(client):
    device = build_device(client)
    iface = client.post("dcim/interfaces/", {"device": device["id"], "name": "eth0", "type": "1000base-t"})
    client.post("ipam/ip-addresses/", {"address": "192.0.2.10/24", "assigned_object_type": "dcim.interface",
                                       "assigned_object_id": iface["id"]})
    assert _names(client, "dcim/devices/?site=site-a") == ["leaf-01"]
    assert _names(client, f"dcim/devices/?site_id={device['site']['id']}") == ["leaf-01"]
    assert _names(client, "dcim/devices/?manufacturer=acme") == ["leaf-01"]
    assert _names(client, "dcim/interfaces/?device=leaf-01") == ["eth0"]
    assert _names(client, f"dcim/interfaces/?device_id={device['id']}") == ["eth0"]
    assert _names(client, "ipam/ip-addresses/?address=192.0.2.10") == ["192.0.2.10/24"]
    assert _names(client, "ipam/ip-addresses/?address=192.0.2.10/24") == ["192.0.2.10/24"]
    assert _names(client, f"ipam/ip-addresses/?interface_id={iface['id']}") == ["192.0.2.10/24"]
    assert _names(client, "ipam/ip-addresses/?device=leaf-01") == ["192.0.2.10/24"]
    reply = client("GET", "dcim/devices/?site=no-such-site")
    assert (reply.status_code, reply.json()) == (
        400, {"site": ["Select a valid choice. no-such-site is not one of the available choices."]})


def test_tag_and_custom_field_filters(client):
    client.post("extras/tags/", {"name": "a", "slug": "a"})
    client.post("extras/tags/", {"name": "b", "slug": "b"})
    client.post("extras/custom-fields/", {"name": "team", "type": "text", "object_types": ["dcim.device"]})
    build_device(client, "one", tags=[{"slug": "a"}], custom_fields={"team": "net"})
    build_device(client, "two", tags=[{"slug": "a"}, {"slug": "b"}])
    assert _names(client, "dcim/devices/?tag=a") == ["one", "two"]
    assert _names(client, "dcim/devices/?tag=a&tag=b") == ["two"]  # repeated tag = AND
    assert _names(client, "dcim/devices/?cf_team=net") == ["one"]


def test_natural_ordering():
    names = ["eth10", "eth2", None, "eth1"]
    assert sorted(names, key=natural_key) == ["eth1", "eth2", "eth10", None]
