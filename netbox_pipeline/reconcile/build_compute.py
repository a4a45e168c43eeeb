"""Builders for what sources discover: clusters, devices (with their interfaces and the links
between them: LAG, parent, bridge), VMs (with their interfaces, MACs, IPs and disks), parts of
devices (inventory items), services and standalone addresses. Rows of the build table in
reconcile/desired.py."""

from typing import Any

from netbox_pipeline.model import Device, InventoryItem, VirtualMachine
from netbox_pipeline.netbox.schema import Key, key_from_fields
from netbox_pipeline.reconcile.build_datacenter import rack_key, resolve_vlan
from netbox_pipeline.reconcile.building import Builder, renamed
from netbox_pipeline.values import ip_host, normalise_number, slugify


def add_cluster(builder: Builder, cluster: Any, instances: list) -> None:
    _cluster(builder, cluster.name, instances, cluster_record=cluster)


def _cluster(builder: Builder, name: str, instances: list, cluster_record: Any = None) -> Key:
    key = key_from_fields("clusters", {"name": name})
    if cluster_record is None and key in builder.pending["clusters"]:
        # A mention by a device or VM: the declared cluster already says what it is.
        builder.pending["clusters"][key].instances.update(instances)
        return key
    cluster_type = cluster_record.type if cluster_record is not None else None
    type_key = builder.named("cluster_types", cluster_type or builder.fallbacks.cluster_type, instances)
    fields: dict[str, Any] = {"name": name, "type": type_key, "scope": None, "status": None,
                              "description": None}
    tags: list[str] = []
    provenance: dict = {}
    if cluster_record is not None:
        if cluster_record.site:
            fields["scope"] = ("sites", builder.named("sites", cluster_record.site, instances))
        fields["status"] = cluster_record.status
        fields["description"] = cluster_record.description
        tags = cluster_record.tags
        provenance = renamed(cluster_record.provenance, {"scope": "site"})
    return builder.add("clusters", fields, instances, tags=tags, provenance=provenance)


def add_device(builder: Builder, device: Device, instances: list) -> None:
    fallbacks = builder.fallbacks
    site = device.site or fallbacks.site
    if not site:
        builder.problem("missing_site", "devices", device.key,
                        f"device {device.name!r} has no site and no default site is configured; not synced",
                        provenance=_any(device.provenance))
        return
    manufacturer = device.manufacturer or fallbacks.manufacturer
    model = device.model or fallbacks.device_type
    manufacturer_key = builder.named("manufacturers", manufacturer, instances)
    # Devices of one type may disagree on its part number (or not know it): the first one given wins.
    type_key = builder.add("device_types", {"manufacturer": manufacturer_key, "slug": slugify(model), "model": model,
                                            "part_number": device.part_number}, instances)
    cluster_key = _cluster(builder, device.cluster, instances) if device.cluster else None
    site_key = builder.named("sites", site, instances)
    fields = {
        "name": device.name,
        "site": site_key,
        "location": _mentioned_location(builder, site_key, device.location, device.location_parent, instances),
        "rack": rack_key(site, device.rack) if device.rack else None,
        "position": normalise_number(device.position),
        "face": device.face,
        "airflow": device.airflow,
        "tenant": builder.named("tenants", device.tenant, instances),
        "role": builder.named("device_roles", device.role or fallbacks.device_role, instances),
        "device_type": type_key,
        "platform": builder.named("platforms", device.platform, instances),
        "serial": device.serial,
        "asset_tag": device.asset_tag,
        "status": device.status,
        "description": device.description,
        "cluster": cluster_key,
        "custom_fields": dict(device.custom_fields),
        "primary_ip4": _primary_ip(builder, device, instances),
    }
    if device.rack and fields["rack"] not in builder.pending["racks"]:
        builder.add("racks", {"site": site_key, "name": device.rack}, instances)
    provenance = renamed(device.provenance, {"device_type": "model"})
    device_key = builder.add("devices", fields, instances, tags=device.tags, provenance=provenance)
    for interface in device.interfaces:
        untagged = interface.untagged_vlan or interface.vlan
        tagged = interface.tagged_vlans
        interface_fields = {
            "device": device_key, "name": interface.name, "type": interface.type,
            "enabled": interface.enabled, "mtu": interface.mtu,
            "description": interface.description,
            "mode": interface.mode or ("tagged" if tagged else "access" if untagged else None),
            "untagged_vlan": _vlan(builder, untagged, interface.vlan_group, site, device.name, instances),
            "tagged_vlans": None if tagged is None else tuple(
                k for k in (_vlan(builder, vid, interface.vlan_group, site, device.name, instances)
                            for vid in tagged) if k is not None),
            **{link: _link(device_key, getattr(interface, link)) for link in ("lag", "parent", "bridge")},
        }
        _add_interface(builder, "interfaces", interface_fields, interface, device, instances)


def _link(device_key: Key, name: str | None) -> Key | None:
    """An interface of the same device by name; "" (known to be none) becomes () (clear it)."""
    if name is None:
        return None
    return key_from_fields("interfaces", {"device": device_key, "name": name}) if name else ()


def _vlan(builder: Builder, vid: int | None, group: str | None, site: str | None, owner: str,
          instances: list) -> Key | None:
    return None if vid is None else resolve_vlan(builder, vid, group, site, owner, instances)


def _mentioned_location(
    builder: Builder, site_key: Key, name: str | None, parent: str | None, instances: list,
) -> Key | None:
    """A device's location (and the location containing it), under the device's site."""
    if not name:
        return None
    parent_key = _mentioned_location(builder, site_key, parent, None, instances) if parent else None
    fields = {"site": site_key, "name": name, "slug": slugify(name), "parent": parent_key}
    return builder.add("locations", fields, instances)


