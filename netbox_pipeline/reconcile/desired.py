"""Inventory -> the NetBox objects it implies, per type, in comparison form (see netbox/schema.py).

Every object carries the owner tag and one `source-<kind>` tag per source kind that contributed
it. Reference objects (manufacturers, sites, roles, device types, platforms, cluster types, tags)
are derived from what devices and VMs name, with NetBox's slug rules. A field the inventory does
not know is None: "no opinion", never compared nor written (the type's `create_only` values fill
what NetBox requires on create).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netbox_pipeline.model import (
    Device,
    Inventory,
    Provenance,
    VirtualMachine,
    key_text,
)
from netbox_pipeline.netbox.schema import OWNER_TAG, TYPES, Key, key_from_fields
from netbox_pipeline.values import ip_host, normalise_number, slugify

SOURCE_TAG_PREFIX = "source-"
FALLBACKS = {
    "device_role": "server",
    "manufacturer": "Generic",
    "model": "Unknown",
    "cluster_type": "Generic",
}


@dataclass(frozen=True)
class DesiredObject:
    type: str
    key: Key
    fields: dict[str, Any]
    source_kinds: frozenset[str]
    instances: frozenset[tuple[str, str]]
    provenance: dict[str, Provenance] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A finding that should stop a run (severity "error") or be looked at ("warning")."""

    check: str
    severity: str
    type: str | None
    key: Key | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "type": self.type,
                "key": None if self.key is None else key_text(self.key), "message": self.message}


class DesiredObjects(dict[str, dict[Key, DesiredObject]]):
    """{type name: {natural key: DesiredObject}}, plus the problems found while deriving it."""

    def __init__(self) -> None:
        super().__init__({name: {} for name in TYPES})
        self.problems: list[Problem] = []

    def count(self) -> int:
        return sum(len(objects) for objects in self.values())


def source_tag(kind: str) -> str:
    return f"{SOURCE_TAG_PREFIX}{slugify(kind)}"


@dataclass
class _Pending:
    fields: dict[str, Any]
    record_tags: set[str]
    instances: set[tuple[str, str]]
    provenance: dict[str, Provenance]


class _Builder:
    def __init__(self, owner_tag: str):
        self.owner_tag = owner_tag
        self.pending: dict[str, dict[Key, _Pending]] = {name: {} for name in TYPES}
        self.tag_names: dict[str, str] = {}
        self.problems: list[Problem] = []

    def add(
        self, type_name: str, fields: dict[str, Any], instances: list[tuple[str, str]],
        *, tags: list[str] | tuple[str, ...] = (), provenance: dict[str, Provenance] | None = None,
    ) -> Key:
        key = key_from_fields(type_name, fields)
        existing = self.pending[type_name].get(key)
        if existing is None:
            self.pending[type_name][key] = _Pending(dict(fields), set(), set(), dict(provenance or {}))
            existing = self.pending[type_name][key]
        else:
            for name, value in fields.items():  # a later mention may know more (not less)
                if existing.fields.get(name) is None and value is not None:
                    existing.fields[name] = value
        for tag in tags:
            slug = slugify(tag)
            if slug:
                existing.record_tags.add(slug)
                self.tag_names.setdefault(slug, tag)
        existing.instances.update(instances)
        return key

    def finish(self) -> DesiredObjects:
        result = DesiredObjects()
        all_kinds: set[str] = set()
        for type_name, objects in self.pending.items():
            nbtype = TYPES[type_name]
            for key, pending in objects.items():
                kinds = {kind for kind, _ in pending.instances}
                all_kinds |= kinds
                fields = dict(pending.fields)
                if "tags" in nbtype.managed:
                    fields["tags"] = tuple(sorted(
                        {self.owner_tag, *(source_tag(k) for k in kinds), *pending.record_tags}
                    ))
                result[type_name][key] = DesiredObject(
                    type=type_name, key=key, fields=fields, source_kinds=frozenset(kinds),
                    instances=frozenset(pending.instances), provenance=pending.provenance,
                )
        self._add_tag_objects(result, all_kinds)
        result.problems = list(self.problems)
        return result

    def _add_tag_objects(self, result: DesiredObjects, all_kinds: set[str]) -> None:
        instances_by_tag: dict[str, set[tuple[str, str]]] = {}
        for objects in result.values():
            for obj in objects.values():
                for slug in obj.fields.get("tags", ()):
                    instances_by_tag.setdefault(slug, set()).update(obj.instances)
        names = {self.owner_tag: self.owner_tag, **{source_tag(k): source_tag(k) for k in all_kinds}}
        names.update(self.tag_names)
        for slug, instances in sorted(instances_by_tag.items()):
            fields = {"slug": slug, "name": names.get(slug, slug)}
            result["tags"][(slug,)] = DesiredObject(
                type="tags", key=(slug,), fields=fields,
                source_kinds=frozenset(k for k, _ in instances), instances=frozenset(instances),
            )


