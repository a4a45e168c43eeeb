"""The read tools' answers, as plain JSON-ready dicts: plan, explain, history, run, sources, search.

Each function takes the configuration and the staging DB (and, for the Dagster-side facts, the
instance the runner records into); nothing here writes. Drift, which needs NetBox, is in drift.py.
"""

import datetime as dt
import json
import re
from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.stages.explain import explain
from netbox_pipeline.stages.plan import netbox_client
from netbox_pipeline.staging import store
from netbox_pipeline.staging.models import RUN_KINDS

ERROR_ROW = re.compile(r"^\|\s*(?P<where>[^|]*?)\s*\|\s*(?P<record>[^|]*?)\s*\|\s*(?P<field>[^|]*?)\s*\|\s*(?P<problem>.*?)\s*\|$")


def iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def age_s(when: dt.datetime | None) -> float | None:
    return None if when is None else round((dt.datetime.now(dt.timezone.utc) - when).total_seconds(), 1)


# --- plan ----------------------------------------------------------------------------------------


def plan_view(staging, plan_run_id: str | None, *, object_type: str | None = None, site: str | None = None,
              source: str | None = None, action: str | None = None, include_unchanged: bool = False,
              limit: int = 200) -> dict[str, Any]:
    """One stored plan, filtered: totals of the whole plan, the matching items, and the plan's age."""
    with staging.session() as session:
        run = store.get_run(session, plan_run_id) if plan_run_id else None
        rows = store.plan_for_run(session, plan_run_id) if plan_run_id else []
        owners = {key: entry.get("source_kinds") or [] for key, entry in store.load_object_map(session).items()} if source else {}
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["action"]] = totals.get(row["action"], 0) + 1
    matching = [row for row in rows if _plan_row_matches(row, object_type, site, source, action, include_unchanged, owners)]
    return {
        "plan_run_id": plan_run_id,
        "planned_at": iso(run["started_at"]) if run else None,
        "age_seconds": age_s(run["started_at"]) if run else None,
        "dry_run": run["dry_run"] if run else None,
        "totals": totals,
        "matching": len(matching),
        "items": [plan_entry(row) for row in matching[:limit]],
    }


def _plan_row_matches(row, object_type, site, source, action, include_unchanged, owners) -> bool:
    if object_type and row["object_type"] != object_type:
        return False
    if action and row["action"] != action:
        return False
    if not action and not include_unchanged and row["action"] == "unchanged":
        return False
    desired = row.get("desired") or {}
    if site and site.lower() not in (str(desired.get("site") or "") + " " + row["natural_key"]).lower():
        return False
    if source:
        kind = source.split(":", 1)[0]
        owned_by = owners.get((row["object_type"], row["natural_key"]), [])
        tagged = f"source-{kind}" in json.dumps(desired.get("tags") or [])
        if not (tagged and ":" not in source) and not any(o == source or o.startswith(source + ":") for o in owned_by):
            return False
    return True


def plan_entry(row: dict[str, Any]) -> dict[str, Any]:
    changes = row.get("changes") or {}
    return {
        "action": row["action"], "object_type": row["object_type"], "natural_key": row["natural_key"],
        "netbox_id": row.get("netbox_id"),
        "changes": {name: {"before": pair[0], "after": pair[1]} for name, pair in changes.items()} or None,
        "reason": row.get("reason"),
    }


# --- explain -------------------------------------------------------------------------------------


def explain_view(config: PipelineConfig, staging, name: str, fields: list[str] | None = None) -> dict[str, Any]:
    """The CLI's explain (stages/explain.py), with NetBox's live value and change log when NetBox is configured."""
    client = netbox_client(config) if config.netbox.url else None
    return {"name": name, "objects": explain(config, staging, name, fields=fields, client=client)}


# --- history and one run -------------------------------------------------------------------------


def run_summary(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run["id"], "dagster_run_id": run.get("dagster_run_id"), "kind": run["kind"], "status": run["status"],
        "dry_run": bool(run.get("dry_run")), "source": ":".join(p for p in (run.get("source_kind"), run.get("instance")) if p) or None,
        "object_type": run.get("object_type"), "phase": run.get("phase"), "plan_run_id": run.get("plan_run_id"),
        "started_at": iso(run.get("started_at")), "finished_at": iso(run.get("finished_at")),
        "counts": run.get("counts") or {}, "error": run.get("error"),
    }


def history_view(staging, limit: int = 20, kind: str | None = None) -> dict[str, Any]:
    with staging.session() as session:
        runs = store.list_runs(session, limit=limit if kind is None else max(limit * 20, 200))
    runs = [r for r in runs if kind is None or r["kind"] == kind][:limit]
    return {"runs": [run_summary(r) for r in runs]}


