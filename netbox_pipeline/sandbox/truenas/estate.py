"""The NAS the TrueNAS sandbox answers for: plain dicts shaped like the published API schemas.

`seeded_nas()` is a realistic small NAS: two NICs in an LACP LAG, a bridge and a VLAN on it, six
HDDs in a RAIDZ2 pool and two NVMe SSDs in a mirror, SMB and NFS shares, two VMs and (25.04+) a
container.
`generated_nas(disks=2000, shares=200)` is the same host with as many disks and shares as asked.
"""

import copy
from dataclasses import dataclass, field
from typing import Any

GiB = 1024 ** 3
HDD_SIZE = 8001563222016  # an "8 TB" drive
NVME_SIZE = 1000204886016  # a "1 TB" drive


@dataclass
class Nas:
    system: dict[str, Any]
    network: dict[str, Any]
    interfaces: list[dict[str, Any]]
    disks: list[dict[str, Any]]
    pools: list[dict[str, Any]]
    smb_shares: list[dict[str, Any]]
    nfs_shares: list[dict[str, Any]]
    vms: list[dict[str, Any]] = field(default_factory=list)
    containers: list[dict[str, Any]] = field(default_factory=list)

    def copy(self) -> "Nas":
        return copy.deepcopy(self)


def system_info(hostname: str = "nas01") -> dict[str, Any]:
    return {
        "version": "25.04.2", "buildtime": {"$date": 1751328000000}, "hostname": hostname,
        "physmem": 64 * GiB, "model": "Intel(R) Atom(TM) CPU C3758 @ 2.20GHz", "cores": 8, "physical_cores": 8,
        "loadavg": [0.21, 0.3, 0.28], "uptime": "12 days, 3:04:05", "uptime_seconds": 1047845.2,
        "system_serial": "A1-204117", "system_product": "TRUENAS-MINI-3.0-XL+", "system_product_version": "1.0",
        "license": None, "boottime": {"$date": 1762600000000}, "datetime": {"$date": 1763648000000},
        "timezone": "Europe/Berlin", "system_manufacturer": "iXsystems", "ecc_memory": True,
    }


def _state(name: str, mac: str, *, mtu: int = 9000, subtype: str = "", aliases: list[dict[str, Any]] | None = None,
           permanent: str | None = None) -> dict[str, Any]:
    return {
        "name": name, "orig_name": name, "description": name, "mtu": mtu, "cloned": False, "flags": ["UP"],
        "nd6_flags": [], "capabilities": [], "link_state": "LINK_STATE_UP",
        "media_type": "Ethernet" if subtype else "", "media_subtype": subtype, "active_media_type": "Ethernet" if subtype else "",
        "active_media_subtype": subtype, "supported_media": [], "media_options": None,
        "link_address": mac, "permanent_link_address": permanent, "hardware_link_address": permanent or mac,
        "rx_queues": 8, "tx_queues": 8, "aliases": aliases or [], "vrrp_config": [],
    }


def _interface(name: str, kind: str, state: dict[str, Any], **extra: Any) -> dict[str, Any]:
    entry = {
        "id": name, "name": name, "fake": False, "type": kind, "state": state, "aliases": [], "ipv4_dhcp": False,
        "ipv6_auto": False, "description": "", "mtu": state["mtu"], "vlan_parent_interface": None, "vlan_tag": None,
        "vlan_pcp": None, "lag_protocol": None, "lag_ports": [], "bridge_members": [], "enable_learning": True,
    }
    entry.update(extra)
    return entry


def inet(address: str, netmask: int, **extra: Any) -> dict[str, Any]:
    return {"type": "INET6" if ":" in address else "INET", "address": address, "netmask": netmask, **extra}


def seeded_interfaces() -> list[dict[str, Any]]:
    nic1, nic2 = "3c:ec:ef:12:34:01", "3c:ec:ef:12:34:02"
    return [
        _interface("enp1s0", "PHYSICAL", _state("enp1s0", nic1, subtype="10000Mb/s Twisted Pair", permanent=nic1)),
        _interface("enp2s0", "PHYSICAL", _state("enp2s0", nic1, subtype="10000Mb/s Twisted Pair", permanent=nic2)),
        _interface("bond0", "LINK_AGGREGATION", _state("bond0", nic1), lag_protocol="LACP",
                   lag_ports=["enp1s0", "enp2s0"], xmit_hash_policy="LAYER2+3", lacpdu_rate="SLOW"),
        _interface("br0", "BRIDGE", _state("br0", "3c:ec:ef:12:34:10", aliases=[
            inet("192.168.10.20", 24, broadcast="192.168.10.255"), inet("fe80::3eec:efff:fe12:3410", 64),
            inet("2001:db8:10::20", 64)]),
            aliases=[inet("192.168.10.20", 24)], bridge_members=["bond0"], ipv6_auto=True,
            description="LAN bridge"),
        _interface("vlan20", "VLAN", _state("vlan20", nic1, aliases=[inet("10.20.0.5", 24, broadcast="10.20.0.255")]),
                   aliases=[inet("10.20.0.5", 24)], vlan_parent_interface="bond0", vlan_tag=20, vlan_pcp=0),
    ]


