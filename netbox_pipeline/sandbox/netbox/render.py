"""Turn stored records into NetBox JSON: full, brief and nested representations, per version."""

import ipaddress
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .resources import (
    BY_ENDPOINT,
    BY_OBJECT_TYPE,
    GENERIC,
    Resource,
    endpoint_for_schema,
)
from .store import Record, Store

CF_DATA_TYPES = {
    "integer": "integer", "decimal": "decimal", "boolean": "boolean", "json": "object",
    "multiselect": "array", "multiobject": "array", "object": "object",
}


@dataclass
class Context:
    """Everything a representation depends on: version tables, data, the request's base URL and the operation."""

    version: str
    schema: ModuleType
    store: Store
    base: str  # "http://host:port"
    mode: str = "read"  # "read" | "create" | "update"

    def schema_fields(self, name: str) -> tuple:
        return self.schema.SCHEMAS.get(name, ())


def full_schema(ctx: Context, endpoint: str) -> str:
    return ctx.schema.ENDPOINTS[endpoint][0]


def full(ctx: Context, res: Resource, rec: Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fdef in ctx.schema_fields(full_schema(ctx, res.endpoint)):
        name = fdef[0]
        if ctx.version == "4.4" and ctx.mode == "create" and name in res.annotated:
            continue
        out[name] = field_value(ctx, res, rec, fdef)
    if res.endpoint == "users/tokens" and ctx.version != "4.4":  # missing from the 4.6 schema, sent by the server
        token = out.pop("token", None)
        out["allowed_ips"] = rec.get("allowed_ips")
        out["token"] = token
    return out


# Fields of the Brief schema that `?brief=1` lists leave out (4.6 added them to nested IPs only).
BRIEF_LIST_OMIT = {(v, "ipam/ip-addresses"): ("nat_inside", "nat_outside", "dns_name") for v in ("4.6", "4.7")}


def brief(ctx: Context, res: Resource, rec: Record) -> dict[str, Any]:
    """`?brief=1` representation (top level, so counters are real)."""
    out = _short(ctx, res, rec, ctx.schema.ENDPOINTS[res.endpoint][1], nested=False)
    for name in BRIEF_LIST_OMIT.get((ctx.version, res.endpoint), ()):
        out.pop(name, None)
    return out


def nested(ctx: Context, endpoint: str, rec: Record, schema_name: str | None = None) -> dict[str, Any]:
    res = BY_ENDPOINT[endpoint]
    if schema_name is None or schema_name not in ctx.schema.SCHEMAS or not schema_name.startswith(("Brief", "Nested")):
        schema_name = ctx.schema.ENDPOINTS[endpoint][1]
    return _short(ctx, res, rec, schema_name, nested=True)


def _short(ctx: Context, res: Resource, rec: Record, schema_name: str | None, nested: bool) -> dict[str, Any]:
    full_defs = {f[0]: f for f in ctx.schema_fields(full_schema(ctx, res.endpoint))}
    if schema_name and schema_name in ctx.schema.SCHEMAS:
        defs = ctx.schema_fields(schema_name)
    else:
        defs = tuple(full_defs[n] for n in res.brief if n in full_defs)
    out: dict[str, Any] = {}
    for fdef in defs:
        name = fdef[0]
        if nested and name in res.counts | dict.fromkeys(res.annotated):
            if ctx.version == "4.4" and name in res.annotated:
                continue  # not annotated on nested querysets in 4.4
            if res.endpoint in ("dcim/device-roles", "dcim/platforms"):
                if ctx.version == "4.4" and ctx.mode == "update":
                    continue
                out[name] = 0  # NetBox reports 0 for these nested counters
                continue
        out[name] = field_value(ctx, res, rec, full_defs.get(name, fdef))
    return out


def url_of(ctx: Context, endpoint: str, object_id: int) -> str:
    return f"{ctx.base}/api/{endpoint}/{object_id}/"


def display_of(ctx: Context, res: Resource, rec: Record) -> str:
    endpoint = res.endpoint
    if endpoint == "dcim/devices" and not rec.get("name"):
        dtype = ctx.store.get("dcim/device-types", rec.get("device_type")) or {}
        maker = ctx.store.get("dcim/manufacturers", dtype.get("manufacturer")) or {}
        return f"{maker.get('name', '')} {dtype.get('model', '')} ({rec['id']})"
    if endpoint == "ipam/vlans":
        return f"{rec.get('name')} ({rec.get('vid')})"
    if endpoint == "ipam/services":
        ports = ",".join(str(p) for p in rec.get("ports") or [])
        return f"{rec.get('name')} ({str(rec.get('protocol', '')).upper()}/{ports})"
    if endpoint == "extras/custom-fields":
        return rec.get("label") or rec.get("name") or ""
    if endpoint == "dcim/cables":
        return rec.get("label") or f"#{rec['id']}"
    if endpoint == "ipam/ip-ranges":
        return ip_range_name(rec)
    if endpoint == "users/tokens":
        if rec.get("version") == 1:
            return "*" * 34 + str(rec.get("last_six", ""))
        return str(rec.get("key"))
    if endpoint == "core/object-types":
        return str(rec.get("display"))
    value = rec.get(res.display)
    return "" if value is None else str(value)


def field_value(ctx: Context, res: Resource, rec: Record, fdef: tuple) -> Any:
    name, kind, arg, nullable, _read_only, default = fdef
    special = _special(ctx, res, rec, name)
    if special is not _NONE:
        return special
    if name in res.counts:
        return count_of(ctx, res, rec, name)
    if kind == "any" and name in GENERIC:
        return _generic(ctx, rec, name)
    raw = rec.get(name, _NONE)
    if kind == "ref":
        target = endpoint_for_schema(arg)
        if raw in (_NONE, None) or target is None:
            return None
        obj = ctx.store.get(target, raw)
        return nested_or_none(ctx, target, obj, arg)
    if kind == "refs":
        target = endpoint_for_schema(arg)
        if target is None or raw in (_NONE, None):
            return []
        objs = [ctx.store.get(target, i) for i in raw]
        return [nested(ctx, target, o, arg) for o in objs if o is not None]
    if kind == "choice":
        value = res.defaults.get(name) if raw is _NONE else raw
        if value in (None, ""):
            return None
        labels = dict(arg)
        return {"value": value, "label": labels.get(value, str(value))}
    if raw is not _NONE:
        if kind == "number" and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        return raw
    return type_default(fdef, res)


def nested_or_none(ctx: Context, endpoint: str, obj: Record | None, schema_name: str | None = None) -> Any:
    return None if obj is None else nested(ctx, endpoint, obj, schema_name)


def type_default(fdef: tuple, res: Resource) -> Any:
    name, kind, _arg, nullable, read_only, default = fdef
    if name in res.defaults:
        return res.defaults[name]
    if read_only and kind == "string":
        return None  # e.g. an interface's cable_end without a cable
    if default is not None:
        return default
    if nullable:
        return None
    return {"string": "", "boolean": False, "integer": 0, "number": 0.0, "array": [], "object": {}}.get(kind)


_NONE = object()


def _special(ctx: Context, res: Resource, rec: Record, name: str) -> Any:
    if name == "id":
        return rec["id"]
    if name == "url":
        return url_of(ctx, res.endpoint, rec["id"])
    if name == "display_url":
        return f"{ctx.base}/{res.endpoint}/{rec['id']}/"
    if name == "display":
        return display_of(ctx, res, rec)
    if name == "custom_fields":
        return custom_field_values(ctx, res, rec)
    if name in ("_depth", "count_fhrp_groups"):
        return 0
    if name in ("a_terminations", "b_terminations") and res.endpoint == "dcim/cables":
        ends = [_termination(ctx, t) for t in rec.get(name) or []]
        return [end for end in ends if end["object"] is not None]  # a deleted interface leaves its cable
    if name in ("cable", "cable_end", "_occupied") and res.endpoint == "dcim/interfaces":
        return _cabled(ctx, rec, name)
    if name == "_occupied":
        return False
    if name == "primary_ip":
        return _primary_ip(ctx, rec)
    if name == "config_context":
        return {}
    if name == "connected_endpoints_reachable":
        return False if ctx.version != "4.4" else None
    if name == "family" and ("address" in rec or "prefix" in rec or "start_address" in rec):
        text = rec.get("address") or rec.get("prefix") or rec.get("start_address") or ""
        try:
            family = ipaddress.ip_interface(text).version
        except ValueError:
            return None
        return {"value": family, "label": f"IPv{family}"}
    if name == "mac_address" and res.endpoint in ("dcim/interfaces", "virtualization/interfaces"):
        mac = ctx.store.get("dcim/mac-addresses", rec.get("primary_mac_address"))
        return mac["mac_address"] if mac else None
    if name == "mac_addresses" and res.endpoint in ("dcim/interfaces", "virtualization/interfaces"):
        macs = [m for m in ctx.store.all("dcim/mac-addresses") if _assigned_to(m, "assigned_object", res, rec)]
        return [nested(ctx, "dcim/mac-addresses", m) for m in macs]
    if name == "data_type" and res.endpoint == "extras/custom-fields":
        return CF_DATA_TYPES.get(rec.get("type", "text"), "string")
    if name == "token" and res.endpoint == "users/tokens":
        return rec.get("plaintext") if ctx.mode == "create" else None
    if name in ("allocated_vcpus", "allocated_memory", "allocated_disk"):
        return _allocated(ctx, rec, name)
    if name == "tagged_items":
        return _tagged_items(ctx, rec)
    return _NONE


def ip_range_name(rec: Record) -> str:
    """IPRange.name: the shared leading part once, `192.0.2.100-200/24` (4.7: both hosts of a
    one-address range, `192.0.2.5-192.0.2.5/24`)."""
    start, end = ipaddress.ip_interface(rec["start_address"]), ipaddress.ip_interface(rec["end_address"])
    if start.ip == end.ip:
        return f"{start.ip}-{end.ip}/{start.network.prefixlen}"
    separator = ":" if start.version == 6 else "."
    first, last = str(start.ip).split(separator), str(end.ip).split(separator)
    base = [a for a, b in zip(first, last) if a == b]  # as NetBox: every equal chunk, wherever it is
    return (f"{separator.join(base)}{separator}{separator.join(first[len(base):])}-"
            f"{separator.join(last[len(base):])}/{start.network.prefixlen}")


def _termination(ctx: Context, term: dict[str, Any]) -> dict[str, Any]:
    """A cable end as NetBox renders it: {object_type, object_id, object (the brief object)}."""
    target = BY_OBJECT_TYPE.get(term["object_type"])
    obj = ctx.store.get(target.endpoint, term["object_id"]) if target else None
    nested_obj = nested_or_none(ctx, target.endpoint, obj) if target else None
    return {"object_type": term["object_type"], "object_id": term["object_id"], "object": nested_obj}


def cable_of(ctx: Context, object_type: str, object_id: int) -> tuple[Record, str] | None:
    """(the cable, its end "A" or "B") holding an object, if any."""
    for cable in ctx.store.all("dcim/cables"):
        for end, name in (("A", "a_terminations"), ("B", "b_terminations")):
            if any(t["object_type"] == object_type and t["object_id"] == object_id for t in cable.get(name) or []):
                return cable, end
    return None


def _cabled(ctx: Context, rec: Record, name: str) -> Any:
    found = cable_of(ctx, "dcim.interface", rec["id"])
    if name == "_occupied":
        return found is not None
    if found is None:
        return None
    return nested(ctx, "dcim/cables", found[0]) if name == "cable" else found[1]


def _primary_ip(ctx: Context, rec: Record) -> Any:
    for field in ("primary_ip6", "primary_ip4"):  # NetBox prefers IPv6 when PREFER_IPV4 is off
        ip = ctx.store.get("ipam/ip-addresses", rec.get(field))
        if ip is not None:
            return nested(ctx, "ipam/ip-addresses", ip)
    return None


def _allocated(ctx: Context, rec: Record, name: str) -> Any:
    field = name.removeprefix("allocated_")
    values = [vm.get(field) for vm in ctx.store.all("virtualization/virtual-machines") if vm.get("cluster") == rec["id"]]
    values = [v for v in values if v is not None]
    if not values:
        return None
    total = sum(values)
    return float(total) if field == "vcpus" else total


def _tagged_items(ctx: Context, rec: Record) -> int:
    return sum(
        1 for table in ctx.store.tables.values() for obj in table.values() if rec["id"] in (obj.get("tags") or [])
    )


def _assigned_to(child: Record, generic: str, res: Resource, rec: Record) -> bool:
    type_field, id_field = GENERIC[generic]
    return child.get(type_field) == res.object_type and child.get(id_field) == rec["id"]


def count_of(ctx: Context, res: Resource, rec: Record, name: str) -> int:
    child_endpoint, fk = res.counts[name]
    if not child_endpoint:
        return 0
    children = ctx.store.all(child_endpoint)
    if fk in GENERIC:
        return sum(1 for c in children if _assigned_to(c, fk, res, rec))
    return sum(1 for c in children if c.get(fk) == rec["id"])


def _generic(ctx: Context, rec: Record, name: str) -> Any:
    type_field, id_field = GENERIC[name]
    target = BY_OBJECT_TYPE.get(rec.get(type_field) or "")
    if target is None:
        return None
    return nested_or_none(ctx, target.endpoint, ctx.store.get(target.endpoint, rec.get(id_field)))


def custom_fields_for(ctx: Context, object_type: str) -> list[Record]:
    fields = [cf for cf in ctx.store.all("extras/custom-fields") if object_type in (cf.get("object_types") or [])]
    return sorted(fields, key=lambda cf: (cf.get("group_name") or "", cf.get("weight", 100), cf.get("name", "")))


def custom_field_values(ctx: Context, res: Resource, rec: Record) -> dict[str, Any]:
    stored = rec.get("custom_fields") or {}
    return {cf["name"]: stored.get(cf["name"]) for cf in custom_fields_for(ctx, res.object_type)}


def etag_of(rec: Record) -> str | None:
    """Weak ETag from last_updated (or created), as 4.6 sends it (`+00:00` instead of the body's `Z`)."""
    stamp = rec.get("last_updated") or rec.get("created")
    return f'W/"{stamp[:-1]}+00:00"' if stamp and stamp.endswith("Z") else None
