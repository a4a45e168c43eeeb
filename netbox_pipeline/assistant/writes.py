"""The write tools, `sync` and `undo`, and the one guard both pass through (`confirmed_write`).

A write tool is two steps: a preview that writes nothing and returns what would be written with
a one-time token bound to its hash (guard.ConfirmationTokens), then a call with that token that
launches the write the way the CLI does (runner.run_sync / runner.run_undo, through Dagster and
the NetBox write lease), tagged with the MCP client's name. The launched run re-plans under the
lease and writes nothing unless its plan still hashes to the previewed one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from netbox_pipeline.assistant import answers, results
from netbox_pipeline.assistant.guard import Confirmation
from netbox_pipeline.defs.plan import CONFIRMED_PLAN, CONFIRMED_PLAN_TAG
from netbox_pipeline.netbox.client import NetBoxError
from netbox_pipeline.runner import SyncOutcome
from netbox_pipeline.stages.plan import plan_hash, plan_row
from netbox_pipeline.stages.undo import CHANGED_SINCE_CONFIRMED, UndoOutcome, plan_undo, undo_hash
from netbox_pipeline.staging import store
from netbox_pipeline.values import jsonable

CLIENT_TAG = "netbox_pipeline/mcp_client"
TRIGGER = {"netbox_pipeline/trigger": "mcp"}


@dataclass
class Preview:
    result: Any  # results.SyncResult or results.UndoResult: the guard fills in the token
    plan_hash: str | None  # None: nothing may be confirmed (a blocked undo)
    subject: str  # the previewed plan run, the run to undo


def confirmed_write(pipeline, ctx: Context | None, tool: str, token: str | None, request: dict[str, Any],
                    preview: Callable[[str], Preview], apply: Callable[[str, Confirmation], BaseModel]) -> BaseModel:
    """The write guard: refused unless mcp.allow_writes; without a token, preview and issue one bound to the
    preview's hash and arguments; with one, redeem it (once, same tool, same arguments) and apply."""
    if not pipeline.config().mcp.allow_writes:
        raise ToolError(f"{tool} is disabled: the server is read-only unless mcp.allow_writes is true in the configuration")
    client = client_name(ctx)
    if token:
        return apply(client, pipeline.tokens.redeem(token, tool, request))
    shown = preview(client)
    if shown.plan_hash is not None:
        shown.result.confirmation_token = pipeline.tokens.issue(tool, shown.plan_hash, shown.subject, client, request)
        shown.result.expires_in_seconds = pipeline.tokens.ttl_s
    return shown.result


def client_name(ctx: Context | None) -> str:
    try:
        info = ctx.session.client_params.client_info  # type: ignore[union-attr]
        return f"{info.name} {info.version or ''}".strip()
    except AttributeError:
        return "unnamed MCP client"


def runs_of(outcome: SyncOutcome) -> list[dict[str, Any]]:
    return [{"label": r.label, "dagster_run_id": r.run_id, "success": r.success, "error": r.error} for r in outcome.runs]


# --- sync ----------------------------------------------------------------------------------------


def sync_preview(pipeline, client: str) -> Preview:
    outcome = pipeline.launch(dry_run=True, tags={**TRIGGER, CLIENT_TAG: client})
    staging = pipeline.staging()
    with staging.session() as session:
        plan_run = store.plan_run_of_dagster_run(session, outcome.runs[-1].run_id)
        digest = plan_hash(store.plan_for_run(session, plan_run)) if plan_run else None
    if not outcome.success or plan_run is None or digest is None:
        failed = "; ".join(f"{r.label}: {r.error}" for r in outcome.runs if not r.success)
        raise ToolError(f"no confirmation offered: the preview failed ({failed}); nothing was written")
    view = results.PlanResult(**answers.plan_view(staging, plan_run), runs=runs_of(outcome))
    result = results.SyncResult(
        stage="preview", plan_hash=digest, plan=view, runs=runs_of(outcome),
        message="nothing was written. To apply exactly this plan, call sync again with confirmation_token.",
    )
    return Preview(result, digest, plan_run)


