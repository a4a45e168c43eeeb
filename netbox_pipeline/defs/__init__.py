"""Every Dagster object of the code location, kept thin: they wire the core to resources."""

import dagster as dg

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.defs.automation import (
    build_automation_sensor,
    build_file_sensor,
    build_refresh_jobs,
    build_schedules,
)
from netbox_pipeline.defs.console import LOGGER_NAME, console_logger
from netbox_pipeline.defs.netbox import NETBOX_ASSETS
from netbox_pipeline.defs.plan import build_planning_assets
from netbox_pipeline.defs.resources import PipelineResource
from netbox_pipeline.defs.sources import build_source_assets
from netbox_pipeline.defs.undo import undo_job

SYNC_JOB = "sync_netbox"
PLAN_JOB = "plan_netbox"  # inventory and plan only: never waits on the NetBox write slot
DOWNSTREAM_GROUPS = ("inventory", "plan", "netbox")


def build_definitions(config: PipelineConfig, *, force_dry_run: bool = False) -> dg.Definitions:
    config_path = str(config.config_path) if config.config_path else None
    source_assets = build_source_assets(config)
    assets = [*source_assets]
    jobs = [*build_refresh_jobs(config), undo_job]
    sensors = build_file_sensor(config)
    if source_assets:
        # Without any source there is nothing to merge, plan or write.
        assets += [build_planning_assets([a.key for a in source_assets]), *NETBOX_ASSETS]
        downstream = dg.AssetSelection.groups(*DOWNSTREAM_GROUPS)
        jobs.append(dg.define_asset_job(SYNC_JOB, selection=downstream, description="Merge, plan and write to NetBox from the latest snapshots"))
        jobs.append(dg.define_asset_job(PLAN_JOB, selection=dg.AssetSelection.groups("inventory", "plan"),
                                        description="Merge and plan from the latest snapshots; writes nothing"))
        sensors.append(build_automation_sensor(downstream))
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=build_schedules(config),
        sensors=sensors,
        # Every job's terminal output, also of runs the UI and the daemon launch (docs/troubleshooting.md).
        loggers={LOGGER_NAME: console_logger},
        resources={
            # No IO manager: assets pass nothing in memory; the staging DB is the one data plane.
            "pipeline": PipelineResource(config_path=config_path, force_dry_run=force_dry_run),
        },
    )
