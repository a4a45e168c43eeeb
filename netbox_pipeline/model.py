"""Canonical inventory records: what every source produces and the merge consumes.

Input models forbid unknown keys (a typo in an inventory file is an error, not a silently
dropped field). `None` means "this source does not know": the merge falls through to the next
source, and the plan never writes or compares it.
"""

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
SITE_STATUSES = frozenset({"planned", "staging", "active", "decommissioning", "retired"})
LOCATION_STATUSES = SITE_STATUSES
RACK_STATUSES = frozenset({"reserved", "available", "planned", "active", "deprecated"})
VLAN_STATUSES = frozenset({"active", "reserved", "deprecated"})
PREFIX_STATUSES = frozenset({"container", "active", "reserved", "deprecated"})
IP_RANGE_STATUSES = frozenset({"active", "reserved", "deprecated"})
# NetBox refuses a range of more addresses than this (IPRange.clean, MAX_SIZE).
MAX_IP_RANGE_SIZE = 2**32 - 1
CABLE_STATUSES = frozenset({"connected", "planned", "decommissioning"})
CABLE_LENGTH_UNITS = frozenset({"km", "m", "cm", "mi", "ft", "in"})
INTERFACE_MODES = frozenset({"access", "tagged", "tagged-all"})
SERVICE_PROTOCOLS = ("tcp", "udp", "sctp")
# What a record leaves out gets, declared once: the configuration's `defaults:` take their values
# from here (config.Defaults), and so do the build's fallbacks (reconcile.building.Fallbacks) for
# the values NetBox requires of a device.
DEFAULT_VALUES = MappingProxyType({
    "site": "home",
    "device_role": "server",
    "vm_role": "virtual-machine",
    "status": "active",
    "manufacturer": "Generic",
    "device_type": "Generic device",
})

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


# NetBox stores counts and sizes as 32-bit integers (PostgreSQL `integer`); a larger number is
# a typo (10^30 MB) that NetBox would reject with the whole batch.
MAX_NUMBER = 2_147_483_647
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain_value(value: Any) -> Any:
    """Text without control characters (a NUL from a spreadsheet) and numbers NetBox can store."""
    if isinstance(value, str):
        found = _CONTROL.search(value)
        if found:
            raise ValueError(f"contains the control character U+{ord(found.group()):04X} at position "
                             f"{found.start() + 1}; remove it")
    elif isinstance(value, bool):
        return value
    elif isinstance(value, (int, float)):
        if value != value or abs(value) > MAX_NUMBER:  # NaN, infinity, 1e30
            raise ValueError(f"number {value!r} is out of range (at most {MAX_NUMBER:,})")
    elif isinstance(value, (list, tuple)):
        for item in value:
            _plain_value(item)
    elif isinstance(value, dict):
        for item in value.values():
            _plain_value(item)
    return value


class _Input(BaseModel):
    # Numbers become strings where a string is expected (`serial: 12345` in YAML is a string).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)

    _plain = field_validator("*")(_plain_value)


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


