"""Merge every instance's records into one canonical inventory.

Identity: records with the same natural key are one object. Devices also match on serial and
on any interface MAC, so a host nmap found (name from DNS or the address) attaches to the
device an inventory file declares with that MAC. A secondary match is refused (and recorded as
a conflict) when it would join two records of the same source instance or two different serials.

Precedence: per field, the value of the highest-ranked source kind that knows it (not None)
wins; ranks come from `precedence[field]`, else `precedence["default"]` (the caller's: the
configuration's `precedence:`, whose default is the order of `sources.SOURCES`); unknown kinds rank
last; ties go to the kind name, then the instance name, so the result never depends on order.
Tags are the union. Every winning field keeps its provenance; disagreements become conflicts.

Identity links: a record that joined a merged item other than by its own natural key (a device
by serial or MAC, a service or part that followed its device into another record, a part matched
by serial) is listed in `Inventory.links` with the evidence, so lineage can say why. A record
whose own key is the item's key is implied and not listed.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from netbox_pipeline.model import (
    Cluster,
    Conflict,
    Device,
    IdentityLink,
    Interface,
    Inventory,
    InventoryItem,
    IPAddress,
    Provenance,
    RECORD_LISTS,
    RECORD_TYPES,
    Service,
    SourceResult,
    VirtualMachine,
    VMInterface,
    device_key,
    key_text,
    record_id_of,
    record_location,
    record_type_of,
    slug_collision_message,
)
from netbox_pipeline.values import fold_name, ip_host, slugify

# Merged by their own rules below, not as plain fields.
_STRUCTURED = frozenset({"provenance", "interfaces", "tags", "custom_fields"})


@dataclass(frozen=True)
class _Contribution:
    record: Any
    kind: str
    instance: str

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.instance}"


class _Ranker:
    def __init__(self, precedence: Mapping[str, Sequence[str]]):
        self.precedence = dict(precedence)

    def rank(self, kind: str, field_name: str = "default") -> tuple[int, str]:
        order = list(self.precedence.get(field_name) or self.precedence.get("default") or [])
        return (order.index(kind) if kind in order else len(order), kind)

    def sort(self, contributions: Iterable[_Contribution], field_name: str = "default") -> list[_Contribution]:
        return sorted(contributions, key=lambda c: (*self.rank(c.kind, field_name), c.instance))


def merge(results: Sequence[SourceResult], precedence: Mapping[str, Sequence[str]]) -> Inventory:
    """`precedence`: field name (or "default") -> source kinds, most trusted first.

    Always given by the caller (`PrecedenceConfig.mapping()`, `sources.default_precedence()`):
    the registered order lives in `sources/`, which this layer does not import.
    """
    ranker = _Ranker(precedence)
    by_type: dict[str, list[_Contribution]] = {}
    for result in results:
        if result.status != "ok":
            continue  # a failed instance contributes nothing (and removes nothing)
        for record in result.records:
            by_type.setdefault(record_type_of(record), []).append(
                _Contribution(record, result.source_kind, result.instance)
            )
    inventory = Inventory()
    devices, device_aliases = _merge_devices(by_type.get("device", []), ranker, inventory)
    vms = _merge_keyed(by_type.get("virtual_machine", []), VirtualMachine, "virtual_machine",
                       ranker, inventory)
    vms = _follow_host_devices(vms, devices, device_aliases)
    clusters = _merge_keyed(by_type.get("cluster", []), Cluster, "cluster", ranker, inventory)
    services = _resolve_service_parents(by_type.get("service", []), devices, vms, inventory, device_aliases)
    inventory.devices = sorted(devices, key=lambda d: d.key)
    inventory.virtual_machines = sorted(vms, key=lambda v: v.key)
    inventory.clusters = sorted(clusters, key=lambda c: c.key)
    inventory.services = sorted(
        _merge_keyed(services, Service, "service", ranker, inventory), key=lambda s: s.key
    )
    inventory.ip_addresses = sorted(
        _merge_keyed(by_type.get("ip_address", []), IPAddress, "ip_address", ranker, inventory),
        key=lambda i: i.key,
    )
    items = _merge_inventory_items(by_type.get("inventory_item", []), devices, device_aliases, ranker, inventory)
    inventory.inventory_items = sorted(items, key=lambda i: i.key)
    for record_type, cls in RECORD_TYPES.items():  # the datacenter skeleton: plain keyed records
        if record_type in _MERGED_ABOVE:
            continue
        merged = _merge_keyed(by_type.get(record_type, []), cls, record_type, ranker, inventory)
        setattr(inventory, RECORD_LISTS[record_type], sorted(merged, key=lambda r: r.key))
    inventory.links.sort(key=lambda link: (link.record_type, link.key, link.source_kind, link.instance,
                                           link.record_key, link.reason))
    return inventory


_MERGED_ABOVE = frozenset({"device", "virtual_machine", "cluster", "service", "ip_address",
                           "inventory_item"})


# --------------------------------------------------------------------------- identity


@dataclass
class _DeviceAliases:
    """Each member device record's own key -> its merged device's key, and the evidence that joined
    it when that was not its key (what a service or part naming that record follows)."""

    merged_key: dict[tuple, tuple] = field(default_factory=dict)
    evidence: dict[tuple, str] = field(default_factory=dict)

    def get(self, record_key: tuple, default: Any = None) -> Any:
        return self.merged_key.get(record_key, default)

    def reason(self, record_key: tuple) -> str:
        """Why a record naming this device follows it into its merged record ("device MAC …")."""
        return f"device {self.evidence.get(record_key, 'name')}"


def _link(record_type: str, key: tuple, contribution: "_Contribution", reason: str) -> IdentityLink:
    return IdentityLink(record_type=record_type, key=key, source_kind=contribution.kind,
                        instance=contribution.instance, record_key=record_id_of(contribution.record),
                        reason=reason)


@dataclass
class _Group:
    members: list[_Contribution] = field(default_factory=list)
    instances: set[tuple[str, str]] = field(default_factory=set)
    serials: set[str] = field(default_factory=set)

    def refuses(self, contribution: _Contribution) -> str | None:
        if (contribution.kind, contribution.instance) in self.instances:
            return f"both records come from {contribution.label}"
        serial = contribution.record.serial
        if serial and self.serials and serial not in self.serials:
            return f"serials differ ({serial} vs {', '.join(sorted(self.serials))})"
        return None

    def add(self, contribution: _Contribution) -> None:
        self.members.append(contribution)
        self.instances.add((contribution.kind, contribution.instance))
        if contribution.record.serial:
            self.serials.add(contribution.record.serial)


def _follow_host_devices(
    vms: list[VirtualMachine], devices: list[Device], device_aliases: _DeviceAliases,
) -> list[VirtualMachine]:
    """A VM's host (`device`, by name at the VM's site) follows that device record into its merged
    device: a NAS an inventory file names otherwise still hosts its VMs under the merged name."""
    by_key = {device.key: device for device in devices}
    out = []
    for vm in vms:
        own = device_key(vm.site, vm.device) if vm.device else None
        host = by_key.get(device_aliases.get(own)) if own is not None else None
        if host is not None and host.key != own:
            vm = vm.model_copy(update={"device": host.name, "site": host.site or vm.site})
        out.append(vm)
    return out


def _merge_devices(
    contributions: list[_Contribution], ranker: _Ranker, inventory: Inventory
) -> tuple[list[Device], _DeviceAliases]:
    """Merged devices, and each member record's own key -> its merged device's key."""
    groups: list[_Group] = []
    by_key: dict[tuple, int] = {}
    by_serial: dict[str, int] = {}
    by_mac: dict[str, int] = {}
    evidence: dict[int, str] = {}  # id(contribution) -> the serial or MAC that joined it
    for contribution in ranker.sort(contributions):
        record: Device = contribution.record
        index = by_key.get(record.key)
        if index is not None and _slug_collision(groups[index].members[0], contribution, "device", inventory):
            continue
        if index is None:
            index, found = _secondary_match(contribution, groups, by_serial, by_mac, inventory)
            if found is not None:
                evidence[id(contribution)] = found
        if index is None:
            groups.append(_Group())
            index = len(groups) - 1
        groups[index].add(contribution)
        by_key.setdefault(record.key, index)
        if record.serial:
            by_serial.setdefault(record.serial, index)
        for mac in sorted(record.macs()):
            owner = by_mac.setdefault(mac, index)
            if owner != index:
                inventory.conflicts.append(Conflict(
                    record_type="device", key=record.key, field="mac",
                    message=f"MAC {mac} is claimed by {key_text(record.key)} ({contribution.label}) "
                            f"and by {key_text(groups[owner].members[0].record.key)}",
                    values={"mac": mac},
                ))
    merged = [_merge_group(g.members, Device, "device", ranker, inventory) for g in groups]
    aliases = _DeviceAliases()
    for group, device in zip(groups, merged):
        for member in group.members:
            aliases.merged_key.setdefault(member.record.key, device.key)
            found = evidence.get(id(member))
            if found is not None:
                aliases.evidence.setdefault(member.record.key, found)
                if key_text(member.record.key) != key_text(device.key):
                    inventory.links.append(_link("device", device.key, member, found))
    return merged, aliases


def _secondary_match(
    contribution: _Contribution,
    groups: list[_Group],
    by_serial: dict[str, int],
    by_mac: dict[str, int],
    inventory: Inventory,
) -> tuple[int | None, str | None]:
    """The group a device joins by serial or MAC, and that evidence ("serial S1", "MAC …")."""
    record: Device = contribution.record
    candidates: list[tuple[str, int]] = []
    if record.serial and record.serial in by_serial:
        candidates.append((f"serial {record.serial}", by_serial[record.serial]))
    candidates += [(f"MAC {mac}", by_mac[mac]) for mac in sorted(record.macs()) if mac in by_mac]
    for evidence, index in candidates:
        reason = groups[index].refuses(contribution)
        target = key_text(groups[index].members[0].record.key)
        if reason is None:
            return index, evidence
        inventory.conflicts.append(Conflict(
            record_type="device", key=record.key, field=None,
            message=f"{evidence} of {key_text(record.key)} ({contribution.label}) matches "
                    f"{target}, but the match was refused: {reason}",
            values={"evidence": evidence, "matched": target},
        ))
    return None, None


def _merge_keyed(
    contributions: list[_Contribution], cls: type[BaseModel], record_type: str,
    ranker: _Ranker, inventory: Inventory,
) -> list[Any]:
    groups: dict[tuple, list[_Contribution]] = {}
    for contribution in ranker.sort(contributions):
        members = groups.setdefault(contribution.record.key, [])
        if not members or not _slug_collision(members[0], contribution, record_type, inventory):
            members.append(contribution)
    return [_merge_group(members, cls, record_type, ranker, inventory) for members in groups.values()]


def _slug_collision(first: _Contribution, other: _Contribution, record_type: str, inventory: Inventory) -> bool:
    """`Home Lab` in one file and `home.lab` in another make one slug but are two names: the
    record that ranks lower is left out with a located error, not merged without a word."""
    collision = slug_collision_message(first.record, other.record)
    if collision is None:
        return False
    field_name, message = collision
    inventory.rejected.append(Conflict(
        record_type=record_type, key=other.record.key, field=field_name, message=message,
        values={first.label: getattr(first.record, field_name), other.label: getattr(other.record, field_name)},
        location=record_location(other.record) or other.label,
    ))
    return True


# --------------------------------------------------------------------------- field precedence


def _merge_group(
    members: list[_Contribution], cls: type[BaseModel], record_type: str,
    ranker: _Ranker, inventory: Inventory,
) -> Any:
    group_key = members[0].record.key
    values: dict[str, Any] = {}
    provenance: dict[str, Provenance] = {}
    for name in cls.model_fields:
        if name in _STRUCTURED:
            continue
        winner = _pick(members, name, ranker, record_type, group_key, inventory)
        if winner is not None:
            values[name] = getattr(winner.record, name)
            if name in winner.record.provenance:
                provenance[name] = winner.record.provenance[name]
    if "tags" in cls.model_fields:
        values["tags"] = sorted({t for m in members for t in m.record.tags})
        for member in ranker.sort(members, "tags"):
            if member.record.tags and "tags" in member.record.provenance:
                provenance["tags"] = member.record.provenance["tags"]
                break
    if "custom_fields" in cls.model_fields:
        values["custom_fields"] = _merge_custom_fields(members, ranker, provenance)
    if "interfaces" in cls.model_fields:
        interface_cls = Interface if cls is Device else VMInterface
        values["interfaces"] = _merge_interfaces(members, interface_cls, ranker, provenance)
    merged = cls.model_construct(**values, provenance=provenance)
    key = merged.key  # type: ignore[attr-defined]
    contributors = sorted({(m.kind, m.instance) for m in members})
    inventory.contributors.setdefault(RECORD_LISTS[record_type], {})[key_text(key)] = contributors
    return merged


def _pick(
    members: list[_Contribution], name: str, ranker: _Ranker, record_type: str,
    group_key: tuple, inventory: Inventory,
) -> _Contribution | None:
    knowing = [m for m in ranker.sort(members, name) if getattr(m.record, name) is not None]
    if not knowing:
        return None
    # A value a source gave beats one filled from defaults; precedence orders each group (stable sort).
    knowing.sort(key=lambda m: _defaulted(m, name))
    given = [m for m in knowing if not _defaulted(m, name)]
    distinct = {_comparable(name, getattr(m.record, name)) for m in given}
    if len(distinct) > 1:
        inventory.conflicts.append(Conflict(
            record_type=record_type, key=group_key, field=name,
            message=f"sources disagree on {name}; {knowing[0].label} wins by precedence",
            values={m.label: getattr(m.record, name) for m in given},
        ))
    return knowing[0]


def _defaulted(member: _Contribution, name: str) -> bool:
    entry = member.record.provenance.get(name)
    return bool(entry and entry.defaulted)


def _comparable(name: str, value: Any) -> Any:
    if name == "name" and isinstance(value, str):
        return fold_name(value)
    if isinstance(value, list):
        return tuple(value)
    return value


def _merge_custom_fields(
    members: list[_Contribution], ranker: _Ranker, provenance: dict[str, Provenance]
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for member in reversed(ranker.sort(members, "custom_fields")):  # best rank written last
        for cf_name, value in member.record.custom_fields.items():
            if value is None:
                continue
            merged[cf_name] = value
            entry = member.record.provenance.get(f"custom_fields.{cf_name}")
            if entry:
                provenance[f"custom_fields.{cf_name}"] = entry
    return dict(sorted(merged.items()))


def _merge_interfaces(
    members: list[_Contribution], cls: type[BaseModel], ranker: _Ranker,
    provenance: dict[str, Provenance],
) -> list[Any]:
    """Interfaces match by name, then by MAC (a discovered NIC whose name the source invented)."""
    groups: list[list[tuple[_Contribution, Any]]] = []
    by_name: dict[str, int] = {}
    by_mac: dict[str, int] = {}
    for member in ranker.sort(members):
        for interface in member.record.interfaces:
            index = by_name.get(interface.name)
            if index is None and interface.mac:
                index = by_mac.get(interface.mac)
            if index is None:
                groups.append([])
                index = len(groups) - 1
            groups[index].append((member, interface))
            by_name.setdefault(interface.name, index)
            if interface.mac:
                by_mac.setdefault(interface.mac, index)
    merged: list[Any] = []
    used_names: set[str] = set()
    for group in groups:
        values: dict[str, Any] = {}
        origin: dict[str, tuple[_Contribution, Any]] = {}
        for attr in cls.model_fields:
            if attr == "ip_addresses":
                continue
            ranked = sorted(group, key=lambda pair: (*ranker.rank(pair[0].kind, attr), pair[0].instance))
            for member, interface in ranked:
                if getattr(interface, attr) is not None:
                    values[attr] = getattr(interface, attr)
                    origin[attr] = (member, interface)
                    break
        if values["name"] in used_names:
            continue  # two sources' NICs renamed onto one name: the first keeps it
        used_names.add(values["name"])
        addresses: list[str] = []
        for _member, interface in group:  # one entry per host; a known prefix length wins
            for address in interface.ip_addresses:
                same = next((i for i, a in enumerate(addresses) if ip_host(a) == ip_host(address)), None)
                if same is None:
                    addresses.append(address)
                elif "/" in address and "/" not in addresses[same]:
                    addresses[same] = address
        values["ip_addresses"] = addresses
        for attr, (member, interface) in origin.items():
            entry = member.record.provenance.get(f"interfaces[{interface.name}].{attr}")
            if entry and attr != "name":
                provenance[f"interfaces[{values['name']}].{attr}"] = entry
        for member, interface in group:
            entry = member.record.provenance.get(f"interfaces[{interface.name}].ip_addresses")
            if entry:
                provenance.setdefault(f"interfaces[{values['name']}].ip_addresses", entry)
        merged.append(cls.model_construct(**values))
    return merged


# --------------------------------------------------------------------------- services


def _resolve_service_parents(
    contributions: list[_Contribution], devices: list[Device], vms: list[VirtualMachine],
    inventory: Inventory, device_aliases: _DeviceAliases | None = None,
) -> list[_Contribution]:
    """Pin each service to its parent's full key (site or cluster); drop orphaned services."""
    by_name: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for device in devices:
        by_name.setdefault(("device", fold_name(device.name)), []).append(device.key)
    for vm in vms:
        by_name.setdefault(("virtual_machine", fold_name(vm.name)), []).append(vm.key)
    aliases = device_aliases or _DeviceAliases()
    resolved: list[_Contribution] = []
    for contribution in contributions:
        service: Service = contribution.record
        candidates = by_name.get((service.parent_kind, fold_name(service.parent)), [])
        alias = aliases.get(service.parent_key) if service.parent_kind == "device" else None
        if alias is not None and alias != service.parent_key:
            candidates = [alias]  # its source's device was merged into another by MAC or serial
        elif service.parent_scope is not None:
            scope = slugify(service.parent_scope) if service.parent_kind == "device" else service.parent_scope
            candidates = [k for k in candidates if k[0] == scope]
        if len(candidates) != 1:
            problem = "no such parent" if not candidates else "parent name is ambiguous; set parent_scope"
            inventory.conflicts.append(Conflict(
                record_type="service", key=service.key, field="parent",
                message=f"service {service.name!r} ({contribution.label}) dropped: "
                        f"{service.parent_kind.replace('_', ' ')} {service.parent!r}: {problem}",
                values={"candidates": [key_text(k) for k in candidates]},
            ))
            continue
        scope_value, parent_name = candidates[0][0], service.parent
        if service.parent_kind == "device":
            parent_device = next(d for d in devices if d.key == candidates[0])
            scope_value, parent_name = parent_device.site or "", parent_device.name
        pinned = service.model_copy(update={"parent": parent_name, "parent_scope": scope_value or None})
        resolved.append(_Contribution(pinned, contribution.kind, contribution.instance))
        if alias is not None and alias != service.parent_key and key_text(pinned.key) != key_text(service.key):
            inventory.links.append(_link("service", pinned.key, contribution, aliases.reason(service.parent_key)))
    return resolved



