"""Inventory -> the NetBox objects it implies, per type, in comparison form (see netbox/schema.py).

One table, `BUILDS`, says how each kind of canonical record becomes desired objects: its
`Inventory` list, the NetBox types it declares, and its builder (a field `spec` for the plain
one-record-one-object kinds, a function for the rest). The fallbacks NetBox needs (a device's
role, manufacturer and type) come from the configuration's `defaults:` through one function,
`building.resolve_defaults`.

Every object carries the owner tag and one `source-<kind>` tag per source kind that contributed
it. Reference objects (manufacturers, sites, roles, device types, platforms, ...) a record names
but none declares are derived with NetBox's slug rules. A field the inventory does not know is
None: "no opinion", never compared nor written (the type's `create_only` values fill what
NetBox requires on create).
"""

from collections.abc import Mapping
from typing import Any

from netbox_pipeline.model import Inventory, key_text
from netbox_pipeline.netbox.schema import OWNER_TAG, TYPES
from netbox_pipeline.reconcile import build_cables as cables
from netbox_pipeline.reconcile import build_compute as compute
from netbox_pipeline.reconcile import build_datacenter as datacenter
from netbox_pipeline.reconcile.building import (
    SLUGGED,
    SOURCE_TAG_PREFIX,
    Build,
    Builder,
    DesiredObject,
    DesiredObjects,
    Fallbacks,
    Problem,
    resolve_defaults,
    source_tag,
)
from netbox_pipeline.values import slugify

__all__ = ["BUILDS", "SOURCE_TAG_PREFIX", "DesiredObject", "DesiredObjects", "Fallbacks", "Problem",
           "desired_objects", "resolve_defaults", "source_tag"]


def _spec(records: str) -> Build:
    return Build(records, (records,), datacenter.from_spec(records, datacenter.SPECS[records]))


# In build order: what an operator declares first, so a later mention finds it (a cluster a
# device names, the VLAN a VID means at a site).
BUILDS: tuple[Build, ...] = (
    _spec("tenant_groups"),
    _spec("tenants"),
    _spec("regions"),
    _spec("site_groups"),
    _spec("sites"),
    Build("locations", ("locations",), datacenter.add_location),
    Build("racks", ("racks", "rack_roles"), datacenter.add_rack),
    _spec("platforms"),
    _spec("vrfs"),
    Build("vlan_groups", ("vlan_groups",), datacenter.add_vlan_group),
    Build("vlans", ("vlans", "ipam_roles"), datacenter.add_vlan),
    Build("prefixes", ("prefixes",), datacenter.add_prefix),
    Build("ip_ranges", ("ip_ranges",), datacenter.add_ip_range),
    Build("clusters", ("clusters", "cluster_types"), compute.add_cluster),
    Build("devices", ("devices", "device_types", "device_roles", "interfaces", "mac_addresses", "ip_addresses"),
          compute.add_device),
    Build("virtual_machines", ("virtual_machines", "vm_interfaces", "virtual_disks", "mac_addresses",
                               "ip_addresses"), compute.add_vm),
    Build("inventory_items", ("inventory_items", "inventory_item_roles"), compute.add_inventory_item),
    Build("services", ("services",), compute.add_service),
    Build("ip_addresses", ("ip_addresses",), compute.add_standalone_ip),
    Build("cables", ("cables",), cables.add_cable),
)


def desired_objects(
    inventory: Inventory,
    *,
    owner_tag: str = OWNER_TAG,
    defaults: Mapping[str, Any] | None = None,
) -> DesiredObjects:
    builder = Builder(owner_tag, inventory, resolve_defaults(defaults))
    _claim_declared_names(builder, inventory)
    for build in BUILDS:
        own_type = build.produces[0]
        for record in getattr(inventory, build.records):
            builder.begin(record, own_type)
            build.build(builder, record, inventory.instances_of(build.records, record.key))
            builder.end()
    for rejected in inventory.rejected:  # left out by the merge: reported with the plan's other findings
        builder.problems.append(Problem(
            "slug_collision", "error", None, None,
            f"{rejected.record_type.replace('_', ' ')} {key_text(rejected.key)} field {rejected.field}: "
            f"{rejected.message}", rejected.location))
    return builder.finish()


def _claim_declared_names(builder: Builder, inventory: Inventory) -> None:
    """A name a record declares (a `sites:` entry) is the spelling every mention must use, even a
    mention built before it (a region a site names, built before the regions that follow it)."""
    for build in BUILDS:
        own_type = build.produces[0]
        if own_type not in SLUGGED:
            continue
        for record in getattr(inventory, build.records):
            if TYPES[own_type].natural_key == ("slug",):
                builder.claim(own_type, (slugify(record.name),), record.name, record)
            elif own_type == "locations":
                builder.claim(own_type, ((slugify(record.site),), slugify(record.name)), record.name, record)