def _choice(value: str | None, allowed: frozenset[str], what: str) -> str | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered not in allowed:
        raise ValueError(f"invalid {what} {value!r}; expected one of {', '.join(sorted(allowed))}")
    return lowered


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
    vrf: str | None = None  # the VRF of `ip_addresses` (by name); none: the global table
    vlan: int | None = Field(default=None, ge=1, le=4094)  # the untagged VLAN (`untagged_vlan`)
    # 802.1Q: VLANs by VID, looked up in `vlan_group` when given, else around the device's site.
    mode: str | None = None
    untagged_vlan: int | None = Field(default=None, ge=1, le=4094)
    tagged_vlans: list[int] | None = None
    vlan_group: str | None = None
    # Interfaces of the same device by name: the LAG this one is a member of, its parent (a VLAN's
    # physical interface), the bridge it is a port of. None: not known; "": known to have none
    # (a source that sees every link says so, and a member taken out of a LAG is cleared).
    lag: str | None = None
    parent: str | None = None
    bridge: str | None = None

    _mac = field_validator("mac")(_check_mac)
    _ips = field_validator("ip_addresses")(_check_ips)

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str | None) -> str | None:
        return _choice(value, INTERFACE_MODES, "interface mode")

    @field_validator("tagged_vlans")
    @classmethod
    def _vids(cls, values: list[int] | None) -> list[int] | None:
        for vid in values or ():
            if not 1 <= vid <= 4094:
                raise ValueError(f"VLAN id {vid} outside 1..4094")
        return None if values is None else sorted(set(values))

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
    vrf: str | None = None  # the VRF of `ip_addresses` (by name); none: the global table
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
    # A rack of the site (by name), the lowest unit the device fills, and which face it is on.
    rack: str | None = None
    position: float | None = Field(default=None, gt=0)
    face: Literal["front", "rear"] | None = None
    airflow: str | None = None
    tenant: str | None = None
    role: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    # The device type's part number (NetBox keeps at most 50 characters).
    part_number: str | None = Field(default=None, max_length=50)
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


class InventoryItem(_Input):
    """A part of a device (a disk, a ZFS pool), known by (device, name).

    The name must survive what the part survives: a disk is named by its serial (kernel names such
    as sda move between boots and go with the label), so a replaced disk is a new item.
    """

    device: str = Field(min_length=1)
    site: str | None = None  # the device's site
    name: str = Field(min_length=1, max_length=64)
    label: str | None = None
    role: str | None = None
    manufacturer: str | None = None
    part_id: str | None = None
    serial: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    @property
    def device_key(self) -> tuple[str, str]:
        return device_key(self.site, self.device)

    @property
    def key(self) -> tuple[str, str, str]:
        return (*self.device_key, self.name)


class IPAddress(_Input):
    """A standalone address: a host that no interface-bearing record knows (or extra details).

    Its identity is (VRF, host): the same address in two VRFs (or in a VRF and the global table)
    is two objects, as in NetBox."""

    address: str
    vrf: str | None = None  # by name; none: the global table
    tenant: str | None = None
    status: str | None = None
    dns_name: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _address = field_validator("address")(_check_ip)
    _status = field_validator("status")(_status_validator(IP_STATUSES, "IP address"))

    @property
    def key(self) -> tuple[str, str]:
        return ip_key(self.vrf, self.address)


def ip_key(vrf: str | None, address: str) -> tuple[str, str]:
    """An address's identity: its VRF's name ("" for the global table) and its host."""
    return (vrf or "", ip_host(address))


# --- the skeleton of a datacenter: what only an operator's files can say --------------------------
# References between records are by name (a VLAN's group, a site's region); the NetBox side turns
# them into keys (reconcile/desired.py). A record named by another but not declared is still made.


class _Named(_Input):
    """A record NetBox identifies by slug (regions, groups, tenants, platforms, ...)."""

    name: str = Field(min_length=1)
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str]:
        return (slugify(self.name),)


class Region(_Named):
    parent: str | None = None


class SiteGroup(_Named):
    parent: str | None = None


class TenantGroup(_Named):
    parent: str | None = None


class Tenant(_Named):
    group: str | None = None


class Platform(_Named):
    manufacturer: str | None = None


class Site(_Named):
    region: str | None = None
    group: str | None = None
    tenant: str | None = None
    status: str | None = None
    facility: str | None = None
    time_zone: str | None = None
    physical_address: str | None = None
    shipping_address: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    _status = field_validator("status")(_status_validator(SITE_STATUSES, "site"))


class Location(_Input):
    name: str = Field(min_length=1)
    site: str = Field(min_length=1)
    parent: str | None = None
    status: str | None = None
    tenant: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _status = field_validator("status")(_status_validator(LOCATION_STATUSES, "location"))

    @property
    def key(self) -> tuple[str, str]:
        return (slugify(self.site), fold_name(self.name))


