"""Run the Dagster graph headless (the CLI's `sync`), recording runs in the Dagster instance.

Runs go to $DAGSTER_HOME when it is set (the UI started by ./run.sh uses .dagster_home), else to
`<state_dir>/dagster_home`, so `netbox-pipeline demo --ui` and `sync` show the same history.
"""

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.utils import make_new_run_id

from netbox_pipeline.config import CONFIG_ENV_VAR, PipelineConfig, load_config
from netbox_pipeline.defs import PLAN_JOB, SYNC_JOB, build_definitions
from netbox_pipeline.defs.automation import refresh_job_name
from netbox_pipeline.defs.liveness import LEASE_WAIT_TAG, POOL, free_dead_slots, process_tags, run_alive, slot_holders
from netbox_pipeline.sources import SOURCES
from netbox_pipeline.stages.lease import LeaseBusy, WriteLease, lease_key
from netbox_pipeline.staging.db import open_staging

SLOT_REPORT_AFTER_S = 3.0  # a CLI run blocked on the write slot says so within seconds

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


def dagster_instance() -> dg.DagsterInstance:
    """The instance at $DAGSTER_HOME, opened under a file lock.

    Dagster creates its SQLite storage on first open; two CLI runs opening a new home together
    (a schedule firing while someone runs `sync`) would both create its tables, and one fails.
    """
    import fcntl

    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".open.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return dg.DagsterInstance.get()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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


def run_sync(config_path: str | None = None, *, sources: list[str] | None = None, dry_run: bool = False,
             refresh_sources: bool = True, plan_only: bool = False, wait: bool = True,
             report=None, tags: dict[str, str] | None = None) -> SyncOutcome:
    """Refresh the selected sources, then merge, plan and (unless `plan_only`) write.

    A run that writes holds the NetBox write lease from before it reads NetBox until its last
    write; another one waits (reporting whom for) or, with `wait=False`, fails at once. `plan_only`
    runs the planning step alone, so it never waits on the write slot or the lease. `tags` go on
    every Dagster run it launches (who started it, a confirmed plan's hash).
    """
    report = report or _to_stderr
    config = load_config(config_path)
    selected = parse_selection(config, sources)
    os.environ["DAGSTER_HOME"] = str(dagster_home(config))
    writes = not (dry_run or plan_only or config.netbox.dry_run)
    defs = build_definitions(config, force_dry_run=dry_run or plan_only)
    outcome = SyncOutcome()
    run_tags = {"netbox_pipeline/trigger": "cli", **process_tags(), **(tags or {})}
    with dagster_instance() as instance:
        if refresh_sources:
            for kind, name in selected:
                job = defs.resolve_job_def(refresh_job_name(kind))
                result = job.execute_in_process(instance=instance, partition_key=name, raise_on_error=False, run_config=QUIET, tags=run_tags)
                outcome.runs.append(RunOutcome(f"{SOURCES[kind].asset_name}[{name}]", result.run_id, result.success, _first_error(result)))
        if selected:
            run_id = make_new_run_id()
            job = defs.resolve_job_def(PLAN_JOB if plan_only else SYNC_JOB)
            label = "merge and plan" if plan_only else "merge, plan and write"
            try:
                lease = _write_lease(config, run_id, instance, wait, report) if writes else contextlib.nullcontext()
                with lease, _SlotWatch(instance, run_id, report, active=not plan_only):
                    waited = getattr(lease, "waited_s", 0.0)
                    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET,
                                                    run_id=run_id, tags={**run_tags, LEASE_WAIT_TAG: f"{waited:.3f}"})
                outcome.runs.append(RunOutcome(label, result.run_id, result.success, _first_error(result)))
            except LeaseBusy as exc:
                outcome.runs.append(RunOutcome(label, run_id, False, str(exc)))
    return outcome


def run_undo(config_path: str | None, run_id: str, *, force_fields: list[str] | None = None, pause: bool = False,
             confirmed_hash: str | None = None, tags: dict[str, str] | None = None) -> RunOutcome:
    """The `undo_run` job, headless: recorded in the Dagster instance like a sync. With `confirmed_hash`
    it writes only if the undo still hashes to it (stages.undo.undo_hash); `tags` say who started it."""
    from netbox_pipeline.defs.undo import UNDO_JOB

    config = load_config(config_path)
    os.environ["DAGSTER_HOME"] = str(dagster_home(config))
    if config_path:  # `--pause` loads the code location in-process, and it reads the config from here
        os.environ[CONFIG_ENV_VAR] = str(config_path)
    defs = build_definitions(config)
    op_config = {"run_id": run_id, "force_fields": list(force_fields or []), "pause": pause}
    if confirmed_hash is not None:
        op_config["confirmed_hash"] = confirmed_hash
    run_config = {**QUIET, "ops": {"undo_netbox_run": {"config": op_config}}}
    dagster_run_id = make_new_run_id()
    with dagster_instance() as instance:
        job = defs.resolve_job_def(UNDO_JOB)
        # An undo writes to NetBox like a sync: it holds the same write lease.
        with _write_lease(config, dagster_run_id, instance, True, _to_stderr):
            result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config, run_id=dagster_run_id,
                                            tags={"netbox_pipeline/trigger": "cli", **process_tags(), **(tags or {})})
    return RunOutcome(f"undo {run_id}", result.run_id, result.success, _first_error(result))


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _write_lease(config: PipelineConfig, run_id: str, instance, wait: bool, report) -> WriteLease:
    staging = open_staging(config.staging_url)
    return WriteLease(staging, lease_key(config.netbox.url or ""), run_id, ttl_s=config.netbox.lease_ttl_s, wait=wait,
                      holder_alive=lambda holder: run_alive(instance, holder), report=report,
                      holder=f"netbox-pipeline sync, pid {os.getpid()} on {os.uname().nodename}")


class _SlotWatch:
    """While a CLI run executes: free the write slots of dead runs, and say so when this run waits on one."""

    def __init__(self, instance, run_id: str, report, *, active: bool = True):
        self.instance, self.run_id, self.report, self.active = instance, run_id, report, active
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="slot-watch", daemon=True)

    def __enter__(self):
        if self.active:
            for line in free_dead_slots(self.instance):
                self.report(line)
            self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        waiting_since, reported = None, None
        while not self._stop.wait(1.0):
            try:
                info = self.instance.event_log_storage.get_concurrency_info(POOL)
            except Exception:  # the storage is busy; look again next second
                continue
            mine_pending = any(step.run_id == self.run_id and step.assigned_timestamp is None for step in info.pending_steps)
            others = [(slot.run_id, slot.step_key) for slot in info.claimed_slots if slot.run_id != self.run_id]
            if not (mine_pending and others):
                waiting_since = None
                continue
            waiting_since = waiting_since or time.monotonic()
            if time.monotonic() - waiting_since < SLOT_REPORT_AFTER_S or reported == others:
                continue
            for line in free_dead_slots(self.instance):
                self.report(line)
            holders = ", ".join(f"run {run} (step {step})" for run, step in slot_holders(self.instance) if run != self.run_id)
            if holders:
                self.report(f"waiting for the {POOL} slot, held by {holders}")
            reported = others


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
