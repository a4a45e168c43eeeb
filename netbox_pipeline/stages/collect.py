"""Collect: pull one source instance and keep its snapshot in the staging DB.

Sources write their snapshots to the staging DB and the inventory is merged from there, so one
instance can be re-pulled alone and a failed one keeps its last good data.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.model import RECORD_TYPES, RecordError, SourceResult, key_text, record_id_of, record_type_of
from netbox_pipeline.sources import SOURCES
from netbox_pipeline.sources.contract import CollectContext
from netbox_pipeline.staging import store

log = logging.getLogger(__name__)


@dataclass
class CollectSummary:
    kind: str
    instance: str
    status: str
    error: str | None
    counts: dict[str, int]
    errors: list[RecordError] = field(default_factory=list)
    run_id: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status != "ok"


def find_instance(config: PipelineConfig, kind: str, name: str):
    for instance in config.sources.instances(kind):
        if instance.name == name:
            return instance
    known = ", ".join(i.name for i in config.sources.instances(kind)) or "none"
    raise KeyError(f"no {kind} source instance named {name!r} in the configuration (configured: {known})")


def collect_context(config: PipelineConfig, observed_at: datetime) -> CollectContext:
    return CollectContext(observed_at, config.defaults.model_dump(), config.resolve_path, config.custom_field_types())


def collect_source(config: PipelineConfig, staging, kind: str, instance_name: str, *, dagster_run_id: str | None = None) -> CollectSummary:
    """Pull one source instance and keep its snapshot; a failure is recorded, never raised here."""
    instance = find_instance(config, kind, instance_name)
    observed_at = datetime.now(UTC)
    try:
        result = SOURCES[kind].collect(instance, collect_context(config, observed_at))
    except Exception as exc:  # a collector bug must fail this instance only, with a message
        log.exception("%s:%s collector crashed", kind, instance_name)
        result = SourceResult(kind, instance_name, status="failed", error=f"{type(exc).__name__}: {exc}", observed_at=observed_at)
    with staging.session() as session:
        # What it could not observe belongs to this snapshot: the plan reads it back with the records.
        details = {"unobserved": sorted(result.unobserved)} if result.unobserved else None
        run_id = store.start_run(session, "source", dagster_run_id=dagster_run_id, source_kind=kind,
                                 instance=instance_name, details=details)
        store.record_snapshot(
            session, run_id, kind, instance_name, snapshot_rows(result), status=result.status, error=result.error
        )
        counts = {**result.counts(), "record_errors": len(result.errors), "warnings": len(result.warnings)}
        store.finish_run(session, run_id, "success" if result.status == "ok" else "failed", counts=counts, error=result.error)
    return CollectSummary(kind, instance_name, result.status, result.error, result.counts(), list(result.errors), run_id,
                          list(result.warnings))


def snapshot_rows(result: SourceResult) -> list[dict[str, Any]]:
    """Staging rows for a result: each canonical record (to rebuild the inventory) with its raw input."""
    keyed = [raw for raw in result.raw_records if raw.get("record_key") not in (None, "")]
    # A record without a usable name (`name: null`) has no key of its own: its location names it.
    unkeyed = [{**raw, "record_key": f"(unnamed at {raw.get('location') or 'unknown location'})"}
               for raw in result.raw_records if raw.get("record_key") in (None, "")]
    raw_by_key = {(raw["record_type"], raw["record_key"]): raw for raw in keyed}
    rows = []
    for record in result.records:
        record_type = record_type_of(record)
        key = key_text(record.key)
        raw = raw_by_key.pop((record_type, key), None)
        # Stored under the id its provenance names, so lineage finds the record it came from.
        record_id = record_id_of(record)
        rows.append(
            {
                "record_type": record_type,
                "record_key": record_id,
                "location": (raw or {}).get("location"),
                "payload": {"canonical": record.model_dump(mode="json"), "raw": (raw or {}).get("payload")},
            }
        )
    for raw in [*raw_by_key.values(), *unkeyed]:  # input that did not validate: kept for lineage, not merged
        rows.append({**raw, "payload": {"canonical": None, "raw": raw.get("payload")}})
    return rows


def latest_results(staging, config: PipelineConfig) -> tuple[list[SourceResult], dict[tuple[str, str], str]]:
    """SourceResults rebuilt from the latest good snapshot of every configured instance.

    Also returns the status of each instance's most recent attempt, so that an instance whose
    latest pull failed contributes its last good data but counts as unhealthy for pruning.
    """
    configured = {(kind, i.name) for kind in config.sources.configured_kinds() for i in config.sources.instances(kind)}
    results = []
    with staging.session() as session:
        snapshots = store.latest_snapshots(session, only_ok=True)
        status = store.latest_snapshot_status(session)
        for (kind, instance), snapshot in sorted(snapshots.items()):
            if (kind, instance) not in configured:
                continue
            records = []
            for row in store.snapshot_records(session, snapshot["id"]):
                canonical = (row.get("payload") or {}).get("canonical")
                if canonical is not None:
                    records.append(RECORD_TYPES[row["record_type"]].model_validate(canonical))
            run = store.get_run(session, snapshot["run_id"]) or {}
            unobserved = frozenset((run.get("details") or {}).get("unobserved") or ())
            results.append(SourceResult(kind, instance, status="ok", records=records, observed_at=snapshot.get("taken_at"),
                                        unobserved=unobserved))
    return results, {key: value for key, value in status.items() if key in configured}
