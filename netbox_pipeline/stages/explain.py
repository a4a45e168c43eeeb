"""Explain: per managed field of an object, NetBox's value, the desired value, the source record
that gave it, the order in which source kinds win that field, the sources that disagreed, and the
run that wrote it last (with NetBox's own change-log entry of that write, where NetBox keeps one).
Per object, the source records the merge joined to it other than by their own key, and why
(`merged_from`: a scanned host found by its MAC, a service that followed its device). The CLI's `explain` and the MCP server's `explain` tool both print this one answer.

Objects are found in the newest plan by natural key, so every managed type is covered (a device
name also finds its interfaces, their MACs and the addresses on them). Joins use NetBox type
names throughout: plan items and applied changes are both keyed by them.
"""

from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.client import NetBoxClient, NetBoxError
from netbox_pipeline.netbox.schema import TYPES, get_type
from netbox_pipeline.staging import store
from netbox_pipeline.values import decode_exact, jsonable

# NetBox field -> the canonical record's name for it, where they differ (see reconcile/desired.py).
CANONICAL_NAMES = {"memory": "memory_mb", "disk": "disk_mb", "device_type": "model", "scope": "site"}
RECORD_TYPE_OF = {netbox: record for record, netbox in store.NETBOX_TYPE_OF_RECORD.items()}


def explain(config: PipelineConfig, staging, name: str, *, fields: list[str] | None = None,
            client: NetBoxClient | None = None) -> list[dict[str, Any]]:
    """One entry per matching object: {type, key, netbox_id, fields: [per-field explanation]}."""
    with staging.session() as session:
        plan_run_id = store.latest_plan_run_id(session)
        items = store.plan_items_matching(session, plan_run_id, name) if plan_run_id else []
        items += _assigned_to(session, plan_run_id, items)
        keys = [(row["object_type"], row["natural_key"]) for row in items]
        writes = store.last_writes(session, keys)
        conflicts = store.latest_conflicts(session)
        merged_from = {(row["object_type"], row["natural_key"]): _merged_from(session, row["object_type"], row["natural_key"])
                       for row in items}
    explained = []
    unread = None  # why NetBox could not be read: its values are then unknown, not absent
    precedence = config.precedence.mapping()
    for row in items:
        item = decode_exact(row.get("item") or {})
        ident = (row["object_type"], row["natural_key"])
        netbox_id = row.get("netbox_id") or next((w["netbox_id"] for w in writes.get(ident, []) if w.get("netbox_id")), None)
        try:
            live, changelog = _read(None if unread else client, row["object_type"], netbox_id)
        except NetBoxError as exc:  # no answer: asking again for every object would only repeat it
            live, changelog, unread = None, None, str(exc)
        explained.append({
            "type": row["object_type"], "key": row["natural_key"], "netbox_id": netbox_id,
            "plan_action": row["action"], "netbox_unread": unread if netbox_id is not None and client is not None else None,
            "merged_from": merged_from[ident],
            "fields": [_field(row["object_type"], name_, item, live, writes.get(ident, []), changelog, conflicts, row["natural_key"],
                              precedence)
                       for name_ in _field_names(row["object_type"], item, writes.get(ident, []), fields)],
        })
    return [obj for obj in explained if obj["fields"]] if fields else explained


def _assigned_to(session, plan_run_id: str | None, items: list[dict]) -> list[dict]:
    """Addresses, MACs and services on the matched objects (their keys do not carry the name)."""
    if not plan_run_id or not items:
        return []
    matched = {(row["object_type"], row["natural_key"]) for row in items}
    extra = []
    for row in store.plan_for_run(session, plan_run_id):
        if row["object_type"] not in ("ip_addresses", "services") or (row["object_type"], row["natural_key"]) in matched:
            continue
        fields = decode_exact(row.get("item") or {}).get("written_fields") or {}
        owner = fields.get("assigned_object") or fields.get("parent")
        if owner and (owner[0], key_text(owner[1])) in matched:
            extra.append(row)
    return extra


