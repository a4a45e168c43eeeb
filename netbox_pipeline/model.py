"""Canonical inventory records: what every source produces and the merge consumes.

Input models forbid unknown keys (a typo in an inventory file is an error, not a silently
dropped field). `None` means "this source does not know": the merge falls through to the next
source, and the plan never writes or compares it.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from netbox_pipeline.values import (
    fold_name,
    ip_host,
    normalise_ip,
    normalise_mac,
    slugify,
)

DEVICE_STATUSES = frozenset(
    {"offline", "active", "planned", "staged", "failed", "inventory", "decommissioning"}
)
VM_STATUSES = frozenset(
    {"offline", "active", "planned", "staged", "failed", "decommissioning", "paused"}
)
CLUSTER_STATUSES = frozenset({"planned", "staging", "active", "decommissioning", "offline"})
IP_STATUSES = frozenset({"active", "reserved", "deprecated", "dhcp", "slaac"})
SERVICE_PROTOCOLS = ("tcp", "udp", "sctp")

# NetBox's interface type list grows with every release (4.6 added ten); checking the slug
# shape here and leaving the exact list to NetBox keeps old and new versions working.
_INTERFACE_TYPE = re.compile(r"^[a-z0-9][a-z0-9._\-]*$")


class Provenance(BaseModel):
    """Where one field's value came from."""

    model_config = ConfigDict(frozen=True)

    source_kind: str
    instance: str
    record_id: str
    location: str | None = None
    observed_at: datetime
    # Filled from the configuration's defaults, not given by the source: any given value wins.
    defaulted: bool = False


class _Input(BaseModel):
    # Numbers become strings where a string is expected (`serial: 12345` in YAML is a string).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)


def _status_validator(allowed: frozenset[str], what: str):
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered not in allowed:
            raise ValueError(
                f"invalid {what} status {value!r}; expected one of {', '.join(sorted(allowed))}"
            )
        return lowered

    return check


def _check_mac(value: str | None) -> str | None:
    return normalise_mac(value)


def _check_ips(values: list[str]) -> list[str]:
    normal = [normalise_ip(v) for v in values]
    return [v for v in normal if v is not None]


def _check_ip(value: str | None) -> str | None:
    return normalise_ip(value)


def _check_unique_names(interfaces: list[Any]) -> list[Any]:
    seen: dict[str, int] = {}
    for index, interface in enumerate(interfaces):
        if interface.name in seen:
            raise ValueError(
                f"duplicate interface name {interface.name!r} "
                f"(interfaces[{seen[interface.name]}] and interfaces[{index}])"
            )
        seen[interface.name] = index
    return interfaces


def _check_unique_disks(disks: list[Any] | None) -> list[Any] | None:
    seen: set[str] = set()
    for index, disk in enumerate(disks or []):
        if disk.name in seen:
            raise ValueError(f"duplicate disk name {disk.name!r} (disks[{index}])")
        seen.add(disk.name)
    return disks


class Interface(_Input):
    name: str = Field(min_length=1)
    type: str | None = None
    enabled: bool | None = None
    mac: str | None = None
    mtu: int | None = Field(default=None, ge=1, le=65536)
    description: str | None = None
    ip_addresses: list[str] = Field(default_factory=list)
    vlan: int | None = Field(default=None, ge=1, le=4094)

    _mac = field_validator("mac")(_check_mac)
    _ips = field_validator("ip_addresses")(_check_ips)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        if value is None:
            return None
        lowered = value.strip().lower()
        if not _INTERFACE_TYPE.match(lowered):
            raise ValueError(f"invalid interface type {value!r}")
        return lowered


class VMInterface(_Input):
    name: str = Field(min_length=1)
    mac: str | None = None
    enabled: bool | None = None
    mtu: int | None = Field(default=None, ge=1, le=65536)
    description: str | None = None
    ip_addresses: list[str] = Field(default_factory=list)
    vlan: int | None = Field(default=None, ge=1, le=4094)  # untagged (access) VLAN

    _mac = field_validator("mac")(_check_mac)
    _ips = field_validator("ip_addresses")(_check_ips)


