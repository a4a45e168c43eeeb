"""Undo: take back what one run wrote to NetBox, as a recorded run of its own.

The undo is stored like a plan (kind "undo", its items in `plan_items`) and written by the same
per-type apply as a sync, so its writes land in `applied_changes` and can be undone in turn.
Sources are not touched: the next sync re-applies what they still say (see `--pause`).
"""

from dataclasses import dataclass, field
from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.apply import TypeResult
from netbox_pipeline.netbox.client import NetBoxClient
from netbox_pipeline.netbox.schema import TYPES
from netbox_pipeline.reconcile.undo import UndoPlan, build_undo
from netbox_pipeline.stages.apply import apply_type
from netbox_pipeline.stages.plan import netbox_client, plan_hash, plan_row, read_netbox
from netbox_pipeline.staging import store
from netbox_pipeline.values import decode_exact, jsonable

# The error of an undo whose plan no longer hashes to the one a person confirmed (the MCP server's guard).
CHANGED_SINCE_CONFIRMED = "the undo changed since it was confirmed"


class UndoTargetError(LookupError):
    """The run id names nothing that wrote to NetBox."""


@dataclass
class UndoTarget:
    asked: str
    label: str  # "sync c39e313f", "undo 5f0c…"
    apply_runs: list[dict[str, Any]]
    plan_run_ids: list[str]


@dataclass
class UndoOutcome:
    target: UndoTarget
    plan: UndoPlan
    force_fields: list[str]
    undo_run_id: str | None = None
    written: bool = False
    refused: str | None = None  # why nothing was written: unforced conflicts, or not the confirmed undo
    results: list[TypeResult] = field(default_factory=list)
    instances: list[tuple[str, str]] = field(default_factory=list)

    @property
    def blocking_conflicts(self):
        return self.plan.unforced(self.force_fields)

    @property
    def failures(self) -> list:
        return [c for r in self.results for c in r.failures]

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for result in self.results:
            for name, n in result.counts().items():
                totals[name] = totals.get(name, 0) + n
        return totals


def resolve_target(session, run_id: str) -> UndoTarget:
    """A Dagster run id (a sync's or an undo's: every write of that run), a staging plan or undo
    run id (every write of that plan), or one staging apply run id; a unique prefix will do."""
    asked = run_id.strip()
    if len(asked) < 6:
        raise UndoTargetError(f"run id {asked!r} is too short: give at least 6 characters")
    dagster_ids, staging_runs = store.find_runs(session, asked)
    if len(dagster_ids) == 1:
        applies = [r for r in store.runs_of_dagster_runs(session, "apply", dagster_ids) if not r.get("dry_run")]
        plans = sorted({r["plan_run_id"] for r in applies if r.get("plan_run_id")})
        kinds = {(store.get_run(session, p) or {}).get("kind") for p in plans}
        label = f"{'undo' if kinds == {'undo'} else 'sync'} {dagster_ids[0]}"
        if applies:
            return UndoTarget(asked, label, applies, plans)
    planned = [r for r in staging_runs if r["kind"] in ("plan", "undo")]
    if len(planned) == 1:
        run = planned[0]
        applies = [r for r in store.apply_runs(session, run["id"]) if not r.get("dry_run")]
        if applies:
            return UndoTarget(asked, f"{run['kind']} {run['id']}", applies, [run["id"]])
    single = [r for r in staging_runs if r["kind"] == "apply" and not r.get("dry_run")]
    if len(single) == 1:
        return UndoTarget(asked, f"apply {single[0]['id']} ({single[0]['object_type']}, {single[0]['phase']})",
                          single, [single[0]["plan_run_id"]])
    if len(dagster_ids) > 1 or len(staging_runs) > 1:
        raise UndoTargetError(f"run id {asked!r} is ambiguous: give more of it (see `netbox-pipeline history`)")
    raise UndoTargetError(f"no run {asked!r} wrote anything to NetBox (see `netbox-pipeline history`)")


def plan_undo(config: PipelineConfig, staging, run_id: str, *, force_fields: list[str] | None = None,
              reader: NetBoxClient | None = None) -> UndoOutcome:
    """Everything an undo would write, and its conflicts, against NetBox as it is now."""
    force_fields = list(force_fields or [])
    with staging.session() as session:
        target = resolve_target(session, run_id)
        changes = store.applied_for_runs(session, [r["id"] for r in target.apply_runs])
        object_map = store.load_object_map(session)
        owners = _owners(session, target.plan_run_ids)
    live, _ = read_netbox(reader or netbox_client(config), owner_tag=config.netbox.owner_tag)
    plan = build_undo(changes, live, object_map=object_map, instances=owners, force_fields=force_fields,
                      undone=target.label)
    instances = sorted({i for item in plan.writes for i in item.instances})
    return UndoOutcome(target, plan, force_fields, instances=instances)


