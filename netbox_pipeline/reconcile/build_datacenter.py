"""Builders for the skeleton an operator writes down: regions, groups, tenants, sites, locations,
racks, platforms, VRFs, VLAN groups, VLANs, prefixes and IP ranges (rows of the build table in
desired.py).

Most are one record -> one object with a few references by name: those are a `spec` (NetBox
field -> record attribute, or a `Named` reference), turned into a builder by `from_spec`. A named
object no record declares is still made (a site a device names, a region a site names).
"""

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netbox_pipeline.model import IPRange, Location, Prefix, Rack, VLANGroup, vlan_key
from netbox_pipeline.netbox.schema import Key
from netbox_pipeline.reconcile.building import Builder, BuildFn, renamed
from netbox_pipeline.values import fold_name, normalise_number, slugify


@dataclass(frozen=True)
class Named:
    """A reference by name to a slug-keyed type, from the record attribute `attr`."""

    type: str
    attr: str


Spec = Mapping[str, "str | Named"]


def from_spec(type_name: str, spec: Spec) -> BuildFn:
    """A builder for records whose NetBox object is `spec` applied to the record."""

    def build(builder: Builder, record: Any, instances: list) -> None:
        fields: dict[str, Any] = {}
        renames: dict[str, str] = {}
        for netbox_field, source in spec.items():
            if isinstance(source, Named):
                fields[netbox_field] = builder.named(source.type, getattr(record, source.attr), instances)
                renames[netbox_field] = source.attr
            elif source == "slug":
                fields[netbox_field] = slugify(record.name)
            else:
                value = getattr(record, source)
                fields[netbox_field] = normalise_number(value) if isinstance(value, float) else value
                renames[netbox_field] = source
        builder.add(type_name, fields, instances, tags=record.tags,
                    provenance=renamed(record.provenance, renames))

    return build


def _tree(type_name: str) -> Spec:
    return {"slug": "slug", "name": "name", "parent": Named(type_name, "parent"), "description": "description"}


SPECS: dict[str, Spec] = {
    "regions": _tree("regions"),
    "site_groups": _tree("site_groups"),
    "tenant_groups": _tree("tenant_groups"),
    "tenants": {"slug": "slug", "name": "name", "group": Named("tenant_groups", "group"),
                "description": "description"},
    "platforms": {"slug": "slug", "name": "name", "manufacturer": Named("manufacturers", "manufacturer"),
                  "description": "description"},
    "sites": {"slug": "slug", "name": "name", "status": "status", "region": Named("regions", "region"),
              "group": Named("site_groups", "group"), "tenant": Named("tenants", "tenant"),
              "facility": "facility", "time_zone": "time_zone", "description": "description",
              "physical_address": "physical_address", "shipping_address": "shipping_address",
              "latitude": "latitude", "longitude": "longitude"},
    "vrfs": {"name": "name", "rd": "rd", "enforce_unique": "enforce_unique",
             "tenant": Named("tenants", "tenant"), "description": "description"},
}


def rack_key(site: str, name: str) -> Key:
    return (slugify(site), fold_name(name))


def add_location(builder: Builder, location: Location, instances: list) -> None:
    site_key = builder.named("sites", location.site, instances)
    parent = None
    if location.parent:
        parent = builder.add("locations", {"site": site_key, "name": location.parent,
                                           "slug": slugify(location.parent)}, instances)
    fields = {"site": site_key, "name": location.name, "slug": slugify(location.name), "parent": parent,
              "status": location.status, "tenant": builder.named("tenants", location.tenant, instances),
              "description": location.description}
    builder.add("locations", fields, instances, tags=location.tags,
                provenance=renamed(location.provenance, {}))


def add_rack(builder: Builder, rack: Rack, instances: list) -> None:
    site_key = builder.named("sites", rack.site, instances)
    location = None
    if rack.location:
        location = builder.add("locations", {"site": site_key, "name": rack.location,
                                             "slug": slugify(rack.location)}, instances)
    fields = {"site": site_key, "name": rack.name, "location": location,
              "role": builder.named("rack_roles", rack.role, instances), "u_height": rack.u_height,
              "tenant": builder.named("tenants", rack.tenant, instances), "status": rack.status,
              "serial": rack.serial, "asset_tag": rack.asset_tag, "description": rack.description}
    builder.add("racks", fields, instances, tags=rack.tags, provenance=renamed(rack.provenance, {}))


def add_vlan_group(builder: Builder, group: VLANGroup, instances: list) -> None:
    scope = None
    if group.site:
        scope = ("sites", builder.named("sites", group.site, instances))
    elif group.region:
        scope = ("regions", builder.named("regions", group.region, instances))
    fields = {"slug": slugify(group.name), "name": group.name, "scope": scope, "description": group.description}
    builder.add("vlan_groups", fields, instances, tags=group.tags,
                provenance=renamed(group.provenance, {"scope": "site" if group.site else "region"}))


def add_vlan(builder: Builder, vlan: Any, instances: list) -> None:
    fields = {"vid": vlan.vid, "name": vlan.name,
              "group": builder.named("vlan_groups", vlan.group, instances),
              "site": None if vlan.group else builder.named("sites", vlan.site, instances),
              "status": vlan.status, "role": builder.named("ipam_roles", vlan.role, instances),
              "tenant": builder.named("tenants", vlan.tenant, instances), "description": vlan.description}
    builder.add("vlans", fields, instances, tags=vlan.tags, provenance=renamed(vlan.provenance, {}))