class VirtualDisk(_Input):
    # Frozen (hashable): a VM's disk list is merged as one value.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True, frozen=True)

    name: str = Field(min_length=1)
    size_mb: int = Field(ge=0)
    description: str | None = None


class Device(_Input):
    name: str = Field(min_length=1)
    site: str | None = None
    # A location (room, area) within the site, by name, and the location that contains it (a
    # floor, a building), both created under the site when missing.
    location: str | None = None
    location_parent: str | None = None
    role: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    platform: str | None = None
    serial: str | None = None
    asset_tag: str | None = None
    status: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    interfaces: list[Interface] = Field(default_factory=list)
    primary_ip4: str | None = None
    cluster: str | None = None
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _status = field_validator("status")(_status_validator(DEVICE_STATUSES, "device"))
    _primary = field_validator("primary_ip4")(_check_ip)
    _unique = field_validator("interfaces")(_check_unique_names)

    @property
    def key(self) -> tuple[str, str]:
        """(site slug, name folded): NetBox keeps device names unique per site, ignoring case."""
        return device_key(self.site, self.name)

    def macs(self) -> set[str]:
        return {i.mac for i in self.interfaces if i.mac}


class VirtualMachine(_Input):
    name: str = Field(min_length=1)
    cluster: str | None = None
    site: str | None = None
    role: str | None = None
    platform: str | None = None
    status: str | None = None
    vcpus: float | None = Field(default=None, gt=0)
    memory_mb: int | None = Field(default=None, ge=0)
    disk_mb: int | None = Field(default=None, ge=0)
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    interfaces: list[VMInterface] = Field(default_factory=list)
    # None: this source does not know the disks; [] would say "no disks".
    disks: list[VirtualDisk] | None = None
    # The host (a device of the same cluster) the VM runs on, by name; at `site`.
    device: str | None = None
    primary_ip4: str | None = None
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _status = field_validator("status")(_status_validator(VM_STATUSES, "virtual machine"))
    _primary = field_validator("primary_ip4")(_check_ip)
    _unique = field_validator("interfaces")(_check_unique_names)
    _unique_disks = field_validator("disks")(_check_unique_disks)

    @property
    def key(self) -> tuple[str, str]:
        return vm_key(self.cluster, self.name)

    def macs(self) -> set[str]:
        return {i.mac for i in self.interfaces if i.mac}


class Cluster(_Input):
    name: str = Field(min_length=1)
    type: str | None = None
    site: str | None = None
    status: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _status = field_validator("status")(_status_validator(CLUSTER_STATUSES, "cluster"))

    @property
    def key(self) -> tuple[str]:
        return (self.name,)


class Service(_Input):
    name: str = Field(min_length=1)
    protocol: Literal["tcp", "udp", "sctp"]
    ports: list[int] = Field(min_length=1)
    description: str | None = None
    parent: str = Field(min_length=1)
    parent_kind: Literal["device", "virtual_machine"] = "device"
    # The parent's site (device) or cluster (VM) when its name alone is ambiguous.
    parent_scope: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("ports")
    @classmethod
    def _ports(cls, values: list[int]) -> list[int]:
        for port in values:
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} outside 1..65535")
        return sorted(set(values))

    @property
    def parent_key(self) -> tuple[str, str]:
        """The parent's natural key; the merge fills `parent_scope` once the parent is known."""
        if self.parent_kind == "device":
            return device_key(self.parent_scope, self.parent)
        return vm_key(self.parent_scope, self.parent)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.parent_kind, *self.parent_key, self.protocol, self.name)