def add_vm(builder: Builder, vm: VirtualMachine, instances: list) -> None:
    fallbacks = builder.fallbacks
    cluster_key = _cluster(builder, vm.cluster, instances) if vm.cluster else None
    role = vm.role or fallbacks.vm_role or fallbacks.device_role
    host = None
    if vm.device:  # a reference only: the host device is declared by its own record
        host_site = vm.site or fallbacks.site
        host = key_from_fields("devices", {"site": (slugify(host_site),) if host_site else None,
                                           "name": vm.device})
    fields = {
        "name": vm.name,
        "cluster": cluster_key,
        "site": builder.named("sites", vm.site, instances),
        "device": host,
        "role": builder.named("device_roles", role, instances),
        "platform": builder.named("platforms", vm.platform, instances),
        "status": vm.status,
        "vcpus": normalise_number(vm.vcpus),
        "memory": vm.memory_mb,
        "disk": vm.disk_mb,
        "description": vm.description,
        "custom_fields": dict(vm.custom_fields),
        "primary_ip4": _primary_ip(builder, vm, instances),
    }
    provenance = renamed(vm.provenance, {"memory": "memory_mb", "disk": "disk_mb"})
    vm_key = builder.add("virtual_machines", fields, instances, tags=vm.tags, provenance=provenance)
    for interface in vm.interfaces:
        interface_fields = {
            "virtual_machine": vm_key, "name": interface.name, "enabled": interface.enabled,
            "mtu": interface.mtu, "description": interface.description,
            "mode": "access" if interface.vlan else None,
            "untagged_vlan": _vlan(builder, interface.vlan, None, vm.site, vm.name, instances),
        }
        _add_interface(builder, "vm_interfaces", interface_fields, interface, vm, instances)
    for disk in vm.disks or ():
        builder.add("virtual_disks", {"virtual_machine": vm_key, "name": disk.name,
                                      "size": disk.size_mb, "description": disk.description},
                    instances, provenance={"size": vm.provenance["disks"]} if "disks" in vm.provenance else {})


def _primary_ip(builder: Builder, parent: Device | VirtualMachine, instances: list) -> Key | None:
    """The key of the primary address: in the VRF of the own interface that carries it (else the
    global table, which the primary-IP check then reports as not on the device)."""
    if not parent.primary_ip4:
        return None
    host = ip_host(parent.primary_ip4)
    carrier = next((i for i in parent.interfaces if any(ip_host(a) == host for a in i.ip_addresses)), None)
    return (*_vrf(builder, carrier.vrf if carrier else None, instances), host)


def _vrf(builder: Builder, name: str | None, instances: list) -> Key:
    """An address's VRF as its key part: the VRF by name (made when no record declares it), or
    ("",) for the global table."""
    return builder.add("vrfs", {"name": name}, instances) if name else ("",)


def _any(provenance: dict[str, Any]) -> Any:
    """One field's provenance: every field of a record comes from the same place."""
    return next((entry for entry in provenance.values() if not entry.defaulted), None)


def _add_interface(
    builder: Builder, type_name: str, fields: dict[str, Any], interface: Any, parent: Any, instances: list,
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
    vrf = _vrf(builder, interface.vrf, instances) if interface.ip_addresses else ("",)
    for address in interface.ip_addresses:
        key = (*vrf, ip_host(address))
        if key in builder.ip_owner:
            table = f"VRF {interface.vrf}" if interface.vrf else "the global table"
            builder.problem("identity_collision", "ip_addresses", key,
                            f"IP {key[-1]} in {table} is claimed by {builder.ip_owner[key]} and by {owner}; "
                            f"kept on the first",
                            provenance=provenance.get("ip_addresses") or _any(parent.provenance))
            continue
        builder.ip_owner[key] = owner
        ip_provenance = {"address": provenance["ip_addresses"]} if "ip_addresses" in provenance else {}
        if "vrf" in provenance:
            ip_provenance["vrf"] = provenance["vrf"]
        builder.add("ip_addresses", {"address": address, "vrf": vrf if interface.vrf else None,
                                     "assigned_object": (type_name, interface_key),
                                     "status": None, "dns_name": None, "description": None},
                    instances, provenance=ip_provenance)


def add_inventory_item(builder: Builder, item: InventoryItem, instances: list) -> None:
    site = item.site or builder.fallbacks.site
    device = key_from_fields("devices", {"site": (slugify(site),) if site else None, "name": item.device})
    if device not in builder.pending["devices"]:
        return  # its device was not synced (and that is reported for the device)
    fields = {
        "device": device, "name": item.name, "label": item.label,
        "role": builder.named("inventory_item_roles", item.role, instances),
        "manufacturer": builder.named("manufacturers", item.manufacturer, instances),
        "part_id": item.part_id, "serial": item.serial, "description": item.description,
        "custom_fields": dict(item.custom_fields),
    }
    builder.add("inventory_items", fields, instances, tags=item.tags, provenance=renamed(item.provenance, {}))


def add_service(builder: Builder, service: Any, instances: list) -> None:
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
                provenance=renamed(service.provenance, {}))


def add_standalone_ip(builder: Builder, address: Any, instances: list) -> None:
    """An address no interface carries, or details (status, DNS name) for one that is."""
    fields = {"address": address.address, "vrf": _vrf(builder, address.vrf, instances) if address.vrf else None,
              "tenant": builder.named("tenants", address.tenant, instances),
              "assigned_object": None, "status": address.status,
              "dns_name": address.dns_name, "description": address.description}
    builder.add("ip_addresses", fields, instances, tags=address.tags,
                provenance=renamed(address.provenance, {}))
