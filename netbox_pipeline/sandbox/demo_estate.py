"""Deterministic inventory files for the demo estate and the benchmark.

Addresses come from the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)
and, for the benchmark's thousands of hosts, the benchmarking range 198.18.0.0/15. MACs are
locally administered (`02:...`). The same seed always gives the same files, byte for byte.
"""

import csv
import io
import ipaddress
import json
import random
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SITE_NETWORKS = ("192.0.2.0/24", "198.51.100.0/24")
VM_NETWORK = "203.0.113.0/24"
FIRST_HOST = 49  # index into a /24's hosts: .50
BENCH_NETWORK = "198.18.0.0/15"
DEMO_CLUSTER = "pve-demo"


@dataclass(frozen=True)
class _Kind:
    prefix: str
    role: str
    manufacturer: str
    model: str
    platform: str | None
    interfaces: tuple[tuple[str, str], ...]  # (name, type); the first carries the primary IP


_KINDS = (
    _Kind("sw", "Switch", "Ubiquiti", "USW-24-PoE", "UniFi OS",
          (("mgmt0", "1000base-t"), ("sfp1", "10gbase-x-sfpp"))),
    _Kind("ap", "Access Point", "Ubiquiti", "U6-Pro", "UniFi OS",
          (("eth0", "1000base-t"), ("wlan0", "ieee802.11ax"))),
    _Kind("srv", "Server", "Dell", "PowerEdge R640", "Debian 12",
          (("eno1", "1000base-t"), ("eno2", "1000base-t"), ("idrac", "1000base-t"))),
    _Kind("ups", "UPS", "APC", "Smart-UPS 1500", None, (("nmc0", "100base-tx"),)),
)


def _mac(rng: random.Random) -> str:
    return "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))


def _hosts(network: str) -> list[str]:
    net = ipaddress.ip_network(network)
    return [f"{host}/{net.prefixlen}" for host in net.hosts()]


