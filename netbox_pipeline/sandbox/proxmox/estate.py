"""The generated Proxmox VE cluster the sandbox serves, and its API JSON (shapes from the PVE apidoc).

Plain data: tests mutate it through `ProxmoxSandbox` (rename, move, remove, agent state, node
offline) and every request renders the current state. Addresses are documentation ranges; nothing
here is ever contacted.
"""

from dataclasses import dataclass, field
from typing import Any

PVE_VERSION = {"version": "8.2.4", "release": "8.2", "repoid": "faa83925c9641325"}
GIB = 1024**3
MIB = 1024**2

# Guest-agent states: what /agent/network-get-interfaces answers for a running VM.
AGENT_OK = "ok"
AGENT_NOT_RUNNING = "not_running"
AGENT_ERROR = "error"
AGENT_STATES = (AGENT_OK, AGENT_NOT_RUNNING, AGENT_ERROR)


class ApiError(Exception):
    """A PVE error: the message is the HTTP reason phrase, as pveproxy sends it."""

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(f"{status} {message}")


@dataclass
class Nic:
    mac: str
    bridge: str = "vmbr0"
    vlan: int | None = None
    model: str = "virtio"  # QEMU NIC model; LXC: the in-guest name (eth0)
    addresses: list[str] = field(default_factory=list)  # what the guest reports ("ip/prefix")
    static: str | None = None  # LXC `ip=` / cloud-init `ipconfigN` value ("10.0.20.5/24", "dhcp")


@dataclass
class Guest:
    vmid: int
    kind: str  # "qemu" | "lxc"
    name: str
    node: str
    status: str = "running"  # running | stopped | paused (QEMU)
    cores: int = 1
    sockets: int = 1
    memory_mib: int = 1024
    ostype: str = "l26"
    tags: list[str] = field(default_factory=list)
    agent: bool = False  # QEMU: `agent: 1` in the config
    agent_state: str = AGENT_OK
    nics: list[Nic] = field(default_factory=list)
    disks: dict[str, str] = field(default_factory=dict)  # config key -> volume string
    template: bool = False

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused")


@dataclass
class Node:
    name: str
    ip: str
    online: bool = True
    cpu_model: str = "AMD EPYC 7302P 16-Core Processor"
    cpus: int = 32
    memory_bytes: int = 128 * GIB
    network: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Cluster:
    name: str | None  # None: a standalone host (cluster/status lists only the node)
    nodes: dict[str, Node]
    guests: dict[int, Guest]
    lxc_interfaces: bool = True  # GET /lxc/{id}/interfaces exists (PVE 8.1+)


def _node_network(index: int) -> list[dict[str, Any]]:
    ip = f"192.0.2.{10 + index}"
    return [
        {"iface": "eno1", "type": "eth", "active": 1, "exists": 1, "autostart": 0, "method": "manual",
         "families": ["inet"], "priority": 3},
        {"iface": "eno2", "type": "eth", "active": 1, "exists": 1, "autostart": 0, "method": "manual",
         "families": ["inet"], "priority": 4},
        {"iface": "eno3", "type": "eth", "active": 0, "exists": 1, "autostart": 0, "method": "manual",
         "families": ["inet"], "priority": 5},
        {"iface": "bond0", "type": "bond", "active": 1, "autostart": 1, "method": "manual",
         "families": ["inet"], "slaves": "eno1 eno2", "bond_mode": "802.3ad",
         "bond_xmit_hash_policy": "layer2+3", "mtu": 9000, "priority": 6},
        {"iface": "vmbr0", "type": "bridge", "active": 1, "autostart": 1, "method": "static",
         "families": ["inet", "inet6"], "cidr": f"{ip}/24", "address": ip, "netmask": "24",
         "gateway": "192.0.2.1", "cidr6": f"2001:db8::{10 + index}/64", "address6": f"2001:db8::{10 + index}",
         "netmask6": "64", "method6": "static", "bridge_ports": "bond0", "bridge_stp": "off",
         "bridge_fd": "0", "bridge_vlan_aware": 1, "bridge_vids": "2-4094", "mtu": 9000, "priority": 7},
        {"iface": "vmbr0.20", "type": "vlan", "active": 1, "autostart": 1, "method": "static",
         "families": ["inet"], "cidr": f"10.0.20.{index}/24", "address": f"10.0.20.{index}",
         "netmask": "24", "vlan-id": "20", "vlan-raw-device": "vmbr0", "comments": "storage VLAN\n",
         "priority": 8},
        {"iface": "vmbr1", "type": "bridge", "active": 1, "autostart": 1, "method": "manual",
         "families": ["inet"], "bridge_ports": "eno3", "bridge_stp": "off", "bridge_fd": "0",
         "bridge_vlan_aware": 0, "priority": 9},
    ]