def undo_hash(outcome: UndoOutcome) -> str:
    """What an undo would do, as one hash: what it undoes, every item's decision and payload, every
    conflict with NetBox's value now and whether it is forced. A hand edit since changes it."""
    conflicts = sorted(([c.name, jsonable(c.recorded), jsonable(c.live), c.reason, c.forced_by(outcome.force_fields)]
                        for c in outcome.plan.conflicts), key=lambda c: c[0])
    return store.content_hash({"undoes": outcome.target.label, "conflicts": conflicts,
                               "items": plan_hash([plan_row(item) for item in outcome.plan.items])})


def undo_run(config: PipelineConfig, staging, run_id: str, *, force_fields: list[str] | None = None,
             dry_run: bool = False, dagster_run_id: str | None = None, confirmed_hash: str | None = None,
             reader: NetBoxClient | None = None) -> UndoOutcome:
    """Plan the undo; unless it is a dry run, a conflict is not forced or (given `confirmed_hash`) it
    is not the undo that was confirmed, record and write it."""
    outcome = plan_undo(config, staging, run_id, force_fields=force_fields, reader=reader)
    if dry_run:
        return outcome
    details = {"undoes": outcome.target.label, "undone_runs": [r["id"] for r in outcome.target.apply_runs],
               "instances": [f"{k}:{n}" for k, n in outcome.instances], "forced": outcome.force_fields,
               "conflicts": [c.name for c in outcome.plan.conflicts]}
    with staging.session() as session:
        outcome.undo_run_id = store.start_run(session, "undo", dagster_run_id=dagster_run_id, details=details)
        if confirmed_hash is not None and undo_hash(outcome) != confirmed_hash:
            outcome.refused = f"{CHANGED_SINCE_CONFIRMED} (NetBox or the run's records changed); nothing was written"
        elif outcome.blocking_conflicts:
            outcome.refused = "conflicts: " + ", ".join(c.name for c in outcome.blocking_conflicts)
        if outcome.refused:
            store.finish_run(session, outcome.undo_run_id, "failed", error=outcome.refused)
            return outcome
        store.save_plan(session, outcome.undo_run_id, [plan_row(item) for item in outcome.plan.items])
    writer = netbox_client(config, f"netbox-pipeline undo, plan run {outcome.undo_run_id}")
    order = list(TYPES)
    steps = [(t, "first") for t in order] + [(t, "second") for t in order] + [(t, "delete") for t in reversed(order)]
    for type_name, phase in steps:
        outcome.results.append(apply_type(config, staging, writer, outcome.undo_run_id, type_name, phase,  # type: ignore[arg-type]
                                          dagster_run_id=dagster_run_id))
    outcome.written = True
    with staging.session() as session:
        store.finish_run(session, outcome.undo_run_id, "failed" if outcome.failures else "success",
                         counts=outcome.counts(),
                         error="; ".join(f"{key_text(c.key)}: {c.error}" for c in outcome.failures[:20]) or None)
    return outcome


def _owners(session, plan_run_ids: list[str]) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """(type, key) -> the source instances that owned it in the undone plans."""
    owners: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
    for plan_run_id in plan_run_ids:
        for row in store.plan_for_run(session, plan_run_id):
            instances = (decode_exact(row.get("item") or {}) or {}).get("instances") or ()
            if instances:
                owners[(row["object_type"], row["natural_key"])] = tuple(tuple(i) for i in instances)
    return owners


def undo_rows(outcome: UndoOutcome) -> list[dict[str, Any]]:
    """The undo plan as rows for a table: one per write, then one per conflict."""
    rows = []
    for item in outcome.plan.writes:
        detail = ", ".join(f"{k}: {_short(v[0])} -> {_short(v[1])}" for k, v in item.changes.items()) \
            if item.action == "update" else ""
        rows.append({"action": item.action, "type": item.type, "object": key_text(item.key),
                     "netbox id": item.netbox_id or "", "detail": detail or item.reason.split(": ", 1)[-1]})
    forced = outcome.force_fields
    for c in outcome.plan.conflicts:
        rows.append({"action": "FORCED" if c.forced_by(forced) else "CONFLICT", "type": c.type, "object": c.key,
                     "netbox id": "", "detail": f"{c.field}: run wrote {_short(c.recorded)}, NetBox now {_short(c.live)} ({c.reason})"})
    return rows


def _short(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = "/".join(_short(v) for v in value)
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"
