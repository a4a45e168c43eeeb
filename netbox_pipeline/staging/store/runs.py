"""Runs: one row per stage run (source pull, inventory, plan, apply), keyed by a uuid."""


import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from netbox_pipeline.staging.models import (
    RUN_STATUSES,
    Run,
    utcnow,
)

from netbox_pipeline.staging.store._common import (
    StagingDataError,
    _one_of,
    _row_dict,
)



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



def find_runs(session: Session, prefix: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Dagster run ids, and staging runs by id, that start with `prefix` (what a user typed)."""
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    dagster_ids = sorted(set(session.scalars(
        select(Run.dagster_run_id).where(Run.dagster_run_id.like(pattern, escape="\\")).distinct()
    )))
    runs = session.scalars(select(Run).where(Run.id.like(pattern, escape="\\")).order_by(Run.started_at))
    return dagster_ids, [_row_dict(r) for r in runs]
