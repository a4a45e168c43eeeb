"""NetBox's live state and the plan, with the blocking checks that guard every write."""

import dagster as dg

from netbox_pipeline.defs.resources import PipelineResource
from netbox_pipeline.model import key_text
from netbox_pipeline.steps import InventoryBuild, make_plan, netbox_client, read_netbox

DELETION_GUARD = "deletion_ratio"
RULES_CHECK = "netbox_rules"
EMPTY_SOURCES = "no_emptied_sources"


@dg.asset(
    group_name="plan",
    deps=["inventory"],
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"netbox"},
    description="Live state of every managed NetBox type: one paginated read per type.",
)
def netbox_snapshot(context: dg.AssetExecutionContext, pipeline: PipelineResource):
    config = pipeline.config()
    client = netbox_client(config)
    live, counts = read_netbox(client, owner_tag=config.netbox.owner_tag)
    for duplicate in live.duplicates[:50]:
        context.log.warning("NetBox holds %s %s more than once (id %s left alone)", duplicate.type, key_text(duplicate.key), duplicate.id)
    metadata = {f"objects_{name}": dg.MetadataValue.int(n) for name, n in counts.items()}
    metadata.update(netbox_version=client.version(), requests=dg.MetadataValue.int(client.stats.total))
    return dg.MaterializeResult(value=live, metadata=metadata)


@dg.asset(
    group_name="plan",
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(DELETION_GUARD, asset="sync_plan", blocking=True, description="planned deletions stay under deletion.max_ratio of owned objects"),
        dg.AssetCheckSpec(RULES_CHECK, asset="sync_plan", blocking=True, description="nothing NetBox would reject (manufacturers, duplicate names, primary IPs, identity collisions)"),
        dg.AssetCheckSpec(EMPTY_SOURCES, asset="sync_plan", blocking=True, description="no source instance that owns objects suddenly returned nothing"),
    ],
    description="Create / update / unchanged / orphan / delete per object, managed fields only.",
)
def sync_plan(context: dg.AssetExecutionContext, pipeline: PipelineResource, inventory: InventoryBuild, netbox_snapshot):
    config = pipeline.config()
    planned = make_plan(config, pipeline.staging(), inventory, netbox_snapshot, dagster_run_id=context.run.run_id)
    plan = planned.plan
    totals = plan.totals()
    ratio = plan.delete_ratio()
    emptied = planned.emptied_instances
    problems = planned.blocking_problems
    metadata = {action: dg.MetadataValue.int(n) for action, n in totals.items()}
    metadata.update(
        dry_run=dg.MetadataValue.bool(planned.dry_run),
        delete_ratio=dg.MetadataValue.float(round(ratio, 4)),
        changes=dg.MetadataValue.md(plan_markdown(plan)),
        staging_plan_run=dg.MetadataValue.text(planned.run_id),
    )
    return dg.MaterializeResult(
        value=planned,
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=DELETION_GUARD,
                passed=plan.deletion_guard_ok(config.deletion.max_ratio),
                metadata={"delete_ratio": round(ratio, 4), "max_ratio": config.deletion.max_ratio, "deletions": len(plan.deletions())},
                description=None if plan.deletion_guard_ok(config.deletion.max_ratio) else
                f"{len(plan.deletions())} deletions are {ratio:.0%} of owned objects (limit {config.deletion.max_ratio:.0%}); nothing was written",
            ),
            dg.AssetCheckResult(
                check_name=RULES_CHECK,
                passed=not problems,
                metadata={"problems": len(problems)},
                description="; ".join(p.message for p in problems[:20]) or None,
            ),
            dg.AssetCheckResult(
                check_name=EMPTY_SOURCES,
                passed=not emptied,
                metadata={"emptied": ", ".join(f"{k}:{i}" for k, i in emptied) or "none"},
                description=None if not emptied else
                "returned no records but own objects in NetBox: " + ", ".join(f"{k}:{i}" for k, i in emptied)
                + " (fix the source; nothing is deleted meanwhile)",
            ),
        ],
    )


def plan_markdown(plan, limit: int = 200) -> str:
    rows = ["| action | type | object | changes | reason |", "|---|---|---|---|---|"]
    shown = [item for item in plan.items if item.action not in ("unchanged",)]
    for item in shown[:limit]:
        changes = ", ".join(f"{name}: {_short(before)} → {_short(after)}" for name, (before, after) in item.changes.items())
        rows.append(f"| {item.action} | {item.type} | {key_text(item.key)} | {changes.replace('|', '/')} | {item.reason.replace('|', '/')} |")
    if len(shown) > limit:
        rows.append(f"| … | | {len(shown) - limit} more | | |")
    if not shown:
        rows.append("| (none) | | everything is in sync | | |")
    return "\n".join(rows)


def _short(value, limit: int = 40) -> str:
    text = "∅" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
