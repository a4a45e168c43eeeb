"""Addresses in VRFs and IP ranges end to end: the demo estate's devices and its datacenter file
(regions, an out-of-band VRF, VLANs, prefixes, a DHCP range, cables), synced by a real Dagster run
into the stand-in (4.4) and the real NetBox 4.7. One address is in NetBox twice, in the global table
and in the VRF; an interface's addresses go into its VRF; a rerun writes nothing; moving the range's
end is one PATCH of the same range."""

import pytest

from netbox_pipeline.sandbox.demo_estate import demo_datacenter, demo_records
from netbox_pipeline_tests.real_netbox import REAL


def demo_file() -> dict:
    devices, vms, clusters = demo_records(devices=16, vms=2)
    server = next(d for d in devices if d["name"] == "srv-home-01")
    idrac = next(i for i in server["interfaces"] if i["name"] == "idrac")
    idrac["vrf"] = "oob"  # the controller's address is in the out-of-band VRF
    return {"devices": devices, "clusters": clusters, "virtual_machines": vms, **demo_datacenter(devices)}


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_vrf_addresses_ip_range_and_demo_datacenter_sync_and_rerun_without_writes(make_estate, version):
    data = demo_file()
    estate = make_estate(version=version, files={"demo": data})
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]

    counts = {name: len(estate.objects(name)) for name in (
        "regions", "sites", "tenants", "vrfs", "vlan_groups", "vlans", "prefixes", "ip_ranges", "cables", "devices")}
    assert counts == {"regions": 2, "sites": 2, "tenants": 1, "vrfs": 1, "vlan_groups": 2, "vlans": 5, "prefixes": 5,
                      "ip_ranges": 1, "cables": 3, "devices": 16}
    (oob,) = estate.objects("vrfs")
    assert (oob["name"], oob["rd"], oob["tenant"]["name"]) == ("oob", "65000:99", "Home IT")

    interfaces = {i["id"]: (i["device"]["name"], i["name"]) for i in estate.objects("interfaces")}
    addresses = {}
    for address in estate.objects("ip_addresses"):
        vrf = (address["vrf"] or {}).get("name")
        assert (vrf, address["address"]) not in addresses
        addresses[(vrf, address["address"])] = address
    in_table, in_oob = addresses[(None, "192.0.2.50/24")], addresses[("oob", "192.0.2.50/24")]
    assert interfaces[in_table["assigned_object_id"]] == ("sw-home-01", "mgmt0") and in_table["tenant"] is None
    assert (in_oob["assigned_object_id"], in_oob["tenant"]["name"]) == (None, "Home IT")
    idrac = next(a for a in addresses.values() if a["assigned_object_id"]
                 and interfaces[a["assigned_object_id"]] == ("srv-home-01", "idrac"))
    assert idrac["vrf"]["id"] == oob["id"]
    switch = estate.by_name("devices")["sw-home-01"]
    assert switch["primary_ip4"]["id"] == in_table["id"]  # the global one, on its own interface

    (pool,) = estate.objects("ip_ranges")
    assert (pool["start_address"], pool["end_address"], pool["size"], pool["vrf"], pool["role"]["name"],
            pool["status"]["value"]) == ("192.0.2.200/24", "192.0.2.249/24", 50, None, "DHCP", "active")
    prefixes = {((p["vrf"] or {}).get("name"), p["prefix"]) for p in estate.objects("prefixes")}
    assert {(None, "192.0.2.0/24"), ("oob", "192.0.2.0/24")} <= prefixes
    regions = estate.by_name("regions")
    assert regions["Netherlands"]["parent"]["id"] == regions["Europe"]["id"]
    assert {s["region"]["name"] for s in estate.objects("sites")} == {"Netherlands"}

    rerun = estate.sync()
    assert rerun.success and estate.writes() == [], [f"{w.method} {w.path}" for w in estate.writes()]

    # The pool shrinks: NetBox would refuse a second range over the first, so it is the same range, patched.
    data["ip_ranges"][0]["end_address"] = "192.0.2.239/24"
    estate.write_inventory(data, "demo")
    assert estate.sync().success
    assert [(w.method, w.path.split("?")[0]) for w in estate.writes()] == [("PATCH", "/api/ipam/ip-ranges/")]
    (moved,) = estate.objects("ip_ranges")
    assert (moved["id"], moved["end_address"], moved["size"]) == (pool["id"], "192.0.2.239/24", 40)
