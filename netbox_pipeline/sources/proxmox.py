"""Proxmox VE clusters: read the API with proxmoxer (https backend), normalise to canonical records.

Each configured cluster is one source instance. `fetch_snapshot` does every GET (version, cluster
status, nodes, node status and network, QEMU and LXC lists and configs, guest-agent and container
interfaces) into one plain dict; `normalise_snapshot` turns that dict into records without I/O.

Failure semantics: anything that would make the snapshot incomplete (unreachable host, TLS or
authentication failure, an offline node, a config that cannot be read) fails the whole instance,
so none of its objects count as absent. A guest agent that does not answer only costs that VM its
agent-reported addresses and is reported as a warning.
"""

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError

from netbox_pipeline.model import (
    Cluster,
    CustomField,
    Device,
    Interface,
    RecordError,
    SourceResult,
    VirtualDisk,
    VirtualMachine,
    VMInterface,
    key_text,
    record_type_of,
)
from netbox_pipeline.sources.base import (
    failed_result,
    scrub,
    stamp_provenance,
    validation_problems,
)
from netbox_pipeline.sources.connection import CaCertError, no_answer, readable_ca_cert, untrusted_certificate
from netbox_pipeline.sources.contract import CollectContext, InstanceConfig, SourceKind
from netbox_pipeline.values import fold_name, host_port, normalise_mac, usable_address

SOURCE_KIND = "proxmox"
CLUSTER_TYPE = "Proxmox VE"
NODE_PLATFORM = "Proxmox VE"
VMID_FIELD = "proxmox_vmid"  # declared in KIND.custom_fields; a VM's identity across renames