def inventory_key(type_name: str, natural_key: str) -> tuple[str, str] | None:
    """The inventory item (record type, key) a NetBox object of a type that can carry identity
    links was built from. Keys read the same on both sides (a device reaches NetBox only with its
    site, which is in its inventory key too), but for a service's parent type ("devices/…" there)."""
    if type_name == "devices":
        return "device", natural_key
    if type_name == "inventory_items":
        return "inventory_item", natural_key
    if type_name == "services" and natural_key.startswith("devices/"):
        return "service", "device/" + natural_key.removeprefix("devices/")
    return None  # no other type joins records by anything but their key


def _merged_from(session, type_name: str, natural_key: str) -> list[dict[str, Any]]:
    """The current merge's identity links of the object: which source records joined it and why."""
    found = inventory_key(type_name, natural_key)
    if found is None:
        return []
    links = [link for link in store.identity_links_for(session, *found) if link["current"]]
    return [{"source_kind": link["source_kind"], "instance": link["instance"], "record_key": link["record_key"],
             "reason": link["reason"], "location": link["location"], "first_seen_run_id": link["run_id"],
             "last_seen_run_id": link["last_seen_run_id"]} for link in links]


def _field_names(type_name: str, item: dict, writes: list[dict], only: list[str] | None) -> list[str]:
    t = get_type(type_name) if type_name in TYPES else None
    known = set((item.get("written_fields") or {})) | {f for w in writes for f in (w.get("after") or {})}
    names = [f for f in (t.managed if t else sorted(known)) if f in known]
    return [f for f in names if not only or f in only]


def _field(type_name: str, name: str, item: dict, live: dict | None, writes: list[dict], changelog: list | None,
           conflicts: list[dict], key: str, precedence: dict[str, list[str]]) -> dict[str, Any]:
    desired = (item.get("written_fields") or {}).get(name)
    write = next((w for w in writes if name in (w.get("after") or {})), None)
    entry: dict[str, Any] = {
        "field": name,
        "netbox": _display(live.get(name)) if live is not None else None,
        "desired": jsonable(desired),
        "source": _source((item.get("provenance") or {}).get(name)),
        "precedence": precedence_for(precedence, name),
        # Custom fields are merged one by one, so each has its own source.
        "sources": _custom_field_sources(item, desired) if name == "custom_fields" else None,
        "disagree": _disagreements(type_name, key, name, conflicts),
        "last_write": None,
        "changelog": None,
    }
    if write is not None:
        entry["last_write"] = {
            "kind": write["run_kind"], "dagster_run_id": write["dagster_run_id"], "plan_run_id": write["plan_run_id"],
            "action": write["action"], "applied_at": write["applied_at"].isoformat(timespec="seconds"),
            "before": (write.get("before") or {}).get(name), "after": write["after"][name],
        }
        entry["changelog"] = _changelog_entry(changelog, write["plan_run_id"])
    return entry


def precedence_for(precedence: dict[str, list[str]], name: str) -> list[str]:
    """Source kinds in the order they win this field, as the merge ranks them (by the record's field name)."""
    return list(precedence.get(CANONICAL_NAMES.get(name, name)) or precedence.get(name) or precedence["default"])


def _custom_field_sources(item: dict, desired: Any) -> dict[str, dict] | None:
    provenance = item.get("provenance") or {}
    sources = {cf: _source(provenance.get(f"custom_fields.{cf}")) for cf in sorted(desired or {})}
    return {cf: source for cf, source in sources.items() if source} or None


def _source_line(source: dict, label: str = "") -> str:
    at = source.get("location") or source.get("record_id")
    return (f"  {label:<20} from {source['source_kind']}:{source['instance']} {at}"
            f" (last seen {source.get('observed_at')}){' [default]' if source.get('defaulted') else ''}")


def _source(provenance: dict | None) -> dict | None:
    if not provenance:
        return None
    return {k: provenance.get(k) for k in ("source_kind", "instance", "record_id", "location", "observed_at", "defaulted")}


