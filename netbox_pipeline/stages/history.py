"""History: the staging runs grouped as a person started them (one Dagster run each).

A sync's Dagster run records an inventory, a plan and one apply run per type and phase; people
think of it as one sync. Each group gets a kind (sync, dry-run, undo, refresh, partial refresh;
write for NetBox steps run on their own), the source instances involved, what it wrote and a
status, in names a person knows. The run column is the Dagster run id, the handle `undo` takes
and the UI shows.
"""

from collections.abc import Iterable, Mapping
from typing import Any

WRITE_COUNTS = ("created", "updated", "deleted", "failed")


def history_rows(runs: Iterable[Mapping[str, Any]], configured_instances: int = 1) -> list[dict[str, Any]]:
    """Staging runs (newest first) -> one row per Dagster run (or lone staging run), newest first."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault(run.get("dagster_run_id") or run["id"], []).append(run)
    rows = [_row(handle, members, configured_instances) for handle, members in groups.items()]
    rows.sort(key=lambda r: r["started"], reverse=True)
    return rows


def _row(handle: str, runs: list[Mapping[str, Any]], configured_instances: int) -> dict[str, Any]:
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_kind.setdefault(run["kind"], []).append(run)
    started = min(run["started_at"] for run in runs)
    status = "failed" if any(r["status"] == "failed" for r in runs) else \
        "running" if any(r["status"] == "running" for r in runs) else "success"
    instances: set[str] = set()
    counts: dict[str, int] = {}
    if "undo" in by_kind:
        kind = "undo"
        undo = by_kind["undo"][0]
        instances.update((undo.get("details") or {}).get("instances") or [])
        detail = f"undoes {(undo.get('details') or {}).get('undoes', '?')}"
        if undo.get("error"):
            detail += f"; {undo['error']}"
    elif "plan" in by_kind:
        plan = by_kind["plan"][0]
        kind = "dry-run" if plan.get("dry_run") else "sync"
        instances.update((plan.get("details") or {}).get("instances") or [])
        detail = ""
        if kind == "dry-run":
            counts = {k: v for k, v in (plan.get("counts") or {}).items() if k in ("create", "update", "delete") and v}
    elif "source" in by_kind:
        kind = "refresh" if configured_instances <= 1 else "partial refresh"
        for run in by_kind["source"]:
            instances.add(f"{run.get('source_kind')}:{run.get('instance')}")
            records = sum(v for k, v in (run.get("counts") or {}).items() if k not in ("record_errors", "warnings"))
            counts["records"] = counts.get("records", 0) + records
        detail = ""
    elif "apply" in by_kind:
        # NetBox steps run alone (one asset materialised from the UI): they apply an earlier plan.
        kind = "write"
        types = sorted({_type_name(r) for r in by_kind["apply"]})
        detail = "wrote " + ", ".join(types) + " from an earlier plan"
    else:
        kind = runs[0]["kind"]
        detail = ""
    if kind in ("sync", "undo", "write"):
        counts = {name: 0 for name in WRITE_COUNTS}
    for run in by_kind.get("apply", []):
        for name in WRITE_COUNTS:
            counts[name] = counts.get(name, 0) + int((run.get("counts") or {}).get(name) or 0)
    counts = {k: v for k, v in counts.items() if v or k in ("created", "updated", "deleted")}
    errors = [r.get("error") for r in runs if r.get("error") and r["kind"] != "undo"]
    if errors and not detail:
        detail = str(errors[0]).splitlines()[0][:80]
    return {
        "started": started,
        "kind": kind,
        "run": handle,
        "sources": ", ".join(sorted(instances)) or "-",
        "counts": ", ".join(f"{k}={v}" for k, v in counts.items()) or "-",
        "status": status,
        "detail": detail,
    }


def _type_name(run: Mapping[str, Any]) -> str:
    """`interfaces`, or `interfaces (second pass)`: names a person knows, never a run's internal key."""
    name = run.get("object_type") or "objects"
    return f"{name} (second pass)" if run.get("phase") == "second" and name != "primary_ips" else name