def _mac(vmid: int, n: int = 0) -> str:
    return f"BC:24:11:{vmid // 256 % 256:02X}:{vmid % 256:02X}:{n:02X}"


def generate_cluster(name: str | None = "lab", nodes: int = 3, *, lxc_interfaces: bool = True) -> Cluster:
    """Three nodes (or one standalone host) with running, stopped, paused, agent-less and
    agent-broken QEMU VMs, LXC containers and a template, spread over the nodes."""
    node_names = [f"pve{i}" for i in range(1, nodes + 1)]
    node_map = {n: Node(n, f"192.0.2.{10 + i}", network=_node_network(i)) for i, n in enumerate(node_names, 1)}

    def on(i: int) -> str:
        return node_names[i % len(node_names)]

    guests = [
        Guest(100, "qemu", "web01", on(0), cores=2, memory_mib=4096, tags=["prod", "web"], agent=True,
              nics=[Nic(_mac(100), vlan=20, addresses=["10.0.20.10/24", "fe80::be24:11ff:fe00:6400/64"])],
              disks={"scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=32G",
                     "efidisk0": "local-lvm:vm-100-disk-1,efitype=4m,size=4M",
                     "ide2": "local:iso/debian-12.iso,media=cdrom,size=628M"}),
        Guest(101, "lxc", "dns01", on(0), memory_mib=512, ostype="debian", tags=["infra"],
              nics=[Nic(_mac(101), vlan=20, model="eth0", addresses=["10.0.20.5/24"], static="10.0.20.5/24")],
              disks={"rootfs": "local-lvm:vm-101-disk-0,size=8G",
                     "mp0": "local-lvm:vm-101-disk-1,mp=/srv,size=16G"}),
        Guest(102, "qemu", "db01", on(1), cores=4, sockets=2, memory_mib=16384, tags=["prod", "db"],
              agent=True,
              nics=[Nic(_mac(102), vlan=20, addresses=["10.0.20.20/24", "2001:db8:20::20/64"]),
                    Nic(_mac(102, 1), bridge="vmbr1", model="e1000", addresses=["198.51.100.20/24"])],
              disks={"scsi0": "local-lvm:vm-102-disk-0,size=64G", "scsi1": "ceph:vm-102-disk-1,size=200G"}),
        Guest(103, "qemu", "win01", on(1), status="stopped", cores=2, memory_mib=8192, ostype="win11",
              agent=True, nics=[Nic(_mac(103), model="e1000")],
              disks={"sata0": "local-lvm:vm-103-disk-0,size=80G"}),
        Guest(104, "qemu", "legacy01", on(2), memory_mib=2048, tags=["legacy"],
              nics=[Nic(_mac(104), static="10.0.20.40/24")],
              disks={"virtio0": "local-lvm:vm-104-disk-0,size=20G"}),
        Guest(105, "lxc", "mqtt01", on(2), status="stopped", memory_mib=256, ostype="alpine",
              nics=[Nic(_mac(105), model="eth0", static="dhcp")],
              disks={"rootfs": "local-lvm:vm-105-disk-0,size=2G"}),
        Guest(106, "qemu", "app02", on(2), cores=2, memory_mib=4096, agent=True,
              agent_state=AGENT_NOT_RUNNING, nics=[Nic(_mac(106), vlan=20, static="10.0.20.60/24")],
              disks={"scsi0": "local-lvm:vm-106-disk-0,size=40G"}),
        Guest(107, "qemu", "build01", on(1), status="paused", cores=8, memory_mib=32768, agent=True,
              tags=["ci"], nics=[Nic(_mac(107), addresses=["10.0.20.70/24"])],
              disks={"scsi0": "local-lvm:vm-107-disk-0,size=100G"}),
        Guest(9000, "qemu", "debian-12-template", on(0), status="stopped", template=True,
              nics=[Nic(_mac(9000))], disks={"scsi0": "local-lvm:base-9000-disk-0,size=4G"}),
    ]
    return Cluster(name=name if nodes > 1 else None, nodes=node_map,
                   guests={g.vmid: g for g in guests}, lxc_interfaces=lxc_interfaces)