class IPAddress(_Input):
    """A standalone address: a host that no interface-bearing record knows (or extra details)."""

    address: str
    status: str | None = None
    dns_name: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _address = field_validator("address")(_check_ip)
    _status = field_validator("status")(_status_validator(IP_STATUSES, "IP address"))

    @property
    def key(self) -> tuple[str]:
        return (ip_host(self.address),)


Record = Device | VirtualMachine | Cluster | Service | IPAddress

RECORD_TYPES: dict[str, type[BaseModel]] = {
    "device": Device,
    "virtual_machine": VirtualMachine,
    "cluster": Cluster,
    "service": Service,
    "ip_address": IPAddress,
}


def device_key(site: str | None, name: str) -> tuple[str, str]:
    return (slugify(site) if site else "", fold_name(name))


def vm_key(cluster: str | None, name: str) -> tuple[str, str]:
    return (cluster or "", fold_name(name))


def record_type_of(record: BaseModel) -> str:
    for name, cls in RECORD_TYPES.items():
        if isinstance(record, cls):
            return name
    raise TypeError(f"not a canonical record: {type(record).__name__}")


class Conflict(BaseModel):
    """Two sources disagree, or an identity match was refused; kept for the operator to see."""

    record_type: str
    key: tuple[str, ...]
    field: str | None = None
    message: str
    values: dict[str, Any] = Field(default_factory=dict)


class Inventory(BaseModel):
    """The merged, canonical estate."""

    devices: list[Device] = Field(default_factory=list)
    virtual_machines: list[VirtualMachine] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    ip_addresses: list[IPAddress] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    # (source kind, instance) that contributed to each record, by record type and key.
    contributors: dict[str, dict[str, list[tuple[str, str]]]] = Field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "devices": len(self.devices),
            "virtual_machines": len(self.virtual_machines),
            "clusters": len(self.clusters),
            "services": len(self.services),
            "ip_addresses": len(self.ip_addresses),
        }

    def instances_of(self, record_type: str, key: tuple[str, ...]) -> list[tuple[str, str]]:
        return self.contributors.get(record_type, {}).get(key_text(key), [])


def key_text(key: tuple[Any, ...]) -> str:
    """A readable, stable string form of a natural key (for logs, tables and JSON maps)."""
    return "/".join(str(part) for part in _flatten(key))


def _flatten(key: Any) -> list[Any]:
    if isinstance(key, (tuple, list)):
        out: list[Any] = []
        for part in key:
            out.extend(_flatten(part))
        return out
    return [key]


# --- what a source returns ----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordError:
    """One bad record (or one bad field of it), located precisely enough to fix by hand."""

    instance: str
    location: str  # "path:line" (CSV: "path:row")
    record_key: str | None
    field: str | None  # e.g. "interfaces[1].mac"
    message: str

    def __str__(self) -> str:
        where = self.location
        if self.record_key:
            where += f" {self.record_key}"
        if self.field:
            where += f" field {self.field}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "location": self.location,
            "record_key": self.record_key,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class SourceResult:
    source_kind: str
    instance: str
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    records: list[Record] = field(default_factory=list)
    # As received, for the staging DB: {record_type, record_key, location, payload}.
    raw_records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    observed_at: datetime | None = None
    # Said once per run, for the run's log and metadata (e.g. "no raw sockets: no MACs").
    warnings: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Succeeded with at least one record: only then may its absences count towards pruning."""
        return self.status == "ok" and len(self.records) > 0

    def of_type(self, record_type: str) -> list[Record]:
        return [r for r in self.records if record_type_of(r) == record_type]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for record in self.records:
            name = record_type_of(record)
            out[name] = out.get(name, 0) + 1
        return out


@dataclass(frozen=True)
class CustomField:
    """A custom field a source writes: created in NetBox with this type (4.6 rejects undeclared ones)."""

    name: str
    type: str  # NetBox custom field type: "integer", "text", ...
    object_types: tuple[str, ...]  # content types, e.g. "virtualization.virtualmachine"
    label: str
    description: str
