"""Model-level rules NetBox enforces in `clean()` (per resource), custom-field typing and 4.6 tag edits."""

import ipaddress
import re
from datetime import date, datetime
from typing import Any

from . import render, writes
from .render import Context
from .resources import Resource, endpoint_for_schema
from .store import Record


def clean(ctx: Context, res: Resource, record: Record, existing: Record | None) -> None:
    check = _CLEANERS.get(res.endpoint)
    if check:
        errors: dict[str, Any] = {}
        check(ctx, record, existing, errors)
        if errors:
            raise writes.Invalid(errors)


def _device(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    platform = ctx.store.get("dcim/platforms", rec.get("platform"))
    dtype = ctx.store.get("dcim/device-types", rec.get("device_type"))
    if platform and dtype and platform.get("manufacturer") and platform["manufacturer"] != dtype.get("manufacturer"):
        pm = ctx.store.get("dcim/manufacturers", platform["manufacturer"]) or {}
        dm = ctx.store.get("dcim/manufacturers", dtype.get("manufacturer")) or {}
        errors["platform"] = [
            f"The assigned platform is limited to {pm.get('name')} device types, but this device's type belongs to "
            f"{dm.get('name')}."
        ]
    _primary_ips(ctx, rec, "dcim.interface", "dcim/interfaces", "device", "device", errors)


def _virtual_machine(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    cluster = ctx.store.get("virtualization/clusters", rec.get("cluster"))
    device = ctx.store.get("dcim/devices", rec.get("device"))
    if ctx.version != "4.4" and existing is None and rec.get("virtual_machine_type"):
        vmtype = ctx.store.get("virtualization/virtual-machine-types", rec["virtual_machine_type"]) or {}
        for field, default in (("vcpus", "default_vcpus"), ("memory", "default_memory"), ("platform", "default_platform")):
            if rec.get(field) is None and vmtype.get(default) is not None:
                rec[field] = vmtype[default]
    if rec.get("site") is None and cluster and cluster.get("scope_type") == "dcim.site":
        rec["site"] = cluster.get("scope_id")
    if ctx.version != "4.4":
        if rec.get("site") is None and device is not None:
            rec["site"] = device.get("site")
        if rec.get("site") is None and cluster is None and device is None:
            errors["__all__"] = ["A virtual machine must be assigned to a site, cluster, or device."]
            return
    else:
        if rec.get("site") is None and cluster is None:
            errors["cluster"] = ["A virtual machine must be assigned to a site and/or cluster."]
            return
        if device is not None and cluster is None:
            errors["device"] = ["Must specify a cluster when assigning a host device."]
            return
    if cluster and cluster.get("scope_type") == "dcim.site" and rec.get("site") not in (None, cluster.get("scope_id")):
        site = ctx.store.get("dcim/sites", rec.get("site")) or {}
        errors["cluster"] = [f"The selected cluster ({cluster.get('name')}) is not assigned to this site ({site.get('name')})."]
    if device is not None and cluster is not None and device.get("cluster") not in (None, cluster["id"]):
        errors["device"] = [f"The selected device ({device.get('name')}) is not assigned to this cluster ({cluster.get('name')})."]
    if isinstance(rec.get("vcpus"), int):
        rec["vcpus"] = float(rec["vcpus"])
    _primary_ips(ctx, rec, "virtualization.vminterface", "virtualization/interfaces", "virtual_machine", "VM", errors)


def _primary_ips(
    ctx: Context, rec: Record, iface_type: str, iface_endpoint: str, parent_field: str, noun: str, errors: dict[str, Any]
) -> None:
    own = {i["id"] for i in ctx.store.all(iface_endpoint) if i.get(parent_field) == rec.get("id")}
    for field, family in (("primary_ip4", 4), ("primary_ip6", 6), ("oob_ip", None)):
        ip = ctx.store.get("ipam/ip-addresses", rec.get(field))
        if ip is None:
            continue
        address = ip.get("address")
        if family and ipaddress.ip_interface(address).version != family:
            errors[field] = [f"{address} is not an IPv{family} address."]
        elif not (ip.get("assigned_object_type") == iface_type and ip.get("assigned_object_id") in own):
            errors[field] = [f"The specified IP address ({address}) is not assigned to this {noun}."]


def _interface(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    _primary_mac(ctx, rec, "dcim.interface", errors)


def _vm_interface(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    _primary_mac(ctx, rec, "virtualization.vminterface", errors)


def _primary_mac(ctx: Context, rec: Record, iface_type: str, errors: dict[str, Any]) -> None:
    mac = ctx.store.get("dcim/mac-addresses", rec.get("primary_mac_address"))
    if mac and not (mac.get("assigned_object_type") == iface_type and mac.get("assigned_object_id") == rec.get("id")):
        errors["primary_mac_address"] = [
            f"The specified MAC address ({mac.get('mac_address')}) is not assigned to this interface."
        ]


def _ip_address(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    try:
        rec["address"] = str(ipaddress.ip_interface(rec.get("address")))
    except ValueError:
        errors["address"] = [f"Invalid IP address format: {rec.get('address')}"]
        return
    writes.generic_target(ctx, _res("ipam/ip-addresses"), rec, "assigned_object", errors)
    if not errors:
        _interface_address(rec, errors)
    if not errors:
        _unique_address(ctx, rec, errors)


def _interface_address(rec: Record, errors: dict[str, Any]) -> None:
    """IPAddress.clean: a network ID or (IPv4) broadcast address cannot be assigned to an interface,
    except on point-to-point networks (/31, /32; /127, /128)."""
    if rec.get("assigned_object_id") is None:
        return
    address = ipaddress.ip_interface(rec["address"])
    point_to_point = address.network.prefixlen >= address.max_prefixlen - 1
    if point_to_point:
        return
    if address.ip == address.network.network_address:
        errors["__all__"] = [f"{address.ip} is a network ID, which may not be assigned to an interface."]
    elif address.version == 4 and address.ip == address.network.broadcast_address:
        errors["__all__"] = [f"{address.ip} is a broadcast address, which may not be assigned to an interface."]


def _unique_address(ctx: Context, rec: Record, errors: dict[str, Any]) -> None:
    """IPAddress.clean: one host per VRF that enforces it, and in the global table (NetBox's
    ENFORCE_GLOBAL_UNIQUE, on by default). Only what is stored counts: a bulk request's items are
    validated before any is saved."""
    vrf = ctx.store.get("ipam/vrfs", rec.get("vrf"))
    if vrf is not None and not vrf.get("enforce_unique", True):
        return
    host = ipaddress.ip_interface(rec["address"]).ip
    duplicate = next((o for o in ctx.store.all("ipam/ip-addresses") if o["id"] != rec.get("id")
                      and o.get("vrf") == rec.get("vrf") and ipaddress.ip_interface(o["address"]).ip == host), None)
    if duplicate is not None:
        table = f"VRF {vrf.get('name')}" if vrf is not None else "global table"
        errors["address"] = [f"Duplicate IP address found in {table}: {duplicate['address']}"]


def _ip_range(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    """IPRange.clean (NetBox 4.7.3 ipam/models/ip.py; before 4.7 a one-address range is refused)."""
    try:
        start, end = (ipaddress.ip_interface(rec.get(name)) for name in ("start_address", "end_address"))
    except ValueError as exc:
        errors["start_address"] = [str(exc)]
        return
    rec["start_address"], rec["end_address"] = str(start), str(end)
    if start.version != end.version:
        errors["end_address"] = ["Starting and ending IP address versions must match"]
    elif start.network.prefixlen != end.network.prefixlen:
        errors["end_address"] = ["Starting and ending IP address masks must match"]
    elif end.ip < start.ip and ctx.version == "4.7":
        errors["end_address"] = [f"Ending address must be greater than or equal to the starting address ({start})"]
    elif end.ip <= start.ip and ctx.version != "4.7":
        errors["end_address"] = [f"Ending address must be greater than the starting address ({start})"]
    if errors:
        return
    for other in ctx.store.all("ipam/ip-ranges"):
        if other["id"] == rec.get("id") or other.get("vrf") != rec.get("vrf"):
            continue
        low, high = (ipaddress.ip_interface(other[n]).ip for n in ("start_address", "end_address"))
        if low.version == start.version and low <= end.ip and start.ip <= high:
            vrf = ctx.store.get("ipam/vrfs", rec.get("vrf"))
            errors["__all__"] = [f"Defined addresses overlap with range {render.ip_range_name(other)} in VRF "
                                 f"{vrf.get('name') if vrf else None}"]
            return
    size = int(end.ip) - int(start.ip) + 1
    if size > 2**32 - 1:
        errors["__all__"] = [f"Defined range exceeds maximum supported size ({2**32 - 1})"]
        return
    rec["size"] = size


def _prefix(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    try:
        rec["prefix"] = str(ipaddress.ip_network(rec.get("prefix"), strict=False))
    except ValueError:
        errors["prefix"] = [f"Invalid IP prefix format: {rec.get('prefix')}"]


def _mac(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    text = str(rec.get("mac_address") or "")
    digits = re.sub(r"[^0-9a-fA-F]", "", text)
    if len(digits) != 12 or len(re.sub(r"[-:.]", "", text)) != 12:
        errors["mac_address"] = [f"Invalid MAC address format: {text}"]
        return
    rec["mac_address"] = ":".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()
    writes.generic_target(ctx, _res("dcim/mac-addresses"), rec, "assigned_object", errors)


def _cluster(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    writes.generic_target(ctx, _res("virtualization/clusters"), rec, "scope", errors)


def _service(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    writes.generic_target(ctx, _res("ipam/services"), rec, "parent", errors)


def _custom_field(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    if not re.fullmatch(r"[a-z0-9_]+", str(rec.get("name", ""))):
        errors["name"] = ["Only alphanumeric characters and underscores are allowed."]


def _res(endpoint: str) -> Resource:
    from .resources import BY_ENDPOINT

    return BY_ENDPOINT[endpoint]


def _cable(ctx: Context, rec: Record, existing: Record | None, errors: dict[str, Any]) -> None:
    """Cable.clean and CableTermination.clean (NetBox 4.7 dcim/models/cables.py)."""
    if rec.get("length") is not None and not rec.get("length_unit"):
        errors["__all__"] = ["Must specify a unit when setting a cable length"]
        return
    a, b = rec.get("a_terminations") or [], rec.get("b_terminations") or []
    if existing is None and (not a or not b):
        errors["__all__"] = ["Must define A and B terminations when creating a new cable."]
        return
    if {(t["object_type"], t["object_id"]) for t in a} & {(t["object_type"], t["object_id"]) for t in b}:
        errors["__all__"] = ["A and B terminations cannot connect to the same object."]
        return
    for term in a + b:
        found = render.cable_of(ctx, term["object_type"], term["object_id"])
        if found is not None and found[0]["id"] != rec.get("id"):
            app_label, model = term["object_type"].split(".")
            errors["__all__"] = [f"Duplicate termination found for {app_label}.{model} {term['object_id']}: "
                                 f"cable {found[0]['id']}"]
            return


_CLEANERS = {
    "dcim/cables": _cable,
    "dcim/devices": _device,
    "virtualization/virtual-machines": _virtual_machine,
    "dcim/interfaces": _interface,
    "virtualization/interfaces": _vm_interface,
    "ipam/ip-addresses": _ip_address,
    "ipam/ip-ranges": _ip_range,
    "ipam/prefixes": _prefix,
    "dcim/mac-addresses": _mac,
    "virtualization/clusters": _cluster,
    "ipam/services": _service,
    "extras/custom-fields": _custom_field,
}


def custom_field_value(ctx: Context, cf: Record, value: Any) -> Any:
    """Type-check one custom-field value the way NetBox's CustomField.validate does."""
    if value is None or value == "":
        if cf.get("required"):
            raise ValueError("Required field cannot be empty.")
        return None
    kind = cf.get("type", "text")
    if kind in ("text", "longtext", "url"):
        if not isinstance(value, str):
            raise ValueError("Value must be a string.")
        regex = cf.get("validation_regex")
        if regex and not re.search(regex, value):
            raise ValueError(f"Value must match regex '{regex}'")
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("Value must be an integer.")
        _bounds(cf, value)
        return value
    if kind == "decimal":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("Value must be a decimal.") from None
        _bounds(cf, number)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("Value must be true or false.")
        return value
    if kind == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            raise ValueError("Date values must be in ISO 8601 format (YYYY-MM-DD).") from None
        return value
    if kind == "datetime":
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("Date and time values must be in ISO 8601 format (YYYY-MM-DD HH:MM:SS).") from None
        return value
    if kind in ("object", "multiobject"):
        return value
    return value


def _bounds(cf: Record, number: float) -> None:
    low, high = cf.get("validation_minimum"), cf.get("validation_maximum")
    if low is not None and number < low:
        raise ValueError(f"Value must be at least {low}")
    if high is not None and number > high:
        raise ValueError(f"Value must not exceed {high}")


def apply_tag_edits(
    ctx: Context, res: Resource, data: dict[str, Any], rec: Record, existing: Record | None, errors: dict[str, Any]
) -> None:
    """4.6 write-only `add_tags` / `remove_tags`."""
    add, remove = data.get("add_tags"), data.get("remove_tags")
    if add is None and remove is None:
        return
    if "tags" in data:
        errors["tags"] = ['Cannot specify "tags" together with "add_tags" or "remove_tags".']
        return
    if remove is not None and existing is None:
        errors["remove_tags"] = ['Cannot use "remove_tags" when creating a new object.']
        return
    tag_endpoint = endpoint_for_schema("NestedTag")
    current = list(rec.get("tags") or [])
    for key, items, adding in (("add_tags", add, True), ("remove_tags", remove, False)):
        try:
            ids = [writes.resolve_ref(ctx, tag_endpoint, item) for item in items or []]
        except ValueError as exc:
            errors[key] = [str(exc)]
            continue
        for tag_id in ids:
            if adding and tag_id not in current:
                current.append(tag_id)
            if not adding and tag_id in current:
                current.remove(tag_id)
    rec["tags"] = current