def demo_records(
    *, devices: int = 36, sites: Sequence[str] = ("home", "lab"), vms: int = 10, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(devices, virtual machines, clusters) as inventory-file records."""
    if len(sites) > len(SITE_NETWORKS):
        raise ValueError(f"at most {len(SITE_NETWORKS)} sites (one documentation /24 each)")
    rng = random.Random(seed)
    # From .50 up: the low addresses belong to the demo's other sources (the Proxmox sandbox's nodes).
    free = {site: _hosts(net)[FIRST_HOST:] for site, net in zip(sites, SITE_NETWORKS)}
    used_macs: set[str] = set()
    device_records: list[dict[str, Any]] = []
    for index in range(devices):
        kind = _KINDS[index % len(_KINDS)]
        site = sites[(index // len(_KINDS)) % len(sites)]
        number = index // (len(_KINDS) * len(sites)) + 1
        name = f"{kind.prefix}-{site}-{number:02d}"
        interfaces = []
        for position, (if_name, if_type) in enumerate(kind.interfaces):
            mac = _mac(rng)
            while mac in used_macs:
                mac = _mac(rng)
            used_macs.add(mac)
            interface: dict[str, Any] = {"name": if_name, "type": if_type, "mac": mac}
            if position == 0 or kind.prefix == "srv" and if_name == "idrac":
                interface["ip_addresses"] = [free[site].pop(0)]
            interfaces.append(interface)
        record: dict[str, Any] = {
            "name": name,
            "site": site,
            "role": kind.role,
            "manufacturer": kind.manufacturer,
            "model": kind.model,
            "serial": f"{kind.prefix.upper()}{rng.randrange(10**8):08d}",
            "status": "active",
            "tags": ["demo"],
            "interfaces": interfaces,
            "primary_ip4": interfaces[0]["ip_addresses"][0],
        }
        if kind.platform:
            record["platform"] = kind.platform
        device_records.append(record)
    vm_hosts = _hosts(VM_NETWORK)[10:]
    vm_records = []
    for index in range(vms):
        address = vm_hosts[index]
        vm_records.append({
            "name": f"vm-{index + 1:02d}",
            "cluster": DEMO_CLUSTER,
            "role": "Server",
            "platform": "Debian 12",
            "status": "active",
            "vcpus": rng.choice((1, 2, 4)),
            "memory_mb": rng.choice((1024, 2048, 4096, 8192)),
            "disk_mb": rng.choice((16384, 32768, 65536)),
            "interfaces": [{"name": "net0", "mac": _mac(rng), "ip_addresses": [address]}],
            "primary_ip4": address,
        })
    clusters = [{"name": DEMO_CLUSTER, "type": "Proxmox VE", "site": sites[0]}] if vms else []
    return device_records, vm_records, clusters


def demo_datacenter(device_records: Sequence[dict[str, Any]], sites: Sequence[str] = ("home", "lab")) -> dict[str, Any]:
    """The skeleton around the demo's devices, as one inventory document: the sites in a region
    tree, a VLAN group per site with its VLANs, the prefixes of the sites' networks, an
    out-of-band VRF whose network reuses the first site's addresses (so one address is in NetBox
    twice: in the global table and in the VRF), a DHCP range, and cables between the switches'
    uplinks and between two servers' second ports (those that exist among `device_records`)."""
    names = {record["name"] for record in device_records}
    first = sites[0]
    site_records = [{"name": site, "region": "Netherlands", "status": "active", "time_zone": "Europe/Amsterdam"}
                    for site in sites]
    vlan_groups = [{"name": f"{site} VLANs", "site": site} for site in sites]
    vlans = [{"vid": 10, "name": f"{first}-lan", "group": f"{first} VLANs", "role": "LAN"},
             {"vid": 20, "name": f"{first}-servers", "group": f"{first} VLANs", "role": "Servers"},  # the NAS's vlan20
             {"vid": 30, "name": f"{first}-iot", "group": f"{first} VLANs", "role": "IoT"}]
    prefixes = []
    for site, network in zip(sites, SITE_NETWORKS):
        prefixes.append({"prefix": network, "site": site, "status": "active", "role": "LAN",
                         "vlan": 10, "vlan_group": f"{site} VLANs"})
        if site != first:
            vlans.append({"vid": 10, "name": f"{site}-lan", "group": f"{site} VLANs", "role": "LAN"})
    if len(sites) > 1:  # the Proxmox sandbox's guests (VLAN 20 at the second site)
        vlans.append({"vid": 20, "name": f"{sites[1]}-servers", "group": f"{sites[1]} VLANs", "role": "Servers"})
        prefixes.append({"prefix": "10.0.20.0/24", "site": sites[1], "vlan": 20, "vlan_group": f"{sites[1]} VLANs",
                         "role": "Servers", "description": "Proxmox guests"})
    prefixes.append({"prefix": VM_NETWORK, "site": first, "role": "Servers", "description": "demo VMs"})
    oob_network = SITE_NETWORKS[0]
    prefixes.append({"prefix": oob_network, "vrf": "oob", "site": first, "description": "out-of-band management"})
    pool = ipaddress.ip_network(oob_network)
    document: dict[str, Any] = {
        "regions": [{"name": "Europe"}, {"name": "Netherlands", "parent": "Europe"}],
        "tenants": [{"name": "Home IT"}],
        "sites": site_records,
        "vrfs": [{"name": "oob", "rd": "65000:99", "enforce_unique": True, "tenant": "Home IT",
                  "description": "out-of-band management"}],
        "vlan_groups": vlan_groups,
        "vlans": vlans,
        "prefixes": prefixes,
        "ip_ranges": [{"start_address": f"{pool[200]}/{pool.prefixlen}", "end_address": f"{pool[249]}/{pool.prefixlen}",
                       "status": "active", "role": "DHCP", "description": f"{first} DHCP pool"}],
    }
    switch = f"sw-{first}-01"
    if switch in names:  # its mgmt0 address, again in the OOB VRF: two objects, one per table
        mgmt0 = next(r for r in device_records if r["name"] == switch)["interfaces"][0]["ip_addresses"][0]
        document["ip_addresses"] = [{"address": mgmt0, "vrf": "oob", "tenant": "Home IT",
                                     "description": f"{switch} out-of-band controller"}]
    links = [(f"sw-{site}-01", "sfp1", f"sw-{site}-02", "sfp1", "DAC uplink") for site in sites]
    links.append((f"srv-{first}-01", "eno2", f"srv-{first}-02", "eno2", "replication link"))
    cables = [{"a": {"device": a, "interface": a_port}, "b": {"device": b, "interface": b_port},
               "type": "dac-passive" if a_port == "sfp1" else "cat6", "status": "connected",
               "label": f"C{index + 1}", "length": 1, "length_unit": "m", "description": what}
              for index, (a, a_port, b, b_port, what) in enumerate(l for l in links if {l[0], l[2]} <= names)]
    if cables:
        document["cables"] = cables
    return document