QEMU_PLATFORMS = {
    "l26": "Linux", "l24": "Linux", "win11": "Windows 11", "win10": "Windows 10", "win8": "Windows 8",
    "win7": "Windows 7", "wvista": "Windows Vista", "wxp": "Windows XP", "w2k8": "Windows Server 2008",
    "w2k3": "Windows Server 2003", "w2k": "Windows 2000", "solaris": "Solaris",
}
LXC_PLATFORMS = {
    "debian": "Debian", "ubuntu": "Ubuntu", "centos": "CentOS", "fedora": "Fedora", "opensuse": "openSUSE",
    "archlinux": "Arch Linux", "alpine": "Alpine Linux", "gentoo": "Gentoo", "nixos": "NixOS",
    "devuan": "Devuan",
}
NODE_INTERFACE_TYPES = {
    "eth": "other", "bridge": "bridge", "OVSBridge": "bridge", "bond": "lag", "OVSBond": "lag",
    "vlan": "virtual", "OVSIntPort": "virtual", "OVSPort": "virtual", "alias": "virtual",
}
_QEMU_DISK = re.compile(r"^(ide|sata|scsi|virtio)\d+$")
_LXC_DISK = re.compile(r"^(rootfs|mp\d+)$")
_NET = re.compile(r"^net(\d+)$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_SIZE_MIB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


@dataclass(frozen=True)
class ProxmoxOptions:
    """What the API cannot say: where the cluster is and what to call its parts in NetBox."""

    site: str | None = None
    cluster_name: str | None = None
    node_role: str | None = None
    node_manufacturer: str | None = None
    node_device_type: str | None = None
    vm_role: str | None = None
    container_role: str | None = None


class ProxmoxFetchError(Exception):
    """The instance cannot be read completely; the message is for the operator (no secrets)."""


# =========================================================================== collect (I/O)


def collect_proxmox(
    config: Any, *, observed_at: datetime, defaults: Mapping[str, Any] | None = None,
    ca_cert: Path | None = None,
) -> SourceResult:
    """One configured cluster (`ProxmoxSourceConfig`) -> its SourceResult; never raises."""
    defaults = defaults or {}
    where = host_port(config.host, config.port)
    secrets = [s.get_secret_value() for s in (config.token_value, config.password) if s is not None]
    try:
        api = connect(config, ca_cert)
        snapshot = fetch_snapshot(_Reader(api, where, config.timeout_s))
    except ProxmoxFetchError as exc:
        return failed_result(SOURCE_KIND, config.name, scrub(str(exc), *secrets), observed_at=observed_at)
    except Exception as exc:  # requests / proxmoxer errors while connecting
        message = describe_failure(exc, where, config.timeout_s)
        return failed_result(SOURCE_KIND, config.name, scrub(message, *secrets), observed_at=observed_at)
    vm_role = config.vm_role or defaults.get("vm_role")
    options = ProxmoxOptions(
        site=config.site or defaults.get("site"),
        cluster_name=config.cluster_name,
        node_role=config.node_role or defaults.get("device_role"),
        node_manufacturer=config.node_manufacturer or defaults.get("manufacturer"),
        node_device_type=config.node_device_type or defaults.get("device_type"),
        vm_role=vm_role,
        container_role=config.container_role or vm_role,
    )
    return normalise_snapshot(snapshot, options, instance=config.name, observed_at=observed_at,
                              base_url=f"https://{where}/api2/json")


def connect(config: Any, ca_cert: Path | None = None) -> Any:
    """A proxmoxer client; password auth logs in here (token auth on the first request)."""
    from proxmoxer import ProxmoxAPI

    where = host_port(config.host, config.port)
    if config.verify_ssl and ca_cert is not None:
        try:
            readable_ca_cert(ca_cert)
        except CaCertError as exc:
            raise ProxmoxFetchError(f"proxmox {where}: {exc}") from None
    verify = _verify(config, ca_cert)
    if verify is False:
        _accept_unverified(config.host)
    common = {"backend": "https", "port": config.port, "user": config.user, "verify_ssl": verify,
              "timeout": config.timeout_s}
    if config.token_name and config.token_value is not None:
        return ProxmoxAPI(config.host, token_name=config.token_name,
                          token_value=config.token_value.get_secret_value(), **common)
    if config.password is not None:
        return ProxmoxAPI(config.host, password=config.password.get_secret_value(), **common)
    raise ProxmoxFetchError(
        f"proxmox {where}: no credentials configured; set token_name and token_value "
        "(token_value: ${PVE_TOKEN}) or password")


def _verify(config: Any, ca_cert: Path | None) -> bool | str:
    """requests' `verify`: a CA bundle when one is configured, else the verify_ssl switch."""
    return str(ca_cert) if (config.verify_ssl and ca_cert) else bool(config.verify_ssl)


class _Reader:
    """GETs through proxmoxer, turning every failure into a located ProxmoxFetchError."""

    def __init__(self, api: Any, where: str, timeout_s: float):
        self.api, self.where, self.timeout_s = api, where, timeout_s

    def get(self, path: str, **params: Any) -> Any:
        try:
            return self.api(path).get(**params)
        except Exception as exc:
            raise ProxmoxFetchError(describe_failure(exc, self.where, self.timeout_s, path)) from exc

    def try_get(self, path: str, **params: Any) -> tuple[Any, Any]:
        """(data, None), or (None, the proxmoxer ResourceException) for an API-level error."""
        from proxmoxer.core import ResourceException

        try:
            return self.api(path).get(**params), None
        except ResourceException as exc:
            return None, exc
        except Exception as exc:
            raise ProxmoxFetchError(describe_failure(exc, self.where, self.timeout_s, path)) from exc


def _accept_unverified(host: str) -> None:
    """verify_ssl: false is the operator's choice for this host: no urllib3 warning per request.
    (A filter for this host only; adding the same filter again replaces it.)"""
    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", message=f".*host '{re.escape(host)}'", category=InsecureRequestWarning)


def fetch_snapshot(reader: _Reader) -> dict[str, Any]:
    """Every GET the mapping needs, as one plain dict (see normalise_snapshot for its shape)."""
    snapshot: dict[str, Any] = {"warnings": [], "nodes": []}
    snapshot["version"] = reader.get("version")
    snapshot["cluster_status"] = reader.get("cluster/status")
    for node in sorted(reader.get("nodes"), key=lambda n: n["node"]):
        name = node["node"]
        if node.get("status") != "online":
            raise ProxmoxFetchError(
                f"proxmox {reader.where}: node {name} is {node.get('status', 'unknown')}; the cluster is "
                "not synced this run so that the guests of that node are not taken for removed")
        entry = {"node": node, "status": reader.get(f"nodes/{name}/status"),
                 "network": reader.get(f"nodes/{name}/network"), "guests": []}
        for kind in ("qemu", "lxc"):
            for guest in sorted(reader.get(f"nodes/{name}/{kind}"), key=lambda g: int(g["vmid"])):
                if guest.get("template"):
                    continue
                entry["guests"].append(_fetch_guest(reader, name, kind, guest, snapshot["warnings"]))
        snapshot["nodes"].append(entry)
    return snapshot


def _fetch_guest(reader: _Reader, node: str, kind: str, listed: dict[str, Any], warn: list[str]) -> dict[str, Any]:
    vmid = int(listed["vmid"])
    path = f"nodes/{node}/{kind}/{vmid}"
    config = reader.get(f"{path}/config")
    guest: dict[str, Any] = {"kind": kind, "entry": listed, "config": config, "agent": None, "interfaces": None}
    label = f"{'VM' if kind == 'qemu' else 'CT'} {vmid} ({listed.get('name') or config.get('name') or config.get('hostname')}) on {node}"
    running = listed.get("status") == "running" and listed.get("qmpstatus", "running") == "running"
    if kind == "qemu" and running and agent_enabled(config.get("agent")):
        data, error = reader.try_get(f"{path}/agent/network-get-interfaces")
        if error is not None:
            warn.append(f"proxmox {reader.where}: {label}: guest agent: {_resource_text(error)}; "
                        "addresses from the cloud-init config only")
        guest["agent"] = data
    if kind == "lxc" and running:
        data, error = reader.try_get(f"{path}/interfaces")
        if error is not None and getattr(error, "status_code", None) != 501:  # 501: before PVE 8.1
            warn.append(f"proxmox {reader.where}: {label}: interfaces: {_resource_text(error)}; "
                        "addresses from the container config only")
        guest["interfaces"] = data
    return guest


def describe_failure(exc: Exception, where: str, timeout_s: float, path: str | None = None) -> str:
    """A clear, located, secret-free sentence for a connection or API failure."""
    import requests
    from proxmoxer.core import AuthenticationError, ResourceException

    at = f"proxmox {where}" + (f" GET /api2/json/{path}" if path else "")
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        reason = re.search(r"certificate verify failed: ([^(']+)", text)
        detail = reason.group(1).strip() if reason else _errno_text(text) or "handshake failed"
        return f"{at}: " + untrusted_certificate(detail, whose="the cluster's")
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{at}: {no_answer(timeout_s)}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"{at}: cannot connect: {_errno_text(text) or type(exc).__name__}"
    if isinstance(exc, AuthenticationError):
        return f"{at}: authentication failed: user or password rejected"
    if isinstance(exc, ResourceException):
        status = exc.status_code
        if status == 401:
            return (f"{at}: authentication failed ({_resource_text(exc)}); check user, token_name and "
                    "token_value")
        if status == 403:
            return (f"{at}: permission denied ({_resource_text(exc)}); the token needs the PVEAuditor "
                    "role on / (and privilege separation off or the same role for the token)")
        if status == 595:
            return f"{at}: a node did not answer ({_resource_text(exc)})"
        return f"{at}: {_resource_text(exc)}"
    return f"{at}: {type(exc).__name__}: {text}"


def _resource_text(exc: Any) -> str:
    content = str(getattr(exc, "content", "") or "").strip()
    return f"{getattr(exc, 'status_code', '?')} {content}".strip()


def _errno_text(text: str) -> str | None:
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return match.group(1).strip() if match else None


# =========================================================================== normalise (pure)


def normalise_snapshot(
    snapshot: Mapping[str, Any], options: ProxmoxOptions, *, instance: str, observed_at: datetime,
    base_url: str = "",
) -> SourceResult:
    """A fetched snapshot -> cluster, node devices and virtual machines (with warnings)."""
    result = SourceResult(SOURCE_KIND, instance, observed_at=observed_at,
                          warnings=list(snapshot.get("warnings", [])))
    nodes = list(snapshot.get("nodes", []))
    cluster_name = cluster_name_of(snapshot.get("cluster_status", []), options.cluster_name,
                                   [n["node"]["node"] for n in nodes])
    version = (snapshot.get("version") or {}).get("version")
    cluster = Cluster(name=cluster_name, type=CLUSTER_TYPE, site=options.site,
                      description=f"Proxmox VE {version}" if version else None)
    _add(result, cluster, "cluster", f"{base_url}/cluster/status", set(),
         {"version": snapshot.get("version"), "cluster_status": snapshot.get("cluster_status")})
    node_ips = {e.get("name"): e.get("ip") for e in snapshot.get("cluster_status", []) if e.get("type") == "node"}
    for node in nodes:
        name = node["node"]["node"]
        location = f"{base_url}/nodes/{name}/network"
        device = _valid(result, location, f"node {name}",
                        lambda: node_device(node, cluster_name, options, node_ips.get(name)))
        if device is not None:
            _add(result, device, f"node/{name}", location, {"site", "role", "manufacturer", "model"},
                 {"node": node["node"], "status": node.get("status"), "network": node.get("network")})
    guests = [(node["node"]["node"], guest) for node in nodes for guest in node.get("guests", [])]
    names = unique_guest_names([(g["kind"], int(g["entry"]["vmid"]), guest_name(g)) for _, g in guests])
    for (node_name, guest), name in zip(guests, names):
        vmid = int(guest["entry"]["vmid"])
        if name != guest_name(guest):
            result.warnings.append(f"proxmox {instance}: the name {guest_name(guest)!r} is used by more than "
                                   f"one guest; VMID {vmid} is synced as {name!r}")
        location = f"{base_url}/nodes/{node_name}/{guest['kind']}/{vmid}/config"
        vm = _valid(result, location, f"{guest['kind']}/{vmid}",
                    lambda: virtual_machine(guest, name, node_name, cluster_name, options))
        if vm is not None:
            _add(result, vm, f"{guest['kind']}/{vmid}", location, {"role"}, guest)
    return result


def _valid(result: SourceResult, location: str, label: str, build: Any) -> Any:
    """The record `build()` makes, or None with one RecordError per invalid field."""
    try:
        return build()
    except ValidationError as exc:
        for field, message in validation_problems(exc):
            result.errors.append(RecordError(result.instance, location, label, field, message))
        return None


def _add(result: SourceResult, record: Any, record_id: str, location: str, defaulted: set[str],
         raw: Any) -> None:
    stamp_provenance(record, source_kind=SOURCE_KIND, instance=result.instance, record_id=record_id,
                     location=location, observed_at=result.observed_at, defaulted=defaulted,
                     default_location="config")
    result.records.append(record)
    result.raw_records.append({"record_type": record_type_of(record), "record_key": key_text(record.key),
                               "location": location, "payload": raw})


def cluster_name_of(status: list[Mapping[str, Any]], configured: str | None, node_names: list[str]) -> str:
    """cluster/status names a real cluster; a standalone host: the configured name, else the node."""
    for entry in status:
        if entry.get("type") == "cluster" and entry.get("name"):
            return str(entry["name"])
    if configured:
        return configured
    return node_names[0] if len(node_names) == 1 else "proxmox"


# --------------------------------------------------------------------------- nodes


def node_device(node: Mapping[str, Any], cluster: str, options: ProxmoxOptions, cluster_ip: str | None) -> Device:
    listed, status = node["node"], node.get("status") or {}
    interfaces = [node_interface(entry) for entry in sorted(node.get("network") or [], key=lambda e: e["iface"])]
    return Device(
        name=listed["node"], site=options.site, role=options.node_role,
        manufacturer=options.node_manufacturer, model=options.node_device_type, platform=NODE_PLATFORM,
        status="active" if listed.get("status") == "online" else "offline", cluster=cluster,
        description=_node_description(status), interfaces=interfaces,
        primary_ip4=_node_primary(node.get("network") or [], interfaces, cluster_ip),
    )


def _node_description(status: Mapping[str, Any]) -> str | None:
    parts = []
    version = re.match(r"pve-manager/([^/]+)", str(status.get("pveversion", "")))
    if version:
        parts.append(f"Proxmox VE {version.group(1)}")
    cpu = (status.get("cpuinfo") or {}).get("model")
    if cpu:
        parts.append(str(cpu))
    return "; ".join(parts)[:200] or None


def node_interface(entry: Mapping[str, Any]) -> Interface:
    kind = str(entry.get("type", ""))
    vlan = entry.get("vlan-id") or entry.get("ovs_tag")
    if kind == "vlan" and not vlan and "." in entry["iface"]:
        vlan = entry["iface"].rsplit(".", 1)[1]
    return Interface(
        name=entry["iface"], type=NODE_INTERFACE_TYPES.get(kind, "other"),
        enabled=bool(entry.get("active")), mtu=int(entry["mtu"]) if entry.get("mtu") else None,
        description=_node_interface_description(entry), ip_addresses=_node_addresses(entry),
        vlan=int(vlan) if vlan and str(vlan).isdigit() and 1 <= int(vlan) <= 4094 else None,
    )


def _node_interface_description(entry: Mapping[str, Any]) -> str | None:
    comment = str(entry.get("comments") or "").strip()
    if comment:
        return comment.splitlines()[0][:200]
    kind = entry.get("type")
    if kind in ("bridge", "OVSBridge") and (entry.get("bridge_ports") or entry.get("ovs_ports")):
        return f"ports: {entry.get('bridge_ports') or entry.get('ovs_ports')}"
    if kind in ("bond", "OVSBond") and (entry.get("slaves") or entry.get("ovs_bonds")):
        mode = entry.get("bond_mode") or entry.get("ovs_options")
        return f"members: {entry.get('slaves') or entry.get('ovs_bonds')}" + (f" ({mode})" if mode else "")
    if kind == "vlan" and entry.get("vlan-raw-device"):
        return f"VLAN on {entry['vlan-raw-device']}"
    return None


def _node_addresses(entry: Mapping[str, Any]) -> list[str]:
    out = []
    for cidr, address, netmask in (("cidr", "address", "netmask"), ("cidr6", "address6", "netmask6")):
        value = entry.get(cidr) or (f"{entry[address]}/{entry[netmask]}" if entry.get(address) and entry.get(netmask) else None)
        usable = usable_address(value) if value else None
        if usable and usable not in out:
            out.append(usable)
    return out


def _node_primary(network: list[Mapping[str, Any]], interfaces: list[Interface], cluster_ip: str | None) -> str | None:
    v4 = [(i.name, a) for i in interfaces for a in i.ip_addresses if ":" not in a]
    if cluster_ip:
        for _, address in v4:
            if address.split("/")[0] == cluster_ip:
                return cluster_ip
    with_gateway = {e["iface"] for e in network if e.get("gateway")}
    for name, address in v4:
        if name in with_gateway:
            return address.split("/")[0]
    return v4[0][1].split("/")[0] if v4 else None


# --------------------------------------------------------------------------- guests


def guest_name(guest: Mapping[str, Any]) -> str:
    config, listed = guest.get("config") or {}, guest["entry"]
    name = config.get("name") if guest["kind"] == "qemu" else config.get("hostname")
    prefix = "VM" if guest["kind"] == "qemu" else "CT"
    return str(name or listed.get("name") or f"{prefix} {listed['vmid']}")


def unique_guest_names(guests: list[tuple[str, int, str]]) -> list[str]:
    """Proxmox allows one name on several guests, NetBox not per cluster: those get their VMID."""
    counts: dict[str, int] = {}
    for _, _, name in guests:
        counts[fold_name(name)] = counts.get(fold_name(name), 0) + 1
    return [name if counts[fold_name(name)] == 1 else f"{name} ({vmid})" for _, vmid, name in guests]


def virtual_machine(
    guest: Mapping[str, Any], name: str, node: str, cluster: str, options: ProxmoxOptions
) -> VirtualMachine:
    kind, listed, config = guest["kind"], guest["entry"], guest.get("config") or {}
    interfaces = guest_interfaces(guest)
    v4 = [a.split("/")[0] for i in interfaces for a in i.ip_addresses if ":" not in a]
    platforms = QEMU_PLATFORMS if kind == "qemu" else LXC_PLATFORMS
    ostype = str(config.get("ostype") or "")
    return VirtualMachine(
        name=name, cluster=cluster, site=options.site,
        role=options.vm_role if kind == "qemu" else options.container_role,
        platform=platforms.get(ostype, ostype if ostype not in ("", "other", "unmanaged") else None),
        status=guest_status(kind, listed), vcpus=guest_vcpus(kind, listed, config),
        memory_mb=guest_memory_mib(kind, listed, config),
        tags=parse_tags(config.get("tags") or listed.get("tags")),
        custom_fields={VMID_FIELD: int(listed["vmid"])},
        interfaces=interfaces, disks=guest_disks(kind, config), device=node,
        primary_ip4=v4[0] if v4 else None,
    )


def guest_status(kind: str, listed: Mapping[str, Any]) -> str | None:
    if kind == "qemu" and listed.get("qmpstatus") in ("paused", "suspended", "prelaunch"):
        return "paused"
    return {"running": "active", "stopped": "offline"}.get(str(listed.get("status")))


def guest_vcpus(kind: str, listed: Mapping[str, Any], config: Mapping[str, Any]) -> float | None:
    if kind == "qemu":
        if config.get("vcpus"):
            return float(config["vcpus"])
        if config.get("cores") or config.get("sockets"):
            return float(int(config.get("cores") or 1) * int(config.get("sockets") or 1))
    elif config.get("cores"):
        return float(config["cores"])
    cpus = listed.get("cpus") or listed.get("maxcpu")
    return float(cpus) if cpus else None


def guest_memory_mib(kind: str, listed: Mapping[str, Any], config: Mapping[str, Any]) -> int | None:
    memory = config.get("memory")
    if isinstance(memory, str) and "current=" in memory:  # PVE 8.1+ property string
        memory = parse_property_string(memory).get("current")
    if memory not in (None, ""):
        return int(memory)
    if listed.get("maxmem"):
        return int(listed["maxmem"]) // (1024 * 1024)
    return 512 if kind == "qemu" else None  # QEMU's default when the config omits it


def parse_tags(value: Any) -> list[str]:
    return sorted({t for t in re.split(r"[;,\s]+", str(value or "")) if t})


def agent_enabled(value: Any) -> bool:
    if value in (None, ""):
        return False
    options = parse_property_string(str(value), default_key="enabled")
    return str(options.get("enabled", "0")) in ("1", "true", "on", "yes")


def parse_property_string(text: str, default_key: str = "_") -> dict[str, str]:
    """PVE property strings: `virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,tag=20`; a leading bare value
    (a volume id, `1` for agent) goes under `default_key`."""
    out: dict[str, str] = {}
    for index, part in enumerate(p for p in str(text).split(",") if p):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
        elif index == 0:
            out[default_key] = part.strip()
    return out


def size_mib(text: str | None) -> int | None:
    """`32G` -> 32768, `512M` -> 512, bare bytes -> MiB; None when absent or unreadable."""
    if not text:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", str(text).strip().upper())
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    return round(number * _SIZE_MIB[unit]) if unit else round(number / (1024 * 1024))


def guest_disks(kind: str, config: Mapping[str, Any]) -> list[VirtualDisk]:
    pattern = _QEMU_DISK if kind == "qemu" else _LXC_DISK
    disks = []
    for key in sorted(config, key=_disk_order):
        if not pattern.match(key):
            continue
        options = parse_property_string(str(config[key]), default_key="volume")
        if options.get("media") == "cdrom" or options.get("volume") in (None, "none"):
            continue
        size = size_mib(options.get("size"))
        if size is None:  # a bind mount or a pass-through device: no size to record
            continue
        disks.append(VirtualDisk(name=key, size_mb=size, description=options["volume"][:200]))
    return disks


def _disk_order(key: str) -> tuple[bool, str, int]:
    """rootfs first, then by bus and number (scsi2 before scsi10)."""
    match = re.match(r"^([a-z]+)(\d*)$", key)
    bus, number = (match.group(1), int(match.group(2) or 0)) if match else (key, 0)
    return (key != "rootfs", bus, number)


def guest_interfaces(guest: Mapping[str, Any]) -> list[VMInterface]:
    kind, config = guest["kind"], guest.get("config") or {}
    runtime = _runtime_addresses(guest)
    interfaces = []
    for key in sorted((k for k in config if _NET.match(k)), key=lambda k: int(_NET.match(k).group(1))):
        options = parse_property_string(str(config[key]))
        index = _NET.match(key).group(1)
        if kind == "qemu":
            model, mac = next(((k, v) for k, v in options.items() if _MAC.match(v)), (None, options.get("macaddr")))
            description = f"{model or 'nic'} on {options.get('bridge', '?')}"
            static = parse_property_string(str(config.get(f"ipconfig{index}", "")))
        else:
            mac = options.get("hwaddr")
            description = f"{options.get('name', 'eth' + index)} on {options.get('bridge', '?')}"
            static = options
        mac = normalise_mac(mac) if mac and _MAC.match(mac) else None
        addresses = (runtime.get(mac) or runtime.get(options.get("name", ""))) if runtime else None
        if not addresses:  # no agent / stopped / older release: what the config pins
            addresses = [a for a in (usable_address(static.get("ip")), usable_address(static.get("ip6"))) if a]
        tag = options.get("tag")
        mtu = options.get("mtu")
        interfaces.append(VMInterface(
            name=key, mac=mac, enabled=options.get("link_down") != "1",
            mtu=int(mtu) if mtu and mtu.isdigit() and 1 < int(mtu) <= 65536 else None,  # 1: the bridge's
            description=description[:200], ip_addresses=addresses,
            vlan=int(tag) if tag and tag.isdigit() and 1 <= int(tag) <= 4094 else None,
        ))
    return interfaces


def _runtime_addresses(guest: Mapping[str, Any]) -> dict[str, list[str]]:
    """Guest-reported addresses by MAC (and, for containers, by in-guest name)."""
    out: dict[str, list[str]] = {}
    if guest["kind"] == "qemu":
        entries = (guest.get("agent") or {}).get("result") or []
    else:
        entries = guest.get("interfaces") or []
    for entry in entries:
        mac = entry.get("hardware-address") or entry.get("hwaddr")
        found: list[str] = []
        for item in entry.get("ip-addresses") or []:
            if item.get("ip-address") and item.get("prefix") is not None:
                found.append(f"{item['ip-address']}/{item['prefix']}")
        for key in ("inet", "inet6"):
            found += re.split(r"[\s,]+", str(entry.get(key) or "").strip())
        usable = list(dict.fromkeys(a for a in (usable_address(f) for f in found if f) if a))
        if not usable:
            continue
        if mac and _MAC.match(mac) and normalise_mac(mac) != "00:00:00:00:00:00":
            out[normalise_mac(mac)] = usable
        if guest["kind"] == "lxc" and entry.get("name"):
            out[str(entry["name"])] = usable
    return out


# --- configuration and registration ---------------------------------------------------------


class ProxmoxSourceConfig(InstanceConfig):
    host: str = Field(description="Any node of the cluster (name or address)")
    port: int = Field(8006, ge=1, le=65535)
    user: str = Field("root@pam", pattern=r"^[^@!\s]+@[^@!\s]+$", description="USER@REALM owning the token")
    token_name: str | None = Field(None, description="API token id (the part after '!'); needs PVEAuditor on /")
    token_value: SecretStr | None = Field(None, description="API token secret; from the environment only")
    password: SecretStr | None = Field(None, description="Password (ticket auth) when no token is given")
    verify_ssl: bool = Field(True, description="Verify the TLS certificate; false accepts any certificate")
    ca_cert: str | None = Field(None, description="CA bundle (PEM) to verify a self-signed PVE certificate")
    timeout_s: float = Field(30.0, gt=0, description="Per-request timeout in seconds")
    site: str | None = Field(None, description="Site of the nodes and the cluster; default: defaults.site")
    cluster_name: str | None = Field(None, description="Cluster name for a standalone node (else its node name)")
    node_role: str | None = Field(None, description="Device role of the nodes; default: defaults.device_role")
    node_manufacturer: str | None = Field(None, description="Default: defaults.manufacturer")
    node_device_type: str | None = Field(None, description="Default: defaults.device_type")
    vm_role: str | None = Field(None, description="Role of QEMU VMs; default: defaults.vm_role")
    container_role: str | None = Field(None, description="Role of LXC containers; default: vm_role")


def _collect(instance: ProxmoxSourceConfig, context: CollectContext) -> SourceResult:
    ca_cert = context.resolve_path(instance.ca_cert) if instance.ca_cert else None
    return collect_proxmox(instance, observed_at=context.observed_at, defaults=context.defaults, ca_cert=ca_cert)


KIND = SourceKind(
    kind=SOURCE_KIND,
    asset_name="proxmox_inventory",
    description="Proxmox VE clusters: nodes, VMs and containers",
    config_model=ProxmoxSourceConfig,
    collect=_collect,
    custom_fields=(
        CustomField(VMID_FIELD, "integer", ("virtualization.virtualmachine",), "Proxmox VMID",
                    "The VM or container id in its Proxmox VE cluster (identity across renames)"),
    ),
    stable_keys={"virtual_machines": ("cluster", f"custom_fields.{VMID_FIELD}")},
)
