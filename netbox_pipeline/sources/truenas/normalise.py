"""A fetched TrueNAS snapshot -> canonical records (pure: no I/O).

The NAS is a device (interfaces, IPs, primary IP on the default-route interface); its enabled SMB
and NFS shares are two services (tcp/445, tcp/2049) on it; its VMs and containers are virtual
machines in a cluster named after it; its disks and ZFS pools are inventory items of it
(`storage.py`). A part the server could not give is named in `SourceResult.unobserved` by the
NetBox types it feeds, so the plan does not take its silence for absence.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from netbox_pipeline.model import Cluster, Device, RecordError, Service, SourceResult, key_text, record_type_of
from netbox_pipeline.sources.base import stamp_provenance, validation_problems

from .interfaces import InterfaceLinks, host_interfaces, interface_links, primary_address
from .storage import DiskItem, PoolItem, disk_items, disk_record, pool_items, pool_record
from .values import real_value, truenas_version
from .vms import guest_records

SOURCE_KIND = "truenas"
PLATFORM = "TrueNAS SCALE"
SHARE_SERVICES = {"smb_shares": ("SMB", 445), "nfs_shares": ("NFS", 2049)}
# Snapshot part -> the NetBox types built from it: when the part is missing, these are unobserved.
PART_TYPES = {
    "interfaces": ("interfaces", "mac_addresses", "ip_addresses"),
    "disks": ("inventory_items",),
    "pools": ("inventory_items",),
    "smb_shares": ("services",),
    "nfs_shares": ("services",),
    "vms": ("clusters", "virtual_machines", "vm_interfaces", "virtual_disks", "mac_addresses", "ip_addresses"),
    "instances": ("clusters", "virtual_machines", "vm_interfaces", "virtual_disks", "mac_addresses",
                  "ip_addresses"),
}


@dataclass(frozen=True)
class TrueNASOptions:
    """What the API cannot say: where the NAS is and what to call its parts in NetBox."""

    site: str | None = None
    role: str | None = None
    manufacturer: str | None = None
    device_type: str | None = None
    vm_role: str | None = None
    container_role: str | None = None
    cluster_type: str = "TrueNAS"


@dataclass
class TrueNASResult(SourceResult):
    """A SourceResult plus what has no canonical record yet (inventory items, interface links)."""

    disks: list[DiskItem] = field(default_factory=list)
    pools: list[PoolItem] = field(default_factory=list)
    interface_links: dict[str, InterfaceLinks] = field(default_factory=dict)
    # Parts the server could not give this run ("disks", "smb_shares", ...): unknown, not gone.
    missing: list[str] = field(default_factory=list)


def normalise_snapshot(
    snapshot: Mapping[str, Any], options: TrueNASOptions, *, instance: str, observed_at: datetime,
    base_url: str = "",
) -> TrueNASResult:
    missing = list(snapshot.get("missing", []))
    result = TrueNASResult(SOURCE_KIND, instance, observed_at=observed_at, warnings=list(snapshot.get("warnings", [])),
                           missing=missing, unobserved=frozenset(t for part in missing for t in PART_TYPES.get(part, ())))
    system = snapshot.get("system") or {}
    hostname = host_name(system, snapshot.get("network") or {})
    guests = guest_records(snapshot, hostname, options, result.warnings)
    location = f"{base_url}#system.info"
    device = _valid(result, location, f"host {hostname}", lambda: host_device(snapshot, hostname, options, bool(guests)))
    if device is None:
        return result
    _add(result, device, f"host/{hostname}", location, _defaulted(system, options),
         {k: snapshot.get(k) for k in ("system", "network", "interfaces")})
    if guests:
        cluster = Cluster(name=hostname, type=options.cluster_type, site=options.site,
                          description=f"VMs and containers on the TrueNAS host {hostname}")
        _add(result, cluster, f"cluster/{hostname}", location, set(), {"hostname": hostname})
    for record_id, method, build, raw in guests:
        vm = _valid(result, f"{base_url}#{method}", record_id, build)
        if vm is not None:
            _add(result, vm, record_id, f"{base_url}#{method}", {"role"}, raw)
    for key, (name, port) in SHARE_SERVICES.items():
        service = share_service(snapshot.get(key), name, port, hostname, options.site)
        if service is not None:
            _add(result, service, f"{key}/{hostname}", f"{base_url}#sharing.{name.lower()}.query", set(),
                 snapshot.get(key))
    result.pools = pool_items(snapshot.get("pools"))
    result.disks = disk_items(snapshot.get("disks"), result.pools)
    result.interface_links = interface_links(snapshot.get("interfaces") or [])
    for pool in result.pools:
        _add_item(result, lambda p=pool: pool_record(p, hostname, options.site), f"pool/{hostname}/{pool.name}",
                  f"{base_url}#pool.query", asdict(pool))
    for disk in result.disks:
        _add_item(result, lambda d=disk: disk_record(d, hostname, options.site), f"disk/{hostname}/{disk.key}",
                  f"{base_url}#disk.query", asdict(disk))
    return result


def _add_item(result: SourceResult, build: Any, record_id: str, location: str, raw: Any) -> None:
    item = _valid(result, location, record_id, build)
    if item is not None:
        _add(result, item, record_id, location, set(), raw)


def host_name(system: Mapping[str, Any], network: Mapping[str, Any]) -> str:
    return str(system.get("hostname") or network.get("hostname") or "truenas").split(".")[0]


def host_device(snapshot: Mapping[str, Any], hostname: str, options: TrueNASOptions, in_cluster: bool) -> Device:
    system, network = snapshot.get("system") or {}, snapshot.get("network") or {}
    version = truenas_version(system.get("version"))
    interfaces = host_interfaces(snapshot.get("interfaces") or [])
    return Device(
        name=hostname, site=options.site, role=options.role,
        manufacturer=real_value(system.get("system_manufacturer")) or options.manufacturer,
        model=real_value(system.get("system_product")) or options.device_type,
        serial=real_value(system.get("system_serial")),
        platform=f"{PLATFORM} {version}" if version else PLATFORM, status="active",
        description=host_description(system), interfaces=interfaces,
        primary_ip4=primary_address(snapshot.get("interfaces") or [], interfaces, network.get("ipv4gateway")),
        cluster=hostname if in_cluster else None,
    )


def _defaulted(system: Mapping[str, Any], options: TrueNASOptions) -> set[str]:
    """Fields filled from the configuration rather than the NAS (any source's own value wins)."""
    out = {"site", "role"}
    if real_value(system.get("system_manufacturer")) is None:
        out.add("manufacturer")
    if real_value(system.get("system_product")) is None:
        out.add("model")
    return out


def host_description(system: Mapping[str, Any]) -> str | None:
    parts = []
    cpu = real_value(system.get("model"))  # system.info's `model` is the CPU model
    if cpu:
        cores = system.get("physical_cores") or system.get("cores")
        parts.append(f"{cpu} ({cores} cores)" if cores else cpu)
    memory = system.get("physmem")
    if isinstance(memory, int) and memory > 0:
        parts.append(f"{round(memory / 1024 ** 3)} GiB" + (" ECC" if system.get("ecc_memory") else "") + " memory")
    return "; ".join(parts)[:200] or None


def share_service(shares: Any, name: str, port: int, hostname: str, site: str | None) -> Service | None:
    """One service per protocol with its enabled shares named in the description (None: no share)."""
    if not isinstance(shares, list):
        return None
    enabled = [s for s in shares if s.get("enabled", True)]
    if not enabled:
        return None
    labels = sorted(str(s.get("name") or s.get("path") or s.get("id")) for s in enabled)
    text = f"{len(labels)} share{'s' if len(labels) != 1 else ''}: " + ", ".join(labels)
    return Service(name=name, protocol="tcp", ports=[port], parent=hostname, parent_kind="device",
                   parent_scope=site, description=text if len(text) <= 200 else text[:199] + "…")


def _valid(result: SourceResult, location: str, label: str, build: Any) -> Any:
    try:
        return build()
    except ValidationError as exc:
        for field_path, message in validation_problems(exc):
            result.errors.append(RecordError(result.instance, location, label, field_path, message))
        return None


def _add(result: SourceResult, record: Any, record_id: str, location: str, defaulted: set[str], raw: Any) -> None:
    stamp_provenance(record, source_kind=SOURCE_KIND, instance=result.instance, record_id=record_id,
                     location=location, observed_at=result.observed_at, defaulted=defaulted,
                     default_location="config")
    result.records.append(record)
    result.raw_records.append({"record_type": record_type_of(record), "record_key": key_text(record.key),
                               "location": location, "payload": raw})