# --------------------------------------------------------------------------- API JSON


def _volume_size(volume: str) -> int:
    units = {"K": 1024, "M": MIB, "G": GIB, "T": 1024 * GIB}
    for part in volume.split(","):
        if part.startswith("size="):
            value = part[5:]
            return int(float(value[:-1]) * units[value[-1]]) if value[-1] in units else int(value)
    return 0


def _max_disk(guest: Guest) -> int:
    main = next((v for k, v in guest.disks.items() if "media=cdrom" not in v and k not in ("efidisk0",)), "")
    return _volume_size(main)


def cluster_status(cluster: Cluster) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if cluster.name:
        out.append({"type": "cluster", "id": "cluster", "name": cluster.name, "nodes": len(cluster.nodes),
                    "quorate": 1, "version": 5})
    for i, node in enumerate(cluster.nodes.values(), 1):
        out.append({"type": "node", "id": f"node/{node.name}", "name": node.name, "nodeid": i,
                    "ip": node.ip, "online": int(node.online), "local": int(i == 1), "level": ""})
    return out


def nodes_list(cluster: Cluster) -> list[dict[str, Any]]:
    return [
        {"node": n.name, "status": "online" if n.online else "offline", "cpu": 0.03 if n.online else 0,
         "maxcpu": n.cpus, "mem": 8 * GIB if n.online else 0, "maxmem": n.memory_bytes,
         "uptime": 86400 if n.online else 0, "level": "", "id": f"node/{n.name}", "type": "node",
         "ssl_fingerprint": "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"}
        for n in cluster.nodes.values()
    ]


def node_status(node: Node) -> dict[str, Any]:
    return {
        "cpu": 0.02, "wait": 0.0, "uptime": 86400, "idle": 0,
        "cpuinfo": {"model": node.cpu_model, "cores": node.cpus // 2, "cpus": node.cpus, "sockets": 1,
                    "mhz": "3000.000", "hvm": "1", "flags": "fpu vme de pse"},
        "memory": {"total": node.memory_bytes, "used": 8 * GIB, "free": node.memory_bytes - 8 * GIB},
        "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
        "rootfs": {"total": 100 * GIB, "used": 10 * GIB, "avail": 90 * GIB, "free": 90 * GIB},
        "pveversion": "pve-manager/8.2.4/faa83925c9641325", "kversion": "Linux 6.8.12-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-1",
        "current-kernel": {"sysname": "Linux", "release": "6.8.12-1-pve", "version": "#1 SMP PREEMPT_DYNAMIC",
                           "machine": "x86_64"},
        "loadavg": ["0.10", "0.12", "0.09"], "boot-info": {"mode": "efi", "secureboot": 0},
        "ksm": {"shared": 0},
    }


def guest_list_entry(guest: Guest) -> dict[str, Any]:
    status = "running" if guest.running else "stopped"
    entry: dict[str, Any] = {
        "vmid": guest.vmid, "name": guest.name, "status": status, "cpus": guest.cores * guest.sockets,
        "maxmem": guest.memory_mib * MIB, "maxdisk": _max_disk(guest), "uptime": 3600 if guest.running else 0,
        "cpu": 0.01 if guest.running else 0, "mem": guest.memory_mib * MIB // 2 if guest.running else 0,
        "disk": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
    }
    if guest.tags:
        entry["tags"] = ";".join(guest.tags)
    if guest.template:
        entry["template"] = 1
    if guest.kind == "qemu":
        entry["qmpstatus"] = guest.status if guest.status != "stopped" else "stopped"
        if guest.running:
            entry["pid"] = 1000 + guest.vmid
    else:
        entry["type"] = "lxc"
        entry["maxswap"] = 512 * MIB
    return entry