def desired_objects(
    inventory: Inventory,
    *,
    owner_tag: str = OWNER_TAG,
    defaults: Mapping[str, Any] | None = None,
) -> DesiredObjects:
    defaults = {**FALLBACKS, **{k: v for k, v in (defaults or {}).items() if v not in (None, "")}}
    builder = _Builder(owner_tag)
    ip_owner: dict[str, str] = {}
    for cluster in inventory.clusters:
        _add_cluster(builder, cluster.name, cluster.type, cluster.site, defaults,
                     inventory.instances_of("clusters", cluster.key), cluster_record=cluster)
    for device in inventory.devices:
        _add_device(builder, device, defaults, inventory.instances_of("devices", device.key), ip_owner)
    for vm in inventory.virtual_machines:
        _add_vm(builder, vm, defaults, inventory.instances_of("virtual_machines", vm.key), ip_owner)
    for service in inventory.services:
        _add_service(builder, service, inventory.instances_of("services", service.key))
    for address in inventory.ip_addresses:
        _add_standalone_ip(builder, address, inventory.instances_of("ip_addresses", address.key))
    return builder.finish()


def _ref(builder: _Builder, type_name: str, name: str, instances: list, **extra: Any) -> Key:
    return builder.add(type_name, {"slug": slugify(name), "name": name, **extra}, instances)


def _add_cluster(
    builder: _Builder, name: str, cluster_type: str | None, site: str | None,
    defaults: Mapping[str, Any], instances: list, cluster_record: Any = None,
) -> Key:
    key = key_from_fields("clusters", {"name": name})
    if cluster_record is None and key in builder.pending["clusters"]:
        # A mention by a device or VM: the declared cluster already says what it is.
        builder.pending["clusters"][key].instances.update(instances)
        return key
    type_key = _ref(builder, "cluster_types", cluster_type or defaults["cluster_type"], instances)
    fields: dict[str, Any] = {"name": name, "type": type_key, "scope": None, "status": None,
                              "description": None}
    if site:
        fields["scope"] = ("sites", _ref(builder, "sites", site, instances))
    tags: list[str] = []
    provenance: dict[str, Provenance] = {}
    if cluster_record is not None:
        fields["status"] = cluster_record.status
        fields["description"] = cluster_record.description
        tags = cluster_record.tags
        provenance = _renamed(cluster_record.provenance, {"scope": "site"})
    return builder.add("clusters", fields, instances, tags=tags, provenance=provenance)


def _renamed(provenance: Mapping[str, Provenance], renames: Mapping[str, str]) -> dict[str, Provenance]:
    """Inventory provenance re-keyed to NetBox field names."""
    out = {name: entry for name, entry in provenance.items() if "[" not in name}
    for netbox_name, inventory_name in renames.items():
        out.pop(inventory_name, None)
        if inventory_name in provenance:
            out[netbox_name] = provenance[inventory_name]
    return out


def _add_device(
    builder: _Builder, device: Device, defaults: Mapping[str, Any], instances: list,
    ip_owner: dict[str, str],
) -> None:
    site = device.site or defaults.get("site")
    if not site:
        builder.problems.append(Problem(
            "missing_site", "error", "devices", device.key,
            f"device {device.name!r} has no site and no default site is configured; not synced",
        ))
        return
    manufacturer = device.manufacturer or defaults["manufacturer"]
    model = device.model or defaults["model"]
    manufacturer_key = _ref(builder, "manufacturers", manufacturer, instances)
    type_key = builder.add("device_types", {"manufacturer": manufacturer_key,
                                            "slug": slugify(model), "model": model}, instances)
    cluster_key = None
    if device.cluster:
        cluster_key = _add_cluster(builder, device.cluster, None, None, defaults, instances)
    site_key = _ref(builder, "sites", site, instances)
    fields = {
        "name": device.name,
        "site": site_key,
        "location": _add_location(builder, site_key, device.location, device.location_parent, instances),
        "role": _ref(builder, "device_roles", device.role or defaults["device_role"], instances),
        "device_type": type_key,
        "platform": _ref(builder, "platforms", device.platform, instances) if device.platform else None,
        "serial": device.serial,
        "asset_tag": device.asset_tag,
        "status": device.status,
        "description": device.description,
        "cluster": cluster_key,
        "custom_fields": dict(device.custom_fields),
        "primary_ip4": (ip_host(device.primary_ip4),) if device.primary_ip4 else None,
    }
    provenance = _renamed(device.provenance, {"device_type": "model"})
    device_key = builder.add("devices", fields, instances, tags=device.tags, provenance=provenance)
    for interface in device.interfaces:
        interface_fields = {
            "device": device_key, "name": interface.name, "type": interface.type,
            "enabled": interface.enabled, "mtu": interface.mtu,
            "description": interface.description,
        }
        _add_interface(builder, "interfaces", interface_fields, interface, device, instances, ip_owner)


def _add_location(
    builder: _Builder, site_key: Key, name: str | None, parent: str | None, instances: list,
) -> Key | None:
    """A device's location (and the location containing it), under the device's site."""
    if not name:
        return None
    parent_key = _add_location(builder, site_key, parent, None, instances) if parent else None
    fields = {"site": site_key, "name": name, "slug": slugify(name), "parent": parent_key}
    return builder.add("locations", fields, instances)


