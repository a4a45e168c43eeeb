"""The `undo_run` job: take back what one run wrote to NetBox (run config: the run id).

Thin: the undo itself is `stages.undo.undo_run`. With `pause`, the schedules and sensors that
would re-apply the undone change (the involved sources' schedules and file sensor, and the
automation sensor that merges, plans and writes) are stopped in the Dagster instance, so the UI
shows them stopped until someone starts them again.
"""

import dagster as dg

from netbox_pipeline.defs.automation import AUTOMATION_SENSOR, FILE_SENSOR
from netbox_pipeline.defs.resources import PipelineResource
from netbox_pipeline.stages.undo import CHANGED_SINCE_CONFIRMED, UndoOutcome, undo_rows, undo_run

UNDO_JOB = "undo_run"
LOCATION_NAME = "netbox_pipeline"  # workspace.yaml, [tool.dagster]: the UI's code location


class UndoConfig(dg.Config):
    run_id: str
    force_fields: list[str] = []
    pause: bool = False
    confirmed_hash: str | None = None  # the MCP server's confirmed undo: write only if the undo still hashes to it


@dg.op(pool="netbox_writes", description="Revert what one run applied, from its recorded before-values")
def undo_netbox_run(context: dg.OpExecutionContext, config: UndoConfig, pipeline: PipelineResource) -> dg.Output[None]:
    outcome = undo_run(pipeline.config(), pipeline.staging(), config.run_id, force_fields=config.force_fields,
                       dagster_run_id=context.run.run_id, confirmed_hash=config.confirmed_hash)
    metadata = outcome_metadata(outcome)
    if outcome.refused:
        stale = outcome.refused.startswith(CHANGED_SINCE_CONFIRMED)
        raise dg.Failure(description=outcome.refused if stale else conflict_message(outcome), metadata=metadata)
    if config.pause:
        metadata["paused"] = dg.MetadataValue.text(", ".join(pause_automation(context.instance, outcome)) or "nothing")
    if outcome.failures:
        raise dg.Failure(description=f"{len(outcome.failures)} write(s) of the undo were rejected by NetBox", metadata=metadata)
    return dg.Output(None, metadata=metadata)


undo_job = dg.GraphDefinition(name=UNDO_JOB, node_defs=[undo_netbox_run]).to_job(
    description="Undo one sync (or undo) run: run config ops.undo_netbox_run.config.run_id")


def conflict_message(outcome: UndoOutcome) -> str:
    names = ", ".join(c.name for c in outcome.blocking_conflicts)
    return (f"undo stopped before writing: changed in NetBox since the run wrote them: {names}. "
            "Undo them anyway with --force-field FIELD (or KEY.FIELD).")


def outcome_metadata(outcome: UndoOutcome) -> dict:
    rows = undo_rows(outcome)
    table = ["| action | type | object | detail |", "|---|---|---|---|"]
    table += [f"| {r['action']} | {r['type']} | {r['object']} | {str(r['detail']).replace('|', '/')} |" for r in rows[:500]]
    metadata: dict = {
        "undoes": dg.MetadataValue.text(outcome.target.label),
        "undo_plan": dg.MetadataValue.md("\n".join(table)),
        "conflicts": dg.MetadataValue.int(len(outcome.plan.conflicts)),
        "source_instances": dg.MetadataValue.text(", ".join(f"{k}:{n}" for k, n in outcome.instances) or "-"),
    }
    if outcome.undo_run_id:
        metadata["undo_run_id"] = dg.MetadataValue.text(outcome.undo_run_id)
    for name, n in outcome.counts().items():
        metadata[name] = dg.MetadataValue.int(n)
    return metadata


def pause_automation(instance: dg.DagsterInstance, outcome: UndoOutcome) -> list[str]:
    """Stop what would re-apply the undone change; returns the names stopped."""
    kinds = {kind for kind, _ in outcome.instances}
    wanted = {f"{kind}_schedule" for kind in kinds} | {AUTOMATION_SENSOR}
    if "filesystem" in kinds:
        wanted.add(FILE_SENSOR)
    return stop_instigators(instance, wanted)


def stop_instigators(instance: dg.DagsterInstance, names: set[str]) -> list[str]:
    """Stop schedules and sensors by name, as the UI's toggle does (same location and selector)."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.remote_representation.code_location import InProcessCodeLocation
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    origin = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(module_name="netbox_pipeline.definitions",
                                                    attribute="current_definitions"),
        location_name=LOCATION_NAME,
    )
    stopped = []
    with InProcessCodeLocation(origin, instance=instance) as location:
        for repository in location.get_repositories().values():
            for schedule in repository.get_schedules():
                if schedule.name in names:
                    instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
                    stopped.append(schedule.name)
            for sensor in repository.get_sensors():
                if sensor.name in names:
                    instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
                    stopped.append(sensor.name)
    return sorted(stopped)
