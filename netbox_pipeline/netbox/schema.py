"""The one declared table of the NetBox types the pipeline manages.

Per type: endpoint, natural key, managed fields, references, choice fields, dependency order,
prunable flag; and the converters between NetBox JSON and the comparison form the plan uses.

Comparison form (the same for desired, last written and live values):
- scalars normalised (`values.py`): choices as their value, 2.0 as 2, "" as None;
- a reference as the natural key tuple of the referenced object, e.g. `site: ("home",)`; a
  desired reference of `()` means "known to be empty": compared and written as null (an
  interface taken out of its LAG), where None means "no opinion";
- a generic reference (`assigned_object_type` + `assigned_object_id`, `scope_type` + `scope_id`,
  a service's `parent_object_type` + `parent_object_id`) as `(type name, key)`;
- tags as a sorted tuple of slugs; custom fields as a dict.

Natural keys are flat tuples: references in a key are spliced in, names NetBox compares
case-insensitively are folded (device `(site slug, name)`, interface `(site slug, device, name)`),
an empty reference is "" (an address `(VRF name, host)`, `("", host)` in the global table).

Reads: every object of every managed type, one paginated pass per type, asking only for the
fields the plan compares (`read_params`: `fields=` cuts a page of interfaces to a seventh of its
full size on 4.7). Filtering on the owner tag is not enough: an object a person created with the
same natural key must be seen, or the pipeline would try to create a duplicate.

Adding a type: one `NetBoxType(...)` declaration and one line in `_REGISTRATION`.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from netbox_pipeline.values import (
    fold_name,
    ip_equal,
    ip_host,
    normalise_custom_fields,
    normalise_int_set,
    normalise_ip,
    normalise_mac,
    normalise_scalar,
    normalise_tags,
    with_prefix_length,
)

OWNER_TAG = "netbox-pipeline"
UNRESOLVED = "?id"  # marks a live reference whose target was not in the snapshot

Key = tuple[Any, ...]
KeyOf = Callable[[str, int], Key | None]
ResolveId = Callable[[str, Key], int | None]


@dataclass(frozen=True)
class GenericRef:
    """A reference stored as a content type plus an id (NetBox's generic foreign keys)."""

    type_field: str
    id_field: str
    targets: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class NetBoxType:
    name: str
    endpoint: str
    content_type: str
    natural_key: tuple[str, ...]
    managed: tuple[str, ...]
    refs: Mapping[str, str] = field(default_factory=dict)
    # Field -> type, for a list of references (an interface's tagged VLANs): compared as a set.
    ref_lists: Mapping[str, str] = field(default_factory=dict)
    generic_refs: Mapping[str, GenericRef] = field(default_factory=dict)
    # Field -> target types, for a list of generic references given as {object_type, object_id}
    # (a cable's terminations): compared as a sorted tuple of (type name, key).
    generic_ref_lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Two fields that may be swapped without changing the object (a cable's A and B ends): both
    # sides of the plan orient them the same way, so the key and the diff ignore the order.
    symmetric: tuple[str, str] | None = None
    choices: tuple[str, ...] = ()
    # References NetBox protects (on_delete=PROTECT): the target cannot be deleted while this
    # object points at it, so the plan keeps such a target instead of sending a doomed DELETE.
    protected: tuple[str, ...] = ()
    # Written after every type exists (a device's primary IP lives on its own interface).
    second_pass: tuple[str, ...] = ()
    # Key components NetBox compares case-insensitively.
    folded: tuple[str, ...] = ()
    # Field -> "mac" | "ip" | "int_set"; everything else is a scalar (tags/custom_fields by name).
    kinds: Mapping[str, str] = field(default_factory=dict)
    # Sent when creating (NetBox needs a value) but never compared: a person may change them.
    create_only: Mapping[str, Any] = field(default_factory=dict)
    # The containing object: when it is not ours, neither are its children.
    parent: str | None = None
    # Shared objects other objects point at (manufacturers, sites, ...): used when they exist.
    reference: bool = False
    prunable: bool = False
    taggable: bool = True
    offline_status: str | None = None
    # Live keys of second-pass references, built from the nested object and the owner's key,
    # because the referenced type is read after this one.
    live_keys: Mapping[str, Callable[[Mapping[str, Any], Key], Key]] = field(default_factory=dict)

    @property
    def compared(self) -> tuple[str, ...]:
        """Every field of the comparison form: the natural key's fields, then the managed ones."""
        return tuple(dict.fromkeys(self.natural_key + self.managed))

    def kind(self, name: str) -> str:
        return self._kind_of.get(name, "scalar")

    @cached_property
    def _kind_of(self) -> dict[str, str]:
        # Asked for every field of every object a plan compares: one lookup, built once per type.
        kind_of = dict(self.kinds)
        kind_of.update(dict.fromkeys(self.generic_ref_lists, "generic_ref_list"))
        kind_of.update(dict.fromkeys(self.generic_refs, "generic_ref"))
        kind_of.update(dict.fromkeys(self.ref_lists, "ref_list"))
        kind_of.update(dict.fromkeys(self.refs, "ref"))
        kind_of.update(tags="tags", custom_fields="custom_fields")
        return kind_of

    def dependencies(self) -> set[str]:
        """Types that must be written first (second-pass references excluded)."""
        deps = {t for f, t in {**self.refs, **self.ref_lists}.items() if f not in self.second_pass}
        for name, generic in self.generic_refs.items():
            if name not in self.second_pass:
                deps.update(generic.targets)
        for targets in self.generic_ref_lists.values():
            deps.update(targets)
        if "tags" in self.managed:
            deps.add("tags")
        deps.discard(self.name)
        return deps


def _primary_ip_key(nested: Mapping[str, Any], owner_key: Key) -> Key:
    """Unknown until the addresses are read: NetBox's nested address has no VRF, which is part of
    the key. `build_live` resolves it by id once every type is read."""
    return (UNRESOLVED, int(nested["id"]))


def _same_device_interface_key(nested: Mapping[str, Any], owner_key: Key) -> Key:
    """An interface's LAG, parent or bridge: an interface of the same device, by name."""
    return (*owner_key[:-1], nested["name"])


def _interface_mac_key(parent_type: str) -> Callable[[Mapping[str, Any], Key], Key]:
    def key(nested: Mapping[str, Any], owner_key: Key) -> Key:
        return (parent_type, *owner_key, normalise_mac(nested["mac_address"]))

    return key


_ASSIGNABLE = GenericRef("assigned_object_type", "assigned_object_id", ("interfaces", "vm_interfaces"))

TAGS = NetBoxType(
    name="tags", endpoint="extras/tags", content_type="extras.tag",
    natural_key=("slug",), managed=("name",), reference=True, taggable=False,
    create_only={"color": "9e9e9e"},
)
MANUFACTURERS = NetBoxType(
    name="manufacturers", endpoint="dcim/manufacturers", content_type="dcim.manufacturer",
    natural_key=("slug",), managed=("name", "tags"), reference=True,
)
def _slug_key(nested: Mapping[str, Any], owner_key: Key) -> Key:
    return (nested["slug"],)


def _nested_tree(name: str, endpoint: str, content_type: str) -> NetBoxType:
    """Regions, site groups, tenant groups: slug-keyed trees. The parent is written in the second
    pass, so a parent and its children go in one bulk request. Used when a person made them,
    pruned (after the grace runs) only when ours."""
    return NetBoxType(
        name=name, endpoint=endpoint, content_type=content_type,
        natural_key=("slug",), managed=("name", "parent", "description", "tags"),
        refs={"parent": name}, second_pass=("parent",), live_keys={"parent": _slug_key},
        reference=True, prunable=True,
    )


REGIONS = _nested_tree("regions", "dcim/regions", "dcim.region")
SITE_GROUPS = _nested_tree("site_groups", "dcim/site-groups", "dcim.sitegroup")
TENANT_GROUPS = _nested_tree("tenant_groups", "tenancy/tenant-groups", "tenancy.tenantgroup")
TENANTS = NetBoxType(
    name="tenants", endpoint="tenancy/tenants", content_type="tenancy.tenant",
    natural_key=("slug",), managed=("name", "group", "description", "tags"),
    refs={"group": "tenant_groups"}, reference=True, prunable=True,
)
# Sites a device names are used when they exist; never pruned (a person may keep anything in one).
SITES = NetBoxType(
    name="sites", endpoint="dcim/sites", content_type="dcim.site",
    natural_key=("slug",),
    managed=("name", "status", "region", "group", "tenant", "facility", "time_zone", "description",
             "physical_address", "shipping_address", "latitude", "longitude", "tags"),
    refs={"region": "regions", "group": "site_groups", "tenant": "tenants"}, choices=("status",),
    reference=True, create_only={"status": "active"},
)
DEVICE_ROLES = NetBoxType(
    name="device_roles", endpoint="dcim/device-roles", content_type="dcim.devicerole",
    natural_key=("slug",), managed=("name", "tags"), reference=True,
    create_only={"color": "9e9e9e", "vm_role": True},
)
DEVICE_TYPES = NetBoxType(
    name="device_types", endpoint="dcim/device-types", content_type="dcim.devicetype",
    natural_key=("manufacturer", "slug"), managed=("manufacturer", "model", "part_number", "tags"),
    refs={"manufacturer": "manufacturers"}, reference=True,
)
PLATFORMS = NetBoxType(
    name="platforms", endpoint="dcim/platforms", content_type="dcim.platform",
    natural_key=("slug",), managed=("name", "manufacturer", "description", "tags"),
    refs={"manufacturer": "manufacturers"}, reference=True,
)


def _parent_location_key(nested: Mapping[str, Any], owner_key: Key) -> Key:
    return (owner_key[0], fold_name(nested["name"]))


# Locations within a site (rooms, areas; floors as parents), found by site and name. Like sites,
# used when they exist and never pruned: a person may keep anything else in them. The parent is
# set in the second pass, so a floor and its rooms can be created in one bulk request.
LOCATIONS = NetBoxType(
    name="locations", endpoint="dcim/locations", content_type="dcim.location",
    natural_key=("site", "name"), folded=("name",),
    managed=("name", "slug", "parent", "status", "tenant", "description", "tags"),
    refs={"site": "sites", "parent": "locations", "tenant": "tenants"}, second_pass=("parent",),
    choices=("status",), live_keys={"parent": _parent_location_key}, reference=True,
    create_only={"status": "active"},
)
RACK_ROLES = NetBoxType(
    name="rack_roles", endpoint="dcim/rack-roles", content_type="dcim.rackrole",
    natural_key=("slug",), managed=("name", "tags"), reference=True, create_only={"color": "9e9e9e"},
)
RACKS = NetBoxType(
    name="racks", endpoint="dcim/racks", content_type="dcim.rack",
    natural_key=("site", "name"), folded=("name",),
    managed=("name", "site", "location", "role", "u_height", "tenant", "status", "serial",
             "asset_tag", "description", "tags"),
    refs={"site": "sites", "location": "locations", "role": "rack_roles", "tenant": "tenants"},
    protected=("site", "location", "role", "tenant"),
    choices=("status",), reference=True, prunable=True, create_only={"status": "active"},
)
# Roles of VLANs and prefixes.
IPAM_ROLES = NetBoxType(
    name="ipam_roles", endpoint="ipam/roles", content_type="ipam.role",
    natural_key=("slug",), managed=("name", "tags"), reference=True,
)
VRFS = NetBoxType(
    name="vrfs", endpoint="ipam/vrfs", content_type="ipam.vrf",
    natural_key=("name",), managed=("name", "rd", "enforce_unique", "tenant", "description", "tags"),
    refs={"tenant": "tenants"}, protected=("tenant",), reference=True, prunable=True,
)
VLAN_GROUPS = NetBoxType(
    name="vlan_groups", endpoint="ipam/vlan-groups", content_type="ipam.vlangroup",
    natural_key=("slug",), managed=("name", "slug", "scope", "description", "tags"),
    generic_refs={"scope": GenericRef("scope_type", "scope_id", ("sites", "regions"))},
    reference=True, prunable=True,
)
# A VID is unique within its group; a VLAN without a group is keyed by its site (or global).
# One a person made is used as it is; ours is pruned after the grace runs once nothing names it.
VLANS = NetBoxType(
    name="vlans", endpoint="ipam/vlans", content_type="ipam.vlan",
    natural_key=("group", "site", "vid"),
    managed=("vid", "name", "group", "site", "status", "role", "tenant", "description", "tags"),
    refs={"group": "vlan_groups", "site": "sites", "role": "ipam_roles", "tenant": "tenants"},
    protected=("group", "site", "tenant"), choices=("status",), reference=True, prunable=True,
    create_only={"status": "active"},
)
PREFIXES = NetBoxType(
    name="prefixes", endpoint="ipam/prefixes", content_type="ipam.prefix",
    natural_key=("vrf", "prefix"),
    managed=("prefix", "vrf", "scope", "vlan", "status", "role", "tenant", "is_pool", "mark_utilized",
             "description", "tags"),
    refs={"vrf": "vrfs", "vlan": "vlans", "role": "ipam_roles", "tenant": "tenants"},
    generic_refs={"scope": GenericRef("scope_type", "scope_id", ("sites", "locations", "regions"))},
    protected=("vrf", "vlan", "tenant"), choices=("status",), prunable=True, offline_status="deprecated",
    create_only={"status": "active"},
)
# A range of addresses from start to end (inclusive), identified by VRF, start and end host. A
# range of ours whose start or end moves is one PATCH (plan.match_moved_ranges): NetBox refuses
# two overlapping ranges in one VRF, so a new range could not be created beside the old one.
IP_RANGES = NetBoxType(
    name="ip_ranges", endpoint="ipam/ip-ranges", content_type="ipam.iprange",
    natural_key=("vrf", "start_address", "end_address"),
    managed=("start_address", "end_address", "vrf", "status", "tenant", "role", "description", "tags"),
    refs={"vrf": "vrfs", "tenant": "tenants", "role": "ipam_roles"}, protected=("vrf", "tenant"),
    kinds={"start_address": "ip", "end_address": "ip"}, choices=("status",),
    prunable=True, offline_status="deprecated", create_only={"status": "active"},
)
CLUSTER_TYPES = NetBoxType(
    name="cluster_types", endpoint="virtualization/cluster-types",
    content_type="virtualization.clustertype",
    natural_key=("slug",), managed=("name", "tags"), reference=True,
)
CLUSTERS = NetBoxType(
    name="clusters", endpoint="virtualization/clusters", content_type="virtualization.cluster",
    natural_key=("name",), managed=("type", "scope", "status", "description", "tags"),
    refs={"type": "cluster_types"},
    generic_refs={"scope": GenericRef("scope_type", "scope_id", ("sites",))},
    choices=("status",), offline_status="offline",
    create_only={"status": "active"},
)
DEVICES = NetBoxType(
    name="devices", endpoint="dcim/devices", content_type="dcim.device",
    natural_key=("site", "name"), folded=("name",),
    managed=("name", "site", "location", "rack", "position", "face", "airflow", "tenant", "role",
             "device_type", "platform", "serial", "asset_tag", "status", "description", "cluster", "tags",
             "custom_fields", "primary_ip4"),
    refs={"site": "sites", "location": "locations", "rack": "racks", "tenant": "tenants",
          "role": "device_roles", "device_type": "device_types", "platform": "platforms",
          "cluster": "clusters", "primary_ip4": "ip_addresses"},
    choices=("status", "face", "airflow"), second_pass=("primary_ip4",), live_keys={"primary_ip4": _primary_ip_key},
    prunable=True, offline_status="offline", create_only={"status": "active"},
)
# `lag`, `parent` and `bridge` point at interfaces of the same device: written in the second pass,
# so a LAG and its members can be created in one bulk request.
INTERFACES = NetBoxType(
    name="interfaces", endpoint="dcim/interfaces", content_type="dcim.interface",
    natural_key=("device", "name"),
    managed=("name", "type", "enabled", "mtu", "description", "mode", "untagged_vlan", "tagged_vlans",
             "tags", "primary_mac_address", "lag", "parent", "bridge"),
    refs={"device": "devices", "untagged_vlan": "vlans", "primary_mac_address": "mac_addresses",
          "lag": "interfaces", "parent": "interfaces", "bridge": "interfaces"},
    ref_lists={"tagged_vlans": "vlans"}, choices=("type", "mode"),
    second_pass=("primary_mac_address", "lag", "parent", "bridge"),
    live_keys={"primary_mac_address": _interface_mac_key("interfaces"), "lag": _same_device_interface_key,
               "parent": _same_device_interface_key, "bridge": _same_device_interface_key},
    parent="device", prunable=True, create_only={"type": "other"},
)
INVENTORY_ITEM_ROLES = NetBoxType(
    name="inventory_item_roles", endpoint="dcim/inventory-item-roles",
    content_type="dcim.inventoryitemrole",
    natural_key=("slug",), managed=("name", "tags"), reference=True, create_only={"color": "9e9e9e"},
)
# Parts of a device (disks, ZFS pools), named so that the name survives what the part survives.
INVENTORY_ITEMS = NetBoxType(
    name="inventory_items", endpoint="dcim/inventory-items", content_type="dcim.inventoryitem",
    natural_key=("device", "name"),
    managed=("name", "label", "role", "manufacturer", "part_id", "serial", "description", "tags",
             "custom_fields"),
    refs={"device": "devices", "role": "inventory_item_roles", "manufacturer": "manufacturers"},
    parent="device", prunable=True,
)
VIRTUAL_MACHINES = NetBoxType(
    name="virtual_machines", endpoint="virtualization/virtual-machines",
    content_type="virtualization.virtualmachine",
    natural_key=("cluster", "name"), folded=("name",),
    managed=("name", "cluster", "site", "device", "role", "platform", "status", "vcpus", "memory",
             "disk", "description", "tags", "custom_fields", "primary_ip4"),
    refs={"cluster": "clusters", "site": "sites", "device": "devices", "role": "device_roles",
          "platform": "platforms", "primary_ip4": "ip_addresses"},
    choices=("status",), second_pass=("primary_ip4",), live_keys={"primary_ip4": _primary_ip_key},
    prunable=True, offline_status="offline", create_only={"status": "active"},
    # A hypervisor's own id: a VM renamed there is renamed here, not duplicated.
)
VM_INTERFACES = NetBoxType(
    name="vm_interfaces", endpoint="virtualization/interfaces",
    content_type="virtualization.vminterface",
    natural_key=("virtual_machine", "name"),
    managed=("name", "enabled", "mtu", "description", "mode", "untagged_vlan", "tags",
             "primary_mac_address"),
    refs={"virtual_machine": "virtual_machines", "untagged_vlan": "vlans",
          "primary_mac_address": "mac_addresses"},
    choices=("mode",), second_pass=("primary_mac_address",),
    live_keys={"primary_mac_address": _interface_mac_key("vm_interfaces")},
    parent="virtual_machine", prunable=True,
)
VIRTUAL_DISKS = NetBoxType(
    name="virtual_disks", endpoint="virtualization/virtual-disks",
    content_type="virtualization.virtualdisk",
    natural_key=("virtual_machine", "name"),
    managed=("name", "size", "description", "tags"),
    refs={"virtual_machine": "virtual_machines"},
    parent="virtual_machine", prunable=True,
)
MAC_ADDRESSES = NetBoxType(
    name="mac_addresses", endpoint="dcim/mac-addresses", content_type="dcim.macaddress",
    natural_key=("assigned_object", "mac_address"),
    managed=("mac_address", "assigned_object", "tags"),
    generic_refs={"assigned_object": _ASSIGNABLE}, kinds={"mac_address": "mac"},
    parent="assigned_object", prunable=True,
)
# An address is its VRF and its host: the same address in two VRFs (or in one and the global
# table, key part "") is two objects, as NetBox keeps them.
IP_ADDRESSES = NetBoxType(
    name="ip_addresses", endpoint="ipam/ip-addresses", content_type="ipam.ipaddress",
    natural_key=("vrf", "address"),
    managed=("address", "vrf", "tenant", "status", "dns_name", "description", "assigned_object", "tags"),
    refs={"vrf": "vrfs", "tenant": "tenants"}, protected=("vrf", "tenant"),
    generic_refs={"assigned_object": _ASSIGNABLE}, kinds={"address": "ip"},
    choices=("status",), parent="assigned_object", prunable=True, offline_status="deprecated",
)
SERVICES = NetBoxType(
    name="services", endpoint="ipam/services", content_type="ipam.service",
    natural_key=("parent", "protocol", "name"),
    managed=("name", "protocol", "ports", "description", "parent", "tags"),
    generic_refs={"parent": GenericRef("parent_object_type", "parent_object_id",
                                       ("devices", "virtual_machines"))},
    kinds={"ports": "int_set"}, choices=("protocol",), parent="parent", prunable=True,
)
# A cable between two interfaces, identified by its ends in either order (A-B is B-A). Written
# after both interfaces exist; a moved end is one PATCH of the terminations (see plan.py).
CABLES = NetBoxType(
    name="cables", endpoint="dcim/cables", content_type="dcim.cable",
    natural_key=("a_terminations", "b_terminations"),
    managed=("a_terminations", "b_terminations", "type", "status", "label", "color", "length", "length_unit",
             "description", "tags"),
    generic_ref_lists={"a_terminations": ("interfaces",), "b_terminations": ("interfaces",)},
    symmetric=("a_terminations", "b_terminations"), choices=("type", "status", "length_unit"),
    prunable=True, create_only={"status": "connected"},
)

# Dependency order: every reference points to an earlier type, except second-pass fields.
_REGISTRATION: tuple[NetBoxType, ...] = (
    TAGS,
    MANUFACTURERS,
    TENANT_GROUPS,
    TENANTS,
    REGIONS,
    SITE_GROUPS,
    SITES,
    LOCATIONS,
    RACK_ROLES,
    RACKS,
    DEVICE_ROLES,
    DEVICE_TYPES,
    PLATFORMS,
    IPAM_ROLES,
    VRFS,
    VLAN_GROUPS,
    VLANS,
    PREFIXES,
    IP_RANGES,
    CLUSTER_TYPES,
    CLUSTERS,
    DEVICES,
    INTERFACES,
    INVENTORY_ITEM_ROLES,
    INVENTORY_ITEMS,
    VIRTUAL_MACHINES,
    VM_INTERFACES,
    VIRTUAL_DISKS,
    MAC_ADDRESSES,
    IP_ADDRESSES,
    SERVICES,
    CABLES,
)
TYPES: dict[str, NetBoxType] = {t.name: t for t in _REGISTRATION}
_BY_CONTENT_TYPE: dict[str, NetBoxType] = {t.content_type: t for t in _REGISTRATION}


def read_fields(nbtype: "NetBoxType | str") -> tuple[str, ...]:
    """The API fields `from_live` uses: the id, the tags, and every compared field as NetBox names it."""
    t = get_type(nbtype)
    names = ["id", "tags"]
    for name in t.compared:
        if name in t.generic_refs:
            names += [t.generic_refs[name].type_field, t.generic_refs[name].id_field]
        else:
            names.append(name)
    return tuple(dict.fromkeys(names))


def read_params(nbtype: "NetBoxType | str") -> dict[str, Any]:
    return {"fields": ",".join(read_fields(nbtype))}


def get_type(nbtype: "NetBoxType | str") -> NetBoxType:
    if isinstance(nbtype, NetBoxType):
        return nbtype
    try:
        return TYPES[nbtype]
    except KeyError:
        raise KeyError(f"unknown NetBox type {nbtype!r}; known: {', '.join(TYPES)}") from None


def type_for_content_type(content_type: str) -> NetBoxType | None:
    return _BY_CONTENT_TYPE.get(content_type)


def second_pass_fields(nbtype: "NetBoxType | str") -> tuple[str, ...]:
    return get_type(nbtype).second_pass


def split_second_pass(nbtype: "NetBoxType | str", fields: Mapping[str, Any]) -> tuple[dict, dict]:
    """(first-pass fields, second-pass fields) of a create or update."""
    later = set(get_type(nbtype).second_pass)
    first = {k: v for k, v in fields.items() if k not in later}
    second = {k: v for k, v in fields.items() if k in later}
    return first, second


# --------------------------------------------------------------------------- comparison form


def normalise_field(nbtype: "NetBoxType | str", name: str, value: Any) -> Any:
    """One field in comparison form; accepts JSON-decoded values (lists for tuples)."""
    t = get_type(nbtype)
    kind = t.kind(name)
    if kind == "tags":
        return normalise_tags(value)
    if kind == "custom_fields":
        return normalise_custom_fields(value)
    if value is None:
        return None
    if kind == "ref":
        return _normalise_key(value) or None  # () is "known to be empty"
    if kind == "ref_list":
        return tuple(sorted({_normalise_key(key) for key in value}, key=repr))
    if kind == "generic_ref":
        target, key = value
        return (str(target), _normalise_key(key))
    if kind == "generic_ref_list":
        return tuple(sorted({(str(target), _normalise_key(key)) for target, key in value}, key=repr))
    if kind == "mac":
        return normalise_mac(value)
    if kind == "ip":
        return normalise_ip(value)
    if kind == "int_set":
        return normalise_int_set(value)
    return normalise_scalar(value)


def _normalise_key(key: Any) -> Key:
    """A natural key as a reference: an empty component (a VLAN without group) stays ""."""
    return tuple("" if part == "" else normalise_scalar(part) for part in key)


def values_equal(nbtype: "NetBoxType | str", name: str, desired: Any, live: Any) -> bool:
    """Desired vs live for one field. Tags: desired must be a subset (people may add tags).
    Custom fields: only the desired keys count. Addresses: a bare host pins only the host."""
    t = get_type(nbtype)
    kind = t.kind(name)
    if kind == "tags":
        return set(normalise_tags(desired)) <= set(normalise_tags(live))
    if kind == "custom_fields":
        live_cf = normalise_custom_fields(live)
        return all(live_cf.get(k) == v for k, v in normalise_custom_fields(desired).items())
    if kind == "ip":
        return ip_equal(desired, live)
    return normalise_field(t, name, desired) == normalise_field(t, name, live)


def oriented(nbtype: "NetBoxType | str", fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` with a symmetric pair (a cable's ends) in the one order both sides of the plan use."""
    t = get_type(nbtype)
    out = dict(fields)
    if t.symmetric:
        first, second = t.symmetric
        a, b = normalise_field(t, first, fields.get(first)), normalise_field(t, second, fields.get(second))
        if a is not None and b is not None and repr(a) > repr(b):
            out[first], out[second] = b, a
    return out


def key_from_fields(nbtype: "NetBoxType | str", fields: Mapping[str, Any]) -> Key:
    t = get_type(nbtype)
    fields = oriented(t, fields)
    parts: list[Any] = []
    for name in t.natural_key:
        value = normalise_field(t, name, fields.get(name))
        kind = t.kind(name)
        if kind == "ref":
            parts.extend(value if value else ("",))
        elif kind == "generic_ref":
            parts.extend((value[0], *value[1]) if value else ("",))
        elif kind == "generic_ref_list":
            for target, key in value or ():
                parts.extend((target, *key))
        elif value is None:
            parts.append("")
        elif name in t.folded:
            parts.append(fold_name(value))
        elif kind == "ip":
            parts.append(ip_host(value))
        else:
            parts.append(value)
    return tuple(parts)


def stable_key_of(nbtype: "NetBoxType | str", stable_key: tuple[str, ...], fields: Mapping[str, Any]) -> Key | None:
    """The rename-proof identity of an object in comparison form; None when it has none.

    `stable_key` names fields (a custom field as "custom_fields.<name>") that a source declares
    as an identity surviving renames (sources' `SourceKind.stable_keys`).
    """
    t = get_type(nbtype)
    if not stable_key:
        return None
    parts: list[Any] = []
    for name in stable_key:
        if name.startswith("custom_fields."):
            value = normalise_custom_fields(fields.get("custom_fields")).get(name.split(".", 1)[1])
        else:
            value = normalise_field(t, name, fields.get(name))
        if value is None:
            return None
        parts.append(value)
    return tuple(parts)


# --------------------------------------------------------------------------- live objects


@dataclass(frozen=True)
class LiveObject:
    type: str
    id: int
    key: Key
    fields: dict[str, Any]  # comparison form of `compared`
    tags: frozenset[str]
    owned: bool


def _nested_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value.get("id")
    return int(value)


def from_live(
    nbtype: "NetBoxType | str",
    obj: Mapping[str, Any],
    key_of: KeyOf,
    *,
    owner_tag: str = OWNER_TAG,
) -> LiveObject:
    """A NetBox object (full representation, 4.4 to 4.6) in comparison form.

    References are resolved to natural keys through `key_of(type, id)`, which only has to know
    the types read before this one (see `TYPES` order and `build_live`).
    """
    t = get_type(nbtype)
    fields: dict[str, Any] = {}
    for name in t.compared:
        if name in t.live_keys:
            continue
        kind = t.kind(name)
        if kind == "ref":
            ref_id = _nested_id(obj.get(name))
            fields[name] = None if ref_id is None else _key_or_marker(key_of, t.refs[name], ref_id)
        elif kind == "ref_list":
            ids = [_nested_id(item) for item in obj.get(name) or ()]
            fields[name] = normalise_field(t, name, [_key_or_marker(key_of, t.ref_lists[name], i) for i in ids])
        elif kind == "generic_ref":
            generic = t.generic_refs[name]
            content_type, ref_id = obj.get(generic.type_field), obj.get(generic.id_field)
            if content_type is None or ref_id is None:
                fields[name] = None
            else:
                target = type_for_content_type(content_type)
                target_name = target.name if target else content_type
                fields[name] = (target_name, _key_or_marker(key_of, target_name, ref_id))
        elif kind == "generic_ref_list":
            ends = []
            for item in obj.get(name) or ():
                target = type_for_content_type(item["object_type"])
                target_name = target.name if target else item["object_type"]
                ends.append((target_name, _key_or_marker(key_of, target_name, int(item["object_id"]))))
            fields[name] = normalise_field(t, name, ends)
        else:
            fields[name] = normalise_field(t, name, obj.get(name))
    fields = oriented(t, fields)
    key = key_from_fields(t, fields)
    for name, live_key in t.live_keys.items():
        nested = obj.get(name)
        fields[name] = None if nested is None else live_key(nested, key)
    tags = frozenset(normalise_tags(obj.get("tags")))
    return LiveObject(type=t.name, id=int(obj["id"]), key=key, fields=fields, tags=tags,
                      owned=owner_tag in tags)


def reference_ids(nbtype: "NetBoxType | str", obj: Mapping[str, Any]) -> Iterable[tuple[str, int]]:
    """(type name, id) of every managed object a NetBox object (as read) points at through its
    declared references: what a duplicate's removal would leave dangling."""
    t = get_type(nbtype)
    for name, target in t.refs.items():
        ref_id = _nested_id(obj.get(name))
        if ref_id is not None:
            yield target, ref_id
    for name, target in t.ref_lists.items():
        for item in obj.get(name) or ():
            ref_id = _nested_id(item)
            if ref_id is not None:
                yield target, ref_id
    for generic in t.generic_refs.values():
        content_type, ref_id = obj.get(generic.type_field), obj.get(generic.id_field)
        target = type_for_content_type(content_type) if content_type else None
        if target is not None and ref_id is not None:
            yield target.name, int(ref_id)
    for name in t.generic_ref_lists:
        for item in obj.get(name) or ():
            target = type_for_content_type(item.get("object_type") or "")
            if target is not None and item.get("object_id") is not None:
                yield target.name, int(item["object_id"])


def _key_or_marker(key_of: KeyOf, type_name: str, ref_id: int) -> Key:
    key = key_of(type_name, ref_id)
    return tuple(key) if key is not None else (UNRESOLVED, ref_id)


@dataclass
class LiveIndex:
    """id <-> natural key per type, for `from_live` (key_of) and `to_payload` (resolve_id)."""

    id_to_key: dict[tuple[str, int], Key] = field(default_factory=dict)
    key_to_id: dict[tuple[str, Key], int] = field(default_factory=dict)

    def add(self, obj: LiveObject) -> None:
        self.id_to_key[(obj.type, obj.id)] = obj.key
        self.key_to_id.setdefault((obj.type, obj.key), obj.id)

    def key_of(self, type_name: str, object_id: int) -> Key | None:
        return self.id_to_key.get((type_name, object_id))

    def resolve_id(self, type_name: str, key: Key) -> int | None:
        return self.key_to_id.get((type_name, tuple(key)))


def live_index(objects: Iterable[LiveObject]) -> LiveIndex:
    index = LiveIndex()
    for obj in objects:
        index.add(obj)
    return index


@dataclass
class LiveState:
    objects: dict[str, dict[Key, LiveObject]]
    index: LiveIndex
    # Objects whose natural key another object already had (two racing runs' MACs, one address
    # in two VRFs): the lowest id is matched; reconcile/duplicates.py decides what becomes of them.
    duplicates: list[LiveObject]
    # (type, id) of every member of a duplicate group -> (type, id) of the objects pointing at it,
    # from the same read (`reconcile.duplicates.duplicate_referrers`); None: not looked at, so no
    # duplicate may be removed.
    referrers: dict[tuple[str, int], tuple[tuple[str, int], ...]] | None = None


def build_live(
    snapshot: Mapping[str, Iterable[Mapping[str, Any]]], *, owner_tag: str = OWNER_TAG
) -> LiveState:
    """Convert a raw snapshot ({type name: [NetBox JSON objects]}) type by type in `TYPES` order."""
    index = LiveIndex()
    objects: dict[str, dict[Key, LiveObject]] = {}
    duplicates: list[LiveObject] = []
    later: list[tuple[LiveObject, str, str, int]] = []  # second-pass references to resolve by id
    for name, t in TYPES.items():
        by_key: dict[Key, LiveObject] = {}
        raw = sorted(snapshot.get(name, ()), key=lambda o: int(o["id"]))
        for obj in raw:
            live = from_live(name, obj, index.key_of, owner_tag=owner_tag)
            index.id_to_key[(name, live.id)] = live.key
            for field_name in t.live_keys:
                ref_id = _nested_id(obj.get(field_name)) if field_name in t.refs else None
                if ref_id is not None:
                    later.append((live, field_name, t.refs[field_name], ref_id))
            if live.key in by_key:
                duplicates.append(live)
                continue
            by_key[live.key] = live
            index.key_to_id[(name, live.key)] = live.id
        objects[name] = by_key
    for live, field_name, target, ref_id in later:
        key = index.key_of(target, ref_id)
        if key is not None:
            live.fields[field_name] = key
    return LiveState(objects=objects, index=index, duplicates=duplicates)


Moves = dict[tuple[str, Key], Key]  # (type, old key) -> new key


def rekey_live(
    objects: Mapping[str, Mapping[Key, "LiveObject"]], renames: Mapping[tuple[str, Key], Key]
) -> tuple[dict[str, dict[Key, "LiveObject"]], Moves]:
    """Live objects as they will be once `renames` are written.

    Objects whose natural key embeds a renamed object's key (a VM's interfaces, their MACs, its
    disks) move with it, and every reference follows. Returns (objects, every moved key).
    """
    moved: Moves = {(name, tuple(key)): tuple(new) for (name, key), new in renames.items()}
    for t in TYPES.values():  # a natural key only references earlier types
        for key, obj in objects.get(t.name, {}).items():
            if (t.name, key) in moved:
                continue
            fields = _follow_moves(t, obj.fields, moved, only=t.natural_key)
            if fields != obj.fields and key_from_fields(t, fields) != key:
                moved[(t.name, key)] = key_from_fields(t, fields)
    out: dict[str, dict[Key, LiveObject]] = {}
    for name, by_key in objects.items():
        t = get_type(name)
        out[name] = {}
        for key, obj in by_key.items():
            new_key = moved.get((name, key), key)
            out[name][new_key] = replace(obj, key=new_key, fields=_follow_moves(t, obj.fields, moved))
    return out, moved


def _follow_moves(
    t: NetBoxType, fields: Mapping[str, Any], moved: Moves, only: Iterable[str] | None = None
) -> dict[str, Any]:
    out = dict(fields)
    for name in (fields if only is None else only):
        value = fields.get(name)
        if value is None:
            continue
        kind = t.kind(name)
        if kind == "ref":
            out[name] = moved.get((t.refs[name], tuple(value)), value)
        elif kind == "ref_list":
            out[name] = tuple(moved.get((t.ref_lists[name], tuple(k)), k) for k in value)
        elif kind == "generic_ref":
            target, key = value
            out[name] = (target, moved.get((target, tuple(key)), key))
        elif kind == "generic_ref_list":
            out[name] = tuple((target, moved.get((target, tuple(key)), key)) for target, key in value)
    return out


def rekey_index(index: LiveIndex, moved: Mapping[tuple[str, Key], Key]) -> LiveIndex:
    """The index after `rekey_live`: ids resolve under the new keys."""
    out = LiveIndex()
    for (name, object_id), key in index.id_to_key.items():
        out.id_to_key[(name, object_id)] = moved.get((name, key), key)
    for (name, key), object_id in index.key_to_id.items():
        out.key_to_id[(name, moved.get((name, key), key))] = object_id
    return out


# --------------------------------------------------------------------------- write bodies


class UnresolvedReference(LookupError):
    def __init__(self, nbtype: str, field_name: str, target: str, key: Key):
        self.nbtype, self.field_name, self.target, self.key = nbtype, field_name, target, key
        super().__init__(f"{nbtype}.{field_name}: no {target} with key {key!r} in NetBox")


def to_payload(
    nbtype: "NetBoxType | str", fields: Mapping[str, Any], resolve_id: ResolveId
) -> dict[str, Any]:
    """The NetBox write body for comparison-form fields (only those given: a PATCH stays small)."""
    t = get_type(nbtype)
    body: dict[str, Any] = {}

    def resolve(name: str, target: str, key: Key) -> int:
        object_id = resolve_id(target, tuple(key))
        if object_id is None:
            raise UnresolvedReference(t.name, name, target, tuple(key))
        return object_id

    for name, raw in fields.items():
        value = normalise_field(t, name, raw)
        kind = t.kind(name)
        if kind == "ref":
            body[name] = None if value is None else resolve(name, t.refs[name], value)
        elif kind == "ref_list":
            body[name] = [resolve(name, t.ref_lists[name], key) for key in value]
        elif kind == "generic_ref":
            generic = t.generic_refs[name]
            if value is None:
                body[generic.type_field] = body[generic.id_field] = None
            else:
                target, key = value
                body[generic.type_field] = get_type(target).content_type
                body[generic.id_field] = resolve(name, target, key)
        elif kind == "generic_ref_list":
            body[name] = [{"object_type": get_type(target).content_type, "object_id": resolve(name, target, key)}
                          for target, key in value]
        elif kind == "tags":
            body[name] = [{"slug": slug} for slug in value]
        elif kind == "custom_fields":
            body[name] = dict(value)
        elif kind == "ip":
            body[name] = None if value is None else with_prefix_length(value)
        elif kind == "int_set":
            body[name] = None if value is None else list(value)
        else:
            body[name] = value
    return body