def _add_vm(
    builder: _Builder, vm: VirtualMachine, defaults: Mapping[str, Any], instances: list,
    ip_owner: dict[str, str],
) -> None:
    cluster_key = _add_cluster(builder, vm.cluster, None, None, defaults, instances) if vm.cluster else None
    role = vm.role or defaults.get("vm_role") or defaults["device_role"]
    host = None
    if vm.device:  # a reference only: the host device is declared by its own record
        host_site = vm.site or defaults.get("site")
        host = key_from_fields("devices", {"site": (slugify(host_site),) if host_site else None,
                                           "name": vm.device})
    fields = {
        "name": vm.name,
        "cluster": cluster_key,
        "site": _ref(builder, "sites", vm.site, instances) if vm.site else None,
        "device": host,
        "role": _ref(builder, "device_roles", role, instances),
        "platform": _ref(builder, "platforms", vm.platform, instances) if vm.platform else None,
        "status": vm.status,
        "vcpus": normalise_number(vm.vcpus),
        "memory": vm.memory_mb,
        "disk": vm.disk_mb,
        "description": vm.description,
        "custom_fields": dict(vm.custom_fields),
        "primary_ip4": (ip_host(vm.primary_ip4),) if vm.primary_ip4 else None,
    }
    provenance = _renamed(vm.provenance, {"memory": "memory_mb", "disk": "disk_mb"})
    vm_key = builder.add("virtual_machines", fields, instances, tags=vm.tags, provenance=provenance)
    for interface in vm.interfaces:
        interface_fields = {
            "virtual_machine": vm_key, "name": interface.name, "enabled": interface.enabled,
            "mtu": interface.mtu, "description": interface.description,
            "mode": "access" if interface.vlan else None,
            "untagged_vlan": _vlan(builder, interface.vlan, instances) if interface.vlan else None,
        }
        _add_interface(builder, "vm_interfaces", interface_fields, interface, vm, instances, ip_owner)
    for disk in vm.disks or ():
        builder.add("virtual_disks", {"virtual_machine": vm_key, "name": disk.name,
                                      "size": disk.size_mb, "description": disk.description},
                    instances, provenance={"size": vm.provenance["disks"]} if "disks" in vm.provenance else {})


def _vlan(builder: _Builder, vid: int, instances: list) -> Key:
    return builder.add("vlans", {"vid": vid, "name": f"VLAN {vid}"}, instances)


def _add_interface(
    builder: _Builder, type_name: str, fields: dict[str, Any], interface: Any, parent: Any,
    instances: list, ip_owner: dict[str, str],
) -> None:
    prefix = f"interfaces[{interface.name}]."
    provenance = {name[len(prefix):]: entry for name, entry in parent.provenance.items()
                  if name.startswith(prefix)}
    interface_key = key_from_fields(type_name, fields)
    fields["primary_mac_address"] = (type_name, *interface_key, interface.mac) if interface.mac else None
    builder.add(type_name, fields, instances, provenance=provenance)
    owner = f"{parent.name} {interface.name}"
    if interface.mac:
        builder.add("mac_addresses", {"mac_address": interface.mac,
                                      "assigned_object": (type_name, interface_key)},
                    instances, provenance={"mac_address": provenance["mac"]} if "mac" in provenance else {})
    for address in interface.ip_addresses:
        host = ip_host(address)
        if host in ip_owner:
            builder.problems.append(Problem(
                "identity_collision", "error", "ip_addresses", (host,),
                f"IP {host} is claimed by {ip_owner[host]} and by {owner}; kept on the first",
            ))
            continue
        ip_owner[host] = owner
        ip_provenance = {"address": provenance["ip_addresses"]} if "ip_addresses" in provenance else {}
        builder.add("ip_addresses", {"address": address, "assigned_object": (type_name, interface_key),
                                     "status": None, "dns_name": None, "description": None},
                    instances, provenance=ip_provenance)


def _add_service(builder: _Builder, service: Any, instances: list) -> None:
    if service.parent_kind == "device":
        parent = ("devices", key_from_fields("devices", {
            "site": (slugify(service.parent_scope),) if service.parent_scope else None,
            "name": service.parent}))
    else:
        parent = ("virtual_machines", key_from_fields("virtual_machines", {
            "cluster": (service.parent_scope,) if service.parent_scope else None,
            "name": service.parent}))
    fields = {"parent": parent, "protocol": service.protocol, "name": service.name,
              "ports": tuple(service.ports), "description": service.description}
    builder.add("services", fields, instances, tags=service.tags,
                provenance=_renamed(service.provenance, {}))


def _add_standalone_ip(builder: _Builder, address: Any, instances: list) -> None:
    """An address no interface carries, or details (status, DNS name) for one that is."""
    fields = {"address": address.address, "assigned_object": None, "status": address.status,
              "dns_name": address.dns_name, "description": address.description}
    builder.add("ip_addresses", fields, instances, tags=address.tags,
                provenance=_renamed(address.provenance, {}))
