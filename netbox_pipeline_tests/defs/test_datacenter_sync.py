"""The datacenter skeleton end to end: a real Dagster run from an inventory file into the NetBox
stand-in (4.4, 4.6 and 4.7 modes) and the real NetBox 4.7: exact counts and references, a rerun
writes nothing, and a VLAN removed from the file is pruned after the grace runs, once no owned
interface or prefix points at it."""

import pytest

from netbox_pipeline_tests.datacenter_estate import datacenter
from netbox_pipeline_tests.real_netbox import REAL


def ids_by(estate, type_name: str, field: str = "name") -> dict:
    return {o[field]: o for o in estate.objects(type_name)}


@pytest.mark.parametrize("version", ["4.4", "4.6", "4.7", REAL])
def test_datacenter_syncs_exactly_reruns_without_writes_and_prunes_a_removed_vlan(make_estate, version):
    data = datacenter()
    estate = make_estate(version=version, files={"dc": data})
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]

    counts = {name: len(estate.objects(name)) for name in (
        "regions", "site_groups", "tenant_groups", "tenants", "sites", "locations", "racks", "rack_roles",
        "platforms", "vrfs", "vlan_groups", "vlans", "prefixes", "ipam_roles", "devices", "interfaces", "cables")}
    assert counts == {"regions": 3, "site_groups": 2, "tenant_groups": 1, "tenants": 1, "sites": 6, "locations": 2,
                      "racks": 1, "rack_roles": 1, "platforms": 1, "vrfs": 2, "vlan_groups": 2, "vlans": 10,
                      "prefixes": 12, "ipam_roles": 1, "devices": 2, "interfaces": 20, "cables": 10}

    regions, sites = ids_by(estate, "regions"), ids_by(estate, "sites")
    assert regions["Netherlands"]["parent"]["id"] == regions["Europe"]["id"]
    assert sites["FRA1"]["region"]["id"] == regions["Germany"]["id"]
    assert sites["AMS1"]["tenant"]["name"] == "Acme" and sites["AMS1"]["group"]["name"] == "core"
    assert ids_by(estate, "platforms")["EOS"]["manufacturer"]["name"] == "Arista"
    groups = ids_by(estate, "vlan_groups")
    assert (groups["NL VLANs"]["scope_type"], groups["NL VLANs"]["scope_id"]) == ("dcim.region", regions["Netherlands"]["id"])
    vlans = ids_by(estate, "vlans")
    assert vlans["ams-10"]["group"]["id"] == groups["AMS1 VLANs"]["id"] and vlans["ams-10"]["role"]["name"] == "Production"
    prefixes = {(p["vrf"] or {}).get("name", ""): p for p in estate.objects("prefixes") if p["prefix"] == "10.1.0.0/24"}
    assert prefixes["blue"]["vlan"]["id"] == vlans["ams-10"]["id"] and prefixes["blue"]["scope_id"] == sites["AMS1"]["id"]
    rack = ids_by(estate, "racks")["R1"]
    assert rack["location"]["name"] == "Cage 1" and rack["role"]["name"] == "Network"
    switch = ids_by(estate, "devices")["sw-1"]
    assert (switch["rack"]["id"], switch["position"], switch["tenant"]["name"]) == (rack["id"], 39, "Acme")
    port = next(i for i in estate.objects("interfaces") if i["device"]["id"] == switch["id"] and i["name"] == "Ethernet1")
    assert port["mode"]["value"] == "tagged" and port["untagged_vlan"]["id"] == vlans["ams-10"]["id"]
    assert sorted(v["id"] for v in port["tagged_vlans"]) == sorted([vlans["ams-11"]["id"], vlans["ams-12"]["id"]])

    def ends(cable: dict) -> set:
        return {(t["object"]["device"]["name"], t["object"]["name"]) for t in cable["a_terminations"] + cable["b_terminations"]}

    c1 = ids_by(estate, "cables", "label")["C1"]
    assert ends(c1) == {("sw-1", "Ethernet1"), ("sw-2", "Ethernet1")}
    assert (c1["type"], c1["length"], c1["length_unit"]["value"], c1["color"]) == ("dac-passive", 1.5, "m", "0000ff")

    rerun = estate.sync()
    assert rerun.success and estate.writes() == []

    # C1's sw-1 end moves to a new port: the port is created, the cable is one PATCH (same id).
    data["devices"][0]["interfaces"].append({"name": "Ethernet11", "type": "10gbase-x-sfpp", "vlan_group": "AMS1 VLANs"})
    data["cables"][0]["a"]["interface"] = "Ethernet11"
    estate.write_inventory(data, "dc")
    assert estate.sync().success
    assert [w.method for w in estate.writes() if w.path.startswith("/api/dcim/cables/")] == ["PATCH"]
    moved = ids_by(estate, "cables", "label")["C1"]
    assert moved["id"] == c1["id"] and ends(moved) == {("sw-1", "Ethernet11"), ("sw-2", "Ethernet1")}
    assert len(estate.objects("cables")) == 10

    def vlan_12_ids():
        return [v["id"] for v in estate.objects("vlans")
                if v["vid"] == 12 and (v["group"] or {}).get("id") == groups["AMS1 VLANs"]["id"]]

    # VLAN 12 leaves the file but the switch ports (and a prefix) still carry it: they keep it.
    data["vlans"] = [v for v in data["vlans"] if v["name"] != "ams-12"]
    estate.write_inventory(data, "dc")
    for _ in range(3):
        assert estate.sync().success
        assert vlan_12_ids() == [vlans["ams-12"]["id"]]
    # Once nothing owned points at it (the ports drop it, its prefix leaves the file), it is pruned
    # after the grace runs (3), not before: the prefix first, as NetBox protects a prefix's VLAN.
    for device in data["devices"]:
        for interface in device["interfaces"]:
            interface["tagged_vlans"] = [11]
    data["prefixes"] = [p for p in data["prefixes"] if p.get("vlan") != 12]
    estate.write_inventory(data, "dc")
    for _ in range(2):
        assert estate.sync().success
        assert vlan_12_ids() == [vlans["ams-12"]["id"]]
    assert estate.sync().success
    assert vlan_12_ids() == [] and len(estate.objects("vlans")) == 9 and len(estate.objects("prefixes")) == 11