def _disk(name: str, serial: str, model: str, size: int, kind: str, rpm: int | None, number: int,
          pool: str | None, bus: str = "ATA") -> dict[str, Any]:
    return {
        "identifier": f"{{serial_lunid}}{serial}_5000c500{number:08x}", "name": name, "subsystem": "SCSI" if bus != "NVME" else "NVME",
        "number": number, "serial": serial, "lunid": f"5000c500{number:08x}", "size": size, "description": "",
        "transfermode": "Auto", "hddstandby": "ALWAYS ON", "advpowermgmt": "DISABLED", "togglesmart": True,
        "smartoptions": "", "expiretime": None, "critical": None, "difference": None, "informational": None,
        "model": model, "rotationrate": rpm, "type": kind, "zfs_guid": f"{number * 7919:019d}",
        "bus": bus, "devname": name, "enclosure": None, "supports_smart": True, "pool": pool,
    }


def hdd(index: int, pool: str | None = "tank") -> dict[str, Any]:
    name = _sd_name(index)
    return _disk(name, f"ZL2{index:07d}", "ST8000VN004-3CP101", HDD_SIZE, "HDD", 7200, 2048 + index * 16, pool)


def _sd_name(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(97 + rest) + letters
    return "sd" + letters


def _leaf(disk: dict[str, Any]) -> dict[str, Any]:
    return {"name": f"{disk['zfs_guid']}", "type": "DISK", "path": f"/dev/disk/by-partuuid/{disk['serial'].lower()}",
            "guid": disk["zfs_guid"], "status": "ONLINE", "stats": {}, "children": [], "device": f"{disk['name']}1",
            "disk": disk["name"], "unavail_disk": None}


def pool(pool_id: int, name: str, vdevs: list[tuple[str, list[dict[str, Any]]]], size: int, allocated: int) -> dict[str, Any]:
    data = []
    for kind, members in vdevs:
        if kind == "STRIPE":
            data.extend(_leaf(d) for d in members)
        else:
            data.append({"name": f"{kind.lower()}-{len(data)}", "type": kind, "path": None, "guid": str(pool_id * 1000 + len(data)),
                         "status": "ONLINE", "stats": {}, "children": [_leaf(d) for d in members], "unavail_disk": None})
    return {
        "id": pool_id, "name": name, "guid": str(10 ** 18 + pool_id), "status": "ONLINE", "path": f"/mnt/{name}",
        "scan": {"function": "SCRUB", "state": "FINISHED", "errors": 0}, "expand": None, "is_upgraded": True,
        "healthy": True, "warning": False, "status_code": "OK", "status_detail": None,
        "size": size, "allocated": allocated, "free": size - allocated, "freeing": 0, "fragmentation": "3",
        "size_str": str(size), "allocated_str": str(allocated), "free_str": str(size - allocated), "freeing_str": "0",
        "autotrim": {"parsed": "off", "rawvalue": "off", "source": "DEFAULT", "value": "off"},
        "topology": {"data": data, "log": [], "cache": [], "spare": [], "special": [], "dedup": []},
    }


def smb_share(share_id: int, name: str, path: str, enabled: bool = True, comment: str = "") -> dict[str, Any]:
    return {"id": share_id, "purpose": "DEFAULT_SHARE", "name": name, "path": path, "enabled": enabled,
            "comment": comment, "ro": False, "browsable": True, "access_based_share_enumeration": False,
            "locked": False, "audit": {"enable": False}, "options": {}}


def nfs_share(share_id: int, path: str, networks: list[str], enabled: bool = True, comment: str = "") -> dict[str, Any]:
    return {"id": share_id, "path": path, "aliases": [], "comment": comment, "networks": networks, "hosts": [],
            "ro": False, "maproot_user": None, "maproot_group": None, "mapall_user": None, "mapall_group": None,
            "security": [], "enabled": enabled, "locked": False, "expose_snapshots": False}


def vm(vm_id: int, name: str, *, vcpus: int, cores: int, memory_mib: int, state: str, mac: str,
       attach: str = "br0", description: str = "") -> dict[str, Any]:
    """A vm.query entry (device attributes carry their dtype, as from 25.04)."""
    return {
        "id": vm_id, "name": name, "description": description, "vcpus": vcpus, "cores": cores, "threads": 1,
        "cpuset": None, "nodeset": None, "enable_cpu_topology_extension": False, "pin_vcpus": False,
        "suspend_on_snapshot": False, "trusted_platform_module": False, "memory": memory_mib, "min_memory": None,
        "hyperv_enlightenments": False, "bootloader": "UEFI", "bootloader_ovmf": "OVMF_CODE.fd", "autostart": True,
        "hide_from_msr": False, "ensure_display_device": True, "time": "LOCAL", "shutdown_timeout": 90,
        "arch_type": None, "machine_type": None, "uuid": f"00000000-0000-4000-8000-{vm_id:012d}",
        "command_line_args": "", "cpu_mode": "CUSTOM", "cpu_model": None, "enable_secure_boot": False,
        "display_available": False, "status": {"state": state, "pid": 4242 + vm_id if state == "RUNNING" else None,
                                               "domain_state": state},
        "devices": [
            {"id": vm_id * 10 + 1, "vm": vm_id, "order": 1001,
             "attributes": {"dtype": "DISK", "path": f"/dev/zvol/fast/vms/{name}-disk0", "type": "VIRTIO",
                            "logical_sectorsize": None, "physical_sectorsize": None, "iotype": "THREADS",
                            "serial": None}},
            {"id": vm_id * 10 + 2, "vm": vm_id, "order": 1002,
             "attributes": {"dtype": "NIC", "trust_guest_rx_filters": False, "type": "VIRTIO", "nic_attach": attach,
                            "mac": mac}},
        ],
    }


def container(name: str, *, cpu: str | None, memory_mib: int | None, state: str, address: str | None,
              os: str = "Debian", release: str = "bookworm") -> dict[str, Any]:
    """A virt.instance.query entry (25.04+): an Incus container; memory in bytes, cpu a count or set."""
    return {
        "id": name, "name": name, "type": "CONTAINER", "status": state, "cpu": cpu,
        "memory": memory_mib * 1024 * 1024 if memory_mib else None, "autostart": True, "environment": {},
        "aliases": [inet(address, 24)] if address else [],
        "image": {"architecture": "amd64", "description": f"{os} {release} amd64 (20250601_05:24)", "os": os,
                  "release": release, "serial": "20250601_05:24", "type": "container", "variant": "default",
                  "secureboot": None},
        "userns_idmap": None, "raw": None, "vnc_enabled": False, "vnc_port": None, "vnc_password": None,
        "secure_boot": None, "root_disk_size": None, "root_disk_io_bus": None, "storage_pool": "fast",
    }


def seeded_nas(hostname: str = "nas01") -> Nas:
    hdds = [hdd(i) for i in range(6)]
    nvmes = [_disk(f"nvme{i}n1", f"S4EWNX0R{i}0123{i}", "Samsung SSD 970 EVO Plus 1TB", NVME_SIZE, "SSD", None,
                   9000 + i, "fast", bus="NVME") for i in range(2)]
    return Nas(
        system=system_info(hostname),
        network={"id": 1, "hostname": hostname, "domain": "home.arpa", "ipv4gateway": "192.168.10.1",
                 "ipv6gateway": "", "nameserver1": "192.168.10.1", "nameserver2": "", "nameserver3": "",
                 "httpproxy": "", "hosts": [], "domains": [], "service_announcement": {"netbios": False, "mdns": True,
                                                                                     "wsd": True},
                 "activity": {"type": "DENY", "activities": []}, "hostname_local": hostname,
                 "state": {"ipv4gateway": "192.168.10.1", "ipv6gateway": "", "nameserver1": "192.168.10.1",
                           "nameserver2": "", "nameserver3": "", "hosts": []}},
        interfaces=seeded_interfaces(), disks=hdds + nvmes,
        pools=[pool(1, "fast", [("MIRROR", nvmes)], 960 * GiB, 210 * GiB),
               pool(2, "tank", [("RAIDZ2", hdds)], 43 * 1024 * GiB, 18 * 1024 * GiB)],
        smb_shares=[smb_share(1, "media", "/mnt/tank/media"), smb_share(2, "backups", "/mnt/tank/backups"),
                    smb_share(3, "old-projects", "/mnt/tank/old", enabled=False)],
        nfs_shares=[nfs_share(1, "/mnt/tank/vmstore", ["192.168.10.0/24"]),
                    nfs_share(2, "/mnt/fast/k8s", ["10.20.0.0/24"], comment="cluster PVs")],
        vms=[vm(1, "homeassistant", vcpus=1, cores=2, memory_mib=4096, state="RUNNING", mac="00:a0:98:3b:11:01",
                description="Home Assistant OS"),
             vm(2, "pbs", vcpus=2, cores=2, memory_mib=8192, state="STOPPED", mac="00:a0:98:3b:11:02")],
        # answered by virt.instance.query, which 24.10 lacks
        containers=[container("jellyfin", cpu="0-1", memory_mib=2048, state="RUNNING", address="192.168.10.31")],
    )


def generated_nas(disks: int = 2000, shares: int = 200, hostname: str = "nas-big") -> Nas:
    """A storage server with `disks` HDDs (RAIDZ2 vdevs of 10 in one pool) and `shares` SMB + NFS shares."""
    nas = seeded_nas(hostname)
    hdds = [hdd(i, pool="archive") for i in range(disks)]
    vdevs = [("RAIDZ2", hdds[i:i + 10]) for i in range(0, len(hdds), 10)]
    nas.disks = hdds
    nas.pools = [pool(1, "archive", vdevs, disks * 7 * 1024 * GiB, disks * 3 * 1024 * GiB)]
    half = shares // 2
    nas.smb_shares = [smb_share(i + 1, f"share{i:04d}", f"/mnt/archive/share{i:04d}") for i in range(shares - half)]
    nas.nfs_shares = [nfs_share(i + 1, f"/mnt/archive/export{i:04d}", ["10.0.0.0/8"]) for i in range(half)]
    return nas