def run_view(staging, run_id: str) -> dict[str, Any]:
    """A staging run, or every staging run of a Dagster run, with the changes they applied (before/after)."""
    with staging.session() as session:
        found = store.get_run(session, run_id)
        runs = [found] if found else [r for kind in RUN_KINDS for r in store.runs_of_dagster_runs(session, kind, [run_id])]
        if not runs:
            raise LookupError(f"no run {run_id!r} (neither a staging run id nor a Dagster run id); see the history tool")
        changes = [c for r in runs for c in store.applied_for_run(session, r["id"])]
    return {
        "runs": [run_summary(r) for r in runs],
        "changes": [
            {"object_type": c["object_type"], "natural_key": c["natural_key"], "action": c["action"], "status": c["status"],
             "netbox_id": c.get("netbox_id"), "before": c.get("before"), "after": c.get("after"), "error": c.get("error"),
             "applied_at": iso(c.get("applied_at")), "run_id": c["run_id"]}
            for c in changes
        ],
    }


# --- sources -------------------------------------------------------------------------------------


def sources_view(config: PipelineConfig, staging, instance=None) -> dict[str, Any]:
    """Each configured instance: last attempt, last success and its age, record count, warnings and the
    NetBox types it could not observe, bad records with file:line."""
    with staging.session() as session:
        last = store.latest_snapshots(session, only_ok=False)
        good = store.latest_snapshots(session, only_ok=True)
        runs = {r["id"]: r for r in store.list_runs(session, limit=500) if r["kind"] == "source"}
    out = []
    for kind in config.sources.configured_kinds():
        for source in config.sources.instances(kind):
            attempt, success = last.get((kind, source.name)), good.get((kind, source.name))
            run = runs.get(success["run_id"]) if success else None
            out.append({
                "kind": kind, "instance": source.name,
                "last_attempt_at": iso(attempt["taken_at"]) if attempt else None,
                "last_attempt_status": attempt["status"] if attempt else "never pulled",
                "last_error": attempt.get("error") if attempt else None,
                "last_success_at": iso(success["taken_at"]) if success else None,
                "age_seconds": age_s(success["taken_at"]) if success else None,
                "fresh": bool(attempt and attempt["status"] == "ok"),
                "record_count": success["record_count"] if success else 0,
                "record_error_count": ((run or {}).get("counts") or {}).get("record_errors", 0),
                # A pull can succeed with parts left out (a method the server lacks): say so here.
                "warning_count": ((run or {}).get("counts") or {}).get("warnings", 0),
                "unobserved": sorted(((run or {}).get("details") or {}).get("unobserved") or []),
                "record_errors": record_errors(instance, kind, source.name) if instance is not None else [],
            })
    return {"sources": out}


def record_errors(instance, kind: str, name: str, limit: int = 200) -> list[dict[str, str]]:
    """Bad records of an instance's newest materialisation, from its Dagster metadata (file:line, record, field)."""
    import dagster as dg

    from netbox_pipeline.sources import SOURCES

    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(SOURCES[kind].asset_name), asset_partitions=[name]), limit=1
    ).records
    if not records:
        return []
    table = records[0].asset_materialization.metadata.get("errors")
    text = getattr(table, "value", None) or getattr(table, "md_str", None) or ""
    rows = []
    for line in str(text).splitlines()[2:limit + 2]:
        match = ERROR_ROW.match(line.strip())
        if match:
            rows.append({k: match.group(k) for k in ("where", "record", "field", "problem")})
    return rows


# --- the merged inventory ------------------------------------------------------------------------


def search_view(staging, query: str, object_type: str | None = None, limit: int = 50) -> dict[str, Any]:
    """Current inventory items whose key or any value (name, MAC, IP, serial, ...) contains the query."""
    needle = query.strip().lower()
    if not needle:
        raise ValueError("search_inventory: give a name, MAC, IP address or serial to look for")
    with staging.session() as session:
        items = store.current_inventory(session, object_type)
    matches = []
    for item in items:
        matched = sorted({path for path, value in _leaves(item.get("fields") or {}) if needle in str(value).lower()})
        if needle in item["natural_key"].lower():
            matched.insert(0, "natural_key")
        if not matched:
            continue
        provenance = item.get("provenance") or {}
        sources = sorted({f"{p.get('source_kind')}:{p.get('instance')}" for p in provenance.values()
                          if isinstance(p, dict) and p.get("source_kind")})
        matches.append({"object_type": item["object_type"], "natural_key": item["natural_key"], "matched": matched,
                        "fields": item.get("fields") or {}, "sources": sources})
    return {"query": query, "total": len(matches), "matches": matches[:limit]}


def _leaves(value: Any, path: str = ""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _leaves(inner, f"{path}[{index}]")
    elif value is not None:
        yield path, value
