"""Disks and ZFS pools (pure): plain values, then the NetBox inventory items of the NAS.

A disk is known by its serial: a replaced disk is a new item, even when the kernel gives it the
old name (`sda` names change between boots anyway), so the item is named by the serial and the
kernel name is its label. Its pool comes from `disk.query`'s `pool` (asked with `extra.pools`) or,
failing that, from the leaves of `pool.query`'s topology, and is kept in the `truenas_pool`
custom field, which a pool's own item (role "ZFS pool") carries too: one filter shows a pool
and its disks.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netbox_pipeline.model import InventoryItem

from .values import clean_text

DISK_ROLE = "Disk"
POOL_ROLE = "ZFS pool"
POOL_FIELD = "truenas_pool"
_VDEV_KINDS = ("data", "log", "cache", "spare", "special", "dedup")


@dataclass(frozen=True)
class DiskItem:
    name: str  # the kernel's name, e.g. "sda" or "nvme0n1"
    serial: str | None
    model: str | None
    size_bytes: int | None
    kind: str | None  # "HDD" / "SSD"
    rotation_rpm: int | None
    bus: str | None
    pool: str | None
    identifier: str | None = None

    @property
    def key(self) -> str:
        """Stable identity: the serial, else (no serial reported) the kernel name."""
        return f"serial:{self.serial}" if self.serial else f"name:{self.name}"

    @property
    def description(self) -> str:
        parts = [human_size(self.size_bytes, decimal=True) if self.size_bytes else None, self.kind,
                 f"{self.rotation_rpm} rpm" if self.rotation_rpm else None, self.bus,
                 f"pool {self.pool}" if self.pool else None]
        return ", ".join(p for p in parts if p)[:200]


@dataclass(frozen=True)
class PoolItem:
    name: str
    status: str | None
    healthy: bool | None
    size_bytes: int | None
    allocated_bytes: int | None
    free_bytes: int | None
    layout: str | None  # the data vdevs' types, e.g. "RAIDZ2" or "2 x MIRROR"
    disks: tuple[str, ...] = field(default_factory=tuple)
    guid: str | None = None

    @property
    def key(self) -> str:
        return f"pool:{self.name}"

    @property
    def description(self) -> str:
        used = (f"{round(100 * self.allocated_bytes / self.size_bytes)}% used"
                if self.size_bytes and self.allocated_bytes is not None else None)
        parts = [self.status, human_size(self.size_bytes) if self.size_bytes else None, used, self.layout,
                 f"{len(self.disks)} disks" if self.disks else None]
        return ", ".join(p for p in parts if p)[:200]


def disk_record(disk: DiskItem, host: str, site: str | None) -> InventoryItem:
    """A disk as an inventory item of `host`; the pool is set or cleared (a disk leaves a pool)."""
    return InventoryItem(
        device=host, site=site, name=disk.serial or disk.name, label=disk.name, role=DISK_ROLE,
        part_id=disk.model, serial=disk.serial, description=disk.description or None,
        custom_fields={POOL_FIELD: disk.pool},
    )


def pool_record(pool: PoolItem, host: str, site: str | None) -> InventoryItem:
    return InventoryItem(device=host, site=site, name=pool.name, role=POOL_ROLE,
                         description=pool.description or None, custom_fields={POOL_FIELD: pool.name})


def pool_items(pools: Iterable[Mapping[str, Any]] | None) -> list[PoolItem]:
    out = []
    for pool in sorted(pools or [], key=lambda p: str(p.get("name"))):
        topology = pool.get("topology") or {}
        out.append(PoolItem(
            name=str(pool["name"]), status=clean_text(pool.get("status")),
            healthy=pool.get("healthy") if isinstance(pool.get("healthy"), bool) else None,
            size_bytes=_int(pool.get("size")), allocated_bytes=_int(pool.get("allocated")),
            free_bytes=_int(pool.get("free")), layout=pool_layout(topology),
            disks=tuple(sorted(set(topology_disks(topology)))), guid=clean_text(pool.get("guid")),
        ))
    return out


def disk_items(disks: Iterable[Mapping[str, Any]] | None, pools: list[PoolItem]) -> list[DiskItem]:
    pool_of = {disk: pool.name for pool in pools for disk in pool.disks}
    out = []
    for disk in sorted(disks or [], key=lambda d: str(d.get("name"))):
        name = str(disk.get("name") or disk.get("devname") or "")
        if not name:
            continue
        rpm = _int(disk.get("rotationrate"))
        out.append(DiskItem(
            name=name, serial=clean_text(disk.get("serial")), model=clean_text(disk.get("model")),
            size_bytes=_int(disk.get("size")), kind=clean_text(disk.get("type")),
            rotation_rpm=rpm or None, bus=clean_text(disk.get("bus") or disk.get("subsystem")),
            pool=clean_text(disk.get("pool")) or pool_of.get(name), identifier=clean_text(disk.get("identifier")),
        ))
    return out


def topology_disks(topology: Mapping[str, Any]) -> list[str]:
    """The disk names at the leaves of every vdev tree of a pool."""
    found: list[str] = []

    def walk(node: Mapping[str, Any]) -> None:
        if node.get("type") == "DISK" and node.get("disk"):
            found.append(str(node["disk"]))
        for child in node.get("children") or []:
            walk(child)

    for kind in _VDEV_KINDS:
        for vdev in topology.get(kind) or []:
            walk(vdev)
    return found


def pool_layout(topology: Mapping[str, Any]) -> str | None:
    kinds = [str(v.get("type")) for v in topology.get("data") or [] if v.get("type")]
    if not kinds:
        return None
    if len(set(kinds)) == 1:
        return kinds[0] if len(kinds) == 1 else f"{len(kinds)} x {kinds[0]}"
    return " + ".join(kinds)


def human_size(value: int | None, *, decimal: bool = False) -> str:
    """8001563222016 -> '8.0 TB' (decimal, as disks are sold) or '7.3 TiB' (binary, as ZFS counts)."""
    if value is None:
        return "?"
    base, units = (1000, ("B", "kB", "MB", "GB", "TB", "PB")) if decimal else (1024, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"))
    size, unit = float(value), units[0]
    for unit in units:
        if size < base or unit == units[-1]:
            break
        size /= base
    return f"{size:.0f} {unit}" if unit == units[0] else f"{size:.1f} {unit}"


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dict):  # some releases wrap numbers as {"parsed": ..., "rawvalue": ...}
        value = value.get("parsed", value.get("rawvalue"))
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
