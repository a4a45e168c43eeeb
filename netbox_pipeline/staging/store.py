"""Small reads and writes the pipeline makes on the staging DB.

Every function takes a Session and leaves committing to the caller (`StagingDB.session()`).
Results are plain dicts, never ORM objects. Writes are bulk: a few statements per call, however
many rows. Payloads are stored as received; callers strip secrets before handing them over.
"""

import datetime as dt
import fnmatch
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from netbox_pipeline.staging.models import (
    APPLIED_STATUSES,
    PLAN_ACTIONS,
    RUN_STATUSES,
    SNAPSHOT_STATUSES,
    AppliedChange,
    Base,
    IdentityLink,
    InventoryItem,
    ObjectMapEntry,
    PlanItem,
    Run,
    SourceRecord,
    SourceSnapshot,
    utcnow,
)

Key = tuple[str, str]  # (object_type, natural_key) or (source_kind, instance)
T = TypeVar("T")

# Bound-parameter lists are chunked below SQLite's 32766-variable limit.
IN_CHUNK = 5000

# Provenance keys that change every run without the value's origin changing.
_VOLATILE_PROVENANCE_KEYS = ("observed_at", "run_id")


class StagingDataError(ValueError):
    """Input a store function cannot accept; the message locates the offending entry."""


# --- helpers ------------------------------------------------------------------------------------


def content_hash(value: Any) -> str:
    """sha256 of canonical JSON: key order and whitespace never change the hash."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _row_dict(obj: Base) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _require(entry: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    if not isinstance(entry, Mapping):
        raise StagingDataError(f"{where}: expected a mapping, got {type(entry).__name__}")
    missing = [k for k in keys if entry.get(k) in (None, "")]
    if missing:
        raise StagingDataError(f"{where}: missing {', '.join(missing)}")


def _one_of(value: str, allowed: Sequence[str], what: str, where: str) -> None:
    if value not in allowed:
        raise StagingDataError(f"{where}: {what} {value!r} is not one of {', '.join(allowed)}")


# --- runs ---------------------------------------------------------------------------------------


def start_run(
    session: Session,
    kind: str,
    *,
    dagster_run_id: str | None = None,
    source_kind: str | None = None,
    instance: str | None = None,
    dry_run: bool = False,
    plan_run_id: str | None = None,
    object_type: str | None = None,
    phase: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """Record a run as running; returns its id (a uuid string)."""
    run_id = str(uuid.uuid4())
    session.execute(
        insert(Run),
        [
            {
                "id": run_id,
                "kind": kind,
                "dagster_run_id": dagster_run_id,
                "source_kind": source_kind,
                "instance": instance,
                "dry_run": dry_run,
                "plan_run_id": plan_run_id,
                "object_type": object_type,
                "phase": phase,
                "details": dict(details) if details is not None else None,
                "status": "running",
                "counts": {},
                "started_at": utcnow(),
            }
        ],
    )
    return run_id


def finish_run(
    session: Session,
    run_id: str,
    status: str,
    counts: Mapping[str, int] | None = None,
    error: str | None = None,
) -> None:
    _one_of(status, RUN_STATUSES[1:], "status", f"finish_run({run_id})")
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
    if counts is not None:
        values["counts"] = dict(counts)
    result = session.execute(update(Run).where(Run.id == run_id).values(**values))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise StagingDataError(f"finish_run: no run with id {run_id!r}")


def get_run(session: Session, run_id: str) -> dict[str, Any] | None:
    run = session.get(Run, run_id)
    return _row_dict(run) if run is not None else None


def list_runs(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first."""
    rows = session.scalars(select(Run).order_by(Run.started_at.desc(), Run.id).limit(limit))
    return [_row_dict(r) for r in rows]


