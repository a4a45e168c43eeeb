"""Schedules, sensors and the automation sensor that makes downstream assets follow.

- one schedule per configured source kind (cron from config), stopped unless `enabled`;
- a sensor that watches inventory files and refreshes only the instance whose content changed;
- an automation-condition sensor, RUNNING by default, that evaluates the `eager()` conditions of
  the inventory, plan and NetBox assets, so a refreshed source flows on to NetBox.
"""

import hashlib
import json

import dagster as dg

from netbox_pipeline.config import PipelineConfig, ScheduleConfig
from netbox_pipeline.defs.resources import PipelineResource
from netbox_pipeline.sources import SOURCES

FILE_SENSOR = "inventory_files_sensor"
AUTOMATION_SENSOR = "netbox_pipeline_automation"


def refresh_job_name(kind: str) -> str:
    return f"refresh_{kind}"


def build_refresh_jobs(config: PipelineConfig) -> list:
    return [
        dg.define_asset_job(refresh_job_name(kind), selection=dg.AssetSelection.assets(SOURCES[kind].asset_name),
                            description=f"Re-pull {kind} sources (choose the instances as partitions)")
        for kind in config.sources.configured_kinds()
    ]


def build_schedules(config: PipelineConfig) -> list[dg.ScheduleDefinition]:
    """One schedule per configured source kind: its `schedules:` entry, else the kind's default, stopped."""
    schedules = []
    for kind in config.sources.configured_kinds():
        settings = config.schedules.get(kind) or ScheduleConfig(cron=SOURCES[kind].default_cron)
        instances = [instance.name for instance in config.sources.instances(kind)]
        schedules.append(_schedule(kind, settings.cron, settings.timezone, settings.enabled, instances))
    return schedules


def _schedule(kind: str, cron: str, timezone: str, enabled: bool, instances: list[str]) -> dg.ScheduleDefinition:
    # A hand-written schedule: the partitioned-job helper needs a deprecated API for static partitions.
    @dg.schedule(
        name=f"{kind}_schedule",
        cron_schedule=cron,
        execution_timezone=timezone,
        job_name=refresh_job_name(kind),
        default_status=dg.DefaultScheduleStatus.RUNNING if enabled else dg.DefaultScheduleStatus.STOPPED,
        description=f"Re-pull every {kind} instance on '{cron}' ({timezone})",
    )
    def _refresh(context: dg.ScheduleEvaluationContext):
        stamp = context.scheduled_execution_time.isoformat()
        for name in instances:
            yield dg.RunRequest(partition_key=name, run_key=f"{name}:{stamp}")

    return _refresh


def file_fingerprint(path) -> str:
    """Content hash of an inventory file (mtime alone misses copies and editors that keep it)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable:{exc.errno}"


def changed_instances(config: PipelineConfig, cursor: dict[str, str]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(instance, fingerprint) of files whose content differs from the cursor, and the new cursor."""
    seen, changed = {}, []
    for instance in config.sources.filesystem:
        fingerprint = file_fingerprint(config.resolve_path(instance.path))
        seen[instance.name] = fingerprint
        if cursor.get(instance.name) != fingerprint:
            changed.append((instance.name, fingerprint))
    return changed, seen


def build_file_sensor(config: PipelineConfig) -> list[dg.SensorDefinition]:
    if not config.sources.filesystem:
        return []

    @dg.sensor(
        name=FILE_SENSOR,
        job_name=refresh_job_name("filesystem"),
        minimum_interval_seconds=15,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Refreshes the filesystem_inventory partition of each inventory file whose content changed",
    )
    def _watch(context: dg.SensorEvaluationContext, pipeline: PipelineResource):
        cursor = json.loads(context.cursor) if context.cursor else {}
        changed, seen = changed_instances(pipeline.config(), cursor)
        for name, fingerprint in changed:
            yield dg.RunRequest(partition_key=name, run_key=f"{name}:{fingerprint}", tags={"netbox_pipeline/trigger": "file-changed"})
        context.update_cursor(json.dumps(seen, sort_keys=True))
        if not changed:
            yield dg.SkipReason("no inventory file changed")

    return [_watch]


def build_automation_sensor(selection: dg.AssetSelection) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=selection,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=15,
        description="Runs inventory, plan and NetBox assets when what they depend on was updated",
    )
