"""Plans and what was applied: plan items with their apply payloads, and every write with before/after."""


from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import exists, func, insert, or_, select
from sqlalchemy.orm import Session

from netbox_pipeline.staging.models import (
    APPLIED_STATUSES,
    PLAN_ACTIONS,
    AppliedChange,
    PlanItem,
    Run,
    utcnow,
)

from netbox_pipeline.staging.store._common import (
    _one_of,
    _require,
    _row_dict,
)



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
    if rows:  # a Core executemany: no ORM bookkeeping per row (a plan holds every object, unchanged too)
        session.execute(insert(PlanItem.__table__), rows)
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
    """(type, stored key, NetBox id) of every item of some types in a plan: what references resolve to.

    A removed duplicate shares its key with the copy kept, and is left out: references resolve to the kept one.
    """
    rows = session.execute(
        select(PlanItem.object_type, PlanItem.item["key"], PlanItem.netbox_id, PlanItem.item["duplicate_of"])
        .where(PlanItem.run_id == plan_run_id, PlanItem.object_type.in_(sorted(set(object_types))))
    )
    return [(object_type, key, netbox_id) for object_type, key, netbox_id, duplicate_of in rows if duplicate_of is None]


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


def latest_real_plan_run_id(session: Session) -> str | None:
    """The newest successful plan that was meant to be written (a dry run or `plan` never counts)."""
    return session.scalar(select(Run.id).where(Run.status == "success", Run.kind == "plan", Run.dry_run.is_(False))
                          .order_by(Run.started_at.desc(), Run.id.desc()).limit(1))


def latest_plan_run_id(session: Session) -> str | None:
    """The newest successful run that planned: of kind "plan", or any run that saved plan items."""
    has_items = exists().where(PlanItem.run_id == Run.id)
    return session.scalar(
        select(Run.id)
        .where(Run.status == "success", or_(Run.kind == "plan", has_items))
        .order_by(Run.started_at.desc(), Run.id.desc())
        .limit(1)
    )


# --- applied changes ---------------------------------------------------------------------------


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



def applied_for_runs(session: Session, run_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Every write of several runs, oldest first."""
    ids = sorted(set(run_ids))
    if not ids:
        return []
    rows = session.scalars(
        select(AppliedChange).where(AppliedChange.run_id.in_(ids)).order_by(AppliedChange.applied_at, AppliedChange.id)
    )
    return [_row_dict(r) for r in rows]