def runs_of_dagster_runs(session: Session, kind: str, dagster_run_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Runs of one kind recorded by the given Dagster runs, oldest first."""
    rows = session.scalars(
        select(Run).where(Run.kind == kind, Run.dagster_run_id.in_(sorted(set(dagster_run_ids)))).order_by(Run.started_at, Run.id)
    )
    return [_row_dict(r) for r in rows]


def apply_runs(session: Session, plan_run_id: str) -> list[dict[str, Any]]:
    """The apply runs of one plan (every type and phase), oldest first."""
    rows = session.scalars(
        select(Run).where(Run.kind == "apply", Run.plan_run_id == plan_run_id).order_by(Run.started_at, Run.id)
    )
    return [_row_dict(r) for r in rows]


# --- source snapshots ---------------------------------------------------------------------------


def record_snapshot(
    session: Session,
    run_id: str,
    source_kind: str,
    instance: str,
    records: Sequence[Mapping[str, Any]],
    status: str = "ok",
    error: str | None = None,
    *,
    taken_at: dt.datetime | None = None,
) -> int:
    """Store one fetch of one source instance with its records; returns the snapshot id.

    A failed fetch is recorded too (status "failed", usually without records), so the latest
    attempt is visible while `latest_snapshots()` keeps serving the last good one.
    """
    where = f"snapshot {source_kind}/{instance}"
    _one_of(status, SNAPSHOT_STATUSES, "status", where)
    rows = []
    for index, record in enumerate(records):
        _require(record, ("record_type", "record_key"), f"{where}, record {index}")
        if "payload" not in record:
            raise StagingDataError(f"{where}, record {index} ({record['record_key']}): missing payload")
        rows.append(
            {
                "record_type": record["record_type"],
                "record_key": str(record["record_key"]),
                "location": record.get("location"),
                "payload": record["payload"],
                "payload_hash": content_hash(record["payload"]),
            }
        )
    digest = content_hash(sorted((r["record_type"], r["record_key"], r["payload_hash"]) for r in rows))
    snapshot_id = session.scalar(
        insert(SourceSnapshot)
        .values(
            run_id=run_id,
            source_kind=source_kind,
            instance=instance,
            status=status,
            error=error,
            record_count=len(rows),
            content_hash=digest,
            taken_at=taken_at or utcnow(),
        )
        .returning(SourceSnapshot.id)
    )
    assert snapshot_id is not None
    if rows:
        session.execute(insert(SourceRecord), [{**r, "snapshot_id": snapshot_id} for r in rows])
    return snapshot_id


def _latest_snapshot_per_instance(only_ok: bool) -> Select[tuple[SourceSnapshot]]:
    position = (
        func.row_number()
        .over(
            partition_by=(SourceSnapshot.source_kind, SourceSnapshot.instance),
            order_by=(SourceSnapshot.taken_at.desc(), SourceSnapshot.id.desc()),
        )
        .label("position")
    )
    ranked = select(SourceSnapshot.id, position)
    if only_ok:
        ranked = ranked.where(SourceSnapshot.status == "ok")
    latest = ranked.subquery()
    return select(SourceSnapshot).join(latest, latest.c.id == SourceSnapshot.id).where(latest.c.position == 1)


def latest_snapshots(session: Session, only_ok: bool = True) -> dict[Key, dict[str, Any]]:
    """The newest snapshot of every (source_kind, instance); with only_ok, the newest good one."""
    rows = session.scalars(_latest_snapshot_per_instance(only_ok))
    return {(s.source_kind, s.instance): _row_dict(s) for s in rows}


def latest_snapshot_status(session: Session) -> dict[Key, str]:
    """Status ("ok" / "failed") of the most recent attempt per (source_kind, instance)."""
    return {key: s["status"] for key, s in latest_snapshots(session, only_ok=False).items()}


def snapshot_records(session: Session, snapshot_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(SourceRecord).where(SourceRecord.snapshot_id == snapshot_id).order_by(SourceRecord.id)
    )
    return [_row_dict(r) for r in rows]


# --- inventory ----------------------------------------------------------------------------------


def _inventory_hash(fields: Any, provenance: Mapping[str, Any]) -> str:
    # Where a value comes from is part of the version; when it was last observed is not.
    origin = {
        field: {k: v for k, v in p.items() if k not in _VOLATILE_PROVENANCE_KEYS}
        if isinstance(p, Mapping)
        else p
        for field, p in provenance.items()
    }
    return content_hash({"fields": fields, "origin": origin})


def save_inventory(
    session: Session,
    run_id: str,
    items: Sequence[Mapping[str, Any]],
    *,
    close_missing: bool = False,
) -> dict[str, int]:
    """Version the merged inventory: a changed item closes its current row and gets a new one.

    Unchanged items keep their row (only last_seen_run_id moves). Items absent from `items`
    stay current unless `close_missing` is set. Returns counts new/changed/unchanged/closed.
    """
    incoming: dict[Key, dict[str, Any]] = {}
    for index, item in enumerate(items):
        _require(item, ("object_type", "natural_key"), f"inventory item {index}")
        key = (item["object_type"], str(item["natural_key"]))
        if key in incoming:
            raise StagingDataError(f"inventory item {index}: duplicate {key[0]} {key[1]!r}")
        fields = item.get("fields") or {}
        provenance = item.get("provenance") or {}
        incoming[key] = {
            "object_type": key[0],
            "natural_key": key[1],
            "fields": fields,
            "provenance": provenance,
            "content_hash": _inventory_hash(fields, provenance),
        }

    current_query = select(
        InventoryItem.id, InventoryItem.object_type, InventoryItem.natural_key, InventoryItem.content_hash
    ).where(InventoryItem.valid_to.is_(None))
    if not close_missing:
        current_query = current_query.where(InventoryItem.object_type.in_({k[0] for k in incoming}))
    current = {(r.object_type, r.natural_key): r for r in session.execute(current_query)}

    to_insert, to_close, unchanged_ids = [], [], []
    counts = {"new": 0, "changed": 0, "unchanged": 0, "closed": 0}
    for key, item in incoming.items():
        existing = current.get(key)
        if existing is None:
            counts["new"] += 1
            to_insert.append(item)
        elif existing.content_hash == item["content_hash"]:
            counts["unchanged"] += 1
            unchanged_ids.append(existing.id)
        else:
            counts["changed"] += 1
            to_close.append(existing.id)
            to_insert.append(item)
    if close_missing:
        missing = [row.id for key, row in current.items() if key not in incoming]
        counts["closed"] = len(missing)
        to_close.extend(missing)

    now = utcnow()
    # Close before inserting: at most one current version per item, enforced by a unique index.
    for chunk in _chunks(to_close):
        session.execute(
            update(InventoryItem)
            .where(InventoryItem.id.in_(chunk))
            .values(valid_to=now, closed_run_id=run_id)
        )
    if to_insert:
        session.execute(
            insert(InventoryItem),
            [
                {**item, "first_seen_run_id": run_id, "last_seen_run_id": run_id, "valid_from": now}
                for item in to_insert
            ],
        )
    for chunk in _chunks(unchanged_ids):
        session.execute(
            update(InventoryItem).where(InventoryItem.id.in_(chunk)).values(last_seen_run_id=run_id)
        )
    return counts


def current_inventory(session: Session, object_type: str | None = None) -> list[dict[str, Any]]:
    query = select(InventoryItem).where(InventoryItem.valid_to.is_(None))
    if object_type is not None:
        query = query.where(InventoryItem.object_type == object_type)
    rows = session.scalars(query.order_by(InventoryItem.object_type, InventoryItem.natural_key))
    return [_row_dict(r) for r in rows]


def inventory_history(session: Session, object_type: str, natural_key: str) -> list[dict[str, Any]]:
    """Every version of one item, oldest first."""
    rows = session.scalars(
        select(InventoryItem)
        .where(InventoryItem.object_type == object_type, InventoryItem.natural_key == natural_key)
        .order_by(InventoryItem.valid_from, InventoryItem.id)
    )
    return [_row_dict(r) for r in rows]


def inventory_changes_for_run(session: Session, run_id: str) -> list[dict[str, Any]]:
    """Inventory versions a run opened (new/changed) or closed, as {change, item}."""
    rows = session.scalars(
        select(InventoryItem)
        .where(or_(InventoryItem.first_seen_run_id == run_id, InventoryItem.closed_run_id == run_id))
        .order_by(InventoryItem.object_type, InventoryItem.natural_key, InventoryItem.id)
    )
    changes = []
    for row in rows:
        if row.first_seen_run_id == run_id:
            changes.append({"change": "opened", "item": _row_dict(row)})
        if row.closed_run_id == run_id:
            changes.append({"change": "closed", "item": _row_dict(row)})
    return changes


# --- identity links -----------------------------------------------------------------------------


def save_identity_links(session: Session, run_id: str, links: Sequence[Mapping[str, Any]]) -> int:
    """Record why source records were merged into inventory items (reason: name, mac, serial...)."""
    keys = ("object_type", "inventory_natural_key", "source_kind", "instance", "record_key", "reason")
    rows = []
    for index, link in enumerate(links):
        _require(link, keys, f"identity link {index}")
        rows.append({k: link[k] for k in keys} | {"run_id": run_id, "created_at": utcnow()})
    if rows:
        session.execute(insert(IdentityLink), rows)
    return len(rows)


def identity_links_for(session: Session, object_type: str, natural_key: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(IdentityLink)
        .where(
            IdentityLink.object_type == object_type,
            IdentityLink.inventory_natural_key == natural_key,
        )
        .order_by(IdentityLink.id)
    )
    return [_row_dict(r) for r in rows]


# --- plan ---------------------------------------------------------------------------------------


def save_plan(session: Session, run_id: str, items: Sequence[Mapping[str, Any]]) -> int:
    """Store a run's plan (one row per object and action); returns the number of items."""
    rows = []
    for index, item in enumerate(items):
        where = f"plan item {index}"
        _require(item, ("object_type", "natural_key", "action"), where)
        _one_of(item["action"], PLAN_ACTIONS, "action", f"{where} ({item['natural_key']})")
        rows.append(
            {
                "run_id": run_id,
                "object_type": item["object_type"],
                "natural_key": str(item["natural_key"]),
                "action": item["action"],
                "netbox_id": item.get("netbox_id"),
                "changes": item.get("changes"),
                "desired": item.get("desired"),
                "reason": item.get("reason"),
                "item": item.get("item"),
                "writes_first": bool(item.get("writes_first")),
                "writes_second": bool(item.get("writes_second")),
            }
        )
    if rows:
        session.execute(insert(PlanItem), rows)
    return len(rows)


def plan_for_run(session: Session, run_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(PlanItem).where(PlanItem.run_id == run_id).order_by(PlanItem.id))
    return [_row_dict(r) for r in rows]


def plan_slice(session: Session, plan_run_id: str, object_type: str) -> list[dict[str, Any]]:
    """The stored items (`PlanItem.to_stored`) of one type in one plan, in plan order."""
    return list(session.scalars(
        select(PlanItem.item).where(PlanItem.run_id == plan_run_id, PlanItem.object_type == object_type).order_by(PlanItem.id)
    ))


def plan_keys(session: Session, plan_run_id: str, object_types: Iterable[str]) -> list[tuple[str, Any, int | None]]:
    """(type, stored key, NetBox id) of every item of some types in a plan: what references resolve to."""
    rows = session.execute(
        select(PlanItem.object_type, PlanItem.item["key"], PlanItem.netbox_id)
        .where(PlanItem.run_id == plan_run_id, PlanItem.object_type.in_(sorted(set(object_types))))
    )
    return [(object_type, key, netbox_id) for object_type, key, netbox_id in rows]


def plan_action_counts(session: Session, plan_run_id: str, object_type: str) -> dict[str, int]:
    rows = session.execute(
        select(PlanItem.action, func.count()).where(PlanItem.run_id == plan_run_id, PlanItem.object_type == object_type)
        .group_by(PlanItem.action)
    )
    return {action: count for action, count in rows}


def plan_writes(session: Session, plan_run_id: str, object_type: str, phase: str) -> bool:
    """Whether one type's slice of a plan writes anything in a phase (first, second, delete)."""
    condition = {"first": PlanItem.writes_first, "second": PlanItem.writes_second,
                 "delete": PlanItem.action == "delete"}[phase]
    found = select(PlanItem.id).where(PlanItem.run_id == plan_run_id, PlanItem.object_type == object_type, condition)
    return session.scalar(found.limit(1)) is not None


def plan_run_of_dagster_run(session: Session, dagster_run_id: str) -> str | None:
    """The plan a Dagster run made (the NetBox steps of that run apply it)."""
    return session.scalar(
        select(Run.id).where(Run.kind == "plan", Run.dagster_run_id == dagster_run_id, Run.status == "success")
        .order_by(Run.started_at.desc()).limit(1)
    )


def latest_plan_run_id(session: Session) -> str | None:
    """The newest successful run that planned: of kind "plan", or any run that saved plan items."""
    has_items = exists().where(PlanItem.run_id == Run.id)
    return session.scalar(
        select(Run.id)
        .where(Run.status == "success", or_(Run.kind == "plan", has_items))
        .order_by(Run.started_at.desc(), Run.id.desc())
        .limit(1)
    )


# --- applied changes ----------------------------------------------------------------------------


def record_applied(session: Session, run_id: str, changes: Sequence[Mapping[str, Any]]) -> int:
    """Audit what a run wrote to NetBox (before/after per object); returns the number recorded."""
    rows = []
    for index, change in enumerate(changes):
        where = f"applied change {index}"
        _require(change, ("object_type", "natural_key", "action", "status"), where)
        _one_of(change["status"], APPLIED_STATUSES, "status", f"{where} ({change['natural_key']})")
        rows.append(
            {
                "run_id": run_id,
                "plan_item_id": change.get("plan_item_id"),
                "object_type": change["object_type"],
                "natural_key": str(change["natural_key"]),
                "netbox_id": change.get("netbox_id"),
                "action": change["action"],
                "before": change.get("before"),
                "after": change.get("after"),
                "status": change["status"],
                "error": change.get("error"),
                "applied_at": change.get("applied_at") or utcnow(),
            }
        )
    if rows:
        session.execute(insert(AppliedChange), rows)
    return len(rows)


def applied_for_run(session: Session, run_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AppliedChange).where(AppliedChange.run_id == run_id).order_by(AppliedChange.id)
    )
    return [_row_dict(r) for r in rows]