# --------------------------------------------------------------------------- inventory items


def _merge_inventory_items(
    contributions: list[_Contribution], devices: list[Device], device_aliases: _DeviceAliases,
    ranker: _Ranker, inventory: Inventory,
) -> list[InventoryItem]:
    """Items follow their device into its merged record, then join by key or, on one device, by
    serial (a disk a file names "bay 3" and a NAS names by its serial is one part)."""
    by_device = {device.key: device for device in devices}
    groups: list[list[_Contribution]] = []
    by_key: dict[tuple, int] = {}
    by_serial: dict[tuple, int] = {}
    joined: list[tuple[_Contribution, int, list[str]]] = []  # (as given, its group, why not by its key)
    for contribution in ranker.sort(contributions):
        item: InventoryItem = contribution.record
        alias = device_aliases.get(item.device_key)
        reasons = [device_aliases.reason(item.device_key)] if alias is not None and alias != item.device_key else []
        device = by_device.get(device_aliases.get(item.device_key, item.device_key))
        if device is None:
            inventory.conflicts.append(Conflict(
                record_type="inventory_item", key=item.key, field="device",
                message=f"inventory item {item.name!r} ({contribution.label}) dropped: "
                        f"no device {key_text(item.device_key)}"))
            continue
        item = item.model_copy(update={"device": device.name, "site": device.site})
        pinned = _Contribution(item, contribution.kind, contribution.instance)
        index = by_key.get(item.key)
        if index is None and item.serial:
            index = by_serial.get((item.device_key, item.serial))
            if index is not None:
                reasons.append(f"serial {item.serial}")
        if index is None:
            groups.append([])
            index = len(groups) - 1
        groups[index].append(pinned)
        joined.append((contribution, index, reasons))
        by_key.setdefault(item.key, index)
        if item.serial:
            by_serial.setdefault((item.device_key, item.serial), index)
    merged = [_merge_group(members, InventoryItem, "inventory_item", ranker, inventory) for members in groups]
    for contribution, index, reasons in joined:
        if reasons and key_text(contribution.record.key) != key_text(merged[index].key):
            inventory.links.append(_link("inventory_item", merged[index].key, contribution, ", ".join(reasons)))
    return merged
