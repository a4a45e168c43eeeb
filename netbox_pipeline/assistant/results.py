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


class FieldSource(BaseModel):
    source_kind: str | None = None
    instance: str | None = None
    record_id: str | None = None
    location: str | None = None  # file:line for inventory files
    observed_at: Any = None
    defaulted: bool | None = None


class Disagreement(BaseModel):
    values: Any = None
    why: str | None = None


class LastWrite(BaseModel):
    kind: str
    dagster_run_id: str | None
    plan_run_id: str | None
    action: str
    applied_at: str
    before: Any = None
    after: Any = None


class ChangelogEntry(BaseModel):
    time: Any = None
    user: str | None = None
    request_id: str | None = None
    action: str | None = None
    message: str | None = None


class FieldExplanation(BaseModel):
    field: str
    netbox: Any = None  # NetBox's value now
    desired: Any = None  # what the newest plan wants
    source: FieldSource | None
    sources: dict[str, FieldSource] | None = None  # custom_fields: each custom field's own source
    precedence: list[str]  # source kinds, first wins
    disagree: list[Disagreement]
    last_write: LastWrite | None
    changelog: ChangelogEntry | None


class MergedFrom(BaseModel):
    """A source record the merge joined to this object other than by its own key, and why."""

    source_kind: str
    instance: str
    record_key: str
    reason: str  # "MAC AA:BB:…", "serial …", "device MAC …" (a service that followed its device)
    location: str | None = None
    first_seen_run_id: str | None = None
    last_seen_run_id: str | None = None


class ExplainedObject(BaseModel):
    type: str
    key: str
    netbox_id: int | None
    plan_action: str
    netbox_unread: str | None = None  # why NetBox could not be read: the `netbox` values are then unknown, not empty
    merged_from: list[MergedFrom] = []
    fields: list[FieldExplanation]


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
    warning_count: int = 0
    unobserved: list[str] = []  # NetBox types the newest good pull could not observe (none pruned)


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


class UndoConflict(BaseModel):
    name: str  # "<type> <key>.<field>", what force_fields takes
    field: str
    recorded: Any = None  # what the undone run wrote
    live: Any = None  # what NetBox holds now
    reason: str
    forced: bool


class UndoResult(BaseModel):
    stage: Literal["preview", "blocked", "applied"]
    message: str
    undoes: str  # "sync <Dagster run id>", "undo …", "plan …"
    undone_apply_runs: int
    undo_hash: str
    confirmation_token: str | None = None
    expires_in_seconds: float | None = None
    changes: list[PlanEntry]  # the writes that take the run back
    conflicts: list[UndoConflict]  # fields changed in NetBox since the run wrote them
    notes: list[str]
    source_instances: list[str]  # the sources that still say what the run wrote
    undo_run_id: str | None = None
    dagster_run_id: str | None = None
    counts: dict[str, int] = {}