def _disagreements(type_name: str, key: str, name: str, conflicts: list[dict]) -> list[dict]:
    record_type = RECORD_TYPE_OF.get(type_name)
    names = {name, CANONICAL_NAMES.get(name, name)}
    return [{"values": jsonable(c.get("values")), "why": c.get("message")} for c in conflicts
            if c.get("record_type") == record_type and key_text(tuple(c.get("key") or ())) == key and c.get("field") in names]


def _read(client: NetBoxClient | None, type_name: str, netbox_id: int | None) -> tuple[dict | None, list | None]:
    """The object as NetBox has it now, and its change-log entries (None: NetBox keeps none we can read)."""
    if client is None or netbox_id is None or type_name not in TYPES:
        return None, None
    t = TYPES[type_name]
    try:
        live = client.request("GET", f"{t.endpoint}/{netbox_id}")
    except NetBoxError as exc:
        if exc.status is None:
            raise  # NetBox did not answer: the caller says so instead of showing its values as empty
        return None, None
    try:
        page = client.request("GET", "core/object-changes", params={
            "changed_object_type": t.content_type, "changed_object_id": netbox_id, "ordering": "-time", "limit": 100})
        changelog = list((page or {}).get("results") or [])
    except NetBoxError:
        changelog = None  # the stand-in and older NetBox releases have no change-log endpoint
    return live, changelog


def _changelog_entry(changelog: list | None, plan_run_id: str | None) -> dict | None:
    """The change-log entry of the write: every pipeline write names its plan run in the message."""
    if not changelog or not plan_run_id:
        return None
    for change in changelog:
        if plan_run_id in str(change.get("message") or ""):
            action = change.get("action")
            return {"time": change.get("time"), "user": change.get("user_name"), "request_id": change.get("request_id"),
                    "action": action.get("value") if isinstance(action, dict) else action, "message": change.get("message")}
    return None


def _display(value: Any) -> Any:
    """A NetBox JSON value as a person reads it: nested objects by name, choices by value."""
    if isinstance(value, dict):
        if "value" in value and "label" in value:
            return value["value"]
        for name in ("address", "mac_address", "name", "slug", "display"):
            if name in value:
                return value[name]
        return value
    if isinstance(value, list):
        return [_display(v) for v in value]
    return value


def explain_text(explained: list[dict[str, Any]]) -> list[str]:
    lines = []
    unread = next((obj["netbox_unread"] for obj in explained if obj.get("netbox_unread")), None)
    if unread:
        lines.append(f"NetBox could not be read ({unread}): its values show as (not read)")
    for obj in explained:
        where = f" (NetBox id {obj['netbox_id']})" if obj.get("netbox_id") else " (not in NetBox)"
        lines.append(f"{obj['type']} {obj['key']}{where}")
        for link in obj.get("merged_from") or []:
            at = f" ({link['location']})" if link.get("location") else ""
            lines.append(f"  merged from {link['source_kind']}/{link['instance']} {link['record_key']} by {link['reason']}{at}")
        for f in obj["fields"]:
            netbox = "(not read)" if obj.get("netbox_unread") else _short(f["netbox"])
            lines.append(f"  {f['field']:<20} NetBox: {netbox}   desired: {_short(f['desired'])}")
            if f.get("source"):
                lines.append(_source_line(f["source"]))
            for cf, source in (f.get("sources") or {}).items():
                lines.append(_source_line(source, f"  .{cf}"))
            for d in f.get("disagree") or []:
                lines.append(f"  {'':<20} disagree: {d['values']} — {d['why']}")
            write = f.get("last_write")
            if write:
                lines.append(f"  {'':<20} written by {write['kind']} run {write['dagster_run_id']} at {write['applied_at']}"
                             f" ({write['action']}): {_short(write['before'])} -> {_short(write['after'])}")
                log = f.get("changelog")
                if log:
                    lines.append(f"  {'':<20} NetBox change log: {log['action']} by {log['user']} at {log['time']} (request {log['request_id']})")
            else:
                lines.append(f"  {'':<20} never written by the pipeline")
    return lines


def _short(value: Any) -> str:
    if isinstance(value, list):
        value = "/".join(str(_short(v)) for v in value)
    text = "-" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"
