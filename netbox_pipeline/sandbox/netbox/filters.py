"""List filtering the way NetBox's filter sets behave for the fields a sync tool uses.

Query parameters: `field` (exact; repeated = OR), `field__<lookup>`, `field_id` for references,
reference filters by slug/name, `tag` (AND) / `tag__any` (OR), `cf_<name>`, and relation paths from the
resource table (`manufacturer=` on devices...). Unknown parameters are ignored, as in NetBox.
"""

import ipaddress
import re
from typing import Any, Callable

from .render import Context, full_schema
from .resources import BY_OBJECT_TYPE, GENERIC, Resource, endpoint_for_schema
from .store import Record

CONTROL = {"limit", "offset", "brief", "fields", "omit", "ordering", "start", "format", "exclude", "include"}
LOOKUPS = ("n", "ie", "nie", "ic", "nic", "isw", "nisw", "iew", "niew", "empty", "gt", "gte", "lt", "lte", "regex", "iregex")


class FilterError(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def apply(ctx: Context, res: Resource, objects: list[Record], params: dict[str, list[str]]) -> list[Record]:
    tests: list[Callable[[Record], bool]] = []
    errors: dict[str, list[str]] = {}
    fields = {f[0]: f for f in ctx.schema_fields(full_schema(ctx, res.endpoint))}
    for key, values in params.items():
        if key in CONTROL or not values:
            continue
        try:
            test = _build(ctx, res, fields, key, values)
        except FilterError as exc:
            errors.update(exc.errors)
            continue
        if test is not None:
            tests.append(test)
    if errors:
        raise FilterError(errors)
    return [o for o in objects if all(t(o) for t in tests)]


def _build(ctx: Context, res: Resource, fields: dict[str, tuple], key: str, values: list[str]) -> Callable | None:
    if key == "q":
        needle = values[0].lower()
        return lambda o: any(needle in str(o.get(f) or "").lower() for f in ("name", "slug", "description", "address", "model", "serial"))
    if key in ("id", "id__n"):
        ids = {_int(key, v) for v in values}
        return (lambda o: o["id"] in ids) if key == "id" else (lambda o: o["id"] not in ids)
    if key.startswith("cf_"):
        return _custom_field(key[3:], values)
    if key in ("tag", "tag__n", "tag_id", "tag__any", "tag_id__any"):
        return _tags(ctx, key, values)
    base, _, lookup = key.partition("__")
    if lookup and lookup not in LOOKUPS:
        return None
    if base in res.via:
        return _related(ctx, res, base, res.via[base], values, lookup)
    if base.endswith("_id") and base[:-3] in res.via:
        return _related(ctx, res, base, res.via[base[:-3]], values, lookup, by_id=True)
    if res.endpoint == "ipam/ip-addresses" and base == "address":
        return _address(values)
    if base in ("interface_id", "vminterface_id") and "assigned_object_id" in fields:
        wanted = "dcim.interface" if base == "interface_id" else "virtualization.vminterface"
        ids = {_int(key, v) for v in values}
        return lambda o: o.get("assigned_object_type") == wanted and o.get("assigned_object_id") in ids
    if base == "mac_address":
        macs = {re.sub(r"[^0-9a-f]", "", v.lower()) for v in values}
        return lambda o: re.sub(r"[^0-9a-f]", "", str(_mac_of(ctx, res, o) or "").lower()) in macs
    ref_name = base[:-3] if base.endswith("_id") else base
    fdef = fields.get(ref_name)
    if fdef and fdef[1] in ("ref", "refs"):
        return _reference(ctx, res, fdef, key, base.endswith("_id"), values, lookup)
    if fdef is None or fdef[1] not in ("string", "integer", "number", "boolean", "choice", "any"):
        return None
    return _scalar(ctx, res, base, lookup, values, fdef)


def _int(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FilterError({key: ["Enter a number."]}) from None


def _scalar(ctx: Context, res: Resource, field: str, lookup: str, values: list[str], fdef: tuple) -> Callable:
    exact_ci = field in res.iexact
    kind = fdef[1]

    def text(o: Record) -> str | None:
        value = o.get(field, res.defaults.get(field))
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def one(o: Record, wanted: str) -> bool:
        actual = text(o)
        low = (actual or "").lower()
        want = wanted.lower()
        if kind == "boolean" and lookup == "":
            return actual == {"1": "true", "0": "false"}.get(want, want)
        if lookup in ("", "n"):
            if wanted == "null":
                return actual is None
            if kind in ("integer", "number"):
                try:
                    return actual is not None and float(actual) == float(wanted)
                except ValueError:
                    return False
            return (low == want) if exact_ci else (actual == wanted)
        if lookup in ("ie", "nie"):
            return actual is not None and low == want
        if lookup in ("ic", "nic"):
            return want in low
        if lookup in ("isw", "nisw"):
            return low.startswith(want)
        if lookup in ("iew", "niew"):
            return low.endswith(want)
        if lookup == "empty":
            return (actual in (None, "")) == (want in ("true", "1"))
        if lookup in ("regex", "iregex"):
            return re.search(wanted, actual or "", re.I if lookup == "iregex" else 0) is not None
        try:
            a, w = float(actual or "nan"), float(wanted)
        except ValueError:
            return False
        return {"gt": a > w, "gte": a >= w, "lt": a < w, "lte": a <= w}[lookup]

    negate = lookup.startswith("n") and lookup != ""
    if negate:
        return lambda o: not any(one(o, w) for w in values)
    return lambda o: any(one(o, w) for w in values)


def _lookup_target(ctx: Context, endpoint: str, key: str, values: list[str], by_id: bool) -> set[int]:
    """Ids of the related objects a filter names; unknown names -> 400 as NetBox answers."""
    objects = ctx.store.all(endpoint)
    found: set[int] = set()
    for value in values:
        if value == "null":
            found.add(0)
            continue
        if by_id:
            matches = [o["id"] for o in objects if str(o["id"]) == value]
        else:
            attr = "slug" if any("slug" in o for o in objects) or endpoint in _SLUGGED else "name"
            if endpoint == "users/users":
                attr = "username"
            matches = [o["id"] for o in objects if str(o.get(attr)) == value]
        if not matches:
            raise FilterError({key: [f"Select a valid choice. {value} is not one of the available choices."]})
        found.update(matches)
    return found


_SLUGGED = {"dcim/sites", "dcim/manufacturers", "dcim/device-roles", "dcim/device-types", "dcim/platforms",
            "dcim/regions", "dcim/locations", "extras/tags", "virtualization/cluster-types",
            "virtualization/virtual-machine-types", "tenancy/tenants"}


def _reference(
    ctx: Context, res: Resource, fdef: tuple, key: str, by_id: bool, values: list[str], lookup: str
) -> Callable | None:
    target = endpoint_for_schema(fdef[2])
    if target is None:
        return None
    ids = _lookup_target(ctx, target, key, values, by_id)
    field = fdef[0]

    def match(o: Record) -> bool:
        value = o.get(field)
        if isinstance(value, list):
            return bool(ids & set(value))
        return (value or 0) in ids

    return (lambda o: not match(o)) if lookup == "n" else match


def _related(
    ctx: Context, res: Resource, key: str, via: tuple[str, ...], values: list[str], lookup: str, by_id: bool = False
) -> Callable:
    """A filter through a chain of references, e.g. device -> device_type -> manufacturer."""
    target, *path = via
    ids = _lookup_target(ctx, target, key, values, by_id)

    def walk(o: Record) -> bool:
        current: Record | None = o
        holder = res.endpoint
        for position, field in enumerate(path):
            last = position == len(path) - 1
            if current is None:
                return False
            if field in GENERIC:
                type_field, id_field = GENERIC[field]
                owner = BY_OBJECT_TYPE.get(current.get(type_field) or "")
                if owner is None:
                    return False
                if last:
                    return owner.endpoint == target and current.get(id_field) in ids
                holder, current = owner.endpoint, ctx.store.get(owner.endpoint, current.get(id_field))
                continue
            if last:
                return current.get(field) in ids
            holder = _field_target(ctx, holder, field) or holder
            current = ctx.store.get(holder, current.get(field))
        return False

    return (lambda o: not walk(o)) if lookup == "n" else walk


def _field_target(ctx: Context, endpoint: str, field: str) -> str | None:
    for fdef in ctx.schema_fields(full_schema(ctx, endpoint)):
        if fdef[0] == field and fdef[1] in ("ref", "refs"):
            return endpoint_for_schema(fdef[2])
    return None


def _address(values: list[str]) -> Callable:
    def matches(o: Record) -> bool:
        actual = str(o.get("address") or "")
        for wanted in values:
            if "/" in wanted and actual == wanted:
                return True
            if "/" not in wanted and actual.split("/")[0] == wanted:
                return True
        return False

    return matches


def _mac_of(ctx: Context, res: Resource, o: Record) -> Any:
    if res.endpoint == "dcim/mac-addresses":
        return o.get("mac_address")
    mac = ctx.store.get("dcim/mac-addresses", o.get("primary_mac_address"))
    return mac.get("mac_address") if mac else None


def _custom_field(name: str, values: list[str]) -> Callable:
    def matches(o: Record) -> bool:
        actual = (o.get("custom_fields") or {}).get(name)
        for wanted in values:
            if isinstance(actual, bool) and wanted.lower() in ("true", "false"):
                if actual == (wanted.lower() == "true"):
                    return True
            elif wanted == "null" and actual is None:
                return True
            elif actual is not None and str(actual) == wanted:
                return True
        return False

    return matches


def _tags(ctx: Context, key: str, values: list[str]) -> Callable:
    tags = ctx.store.all("extras/tags")
    by_id = key.startswith("tag_id")
    wanted: list[int] = []
    for value in values:
        match = [t["id"] for t in tags if str(t["id" if by_id else "slug"]) == value]
        if not match:
            raise FilterError({key: [f"Select a valid choice. {value} is not one of the available choices."]})
        wanted.append(match[0])
    if key.endswith("__any"):
        return lambda o: bool(set(wanted) & set(o.get("tags") or []))
    if key == "tag__n":
        return lambda o: not (set(wanted) & set(o.get("tags") or []))
    return lambda o: set(wanted) <= set(o.get("tags") or [])


def natural_key(value: Any) -> tuple:
    """NetBox orders names naturally (`eth2` before `eth10`); NULL sorts last."""
    if value is None:
        return (1, ())
    if isinstance(value, (int, float)):
        return (0, ((0, value, ""),))
    text = str(value)
    try:
        net = ipaddress.ip_interface(text)
        return (0, ((0, net.version, ""), (0, int(net.ip), "")))
    except ValueError:
        pass
    parts = re.split(r"(\d+)", text.lower())
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p))


def order(res: Resource, objects: list[Record], ordering: str | None) -> list[Record]:
    keys = [k.strip() for k in ordering.split(",")] if ordering else list(res.ordering)
    result = list(objects)
    for key in reversed(keys):
        reverse = key.startswith("-")
        name = key.lstrip("-")
        result.sort(key=lambda o: natural_key(o.get(name, o["id"] if name == "id" else None)), reverse=reverse)
    return result