def guest_config(guest: Guest) -> dict[str, Any]:
    config: dict[str, Any] = {"digest": f"{guest.vmid:040x}", "ostype": guest.ostype, "onboot": 1,
                              "cores": guest.cores}
    if guest.tags:
        config["tags"] = ";".join(guest.tags)
    if guest.template:
        config["template"] = 1
    config.update(guest.disks)
    if guest.kind == "qemu":
        config.update(name=guest.name, sockets=guest.sockets, memory=str(guest.memory_mib),
                      boot="order=scsi0;net0", scsihw="virtio-scsi-single",
                      smbios1=f"uuid=00000000-0000-4000-8000-{guest.vmid:012d}", vmgenid="00000000-0000-0000-0000-000000000000")
        if guest.agent:
            config["agent"] = "enabled=1,fstrim_cloned_disks=1" if guest.vmid % 2 else "1"
        for n, nic in enumerate(guest.nics):
            text = f"{nic.model}={nic.mac},bridge={nic.bridge},firewall=1"
            config[f"net{n}"] = text + (f",tag={nic.vlan}" if nic.vlan else "")
            if nic.static:
                config[f"ipconfig{n}"] = f"ip={nic.static}" + (",gw=10.0.20.1" if nic.static != "dhcp" else "")
    else:
        config.update(hostname=guest.name, memory=guest.memory_mib, swap=512, arch="amd64", unprivileged=1)
        for n, nic in enumerate(guest.nics):
            text = f"name={nic.model},bridge={nic.bridge},hwaddr={nic.mac},type=veth"
            if nic.static:
                text += f",ip={nic.static}" + (",gw=10.0.20.1" if nic.static != "dhcp" else "")
            config[f"net{n}"] = text + (f",tag={nic.vlan}" if nic.vlan else "")
    return config


def guest_status(guest: Guest) -> dict[str, Any]:
    entry = guest_list_entry(guest)
    entry["ha"] = {"managed": 0}
    if guest.kind == "qemu":
        entry["agent"] = int(guest.agent)
    return entry


def agent_interfaces(guest: Guest) -> dict[str, Any]:
    """GET /qemu/{id}/agent/network-get-interfaces, or the ApiError PVE answers with."""
    if not guest.agent:
        raise ApiError(500, "No QEMU guest agent configured")
    if not guest.running:
        raise ApiError(500, f"VM {guest.vmid} is not running")
    if guest.agent_state == AGENT_NOT_RUNNING:
        raise ApiError(500, "QEMU guest agent is not running")
    if guest.agent_state == AGENT_ERROR:
        raise ApiError(500, f"VM {guest.vmid} qmp command 'guest-network-get-interfaces' failed - got timeout")
    result = [{"name": "lo", "hardware-address": "00:00:00:00:00:00",
               "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8},
                                {"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128}],
               "statistics": {"rx-bytes": 0, "rx-dropped": 0, "rx-errs": 0, "rx-packets": 0,
                              "tx-bytes": 0, "tx-dropped": 0, "tx-errs": 0, "tx-packets": 0}}]
    for n, nic in enumerate(guest.nics):
        result.append({"name": f"ens{18 + n}", "hardware-address": nic.mac.lower(),
                       "ip-addresses": [_agent_address(a) for a in nic.addresses],
                       "statistics": {"rx-bytes": 1000, "tx-bytes": 1000}})
    # A container runtime's bridge inside the guest: no Proxmox NIC carries it.
    result.append({"name": "docker0", "hardware-address": "02:42:ac:11:00:01",
                   "ip-addresses": [{"ip-address": "172.17.0.1", "ip-address-type": "ipv4", "prefix": 16}]})
    return {"result": result}


def _agent_address(address: str) -> dict[str, Any]:
    ip, prefix = address.split("/")
    return {"ip-address": ip, "ip-address-type": "ipv6" if ":" in ip else "ipv4", "prefix": int(prefix)}


def lxc_interfaces(guest: Guest) -> list[dict[str, Any]]:
    if not guest.running:
        raise ApiError(500, f"CT {guest.vmid} not running")
    out = [{"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "inet6": "::1/128"}]
    for nic in guest.nics:
        entry = {"name": nic.model, "hwaddr": nic.mac.lower()}
        v4 = [a for a in nic.addresses if ":" not in a]
        v6 = [a for a in nic.addresses if ":" in a] + [f"fe80::be24:11ff:fe00:{guest.vmid:x}/64"]
        if v4:
            entry["inet"] = v4[0]
        entry["inet6"] = v6[0]
        out.append(entry)
    return out


def cluster_resources(cluster: Cluster, kind: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if kind in (None, "vm"):
        for guest in cluster.guests.values():
            entry = guest_list_entry(guest)
            entry.update(id=f"{guest.kind}/{guest.vmid}", type=guest.kind, node=guest.node,
                         maxcpu=entry.pop("cpus"), template=int(guest.template))
            out.append(entry)
    if kind in (None, "node"):
        for entry in nodes_list(cluster):
            entry["type"] = "node"
            out.append(entry)
    return out