# --- object map ---------------------------------------------------------------------------------

_OBJECT_MAP_FIELDS = (
    "netbox_id",
    "inventory_item_key",
    "last_written",
    "written_hash",
    "owned",
    "source_kinds",
    "first_written_run_id",
    "last_written_run_id",
    "last_seen_run_id",
    "missing_runs",
)
_OBJECT_MAP_DEFAULTS: dict[str, Any] = {"owned": True, "missing_runs": 0, "source_kinds": []}


def load_object_map(session: Session, object_type: str | None = None) -> dict[Key, dict[str, Any]]:
    query = select(ObjectMapEntry)
    if object_type is not None:
        query = query.where(ObjectMapEntry.object_type == object_type)
    return {(e.object_type, e.natural_key): _row_dict(e) for e in session.scalars(query)}


def netbox_ids(session: Session, object_types: Iterable[str]) -> dict[Key, int]:
    """(object type, natural key) -> NetBox id for the given types, in one query."""
    query = select(ObjectMapEntry.object_type, ObjectMapEntry.natural_key, ObjectMapEntry.netbox_id).where(
        ObjectMapEntry.object_type.in_(sorted(set(object_types))), ObjectMapEntry.netbox_id.is_not(None)
    )
    return {(t, k): i for t, k, i in session.execute(query)}