class Rack(_Input):
    name: str = Field(min_length=1)
    site: str = Field(min_length=1)
    location: str | None = None
    role: str | None = None
    u_height: int | None = Field(default=None, ge=1, le=100)
    tenant: str | None = None
    status: str | None = None
    serial: str | None = None
    asset_tag: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _status = field_validator("status")(_status_validator(RACK_STATUSES, "rack"))

    @property
    def key(self) -> tuple[str, str]:
        return (slugify(self.site), fold_name(self.name))


class VRF(_Input):
    name: str = Field(min_length=1)
    rd: str | None = None
    enforce_unique: bool | None = None
    tenant: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str]:
        return (self.name,)


class VLANGroup(_Named):
    # The scope: a site or a region (not both); neither is a global group.
    site: str | None = None
    region: str | None = None

    @model_validator(mode="after")
    def _one_scope(self) -> "VLANGroup":
        if self.site and self.region:
            raise ValueError("a VLAN group is scoped to a site or to a region, not both")
        return self


class VLAN(_Input):
    vid: int = Field(ge=1, le=4094)
    name: str = Field(min_length=1)
    group: str | None = None
    site: str | None = None
    status: str | None = None
    role: str | None = None
    tenant: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _status = field_validator("status")(_status_validator(VLAN_STATUSES, "VLAN"))

    @property
    def key(self) -> tuple[str, str, int]:
        return vlan_key(self.group, self.site, self.vid)


class Prefix(_Input):
    prefix: str
    vrf: str | None = None
    # The scope: at most one of site, location (of `site`) and region.
    site: str | None = None
    location: str | None = None
    region: str | None = None
    vlan: int | None = Field(default=None, ge=1, le=4094)
    vlan_group: str | None = None
    status: str | None = None
    role: str | None = None
    tenant: str | None = None
    is_pool: bool | None = None
    mark_utilized: bool | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _status = field_validator("status")(_status_validator(PREFIX_STATUSES, "prefix"))

    @field_validator("prefix")
    @classmethod
    def _network(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError as exc:
            raise ValueError(f"invalid prefix {value!r}: {exc}") from None

    @model_validator(mode="after")
    def _one_scope(self) -> "Prefix":
        if self.location and not self.site:
            raise ValueError("a prefix scoped to a location names the location's site too")
        if self.region and self.site:
            raise ValueError("a prefix is scoped to a site (or location) or to a region, not both")
        return self

    @property
    def key(self) -> tuple[str, str]:
        return (self.vrf or "", self.prefix)


class IPRange(_Input):
    """A range of addresses (a DHCP pool, a block kept for one purpose), from `start_address` to
    `end_address` inclusive; its identity is (VRF, start, end)."""

    start_address: str
    end_address: str
    vrf: str | None = None
    status: str | None = None
    tenant: str | None = None
    role: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _start = field_validator("start_address")(_check_ip)
    _status = field_validator("status")(_status_validator(IP_RANGE_STATUSES, "IP range"))

    @field_validator("end_address")
    @classmethod
    def _end(cls, value: str, info: Any) -> str | None:
        """What NetBox's IPRange.clean refuses, said here with the record's file and line."""
        end = _check_ip(value)
        start = info.data.get("start_address")
        if start is None or end is None:
            return end
        first, last = ipaddress.ip_interface(start), ipaddress.ip_interface(end)
        if first.version != last.version:
            raise ValueError(f"start {start} and end {end} are of different families (IPv{first.version}, "
                             f"IPv{last.version}); a range is in one")
        if ("/" in start) != ("/" in end) or first.network.prefixlen != last.network.prefixlen:
            raise ValueError(f"start {start} and end {end} must have the same prefix length (or neither one)")
        if last.ip < first.ip:
            raise ValueError(f"end {end} is before start {start}")
        if last.ip == first.ip:  # 4.7 accepts it, earlier releases refuse it
            raise ValueError(f"start and end are both {start}; for one address, use an ip_addresses record")
        if int(last.ip) - int(first.ip) + 1 > MAX_IP_RANGE_SIZE:
            raise ValueError(f"{start} - {end} holds more than {MAX_IP_RANGE_SIZE:,} addresses (NetBox's limit)")
        return end

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.vrf or "", ip_host(self.start_address), ip_host(self.end_address))