def write_demo_inventory(
    directory: Path,
    *,
    devices: int = 36,
    sites: Sequence[str] = ("home", "lab"),
    vms: int = 10,
    seed: int = 0,
    formats: Sequence[str] = ("yaml", "json", "csv"),
    datacenter: bool = True,
) -> list[Path]:
    """Write the demo estate split over one file per format; returns the paths written.

    Devices are dealt round-robin over the files; the cluster and the VMs go in the first file.
    With `datacenter`, a YAML file of the skeleton around them follows (`demo_datacenter`).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    device_records, vm_records, clusters = demo_records(devices=devices, sites=sites, vms=vms, seed=seed)
    paths = []
    for position, fmt in enumerate(formats):
        share = device_records[position :: len(formats)]
        document: dict[str, Any] = {"devices": share}
        if position == 0:
            document["clusters"] = clusters
            document["virtual_machines"] = vm_records
        path = directory / f"demo-{position + 1}-{fmt}.{fmt}"
        _write(path, fmt, document)
        paths.append(path)
    if datacenter:
        path = directory / f"demo-{len(formats) + 1}-datacenter.yaml"
        _write(path, "yaml", demo_datacenter(device_records, sites))
        paths.append(path)
    return paths


def _write(path: Path, fmt: str, document: dict[str, Any]) -> None:
    if fmt in ("yaml", "yml"):
        path.write_text(yaml.safe_dump(document, sort_keys=False, default_flow_style=False), encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    elif fmt == "csv":
        path.write_text(_csv_text(document), encoding="utf-8")
    else:
        raise ValueError(f"unknown format {fmt!r} (yaml, json or csv)")


_CSV_COLUMNS = (
    "record_type", "name", "site", "cluster", "type", "role", "manufacturer", "model", "platform",
    "serial", "status", "vcpus", "memory_mb", "disk_mb", "tags", "primary_ip4", "interfaces",
)


def _csv_text(document: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record_type, section in (("cluster", "clusters"), ("device", "devices"),
                                 ("virtual_machine", "virtual_machines")):
        for record in document.get(section, []):
            row = {k: v for k, v in record.items() if k not in ("tags", "interfaces")}
            row["record_type"] = record_type
            if record.get("tags"):
                row["tags"] = ",".join(record["tags"])
            if record.get("interfaces"):
                row["interfaces"] = interfaces_cell(record["interfaces"])
            writer.writerow(row)
    return out.getvalue()


def interfaces_cell(interfaces: list[dict[str, Any]]) -> str:
    """The compact CSV interface syntax (see docs/inventory-files.md)."""
    parts = []
    for interface in interfaces:
        words = [interface["name"]]
        for key in ("type", "mac", "mtu", "enabled", "vlan", "description"):
            if interface.get(key) is not None:
                words.append(f"{key}={shlex.quote(str(interface[key]))}")
        if interface.get("ip_addresses"):
            words.append("ip=" + ",".join(interface["ip_addresses"]))
        parts.append(" ".join(words))
    return "; ".join(parts)


def bench_devices(
    devices: int = 1000, interfaces_per_device: int = 2, ips_per_interface: int = 1, network_text: str = BENCH_NETWORK,
) -> list[dict[str, Any]]:
    """The benchmark's device records: numbered names, two sites, a MAC and addresses on each interface."""
    needed = devices * interfaces_per_device * ips_per_interface
    network = ipaddress.ip_network(network_text)
    if needed > network.num_addresses - 2:
        raise ValueError(f"{needed} addresses do not fit in {network_text}")
    hosts = network.hosts()
    records = []
    for index in range(devices):
        interfaces = []
        for port in range(interfaces_per_device):
            serial_mac = index * interfaces_per_device + port
            mac = "02:bb:" + ":".join(f"{(serial_mac >> s) & 0xFF:02x}" for s in (24, 16, 8, 0))
            addresses = [f"{next(hosts)}/{network.prefixlen}" for _ in range(ips_per_interface)]
            interfaces.append({"name": f"eth{port}", "type": "1000base-t", "mac": mac,
                               "ip_addresses": addresses})
        record: dict[str, Any] = {
            "name": f"bench-{index + 1:05d}",
            "site": ("bench-a", "bench-b")[index % 2],
            "role": "Server",
            "manufacturer": "Generic",
            "model": "Bench Node",
            "serial": f"BENCH{index + 1:08d}",
            "status": "active",
            "interfaces": interfaces,
        }
        if interfaces and interfaces[0]["ip_addresses"]:
            record["primary_ip4"] = interfaces[0]["ip_addresses"][0]
        records.append(record)
    return records


def generate_bench_inventory(
    path: Path, devices: int = 1000, interfaces_per_device: int = 2, ips_per_interface: int = 1,
    network_text: str = BENCH_NETWORK,
) -> Path:
    """One large file (format by extension, JSON by default) for the benchmark."""
    path = Path(path)
    records = bench_devices(devices, interfaces_per_device, ips_per_interface, network_text)
    fmt = path.suffix.lower().lstrip(".") or "json"
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, "json" if fmt not in ("yaml", "yml", "csv") else fmt, {"devices": records})
    return path


def generate_bench_inventory_files(folder: Path, devices: int, *, per_file: int, network_text: str = BENCH_NETWORK) -> list[Path]:
    """The benchmark estate as JSON files of at most `per_file` devices each (inventory files have a
    size limit, so a large estate is kept in several, as a person would keep it)."""
    records = bench_devices(devices, network_text=network_text)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, first in enumerate(range(0, len(records), per_file), 1):
        paths.append(folder / f"bench-{number}.json")
        _write(paths[-1], "json", {"devices": records[first:first + per_file]})
    return paths