def _object_map_ids(session: Session, keys: Iterable[Key]) -> dict[Key, int]:
    """Ids of the given keys' rows, in one query (by object type, filtered here)."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = session.execute(
        select(ObjectMapEntry.id, ObjectMapEntry.object_type, ObjectMapEntry.natural_key).where(
            ObjectMapEntry.object_type.in_({k[0] for k in wanted})
        )
    )
    return {(r.object_type, r.natural_key): r.id for r in rows if (r.object_type, r.natural_key) in wanted}


def upsert_object_map(session: Session, entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Insert or update object-map entries by (object_type, natural_key), in bulk.

    Only the fields an entry names are updated; first_written_run_id is kept once set.
    Returns counts inserted/updated.
    """
    by_key: dict[Key, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        _require(entry, ("object_type", "natural_key"), f"object map entry {index}")
        unknown = set(entry) - {"object_type", "natural_key", *_OBJECT_MAP_FIELDS}
        if unknown:
            raise StagingDataError(
                f"object map entry {index} ({entry['natural_key']}): unknown fields {sorted(unknown)}"
            )
        key = (entry["object_type"], str(entry["natural_key"]))
        by_key[key] = {k: v for k, v in entry.items() if k in _OBJECT_MAP_FIELDS}  # last one wins

    existing = _object_map_ids(session, by_key)
    now = utcnow()
    inserts, updates = [], []
    for key, values in by_key.items():
        if key in existing:
            values = {k: v for k, v in values.items() if k != "first_written_run_id"}
            updates.append({"id": existing[key], **values, "updated_at": now})
        else:
            row = {field: values.get(field, _OBJECT_MAP_DEFAULTS.get(field)) for field in _OBJECT_MAP_FIELDS}
            if row["first_written_run_id"] is None:
                row["first_written_run_id"] = values.get("last_written_run_id")
            inserts.append({"object_type": key[0], "natural_key": key[1], **row, "updated_at": now})
    if inserts:
        session.execute(insert(ObjectMapEntry), inserts)
    if updates:
        session.execute(update(ObjectMapEntry), updates)  # bulk UPDATE by primary key
    return {"inserted": len(inserts), "updated": len(updates)}


def set_missing_runs(session: Session, updates: Mapping[Key, int]) -> int:
    """Set the consecutive-absence counter of the given entries; returns how many were found."""
    ids = _object_map_ids(session, updates)
    now = utcnow()
    rows = [
        {"id": ids[key], "missing_runs": count, "updated_at": now}
        for key, count in updates.items()
        if key in ids
    ]
    if rows:
        session.execute(update(ObjectMapEntry), rows)
    return len(rows)


def rename_object_map(session: Session, renames: Mapping[Key, str]) -> int:
    """Move entries to new natural keys ((type, old key) -> new key); an entry already at the new key wins."""
    ids = _object_map_ids(session, renames)
    taken = _object_map_ids(session, [(key[0], new) for key, new in renames.items()])
    moves = [{"id": ids[key], "natural_key": new, "updated_at": utcnow()}
             for key, new in renames.items() if key in ids and (key[0], new) not in taken]
    if moves:
        session.execute(update(ObjectMapEntry), moves)
    stale = [ids[key] for key, new in renames.items() if key in ids and (key[0], new) in taken]
    for chunk in _chunks(stale):
        session.execute(delete(ObjectMapEntry).where(ObjectMapEntry.id.in_(chunk)))
    return len(moves)


def delete_object_map(session: Session, keys: Iterable[Key]) -> int:
    """Forget entries (after their NetBox objects were deleted); returns how many were removed."""
    ids = list(_object_map_ids(session, keys).values())
    for chunk in _chunks(ids):
        session.execute(delete(ObjectMapEntry).where(ObjectMapEntry.id.in_(chunk)))
    return len(ids)


# --- explain ------------------------------------------------------------------------------------

_KEY_SEPARATORS = re.compile(r"[/|:@\s]+")


def _key_matches(natural_key: str, wanted: str) -> bool:
    """A glob (with *, ?) matches the whole key; a name matches the key or one of its parts."""
    if any(c in wanted for c in "*?["):
        return fnmatch.fnmatchcase(natural_key.lower(), wanted.lower())
    if natural_key.lower() == wanted.lower():
        return True
    parts = {part.lower() for part in _KEY_SEPARATORS.split(natural_key)}
    parts |= {part.lower() for part in re.split(r"[/|:@]+", natural_key)}  # names with spaces ("Garage Door")
    return wanted.lower() in parts


def field_lineage(session: Session, natural_key_like: str) -> list[dict[str, Any]]:
    """Where every field of the matching current items came from, and which runs wrote it.

    `natural_key_like` is a device or VM name (which also matches keys built from it, such as
    "<device>/<interface>") or a glob over whole keys. One row per (item, field), with the value,
    its provenance (source kind, instance, record key, location of the source record, run,
    observed time) and the applied changes that wrote the field to NetBox, newest first.
    """
    needle = natural_key_like.strip()
    if not needle:
        raise StagingDataError("field_lineage: empty name")
    literal = re.split(r"[*?\[]", needle)[0] if any(c in needle for c in "*?[") else needle
    candidates = session.scalars(
        select(InventoryItem)
        .where(
            InventoryItem.valid_to.is_(None),
            func.lower(InventoryItem.natural_key).contains(literal.lower(), autoescape=True),
        )
        .order_by(InventoryItem.object_type, InventoryItem.natural_key)
    )
    items = [i for i in candidates if _key_matches(i.natural_key, needle)]
    if not items:
        return []

    provenances = [
        (item, field, p if isinstance(p, Mapping) else {})
        for item in items
        for field, p in _fields_with_provenance(item)
    ]
    records = _resolve_records(session, [p for _, _, p in provenances])
    writes = _writes_for(session, [(i.object_type, i.natural_key) for i in items])

    lineage = []
    for item, field, prov in provenances:
        record = records.get(_provenance_ref(prov)) or {}
        lineage.append(
            {
                "object_type": item.object_type,
                "natural_key": item.natural_key,
                "field": field,
                "value": (item.fields or {}).get(field),
                "source_kind": prov.get("source_kind"),
                "instance": prov.get("instance"),
                "record_key": record.get("record_key", _str_or_none(prov.get("record_id"))),
                "record_type": record.get("record_type"),
                "location": record.get("location"),
                "snapshot_id": record.get("snapshot_id"),
                "run_id": prov.get("run_id"),
                "observed_at": prov.get("observed_at"),
                "inventory_valid_from": item.valid_from,
                "written": [
                    {**{k: v for k, v in w.items() if k != "fields"}, "value": w["fields"][field]}
                    for w in writes.get((item.object_type, item.natural_key), [])
                    if field in w["fields"]
                ],
            }
        )
    return lineage


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _fields_with_provenance(item: InventoryItem) -> list[tuple[str, Any]]:
    fields = item.fields or {}
    provenance = item.provenance or {}
    names = list(fields) + [f for f in provenance if f not in fields]
    return [(name, provenance.get(name)) for name in names]


def _provenance_ref(prov: Mapping[str, Any]) -> tuple[Any, ...]:
    record_id = _str_or_none(prov.get("record_id"))
    return (prov.get("source_kind"), prov.get("instance"), record_id, prov.get("run_id"))


def _resolve_records(
    session: Session, provenances: list[Mapping[str, Any]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Find each provenance's source record: by record key in that source instance's snapshots,
    preferring the snapshot of the provenance's run, else the newest. One query."""
    refs = {_provenance_ref(p) for p in provenances if p.get("record_id") is not None}
    if not refs:
        return {}
    record_keys = sorted({r[2] for r in refs})
    instances = {(r[0], r[1]) for r in refs}
    rows = []
    for chunk in _chunks(record_keys):
        rows += session.execute(
            select(
                SourceRecord.id,
                SourceRecord.record_type,
                SourceRecord.record_key,
                SourceRecord.location,
                SourceRecord.snapshot_id,
                SourceSnapshot.source_kind,
                SourceSnapshot.instance,
                SourceSnapshot.run_id,
                SourceSnapshot.taken_at,
            )
            .join(SourceSnapshot, SourceSnapshot.id == SourceRecord.snapshot_id)
            .where(
                SourceRecord.record_key.in_(chunk),
                or_(
                    *(
                        and_(SourceSnapshot.source_kind == kind, SourceSnapshot.instance == instance)
                        for kind, instance in instances
                    )
                ),
            )
        ).all()
    resolved: dict[tuple[Any, ...], dict[str, Any]] = {}
    for kind, instance, record_key, run_id in refs:
        matches = [
            r for r in rows if (r.source_kind, r.instance, r.record_key) == (kind, instance, record_key)
        ]
        if not matches:
            continue
        best = max(matches, key=lambda r: (r.run_id == run_id, r.taken_at, r.id))
        resolved[(kind, instance, record_key, run_id)] = {
            "record_key": best.record_key,
            "record_type": best.record_type,
            "location": best.location,
            "snapshot_id": best.snapshot_id,
        }
    return resolved


def _writes_for(session: Session, keys: list[Key]) -> dict[Key, list[dict[str, Any]]]:
    """Applied (successful) writes to the given objects, newest first, with the fields they set."""
    wanted = set(keys)
    writes: dict[Key, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(AppliedChange)
        .where(
            AppliedChange.status == "applied",
            AppliedChange.object_type.in_({k[0] for k in wanted}),
            AppliedChange.natural_key.in_({k[1] for k in wanted}),
        )
        .order_by(AppliedChange.applied_at.desc(), AppliedChange.id.desc())
    ).scalars()
    for change in rows:
        key = (change.object_type, change.natural_key)
        if key not in wanted:
            continue
        after = change.after if isinstance(change.after, Mapping) else {}
        writes.setdefault(key, []).append(
            {
                "run_id": change.run_id,
                "applied_at": change.applied_at,
                "action": change.action,
                "netbox_id": change.netbox_id,
                "fields": after,
            }
        )
    return writes
