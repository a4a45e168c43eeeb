"""The numbers an operator watches, read from the staging DB (the one data plane).

Per source instance: last successful pull, records, whether the last pull failed. Per NetBox type:
created / updated / deleted / gone (to delete, already deleted by someone else) / failed / unchanged of the newest real (not dry) sync, so a dry run or
`plan` never overwrites them. Of that sync: plan size, drift, duplicates found (and left for a person), run duration and
how long it waited for another run's writes (the lease).
"""

from dataclasses import dataclass, field

from netbox_pipeline.staging import store

TYPE_COUNTS = ("created", "updated", "deleted", "gone", "failed", "unchanged")


@dataclass
class Metrics:
    sources: dict[tuple[str, str], dict] = field(default_factory=dict)  # (kind, instance) -> last_success, records, failed
    types: dict[str, dict[str, int]] = field(default_factory=dict)
    plan_size: int = 0
    drift: int = 0
    live_duplicates: int = 0
    duplicates_unresolved: int = 0  # of those, the ones left for a person (findings)
    duration_s: float = 0.0
    lease_wait_s: float = 0.0
    last_sync: float | None = None  # unix time the newest real sync finished


def read_metrics(staging) -> Metrics:
    metrics = Metrics()
    with staging.session() as session:
        good = store.latest_snapshots(session, only_ok=True)
        newest = store.latest_snapshots(session, only_ok=False)
        for key, snapshot in newest.items():
            ok = good.get(key)
            metrics.sources[key] = {"last_success": ok["taken_at"].timestamp() if ok else None,
                                    "records": ok["record_count"] if ok else 0,
                                    "failed": snapshot["status"] != "ok"}
        plan_run_id = store.latest_real_plan_run_id(session)
        if plan_run_id is None:
            return metrics
        plan = store.get_run(session, plan_run_id)
        applies = [run for run in store.apply_runs(session, plan_run_id) if not run.get("dry_run")]
    details, counts = plan.get("details") or {}, plan.get("counts") or {}
    metrics.plan_size = sum(counts.get(action, 0) for action in ("create", "update", "delete"))
    metrics.drift = int(details.get("drift") or 0)
    metrics.live_duplicates = int(details.get("live_duplicates") or 0)
    metrics.duplicates_unresolved = int(details.get("duplicates_unresolved") or 0)
    metrics.lease_wait_s = float(details.get("lease_wait_s") or 0.0)
    for run in applies:
        row = metrics.types.setdefault(run["object_type"], dict.fromkeys(TYPE_COUNTS, 0))
        for name in TYPE_COUNTS:
            row[name] += int((run.get("counts") or {}).get(name, 0))
    with staging.session() as session:
        for type_name, action_counts in _plan_unchanged(session, plan_run_id).items():
            metrics.types.setdefault(type_name, dict.fromkeys(TYPE_COUNTS, 0))["unchanged"] = action_counts
    finished = [run["finished_at"] for run in applies if run.get("finished_at")] or [plan.get("finished_at")]
    end = max(f for f in finished if f is not None) if any(finished) else None
    if end is not None:
        metrics.duration_s = (end - plan["started_at"]).total_seconds()
        metrics.last_sync = end.timestamp()
    return metrics


def _plan_unchanged(session, plan_run_id: str) -> dict[str, int]:
    """Unchanged objects per type come from the plan: a slice with nothing to write records no apply run."""
    out: dict[str, int] = {}
    for row in store.plan_for_run(session, plan_run_id):
        if row["action"] == "unchanged":
            out[row["object_type"]] = out.get(row["object_type"], 0) + 1
    return out
