"""Source snapshots: each instance pull, versioned, with its records as received and canonical."""


import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session

from netbox_pipeline.staging.models import (
    SNAPSHOT_STATUSES,
    SourceRecord,
    SourceSnapshot,
    utcnow,
)

from netbox_pipeline.staging.store._common import (
    Key,
    StagingDataError,
    _one_of,
    _require,
    _row_dict,
    content_hash,
)



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

