"""Run the Dagster graph headless (the CLI's `sync`), recording runs in the Dagster instance.

Runs go to $DAGSTER_HOME when it is set (the UI started by ./run.sh uses .dagster_home), else to
`<state_dir>/dagster_home`, so `netbox-pipeline demo --ui` and `sync` show the same history.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from netbox_pipeline.config import PipelineConfig, load_config
from netbox_pipeline.defs import SYNC_JOB, build_definitions
from netbox_pipeline.defs.automation import refresh_job_name
from netbox_pipeline.sources import SOURCES

INSTANCE_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
# Every event still goes to the run's event log (the UI); the terminal gets warnings and errors.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class RunOutcome:
    label: str
    run_id: str
    success: bool
    error: str | None = None


@dataclass
class SyncOutcome:
    runs: list[RunOutcome] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return bool(self.runs) and all(run.success for run in self.runs)


def dagster_home(config: PipelineConfig) -> Path:
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    home = config.state_path / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    instance_file = home / "dagster.yaml"
    if not instance_file.exists():
        instance_file.write_text(INSTANCE_YAML)
    return home


def parse_selection(config: PipelineConfig, selection: list[str] | None) -> list[tuple[str, str]]:
    """`KIND` or `KIND:INSTANCE` → configured (kind, instance) pairs; unknown names are errors."""
    configured = [(kind, i.name) for kind in config.sources.configured_kinds() for i in config.sources.instances(kind)]
    if not selection:
        return configured
    chosen = []
    for text in selection:
        kind, _, name = text.partition(":")
        matches = [(k, n) for k, n in configured if k == kind and (not name or n == name)]
        if not matches:
            known = ", ".join(f"{k}:{n}" for k, n in configured) or "none"
            raise ValueError(f"--source {text}: no such configured source instance (configured: {known})")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def run_sync(config_path: str | None = None, *, sources: list[str] | None = None, dry_run: bool = False, refresh_sources: bool = True,
             tags: dict[str, str] | None = None) -> SyncOutcome:
    """`tags` go on every Dagster run it launches (who started it, a confirmed plan's hash)."""
    config = load_config(config_path)
    run_tags = {"netbox_pipeline/trigger": "cli", **(tags or {})}
    selected = parse_selection(config, sources)
    os.environ["DAGSTER_HOME"] = str(dagster_home(config))
    defs = build_definitions(config, force_dry_run=dry_run)
    outcome = SyncOutcome()
    with dg.DagsterInstance.get() as instance:
        if refresh_sources:
            for kind, name in selected:
                job = defs.resolve_job_def(refresh_job_name(kind))
                result = job.execute_in_process(instance=instance, partition_key=name, raise_on_error=False, run_config=QUIET,
                                                tags=run_tags)
                outcome.runs.append(RunOutcome(f"{SOURCES[kind].asset_name}[{name}]", result.run_id, result.success, _first_error(result)))
        if selected:
            job = defs.resolve_job_def(SYNC_JOB)
            result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET, tags=run_tags)
            outcome.runs.append(RunOutcome("merge, plan and write", result.run_id, result.success, _first_error(result)))
    return outcome


def run_undo(config_path: str | None, run_id: str, *, force_fields: list[str] | None = None, pause: bool = False) -> RunOutcome:
    """The `undo_run` job, headless: recorded in the Dagster instance like a sync."""
    from netbox_pipeline.defs.undo import UNDO_JOB

    config = load_config(config_path)
    os.environ["DAGSTER_HOME"] = str(dagster_home(config))
    defs = build_definitions(config)
    run_config = {**QUIET, "ops": {"undo_netbox_run": {"config": {
        "run_id": run_id, "force_fields": list(force_fields or []), "pause": pause}}}}
    with dg.DagsterInstance.get() as instance:
        job = defs.resolve_job_def(UNDO_JOB)
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config,
                                        tags={"netbox_pipeline/trigger": "cli"})
    return RunOutcome(f"undo {run_id}", result.run_id, result.success, _first_error(result))


def _first_error(result) -> str | None:
    """Why a run failed, in the words that help: a failed blocking check's finding, else the step's error."""
    if result.success:
        return None
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR and evaluation.description:
                return f"check {evaluation.check_name} failed: {evaluation.description}"
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            message = _root_cause(data.error) if data and data.error else "step failed"
            if data and data.user_failure_data and data.user_failure_data.description:
                message = data.user_failure_data.description
            return f"{event.step_key}: {message}"
    return "run failed"


def _root_cause(error) -> str:
    """The innermost error's message: Dagster wraps user errors in its own."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()
