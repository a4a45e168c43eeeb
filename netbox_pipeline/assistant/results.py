"""The tools' structured outputs: each becomes the tool's output schema, so a client knows the shape."""

from typing import Any, Literal

from pydantic import BaseModel


class FieldChange(BaseModel):
    before: Any = None
    after: Any = None


class PlanEntry(BaseModel):
    action: str
    object_type: str
    natural_key: str
    netbox_id: int | None = None
    changes: dict[str, FieldChange] | None = None
    reason: str | None = None


class PlanResult(BaseModel):
    plan_run_id: str | None
    planned_at: str | None
    age_seconds: float | None
    dry_run: bool | None
    totals: dict[str, int]
    matching: int
    items: list[PlanEntry]
    runs: list[dict[str, Any]] = []  # the Dagster runs a fresh plan launched


class WriteRef(BaseModel):
    run_id: str | None
    applied_at: str | None
    action: str | None
    netbox_id: int | None = None
    value: Any = None


class FieldOrigin(BaseModel):
    field: str
    value: Any = None
    source: str | None
    location: str | None = None
    record_key: str | None = None
    observed_at: str | None = None
    precedence: list[str]
    last_written: WriteRef | None = None


class ExplainedObject(BaseModel):
    object_type: str
    natural_key: str
    fields: list[FieldOrigin]


class ExplainResult(BaseModel):
    name: str
    objects: list[ExplainedObject]


class RunSummary(BaseModel):
    run_id: str
    dagster_run_id: str | None
    kind: str
    status: str
    dry_run: bool
    source: str | None
    object_type: str | None
    phase: str | None
    plan_run_id: str | None
    started_at: str | None
    finished_at: str | None
    counts: dict[str, Any]
    error: str | None


class HistoryResult(BaseModel):
    runs: list[RunSummary]


class AppliedChange(BaseModel):
    object_type: str
    natural_key: str
    action: str
    status: str
    netbox_id: int | None
    before: Any = None
    after: Any = None
    error: str | None
    applied_at: str | None
    run_id: str


class RunResult(BaseModel):
    runs: list[RunSummary]
    changes: list[AppliedChange]


class FieldDrift(BaseModel):
    written: Any = None
    live: Any = None


class DriftedObject(BaseModel):
    object_type: str
    natural_key: str
    netbox_id: int | None
    last_written_run_id: str | None
    fields: dict[str, FieldDrift]


class DriftResult(BaseModel):
    checked: int
    drifted: list[DriftedObject]
    missing_in_netbox: list[dict[str, Any]]


class RecordProblem(BaseModel):
    where: str
    record: str
    field: str
    problem: str


class SourceState(BaseModel):
    kind: str
    instance: str
    last_attempt_at: str | None
    last_attempt_status: str
    last_error: str | None
    last_success_at: str | None
    age_seconds: float | None
    fresh: bool
    record_count: int
    record_error_count: int
    record_errors: list[RecordProblem]


class SourcesResult(BaseModel):
    sources: list[SourceState]


class InventoryMatch(BaseModel):
    object_type: str
    natural_key: str
    matched: list[str]
    fields: dict[str, Any]
    sources: list[str]


class SearchResult(BaseModel):
    query: str
    total: int
    matches: list[InventoryMatch]


class SyncResult(BaseModel):
    stage: Literal["preview", "applied"]
    message: str
    confirmation_token: str | None = None
    expires_in_seconds: float | None = None
    plan_hash: str
    plan: PlanResult
    runs: list[dict[str, Any]]
    applied: dict[str, dict[str, int]] = {}
