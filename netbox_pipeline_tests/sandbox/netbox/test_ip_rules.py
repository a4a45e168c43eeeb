"""IPAM rules the stand-in shares with NetBox: IP ranges (family, masks, order, overlap per VRF,
size, display) and one address per VRF. The same requests go to the stand-in (4.4, 4.7) and to the
real NetBox 4.7, so the stand-in's answers are checked against the real ones."""

import pytest

from netbox_pipeline_tests.real_netbox import REAL, serve_netbox
from netbox_pipeline_tests.sandbox.netbox.conftest import Client


@pytest.fixture(params=["4.4", "4.7", REAL])
def netbox(request):
    yield from serve_netbox(request)


def refused(client: Client, path: str, body: dict) -> dict:
    reply = client("POST", path, body)
    assert reply.status_code == 400, reply.text
    return reply.json()


def test_ip_ranges_are_checked_like_netbox(netbox):
    client = Client(netbox)
    blue = client.post("ipam/vrfs/", {"name": "blue"})
    pool = client.post("ipam/ip-ranges/", {"start_address": "192.0.2.100/24", "end_address": "192.0.2.200/24"})
    assert (pool["display"], pool["size"], pool["family"]["value"], pool["status"]["value"]) == (
        "192.0.2.100-200/24", 101, 4, "active")
    assert client.post("ipam/ip-ranges/", {"start_address": "192.0.2.150/24", "end_address": "192.0.2.250/24",
                                           "vrf": blue["id"]})["vrf"]["id"] == blue["id"]  # another VRF

    assert refused(client, "ipam/ip-ranges/", {"start_address": "192.0.2.50/24", "end_address": "192.0.2.100/24"}) == {
        "__all__": ["Defined addresses overlap with range 192.0.2.100-200/24 in VRF None"]}
    assert refused(client, "ipam/ip-ranges/", {"start_address": "192.0.2.1/24", "end_address": "2001:db8::9/64"}) == {
        "end_address": ["Starting and ending IP address versions must match"]}
    assert refused(client, "ipam/ip-ranges/", {"start_address": "192.0.2.1/24", "end_address": "192.0.2.9/25"}) == {
        "end_address": ["Starting and ending IP address masks must match"]}
    backwards = refused(client, "ipam/ip-ranges/", {"start_address": "192.0.2.9/24", "end_address": "192.0.2.1/24"})
    single = client("POST", "ipam/ip-ranges/", {"start_address": "192.0.2.9/24", "end_address": "192.0.2.9/24"})
    if netbox.version.startswith("4.7"):
        assert backwards == {"end_address": [
            "Ending address must be greater than or equal to the starting address (192.0.2.9/24)"]}
        assert (single.status_code, single.json()["display"]) == (201, "192.0.2.9-192.0.2.9/24")
    else:
        assert backwards == {"end_address": ["Ending address must be greater than the starting address (192.0.2.9/24)"]}
        assert single.status_code == 400


def test_an_address_is_unique_per_vrf_that_enforces_it(netbox):
    client = Client(netbox)
    blue = client.post("ipam/vrfs/", {"name": "blue"})
    lab = client.post("ipam/vrfs/", {"name": "lab", "enforce_unique": False})
    client.post("ipam/ip-addresses/", {"address": "192.0.2.10/24"})
    client.post("ipam/ip-addresses/", {"address": "192.0.2.10/24", "vrf": blue["id"]})
    assert refused(client, "ipam/ip-addresses/", {"address": "192.0.2.10/25"}) == {
        "address": ["Duplicate IP address found in global table: 192.0.2.10/24"]}
    assert refused(client, "ipam/ip-addresses/", {"address": "192.0.2.10/24", "vrf": blue["id"]}) == {
        "address": ["Duplicate IP address found in VRF blue: 192.0.2.10/24"]}
    for _ in range(2):
        client.post("ipam/ip-addresses/", {"address": "192.0.2.10/24", "vrf": lab["id"]})
    vrfs = sorted((a["vrf"] or {}).get("name", "") for a in client("GET", "ipam/ip-addresses/").json()["results"])
    assert vrfs == ["", "blue", "lab", "lab"]


def test_a_network_id_or_broadcast_address_cannot_be_assigned_to_an_interface(netbox):
    client = Client(netbox)
    site = client.post("dcim/sites/", {"name": "Site A", "slug": "site-a"})
    vm = client.post("virtualization/virtual-machines/", {"name": "vm-01", "site": site["id"]})
    iface = client.post("virtualization/interfaces/", {"virtual_machine": vm["id"], "name": "eth0"})
    on_iface = {"assigned_object_type": "virtualization.vminterface", "assigned_object_id": iface["id"]}

    assert refused(client, "ipam/ip-addresses/", {"address": "10.1.2.0/24", **on_iface}) == {
        "__all__": ["10.1.2.0 is a network ID, which may not be assigned to an interface."]}
    assert refused(client, "ipam/ip-addresses/", {"address": "10.1.2.255/24", **on_iface}) == {
        "__all__": ["10.1.2.255 is a broadcast address, which may not be assigned to an interface."]}
    assert refused(client, "ipam/ip-addresses/", {"address": "2001:db8::/64", **on_iface}) == {
        "__all__": ["2001:db8:: is a network ID, which may not be assigned to an interface."]}
    # unassigned, or on a point-to-point network, such addresses are fine (IPv6 has no broadcast)
    for address, extra in (("10.1.2.0/24", {}), ("10.9.9.0/31", on_iface), ("10.9.9.1/31", on_iface),
                           ("2001:db8:1::/127", on_iface), ("2001:db8:2:1:ffff:ffff:ffff:ffff/64", on_iface)):
        assert client.post("ipam/ip-addresses/", {"address": address, **extra})["address"] == address
