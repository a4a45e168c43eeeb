"""The object map: natural key <-> NetBox id, what was last written, absence counts."""


from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from netbox_pipeline.staging.models import (
    ObjectMapEntry,
    utcnow,
)

from netbox_pipeline.staging.store._common import (
    Key,
    StagingDataError,
    _chunks,
    _require,
)


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
    # Plain rows, not ORM objects: every plan reads the whole map, and building (and tracking)
    # an instance per entry cost more than the query.
    table = ObjectMapEntry.__table__
    query = select(table)
    if object_type is not None:
        query = query.where(table.c.object_type == object_type)
    rows = session.execute(query).mappings()
    return {(row["object_type"], row["natural_key"]): dict(row) for row in rows}


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



def repoint_object_map(session: Session, moves: Mapping[Key, tuple[int, int]]) -> int:
    """(type, key) -> (removed id, kept id): entries that named a removed duplicate now name the copy
    kept; an entry naming another id is left as it is. Returns how many moved."""
    ids = _object_map_ids(session, moves)
    if not ids:
        return 0
    current = dict(session.execute(select(ObjectMapEntry.id, ObjectMapEntry.netbox_id)
                                   .where(ObjectMapEntry.id.in_(list(ids.values())))).all())
    rows = [{"id": ids[key], "netbox_id": kept, "updated_at": utcnow()}
            for key, (removed, kept) in moves.items() if key in ids and current.get(ids[key]) == removed]
    if rows:
        session.execute(update(ObjectMapEntry), rows)
    return len(rows)
