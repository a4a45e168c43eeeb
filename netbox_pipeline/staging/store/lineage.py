"""Lineage: which source record gave each field of an object, and which runs wrote it."""


import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from netbox_pipeline.staging.models import (
    AppliedChange,
    InventoryItem,
    PlanItem,
    Run,
    SourceRecord,
    SourceSnapshot,
)

from netbox_pipeline.staging.store._common import (
    Key,
    StagingDataError,
    _chunks,
    _row_dict,
)


NETBOX_TYPE_OF_RECORD = {"device": "devices", "virtual_machine": "virtual_machines", "cluster": "clusters",
                         "service": "services", "ip_address": "ip_addresses"}

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
    # Inventory records are typed by record ("device"), NetBox writes by NetBox type ("devices").
    writes = _writes_for(session, [(NETBOX_TYPE_OF_RECORD.get(i.object_type, i.object_type), i.natural_key) for i in items])

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
                    for w in writes.get((NETBOX_TYPE_OF_RECORD.get(item.object_type, item.object_type), item.natural_key), [])
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


def plan_items_matching(session: Session, plan_run_id: str, natural_key_like: str) -> list[dict[str, Any]]:
    """Items of one plan whose natural key matches a name (as `field_lineage`) or a glob."""
    needle = natural_key_like.strip()
    if not needle:
        raise StagingDataError("plan_items_matching: empty name")
    literal = re.split(r"[*?\[]", needle)[0] if any(c in needle for c in "*?[") else needle
    rows = session.scalars(
        select(PlanItem).where(
            PlanItem.run_id == plan_run_id,
            func.lower(PlanItem.natural_key).contains(literal.lower(), autoescape=True),
        ).order_by(PlanItem.id)
    )
    return [_row_dict(r) for r in rows if _key_matches(r.natural_key, needle)]


def last_writes(session: Session, keys: list[Key]) -> dict[Key, list[dict[str, Any]]]:
    """Applied writes to the given (NetBox type, key) objects, newest first, with their run's
    Dagster run id, plan run and kind (sync or undo)."""
    wanted = set(keys)
    if not wanted:
        return {}
    plan_run = aliased(Run)
    rows = session.execute(
        select(AppliedChange, Run.dagster_run_id, Run.plan_run_id, plan_run.kind)
        .join(Run, Run.id == AppliedChange.run_id)
        .outerjoin(plan_run, plan_run.id == Run.plan_run_id)
        .where(
            AppliedChange.status == "applied",
            AppliedChange.object_type.in_({k[0] for k in wanted}),
            AppliedChange.natural_key.in_({k[1] for k in wanted}),
        )
        .order_by(AppliedChange.applied_at.desc(), AppliedChange.id.desc())
    ).all()
    out: dict[Key, list[dict[str, Any]]] = {}
    for change, dagster_run_id, plan_run_id, kind in rows:
        key = (change.object_type, change.natural_key)
        if key in wanted:
            out.setdefault(key, []).append({**_row_dict(change), "dagster_run_id": dagster_run_id,
                                            "plan_run_id": plan_run_id, "run_kind": "undo" if kind == "undo" else "sync"})
    return out


def latest_conflicts(session: Session) -> list[dict[str, Any]]:
    """The source disagreements the newest inventory recorded."""
    details = session.scalar(
        select(Run.details).where(Run.kind == "inventory", Run.status == "success")
        .order_by(Run.started_at.desc()).limit(1)
    )
    return list((details or {}).get("conflicts") or [])
