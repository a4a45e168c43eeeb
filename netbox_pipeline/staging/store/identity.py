"""Identity links: why a source record was merged into an inventory item other than by its own key.

A link is stored once. Each inventory run that sees it again moves its `last_seen_run_id` only,
so a run that changes nothing adds no rows, and a link that stopped holding stays as history.
"""


from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from netbox_pipeline.staging.models import REASON_LEN, IdentityLink, Run, utcnow
from netbox_pipeline.staging.store._common import _chunks, _require, _row_dict
from netbox_pipeline.staging.store.lineage import _resolve_records

_FIELDS = ("object_type", "inventory_natural_key", "source_kind", "instance", "record_key", "reason")


def _fitted(reason: str) -> str:
    return reason if len(reason) <= REASON_LEN else reason[: REASON_LEN - 1] + "…"


def save_identity_links(session: Session, run_id: str, links: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Keep the links an inventory run found: new ones are inserted with this run as first and last
    seen, known ones only get `last_seen_run_id` moved. Returns counts {"new", "seen"}."""
    incoming: dict[tuple[str, ...], dict[str, Any]] = {}
    for index, link in enumerate(links):
        _require(link, _FIELDS, f"identity link {index}")
        row = {name: str(link[name]) for name in _FIELDS}
        row["reason"] = _fitted(row["reason"])
        incoming.setdefault(tuple(row[name] for name in _FIELDS), row)
    if not incoming:
        return {"new": 0, "seen": 0}
    known: dict[tuple[str, ...], int] = {}
    items = sorted({(row["object_type"], row["inventory_natural_key"]) for row in incoming.values()})
    for chunk in _chunks(items):
        rows = session.execute(
            select(IdentityLink.id, *(getattr(IdentityLink, name) for name in _FIELDS)).where(
                IdentityLink.object_type.in_({t for t, _ in chunk}),
                IdentityLink.inventory_natural_key.in_({k for _, k in chunk}),
            )
        )
        for row in rows:
            known.setdefault(tuple(row[1:]), row.id)
    seen_ids = [known[key] for key in incoming if key in known]
    new_rows = [row for key, row in incoming.items() if key not in known]
    for chunk in _chunks(seen_ids):
        session.execute(update(IdentityLink).where(IdentityLink.id.in_(chunk)).values(last_seen_run_id=run_id))
    if new_rows:
        now = utcnow()
        session.execute(insert(IdentityLink),
                        [{**row, "run_id": run_id, "last_seen_run_id": run_id, "created_at": now} for row in new_rows])
    return {"new": len(new_rows), "seen": len(seen_ids)}


def identity_links_for(session: Session, object_type: str, natural_key: str) -> list[dict[str, Any]]:
    """Every link ever recorded for one inventory item (record type, key), the current ones first.

    `current` says whether the newest successful inventory run saw it; `location` is where the
    source record is (from its instance's newest snapshot holding it), when staged.
    """
    rows = [_row_dict(r) for r in session.scalars(
        select(IdentityLink)
        .where(IdentityLink.object_type == object_type, IdentityLink.inventory_natural_key == natural_key)
        .order_by(IdentityLink.source_kind, IdentityLink.instance, IdentityLink.record_key, IdentityLink.reason)
    )]
    if not rows:
        return []
    latest = session.scalar(
        select(Run.id).where(Run.kind == "inventory", Run.status == "success")
        .order_by(Run.started_at.desc(), Run.id.desc()).limit(1)
    )
    refs = [{"source_kind": r["source_kind"], "instance": r["instance"], "record_id": r["record_key"], "run_id": None}
            for r in rows]
    records = _resolve_records(session, refs)
    for row in rows:
        row["current"] = row["last_seen_run_id"] == latest
        found = records.get((row["source_kind"], row["instance"], row["record_key"], None)) or {}
        row["location"] = found.get("location")
    return sorted(rows, key=lambda r: not r["current"])