def sync_apply(pipeline, client: str, confirmation: Confirmation) -> results.SyncResult:
    tags = {**TRIGGER, CLIENT_TAG: client, CONFIRMED_PLAN_TAG: confirmation.plan_hash,
            "netbox_pipeline/confirmed_preview": confirmation.subject}
    # The sources are not pulled again: the run re-plans from the snapshots the preview used and NetBox as it is
    # now, and its confirmed_plan check stops every write unless that plan hashes to the previewed one.
    outcome = pipeline.launch(refresh_sources=False, tags=tags)
    errors = [r.error or "" for r in outcome.runs if not r.success]
    if any(f"check {CONFIRMED_PLAN} failed" in e for e in errors):
        raise ToolError("refused: the plan changed since the preview (NetBox or the sources changed); nothing was written. "
                        "Call sync without a token for a new preview.")
    staging = pipeline.staging()
    with staging.session() as session:
        plan_run = store.plan_run_of_dagster_run(session, outcome.runs[-1].run_id)
        applied = store.runs_of_dagster_runs(session, "apply", [r.run_id for r in outcome.runs])
    totals: dict[str, dict[str, int]] = {}
    for run in applied:
        row = totals.setdefault(run["object_type"], {})
        for name, n in (run.get("counts") or {}).items():
            row[name] = row.get(name, 0) + int(n)
    if errors:
        raise ToolError(f"the sync ran and failed (run {outcome.runs[-1].run_id}): {'; '.join(errors)}; see the run tool")
    return results.SyncResult(
        stage="applied", plan_hash=confirmation.plan_hash, plan=results.PlanResult(**answers.plan_view(staging, plan_run)),
        runs=runs_of(outcome), applied={t: c for t, c in totals.items() if any(c.values())},
        message=f"applied the confirmed plan in Dagster run {outcome.runs[-1].run_id} (tagged {CLIENT_TAG}={client}).",
    )


# --- undo ----------------------------------------------------------------------------------------


def undo_preview(pipeline, run_id: str, force_fields: list[str]) -> Preview:
    """What `netbox-pipeline undo RUN_ID --dry-run` reports, from the same stages/undo.py planning."""
    try:
        outcome = plan_undo(pipeline.config(), pipeline.staging(), run_id, force_fields=force_fields)
    except NetBoxError as exc:
        raise ToolError(f"NetBox could not be read: {exc}") from None
    digest = undo_hash(outcome)
    blocking = outcome.blocking_conflicts
    if blocking:
        names = ", ".join(c.name for c in blocking)
        message = (f"blocked: changed in NetBox since the run wrote them: {names}. Nothing was written and no token is "
                   "offered; to undo them anyway, preview again with those names (or field names) in force_fields.")
        return Preview(undo_result(outcome, "blocked", message, digest), None, outcome.target.label)
    message = ("nothing was written. To apply exactly this undo, call undo again with the same run_id, force_fields "
               "and pause, and confirmation_token.")
    return Preview(undo_result(outcome, "preview", message, digest), digest, outcome.target.label)


def undo_apply(pipeline, client: str, confirmation: Confirmation, run_id: str, force_fields: list[str],
               pause: bool) -> results.UndoResult:
    tags = {**TRIGGER, CLIENT_TAG: client, "netbox_pipeline/confirmed_undo_hash": confirmation.plan_hash}
    run = pipeline.launch_undo(run_id, force_fields=force_fields, pause=pause, confirmed_hash=confirmation.plan_hash, tags=tags)
    if not run.success and CHANGED_SINCE_CONFIRMED in (run.error or ""):
        raise ToolError("refused: the undo changed since the preview (NetBox or the run's records changed); nothing was "
                        "written. Call undo without a token for a new preview.")
    if not run.success:
        raise ToolError(f"the undo ran and failed (Dagster run {run.run_id}): {run.error}; see the run tool")
    staging = pipeline.staging()
    with staging.session() as session:
        (undo,) = store.runs_of_dagster_runs(session, "undo", [run.run_id])
    details = undo.get("details") or {}
    sources = details.get("instances") or []
    after = ("the sources' schedules and sensors and the automation sensor are stopped; start them again in the "
             "Dagster UI when the sources are fixed" if pause else
             f"the sources ({', '.join(sources) or 'none recorded'}) still hold what the run wrote, so the next sync "
             "applies it again unless they are fixed (or undo with pause=true)")
    return results.UndoResult(
        stage="applied", undoes=confirmation.subject, undone_apply_runs=len(details.get("undone_runs") or []),
        undo_hash=confirmation.plan_hash, changes=answers.plan_view(staging, undo["id"], limit=2000)["items"],
        conflicts=[], notes=[], source_instances=sources, undo_run_id=undo["id"], dagster_run_id=run.run_id,
        counts=undo.get("counts") or {},
        message=f"applied the confirmed undo in Dagster run {run.run_id} (tagged {CLIENT_TAG}={client}); {after}.",
    )


def undo_result(outcome: UndoOutcome, stage: str, message: str, digest: str) -> results.UndoResult:
    forced = outcome.force_fields
    return results.UndoResult(
        stage=stage, message=message, undoes=outcome.target.label, undone_apply_runs=len(outcome.target.apply_runs),
        undo_hash=digest, changes=[answers.plan_entry(plan_row(item)) for item in outcome.plan.writes],
        conflicts=[results.UndoConflict(name=c.name, field=c.field, recorded=jsonable(c.recorded), live=jsonable(c.live), reason=c.reason,
                                        forced=c.forced_by(forced)) for c in outcome.plan.conflicts],
        notes=list(outcome.plan.notes), source_instances=[f"{k}:{n}" for k, n in outcome.instances],
    )
