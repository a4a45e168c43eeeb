"""The generic resource table: one entry per emulated endpoint.

Field lists, field types, choices and brief fields come from the generated per-version schema tables
(`schema_44.py` / `schema_46.py`); this table adds what the schema does not say: identity (model name,
object type), display, uniqueness, defaults, counters, filters through relations and delete rules.
Adding an endpoint is one `Resource(...)` entry (plus its brief name in `schema_gen.ENDPOINT_BRIEFS`).
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Unique:
    """A uniqueness rule. `key=None` reports per field ("<verbose> with this <field> already exists.")."""

    fields: tuple[str, ...]
    message: str | None = None
    key: str | None = None
    case_insensitive: bool = False


@dataclass(frozen=True)
class Resource:
    endpoint: str  # "dcim/devices"
    model: str  # "Device" (404 message: "No Device matches the given query.")
    verbose: str  # "device" (uniqueness messages)
    object_type: str  # "dcim.device"
    display: str = "name"  # attribute shown as `display` (see render.display_of for special cases)
    unique: tuple[Unique, ...] = ()
    iexact: frozenset[str] = frozenset()  # filters matched case-insensitively (NetBox uses iexact)
    ordering: tuple[str, ...] = ("name", "id")
    defaults: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (child endpoint, child fk)
    annotated: frozenset[str] = frozenset()  # counters missing from 4.4 create responses
    via: dict[str, tuple[str, ...]] = field(default_factory=dict)  # filter -> (target endpoint, *reference path)
    cascade: frozenset[str] = frozenset()  # reference fields whose target's deletion deletes this object
    protect: frozenset[str] = frozenset()  # optional references that still block the target's deletion (PROTECT)
    brief: tuple[str, ...] = ()  # brief fields when the schema has no Brief<Model>
    trace: bool = False  # list/detail Allow headers include TRACE
    versions: tuple[str, ...] = ("4.4", "4.6", "4.7")
    timestamps: bool = True


def _named(endpoint: str, model: str, verbose: str, object_type: str, **kw: Any) -> Resource:
    """A model with unique `name` and `slug` (manufacturers, roles, tags, ...)."""
    unique = (Unique(("name",)), Unique(("slug",)))
    return Resource(endpoint, model, verbose, object_type, unique=unique, **kw)


_DEVICE_COUNTS = {
    name: ("", "")
    for name in (
        "console_port_count console_server_port_count power_port_count power_outlet_count front_port_count "
        "rear_port_count device_bay_count module_bay_count inventory_item_count"
    ).split()
}

RESOURCES: tuple[Resource, ...] = (
    _named(
        "dcim/manufacturers", "Manufacturer", "manufacturer", "dcim.manufacturer",
        counts={"devicetype_count": ("dcim/device-types", "manufacturer"),
                "platform_count": ("dcim/platforms", "manufacturer"),
                "inventoryitem_count": ("dcim/inventory-items", "manufacturer"),
                "moduletype_count": ("", "")},
        annotated=frozenset({"devicetype_count", "platform_count", "inventoryitem_count", "moduletype_count"}),
    ),
    _named(
        "dcim/sites", "Site", "site", "dcim.site", defaults={"status": "active"},
        counts={"device_count": ("dcim/devices", "site"), "prefix_count": ("", ""),
                "virtualmachine_count": ("virtualization/virtual-machines", "site"),
                "vlan_count": ("ipam/vlans", "site"), "circuit_count": ("", ""), "rack_count": ("", "")},
        annotated=frozenset({"device_count", "prefix_count", "virtualmachine_count", "vlan_count",
                             "circuit_count", "rack_count"}),
    ),
    Resource(
        "dcim/locations", "Location", "location", "dcim.location", defaults={"status": "active"},
        unique=(Unique(("site", "parent", "name"), "A location with this name already exists within the specified site and parent.", "__all__"),),
        counts={"device_count": ("dcim/devices", "location"), "rack_count": ("", "")},
        cascade=frozenset({"site", "parent"}),
    ),
    _named(
        "dcim/regions", "Region", "region", "dcim.region",
        counts={"site_count": ("dcim/sites", "region"), "prefix_count": ("", "")},
    ),
    _named(
        "dcim/device-roles", "DeviceRole", "device role", "dcim.devicerole",
        defaults={"color": "9e9e9e", "vm_role": True},
        counts={"device_count": ("dcim/devices", "role"),
                "virtualmachine_count": ("virtualization/virtual-machines", "role")},
    ),
    Resource(
        "dcim/device-types", "DeviceType", "device type", "dcim.devicetype", display="model",
        unique=(Unique(("manufacturer", "model"), "The fields manufacturer, model must make a unique set.", "non_field_errors"),
                Unique(("manufacturer", "slug"), "The fields manufacturer, slug must make a unique set.", "non_field_errors")),
        ordering=("manufacturer", "model", "id"),
        defaults={"u_height": 1.0, "is_full_depth": True},
        counts={"device_count": ("dcim/devices", "device_type")},
        annotated=frozenset({"device_count"}),
    ),
    _named(
        "dcim/platforms", "Platform", "platform", "dcim.platform",
        protect=frozenset({"manufacturer"}),  # optional, but on_delete=PROTECT (4.7 recording 154)
        counts={"device_count": ("dcim/devices", "platform"),
                "virtualmachine_count": ("virtualization/virtual-machines", "platform")},
    ),
    Resource(
        "dcim/devices", "Device", "device", "dcim.device",
        unique=(Unique(("name", "site", "tenant"), "Device name must be unique per site.", "__all__", True),
                Unique(("asset_tag",))),
        iexact=frozenset({"name", "serial"}),
        defaults={"status": "active"},
        counts={"interface_count": ("dcim/interfaces", "device"), **_DEVICE_COUNTS,
                "inventory_item_count": ("dcim/inventory-items", "device")},
        via={"manufacturer": ("dcim/manufacturers", "device_type", "manufacturer")},
    ),
    Resource(
        "dcim/interfaces", "Interface", "interface", "dcim.interface",
        unique=(Unique(("device", "name"), "The fields device, name must make a unique set.", "non_field_errors"),),
        ordering=("device", "name", "id"),
        defaults={"enabled": True},
        counts={"count_ipaddresses": ("ipam/ip-addresses", "assigned_object"), "count_fhrp_groups": ("", "")},
        via={"site": ("dcim/sites", "device", "site"), "role": ("dcim/device-roles", "device", "role")},
        cascade=frozenset({"device"}),
        trace=True,
    ),
    Resource(
        "dcim/mac-addresses", "MACAddress", "MAC address", "dcim.macaddress", display="mac_address",
        ordering=("mac_address", "id"),
        cascade=frozenset({"assigned_object"}),
    ),
    Resource(
        "dcim/inventory-items", "InventoryItem", "inventory item", "dcim.inventoryitem",
        unique=(Unique(("device", "parent", "name"), "The fields device, parent, name must make a unique set.", "non_field_errors"),),
        ordering=("device", "name", "id"),
        defaults={"discovered": False},
        cascade=frozenset({"device", "parent"}),
        brief=("id", "url", "display", "device", "name", "description", "_depth"),
    ),
    _named(
        "dcim/inventory-item-roles", "InventoryItemRole", "inventory item role", "dcim.inventoryitemrole",
        defaults={"color": "9e9e9e"},
        counts={"inventoryitem_count": ("dcim/inventory-items", "role")},
    ),
    Resource(
        "ipam/ip-addresses", "IPAddress", "IP address", "ipam.ipaddress", display="address",
        ordering=("address", "id"),
        defaults={"status": "active"},
        via={"device": ("dcim/devices", "assigned_object", "device"),
             "virtual_machine": ("virtualization/virtual-machines", "assigned_object", "virtual_machine")},
        cascade=frozenset({"assigned_object"}),
        protect=frozenset({"vrf", "tenant"}),  # on_delete=PROTECT in NetBox's models
    ),
    Resource(
        "ipam/ip-ranges", "IPRange", "IP range", "ipam.iprange",
        ordering=("start_address", "id"), defaults={"status": "active"},
        protect=frozenset({"vrf", "tenant"}),  # on_delete=PROTECT; role is SET_NULL
        brief=("id", "url", "display", "family", "start_address", "end_address", "description"),
    ),
    Resource(
        "ipam/prefixes", "Prefix", "prefix", "ipam.prefix", display="prefix",
        ordering=("prefix", "id"), defaults={"status": "active"},
        protect=frozenset({"vrf", "vlan", "tenant"}),  # on_delete=PROTECT in NetBox's models
        brief=("id", "url", "display", "family", "prefix", "description", "_depth"),
    ),
    Resource(
        "ipam/vlans", "VLAN", "VLAN", "ipam.vlan", display="name",
        unique=(Unique(("group", "vid"), "VLAN with this Group and VID already exists.", "__all__"),),
        ordering=("vid", "id"), defaults={"status": "active"},
        protect=frozenset({"group", "site", "tenant"}),
        counts={"prefix_count": ("", "")},
    ),
    Resource(
        "ipam/services", "Service", "service", "ipam.service",
        ordering=("protocol", "ports", "id"),
        via={"device": ("dcim/devices", "parent"), "virtual_machine": ("virtualization/virtual-machines", "parent")},
        cascade=frozenset({"parent"}),
        brief=("id", "url", "display", "name", "protocol", "ports", "description"),
    ),
    _named(
        "virtualization/cluster-types", "ClusterType", "cluster type", "virtualization.clustertype",
        counts={"cluster_count": ("virtualization/clusters", "type")},
        annotated=frozenset({"cluster_count"}),
    ),
    Resource(
        "virtualization/clusters", "Cluster", "cluster", "virtualization.cluster",
        unique=(Unique(("group", "name"), "A cluster with this name already exists in the group.", "__all__"),),
        defaults={"status": "active"},
        counts={"device_count": ("dcim/devices", "cluster"),
                "virtualmachine_count": ("virtualization/virtual-machines", "cluster")},
        annotated=frozenset({"device_count", "virtualmachine_count", "allocated_vcpus", "allocated_memory",
                             "allocated_disk"}),
    ),
    Resource(
        "virtualization/virtual-machines", "VirtualMachine", "virtual machine", "virtualization.virtualmachine",
        unique=(Unique(("name", "cluster", "tenant"), "Virtual machine name must be unique per cluster.", "__all__", True),),
        iexact=frozenset({"name"}),
        defaults={"status": "active", "start_on_boot": "off"},
        counts={"interface_count": ("virtualization/interfaces", "virtual_machine"),
                "virtual_disk_count": ("virtualization/virtual-disks", "virtual_machine")},
    ),
    Resource(
        "virtualization/interfaces", "VMInterface", "interface", "virtualization.vminterface",
        unique=(Unique(("virtual_machine", "name"), "The fields virtual_machine, name must make a unique set.", "non_field_errors"),),
        ordering=("virtual_machine", "name", "id"),
        defaults={"enabled": True},
        counts={"count_ipaddresses": ("ipam/ip-addresses", "assigned_object"), "count_fhrp_groups": ("", "")},
        cascade=frozenset({"virtual_machine"}),
        brief=("id", "url", "display", "virtual_machine", "name", "description"),
    ),
    Resource(
        "virtualization/virtual-disks", "VirtualDisk", "virtual disk", "virtualization.virtualdisk",
        unique=(Unique(("virtual_machine", "name"), "The fields virtual_machine, name must make a unique set.", "non_field_errors"),),
        ordering=("virtual_machine", "name", "id"),
        cascade=frozenset({"virtual_machine"}),
        brief=("id", "url", "display", "virtual_machine", "name", "size", "description"),
    ),
    _named(
        "virtualization/virtual-machine-types", "VirtualMachineType", "virtual machine type",
        "virtualization.virtualmachinetype",
        counts={"virtual_machine_count": ("virtualization/virtual-machines", "virtual_machine_type")},
        versions=("4.6", "4.7"),
    ),
    _named(
        "extras/tags", "Tag", "tag", "extras.tag",
        defaults={"color": "9e9e9e", "weight": 1000},
        counts={"tagged_items": ("", "")},
        annotated=frozenset({"tagged_items"}),
    ),
    Resource(
        "extras/custom-fields", "CustomField", "custom field", "extras.customfield", display="label",
        unique=(Unique(("name",)),),
        ordering=("group_name", "weight", "name", "id"),
        defaults={"type": "text", "weight": 100, "search_weight": 1000, "filter_logic": "loose",
                  "ui_visible": "always", "ui_editable": "yes", "is_cloneable": False, "required": False,
                  "unique": False, "status": "active", "nulls_first": True},  # the last two: 4.7 only
        brief=("id", "url", "display", "name", "description"),
    ),
    Resource(
        "users/owner-groups", "OwnerGroup", "owner group", "users.ownergroup",
        unique=(Unique(("name",)),), counts={"member_count": ("users/owners", "group")},
        versions=("4.6", "4.7"), timestamps=False,
    ),
    Resource(
        "users/owners", "Owner", "owner", "users.owner",
        unique=(Unique(("name",)),), versions=("4.6", "4.7"), timestamps=False,
    ),
    Resource(
        "users/users", "User", "user", "users.user", display="username",
        unique=(Unique(("username",)),), ordering=("username", "id"), timestamps=False,
        defaults={"is_active": True},
    ),
    Resource(
        "users/tokens", "Token", "token", "users.token", display="key", ordering=("-id",), timestamps=False,
        defaults={"write_enabled": True, "enabled": True},
        brief=("id", "url", "display", "key", "write_enabled", "description"),
    ),
    Resource(
        "core/object-types", "ObjectType", "object type", "core.objecttype", display="model",
        ordering=("app_label", "model", "id"), timestamps=False, versions=("4.6", "4.7"),
    ),
    _named("tenancy/tenants", "Tenant", "tenant", "tenancy.tenant",
           counts={n: ("", "") for n in ("circuit_count", "device_count", "ipaddress_count", "prefix_count",
                                         "rack_count", "site_count", "virtualmachine_count", "vlan_count",
                                         "vrf_count", "cluster_count")}),
    _named("tenancy/tenant-groups", "TenantGroup", "tenant group", "tenancy.tenantgroup",
           counts={"tenant_count": ("tenancy/tenants", "group")}),
    _named("dcim/site-groups", "SiteGroup", "site group", "dcim.sitegroup",
           counts={"site_count": ("dcim/sites", "group"), "prefix_count": ("", "")}),
    _named("dcim/rack-roles", "RackRole", "rack role", "dcim.rackrole", defaults={"color": "9e9e9e"},
           counts={"rack_count": ("dcim/racks", "role")}),
    Resource(
        "dcim/racks", "Rack", "rack", "dcim.rack",
        unique=(Unique(("location", "name"), "A rack with this name already exists within the specified location.",
                       "__all__", True),),
        iexact=frozenset({"name"}),
        defaults={"status": "active", "u_height": 42, "starting_unit": 1, "width": 19, "desc_units": False},
        protect=frozenset({"location", "role", "tenant"}),
        counts={"device_count": ("dcim/devices", "rack"), "powerfeed_count": ("", "")},
    ),
    _named("ipam/roles", "Role", "role", "ipam.role", defaults={"weight": 1000},
           counts={"prefix_count": ("ipam/prefixes", "role"), "vlan_count": ("ipam/vlans", "role")}),
    Resource(
        "ipam/vrfs", "VRF", "VRF", "ipam.vrf",
        unique=(Unique(("rd",)),), defaults={"enforce_unique": True}, protect=frozenset({"tenant"}),
        counts={"ipaddress_count": ("ipam/ip-addresses", "vrf"), "prefix_count": ("ipam/prefixes", "vrf")},
    ),
    Resource(
        "ipam/vlan-groups", "VLANGroup", "VLAN group", "ipam.vlangroup",
        unique=(Unique(("scope_type", "scope_id", "name"), "A VLAN group with this name already exists in the scope.", "__all__"),
                Unique(("scope_type", "scope_id", "slug"), "A VLAN group with this slug already exists in the scope.", "__all__")),
        counts={"vlan_count": ("ipam/vlans", "group"), "utilization": ("", "")},
    ),
)

# Terminations are a list of generic objects (rendered and checked in render.py / rules.py).
RESOURCES += (
    Resource(
        "dcim/cables", "Cable", "cable", "dcim.cable", display="label", ordering=("id",),
        defaults={"status": "connected"},
    ),
)

BY_ENDPOINT: dict[str, Resource] = {r.endpoint: r for r in RESOURCES}
BY_OBJECT_TYPE: dict[str, Resource] = {r.object_type: r for r in RESOURCES}

# Generic foreign keys: rendered field -> (type field, id field).
GENERIC = {
    "assigned_object": ("assigned_object_type", "assigned_object_id"),
    "scope": ("scope_type", "scope_id"),
    "parent": ("parent_object_type", "parent_object_id"),
}

# Object types each generic key accepts.
GENERIC_TARGETS = {
    ("ipam/ip-addresses", "assigned_object"): ("dcim.interface", "virtualization.vminterface"),
    ("dcim/mac-addresses", "assigned_object"): ("dcim.interface", "virtualization.vminterface"),
    ("virtualization/clusters", "scope"): ("dcim.site", "dcim.location", "dcim.region"),
    ("ipam/prefixes", "scope"): ("dcim.site", "dcim.location", "dcim.region", "dcim.sitegroup"),
    ("ipam/vlan-groups", "scope"): ("dcim.site", "dcim.location", "dcim.region", "dcim.sitegroup"),
    ("ipam/services", "parent"): ("dcim.device", "virtualization.virtualmachine"),
}


def endpoint_for_schema(schema_name: str) -> str | None:
    """`BriefDeviceType` / `NestedDeviceType` / `DeviceType` -> "dcim/device-types"."""
    model = schema_name.removesuffix("Request")
    for prefix in ("Brief", "Nested"):
        model = model.removeprefix(prefix)
    return _MODEL_ENDPOINTS.get(model)


_MODEL_ENDPOINTS = {r.model: r.endpoint for r in RESOURCES} | {
    "VirtualMachineWithConfigContext": "virtualization/virtual-machines",
    "DeviceWithConfigContext": "dcim/devices",
}
