"""Inventory versions: one row per version of a merged item (valid_from/valid_to)."""


from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from netbox_pipeline.staging.models import (
    InventoryItem,
    utcnow,
)

from netbox_pipeline.staging.store._common import (
    _VOLATILE_PROVENANCE_KEYS,
    Key,
    StagingDataError,
    _chunks,
    _require,
    _row_dict,
    content_hash,
)



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
