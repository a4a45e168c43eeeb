"""One asset per configured source kind, with a static partition per configured instance.

Refreshing one instance (a file, a subnet, a cluster) is materialising one partition; a failing
instance fails visibly and leaves the last good snapshot of every other instance in place.
"""

import dagster as dg

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.defs.resources import PipelineResource
from netbox_pipeline.sources import SOURCES
from netbox_pipeline.stages.collect import collect_source

RECORD_CHECK = "records_valid"


def source_partitions(config: PipelineConfig, kind: str) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition([instance.name for instance in config.sources.instances(kind)])


def build_source_assets(config: PipelineConfig) -> list[dg.AssetsDefinition]:
    return [_source_asset(config, kind) for kind in config.sources.configured_kinds()]


def _source_asset(config: PipelineConfig, kind: str) -> dg.AssetsDefinition:
    source = SOURCES[kind]

    @dg.asset(
        name=source.asset_name,
        group_name="sources",
        partitions_def=source_partitions(config, kind),
        kinds={kind},
        description=f"{source.description}: one partition per configured instance; snapshots go to the staging DB.",
        check_specs=[dg.AssetCheckSpec(RECORD_CHECK, asset=source.asset_name, description="every record of the instance validated")],
    )
    def _asset(context: dg.AssetExecutionContext, pipeline: PipelineResource):
        summary = collect_source(pipeline.config(), pipeline.staging(), kind, context.partition_key, dagster_run_id=context.run.run_id)
        if summary.failed:
            raise dg.Failure(
                description=f"{kind}:{summary.instance} failed: {summary.error}",
                metadata={"instance": summary.instance, "error": summary.error or ""},
            )
        for warning in summary.warnings:
            context.log.warning("%s:%s: %s", kind, summary.instance, warning)
        for error in summary.errors:
            context.log.warning("%s:%s: %s", kind, summary.instance, error)
        metadata = {"records": dg.MetadataValue.int(sum(summary.counts.values())), "record_errors": dg.MetadataValue.int(len(summary.errors))}
        metadata.update({f"records_{name}": dg.MetadataValue.int(n) for name, n in summary.counts.items()})
        if summary.errors:
            metadata["errors"] = dg.MetadataValue.md(_error_table(summary.errors))
        if summary.warnings:
            metadata["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in summary.warnings[:100]))
        return dg.MaterializeResult(
            metadata=metadata,
            check_results=[
                dg.AssetCheckResult(
                    check_name=RECORD_CHECK,
                    passed=not summary.errors,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"record_errors": len(summary.errors)},
                    description=None if not summary.errors else f"{len(summary.errors)} bad record(s); the others flowed on",
                )
            ],
        )

    return _asset


def _error_table(errors) -> str:
    rows = ["| where | record | field | problem |", "|---|---|---|---|"]
    for error in errors[:200]:
        rows.append(f"| {error.location} | {error.record_key or ''} | {error.field or ''} | {error.message.replace('|', '/')} |")
    if len(errors) > 200:
        rows.append(f"| … | {len(errors) - 200} more | | |")
    return "\n".join(rows)
