"""A small multi-site datacenter as an inventory file: 6 sites in 3 regions, 2 VRFs, 2 VLAN
groups, 10 VLANs, 12 prefixes, racks, tenants and switches whose ports carry the VLANs, and 10
cables joining their 20 ports pairwise (sw-1 EthernetN - sw-2 EthernetN)."""

REGIONS = [{"name": "Europe"}, {"name": "Netherlands", "parent": "Europe"}, {"name": "Germany", "parent": "Europe"}]
SITES = [
    ("AMS1", "Netherlands"), ("AMS2", "Netherlands"), ("RTM1", "Netherlands"),
    ("FRA1", "Germany"), ("FRA2", "Germany"), ("BER1", "Europe"),
]


def datacenter() -> dict:
    sites = [{"name": name, "region": region, "group": "core" if index < 3 else "edge", "tenant": "Acme",
              "status": "active", "facility": f"DC {name}", "time_zone": "Europe/Amsterdam",
              "latitude": 52.3 + index, "longitude": 4.9}
             for index, (name, region) in enumerate(SITES)]
    vlans = [{"vid": 10 + i, "name": f"ams-{10 + i}", "group": "AMS1 VLANs", "status": "active", "role": "Production"}
             for i in range(5)]
    vlans += [{"vid": 10 + i, "name": f"nl-{10 + i}", "group": "NL VLANs"} for i in range(5)]
    prefixes = [{"prefix": f"10.1.{i}.0/24", "vrf": "blue", "site": "AMS1", "vlan": 10 + i, "vlan_group": "AMS1 VLANs",
                 "status": "active", "role": "Production", "tenant": "Acme"} for i in range(5)]
    prefixes += [{"prefix": f"10.2.{i}.0/24", "vrf": "red", "region": "Netherlands"} for i in range(5)]
    prefixes += [{"prefix": "10.0.0.0/8", "vrf": "blue", "status": "container", "is_pool": False},
                 {"prefix": "192.0.2.0/24", "location": "Hall A", "site": "AMS1", "mark_utilized": True}]
    switches = [
        {"name": f"sw-{n}", "site": "AMS1", "role": "Switch", "manufacturer": "Arista", "model": "7050",
         "platform": "EOS", "rack": "R1", "position": 40 - n, "face": "front", "tenant": "Acme",
         "interfaces": [
             {"name": f"Ethernet{p}", "type": "10gbase-x-sfpp", "mode": "tagged", "untagged_vlan": 10,
              "tagged_vlans": [11, 12], "vlan_group": "AMS1 VLANs"} for p in range(1, 11)]}
        for n in (1, 2)]
    return {
        "regions": REGIONS,
        "site_groups": [{"name": "core"}, {"name": "edge"}],
        "tenant_groups": [{"name": "Customers"}],
        "tenants": [{"name": "Acme", "group": "Customers"}],
        "sites": sites,
        "locations": [{"name": "Hall A", "site": "AMS1"}, {"name": "Cage 1", "site": "AMS1", "parent": "Hall A"}],
        "racks": [{"name": "R1", "site": "AMS1", "location": "Cage 1", "role": "Network", "u_height": 42,
                   "tenant": "Acme", "status": "active", "serial": "RK-1", "asset_tag": "AT-R1"}],
        "platforms": [{"name": "EOS", "manufacturer": "Arista"}],
        "vrfs": [{"name": "blue", "rd": "65000:1", "enforce_unique": True}, {"name": "red", "rd": "65000:2"}],
        "vlan_groups": [{"name": "AMS1 VLANs", "site": "AMS1"}, {"name": "NL VLANs", "region": "Netherlands"}],
        "vlans": vlans,
        "prefixes": prefixes,
        "devices": switches,
        "cables": [{"a": {"device": "sw-1", "interface": f"Ethernet{p}"}, "b": {"device": "sw-2", "interface": f"Ethernet{p}"},
                    "type": "dac-passive", "status": "connected", "label": f"C{p}", "color": "0000ff",
                    "length": 1.5, "length_unit": "m"} for p in range(1, 11)],
    }