class CableEnd(_Input):
    """One end of a cable: an interface of a device (`site` when the device's name is not unique)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True, frozen=True)

    device: str = Field(min_length=1)
    interface: str = Field(min_length=1)
    site: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (slugify(self.site) if self.site else "", fold_name(self.device), self.interface)


class Cable(_Input):
    """A cable between two interfaces. Its identity is its two ends, in either order."""

    a: CableEnd
    b: CableEnd
    type: str | None = None
    status: str | None = None
    label: str | None = None
    color: str | None = None
    length: float | None = Field(default=None, gt=0)
    length_unit: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    _status = field_validator("status")(_status_validator(CABLE_STATUSES, "cable"))

    @model_validator(mode="before")
    @classmethod
    def _flat_ends(cls, data: Any) -> Any:
        """A CSV row names the ends as `a_device`, `a_interface`, `a_site`, `b_...` columns."""
        if isinstance(data, dict) and any(k[:2] in ("a_", "b_") for k in data):
            data = dict(data)
            for side in ("a", "b"):
                flat = {k[2:]: data.pop(k) for k in list(data) if k.startswith(f"{side}_") and k[2:] in CableEnd.model_fields}
                if flat:
                    data[side] = {**(data.get(side) or {}), **{k: v for k, v in flat.items() if v not in ("", None)}}
        return data

    @field_validator("type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        if value is not None and not _INTERFACE_TYPE.match(value.lower()):
            raise ValueError(f"invalid cable type {value!r}")
        return None if value is None else value.lower()

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is None:
            return None
        colour = value.lower().removeprefix("#")
        if not re.fullmatch(r"[0-9a-f]{6}", colour):
            raise ValueError(f"invalid cable color {value!r}; expected six hex digits, e.g. ff0000")
        return colour

    @field_validator("length_unit")
    @classmethod
    def _unit(cls, value: str | None) -> str | None:
        return _choice(value, CABLE_LENGTH_UNITS, "cable length unit")

    @model_validator(mode="after")
    def _two_ends(self) -> "Cable":
        if self.a.key == self.b.key:
            raise ValueError(f"a cable joins two different interfaces; both ends are {self.a.device} {self.a.interface}")
        if self.length is not None and self.length_unit is None:
            raise ValueError("a cable's length needs its length_unit (km, m, cm, mi, ft, in)")
        return self

    @property
    def key(self) -> tuple[str, ...]:
        first, second = sorted((self.a.key, self.b.key))
        return (*first, *second)


def vlan_key(group: str | None, site: str | None, vid: int) -> tuple[str, str, int]:
    """NetBox keeps a VID unique within its group; a VLAN without a group is keyed by its site."""
    return (slugify(group) if group else "", "" if group or not site else slugify(site), vid)



Record = (Device | VirtualMachine | Cluster | Service | IPAddress | Region | SiteGroup | TenantGroup | Tenant
          | Site | Location | Rack | Platform | VRF | VLANGroup | VLAN | Prefix | IPRange | InventoryItem | Cable)

RECORD_TYPES: dict[str, type[BaseModel]] = {
    "device": Device,
    "virtual_machine": VirtualMachine,
    "cluster": Cluster,
    "service": Service,
    "ip_address": IPAddress,
    "region": Region,
    "site_group": SiteGroup,
    "tenant_group": TenantGroup,
    "tenant": Tenant,
    "site": Site,
    "location": Location,
    "rack": Rack,
    "platform": Platform,
    "vrf": VRF,
    "vlan_group": VLANGroup,
    "vlan": VLAN,
    "prefix": Prefix,
    "ip_range": IPRange,
    "inventory_item": InventoryItem,
    "cable": Cable,
}
_DISCOVERED_LISTS = ("devices", "virtual_machines", "clusters", "services", "ip_addresses", "inventory_items")
# Record type -> its list in `Inventory` (and its name in `Inventory.contributors`).
RECORD_LISTS: dict[str, str] = {
    "device": "devices", "virtual_machine": "virtual_machines", "cluster": "clusters",
    "service": "services", "ip_address": "ip_addresses", "region": "regions",
    "site_group": "site_groups", "tenant_group": "tenant_groups", "tenant": "tenants",
    "site": "sites", "location": "locations", "rack": "racks", "platform": "platforms",
    "vrf": "vrfs", "vlan_group": "vlan_groups", "vlan": "vlans", "prefix": "prefixes",
    "ip_range": "ip_ranges", "inventory_item": "inventory_items", "cable": "cables",
}


def device_key(site: str | None, name: str) -> tuple[str, str]:
    return (slugify(site) if site else "", fold_name(name))


def vm_key(cluster: str | None, name: str) -> tuple[str, str]:
    return (cluster or "", fold_name(name))


def record_id_of(record: Any) -> str:
    """The id a source gave a record (its provenance's record id), else its natural key: the key it
    is staged under, so lineage finds the stored record and its location."""
    return next((p.record_id for p in record.provenance.values()), key_text(record.key))


def slug_collision(first: BaseModel, second: BaseModel) -> tuple[str, str, str, str, str] | None:
    """Why two records with one natural key are not the same object: a field of the key they spell
    differently (`Home Lab`, `home.lab`) that NetBox's slug rules make one.

    Returns (field, what it names, first's spelling, second's spelling, the slug), or None when
    the records are simply the same object given twice.
    """
    for name in type(second).model_fields:
        theirs, ours = getattr(first, name, None), getattr(second, name, None)
        if not (isinstance(theirs, str) and isinstance(ours, str)) or fold_name(theirs) == fold_name(ours):
            continue
        slug = slugify(ours)
        # Part of the key: another spelling with another slug would make another key.
        if slug == slugify(theirs) and second.model_copy(update={name: f"{ours} x"}).key != second.key:  # type: ignore[attr-defined]
            noun = record_type_of(second) if name == "name" else name
            return name, noun.replace("_", " "), theirs, ours, slug
    return None


def record_location(record: BaseModel) -> str | None:
    """Where a record was read (file:line), else which source instance gave it."""
    for entry in getattr(record, "provenance", {}).values():
        return entry.location or f"{entry.source_kind}:{entry.instance}"
    return None


def slug_collision_message(first: BaseModel, second: BaseModel) -> tuple[str, str] | None:
    """(field, message) when `second` spells a slugged part of `first`'s key differently."""
    collision = slug_collision(first, second)
    if collision is None:
        return None
    field, noun, first_name, name, slug = collision
    where = record_location(first)
    return field, (f"{name!r} and {first_name!r}{f' ({where})' if where else ''} make the same slug {slug!r}; "
                   f"NetBox keeps one {noun} per slug: write one spelling everywhere")


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
    # Where the record that lost is (file:line, or kind:instance): set when it was left out.
    location: str | None = None


class IdentityLink(BaseModel):
    """Why one source record joined a merged item other than by its own natural key.

    A device found by serial or by an interface MAC, a service or inventory item that followed its
    device into another record (a device alias), a part matched by serial on its device. Records
    whose own key is the item's key are implied and never listed.
    """

    record_type: str
    key: tuple[str, ...]  # the merged item's natural key
    source_kind: str
    instance: str
    record_key: str  # the source record's id as staged (`record_id_of`)
    reason: str  # "MAC AA:BB:CC:DD:EE:01", "serial SN123", "device MAC …"


class Inventory(BaseModel):
    """The merged, canonical estate."""

    devices: list[Device] = Field(default_factory=list)
    virtual_machines: list[VirtualMachine] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    ip_addresses: list[IPAddress] = Field(default_factory=list)
    regions: list[Region] = Field(default_factory=list)
    site_groups: list[SiteGroup] = Field(default_factory=list)
    tenant_groups: list[TenantGroup] = Field(default_factory=list)
    tenants: list[Tenant] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    locations: list[Location] = Field(default_factory=list)
    racks: list[Rack] = Field(default_factory=list)
    platforms: list[Platform] = Field(default_factory=list)
    vrfs: list[VRF] = Field(default_factory=list)
    vlan_groups: list[VLANGroup] = Field(default_factory=list)
    vlans: list[VLAN] = Field(default_factory=list)
    prefixes: list[Prefix] = Field(default_factory=list)
    ip_ranges: list[IPRange] = Field(default_factory=list)
    inventory_items: list[InventoryItem] = Field(default_factory=list)
    cables: list[Cable] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    links: list[IdentityLink] = Field(default_factory=list)
    # Records left out of the merge with a located error (two spellings of one slug in their key).
    rejected: list[Conflict] = Field(default_factory=list)
    # (source kind, instance) that contributed to each record, by record type and key.
    contributors: dict[str, dict[str, list[tuple[str, str]]]] = Field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Per record list; the datacenter skeleton's lists only when they hold records."""
        counts = {name: len(getattr(self, name)) for name in RECORD_LISTS.values()}
        return {name: n for name, n in counts.items() if n or name in _DISCOVERED_LISTS}

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
    # NetBox types (names in netbox/schema.py) this source could not observe this run, e.g.
    # "inventory_items" when a NAS refused its disk list: their absence is unknown, not gone.
    unobserved: frozenset[str] = frozenset()

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


# The NetBox custom field types a value can be checked against without more declaration (select
# fields need a choice set, object fields a target type).
TEXT_FIELD_TYPES = frozenset({"text", "longtext", "url"})
CUSTOM_FIELD_TYPES = ("text", "longtext", "integer", "decimal", "boolean", "date", "datetime", "url", "json")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


def custom_field_value(field_type: str, value: Any) -> Any:
    """`value` as NetBox stores a custom field of `field_type`; ValueError says what is wrong.

    None (clear the field) is always accepted. Dates and times (a YAML date is a `date`) become
    ISO text, which is what NetBox answers with, so the next plan compares equal.
    """
    if value is None or field_type == "json":
        return value
    what = _value_kind(value)
    if field_type in TEXT_FIELD_TYPES:
        if not isinstance(value, str):
            raise ValueError(f"is a {field_type} field, got {what} {value!r}; quote it to write it as text")
        if field_type == "url" and not _URL_SCHEME.match(value):
            raise ValueError(f"is a url field, got {value!r}; write a URL such as https://host/path")
        return value
    if field_type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"is an integer field, got {what} {value!r}{_unquote_hint(value)}")
        return value
    if field_type == "decimal":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"is a decimal field, got {what} {value!r}{_unquote_hint(value)}")
        return float(value) if isinstance(value, float) else value
    if field_type == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"is a boolean field (true or false), got {what} {value!r}")
        return value
    if field_type == "date":
        return _iso_date(value, what)
    if field_type == "datetime":
        return _iso_datetime(value, what)
    raise ValueError(f"has the type {field_type!r}, which the pipeline cannot check; "
                     f"use one of {', '.join(CUSTOM_FIELD_TYPES)}")


def _unquote_hint(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return "; write the number without quotes"
    return ""


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _iso_date(value: Any, what: str) -> str:
    if isinstance(value, datetime):
        raise ValueError(f"is a date field, got a date and time {value.isoformat()!r}; give the date alone (YYYY-MM-DD)")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError(f"is a date field (YYYY-MM-DD), got {what} {value!r}")


def _iso_datetime(value: Any, what: str) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError(f"is a datetime field (ISO 8601, e.g. 2026-11-20T10:00:00+00:00), got {what} {value!r}")