def add_prefix(builder: Builder, prefix: Prefix, instances: list) -> None:
    scope = None
    if prefix.location:
        site_key = builder.named("sites", prefix.site, instances)
        scope = ("locations", builder.add("locations", {"site": site_key, "name": prefix.location,
                                                        "slug": slugify(prefix.location)}, instances))
    elif prefix.site:
        scope = ("sites", builder.named("sites", prefix.site, instances))
    elif prefix.region:
        scope = ("regions", builder.named("regions", prefix.region, instances))
    vlan = None
    if prefix.vlan is not None:
        vlan = resolve_vlan(builder, prefix.vlan, prefix.vlan_group, prefix.site, f"prefix {prefix.prefix}",
                            instances)
    vrf = None
    if prefix.vrf:
        vrf = builder.add("vrfs", {"name": prefix.vrf}, instances)
    fields = {"prefix": prefix.prefix, "vrf": vrf, "scope": scope, "vlan": vlan, "status": prefix.status,
              "role": builder.named("ipam_roles", prefix.role, instances),
              "tenant": builder.named("tenants", prefix.tenant, instances), "is_pool": prefix.is_pool,
              "mark_utilized": prefix.mark_utilized, "description": prefix.description}
    builder.add("prefixes", fields, instances, tags=prefix.tags,
                provenance=renamed(prefix.provenance, {"scope": "site" if prefix.site else "region"}))


def add_ip_range(builder: Builder, ip_range: IPRange, instances: list) -> None:
    """One range; one that overlaps another range of the files in the same VRF is left out with
    both locations (NetBox refuses overlapping ranges in a VRF)."""
    first, last = (int(ipaddress.ip_interface(a).ip) for a in (ip_range.start_address, ip_range.end_address))
    family = ipaddress.ip_interface(ip_range.start_address).version
    label = f"IP range {ip_range.start_address}-{ip_range.end_address}"
    taken = builder.ip_ranges.setdefault((ip_range.vrf or "", family), [])
    clash = next((other for lo, hi, other in taken if lo <= last and first <= hi), None)
    if clash is not None:
        table = f"VRF {ip_range.vrf}" if ip_range.vrf else "the global table"
        builder.problem("ip_range_overlap", "ip_ranges", ip_range.key,
                        f"{label} overlaps {clash} in {table}; NetBox refuses overlapping ranges, not synced",
                        provenance=next(iter(ip_range.provenance.values()), None))
        return
    taken.append((first, last, _located(label, ip_range.provenance)))
    fields = {"start_address": ip_range.start_address, "end_address": ip_range.end_address,
              "vrf": builder.add("vrfs", {"name": ip_range.vrf}, instances) if ip_range.vrf else None,
              "status": ip_range.status, "tenant": builder.named("tenants", ip_range.tenant, instances),
              "role": builder.named("ipam_roles", ip_range.role, instances), "description": ip_range.description}
    builder.add("ip_ranges", fields, instances, tags=ip_range.tags, provenance=renamed(ip_range.provenance, {}))


def _located(label: str, provenance: Mapping[str, Any]) -> str:
    found = next((p.location for p in provenance.values() if p.location), None)
    return f"{label} ({found})" if found else label


def resolve_vlan(builder: Builder, vid: int, group: str | None, site: str | None, owner: str,
                 instances: list) -> Key | None:
    """The VLAN a VID means for something at `site`: in `group` when one is named, else the one
    declared VLAN with that VID of the site, of a group scoped to the site or its region, or
    global. None of them: a global VLAN (as a VM's `vlan` always was); several: a problem."""
    if group:
        builder.named("vlan_groups", group, instances)
        return builder.add("vlans", {"vid": vid, "name": f"VLAN {vid}", "group": (slugify(group),)}, instances)
    inventory = builder.inventory
    site_slug = slugify(site) if site else None
    region = next((slugify(s.region) for s in inventory.sites if s.region and slugify(s.name) == site_slug), None)
    scopes = {slugify(g.name): (slugify(g.site) if g.site else None, slugify(g.region) if g.region else None)
              for g in inventory.vlan_groups}
    candidates = []
    for vlan in inventory.vlans:
        if vlan.vid != vid:
            continue
        if vlan.group:
            group_site, group_region = scopes.get(slugify(vlan.group), (None, None))
            near = (group_site is not None and group_site == site_slug) or (
                group_region is not None and group_region == region) or (group_site is None and group_region is None)
        else:
            near = vlan.site is None or slugify(vlan.site) == site_slug
        if near:
            candidates.append(vlan.key)
    if len(candidates) > 1:
        builder.problem("ambiguous_vlan", "vlans", None,
                        f"{owner}: VLAN {vid} could be any of {', '.join('/'.join(map(str, k)) for k in candidates)}; "
                        f"name its vlan_group")
        return None
    key = candidates[0] if candidates else vlan_key(None, None, vid)
    if not candidates:
        builder.add("vlans", {"vid": vid, "name": f"VLAN {vid}"}, instances)
    return key
