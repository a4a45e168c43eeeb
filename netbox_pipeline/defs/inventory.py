"""The merged inventory: every instance's latest good snapshot, merged with provenance."""

import dagster as dg

from netbox_pipeline.defs.resources import PipelineResource
from netbox_pipeline.steps import build_inventory


def build_inventory_asset(source_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        name="inventory",
        group_name="inventory",
        deps=source_keys,
        automation_condition=dg.AutomationCondition.eager(),
        description="Latest good snapshot of every source instance, merged: identity, precedence, provenance. History in the staging DB.",
    )
    def inventory(context: dg.AssetExecutionContext, pipeline: PipelineResource):
        built = build_inventory(pipeline.config(), pipeline.staging(), dagster_run_id=context.run.run_id)
        for conflict in built.inventory.conflicts[:100]:
            context.log.warning("conflict: %s %s: %s", conflict.record_type, "/".join(conflict.key), conflict.message)
        unhealthy = sorted(f"{k}:{i}" for (k, i), s in built.instance_status.items() if (k, i) not in built.healthy_instances)
        metadata = {f"{name}": dg.MetadataValue.int(n) for name, n in built.inventory.counts().items()}
        metadata.update(
            conflicts=dg.MetadataValue.int(len(built.inventory.conflicts)),
            new=dg.MetadataValue.int(built.history.get("new", 0)),
            changed=dg.MetadataValue.int(built.history.get("changed", 0)),
            unhealthy_instances=dg.MetadataValue.text(", ".join(unhealthy) or "none"),
        )
        return dg.MaterializeResult(value=built, metadata=metadata)

    return inventory
