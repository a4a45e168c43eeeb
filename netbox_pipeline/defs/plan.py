"""The planning step: merged inventory, NetBox's live state and the plan, with the blocking checks.

One step materialises the three assets, so neither the inventory nor NetBox's live state ever
crosses a step boundary: the plan goes to the staging DB, and the NetBox assets load their slice
of it from there.
"""

import dagster as dg

from netbox_pipeline.defs.liveness import LEASE_WAIT_TAG, free_dead_slots, run_write_lease
from netbox_pipeline.defs.resources import PipelineResource
from netbox_pipeline.model import key_text
from netbox_pipeline.stages.inventory import InventoryBuild, build_inventory
from netbox_pipeline.reconcile.plan import duplicate_removals
from netbox_pipeline.stages.plan import NetBoxReading, PlanOutcome, desired_for, make_plan

DELETION_GUARD = "deletion_ratio"
RULES_CHECK = "netbox_rules"
EMPTY_SOURCES = "no_emptied_sources"
CONFIRMED_PLAN = "confirmed_plan"
DUPLICATES_CHECK = "no_unresolved_duplicates"
# A run tag naming the plan hash an operator confirmed (the MCP `sync` tool): another plan writes nothing.
CONFIRMED_PLAN_TAG = "netbox_pipeline/confirmed_plan_hash"
EAGER = dg.AutomationCondition.eager()


def build_planning_assets(source_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="plan_sync",
        specs=[
            dg.AssetSpec("inventory", group_name="inventory", deps=source_keys, automation_condition=EAGER,
                         description="Latest good snapshot of every source instance, merged: identity, precedence, "
                         "provenance. History in the staging DB."),
            dg.AssetSpec("netbox_snapshot", group_name="plan", deps=["inventory"], automation_condition=EAGER, kinds={"netbox"},
                         description="Live state of every managed NetBox type: one paginated read per type."),
            dg.AssetSpec("sync_plan", group_name="plan", deps=["inventory", "netbox_snapshot"], automation_condition=EAGER,
                         description="Create / update / unchanged / orphan / delete per object, managed fields only; "
                         "stored in the staging DB, one slice per NetBox type."),
        ],
        check_specs=[
            dg.AssetCheckSpec(DELETION_GUARD, asset="sync_plan", blocking=True,
                              description="planned deletions stay under deletion.max_ratio of owned objects"),
            dg.AssetCheckSpec(RULES_CHECK, asset="sync_plan", blocking=True,
                              description="nothing NetBox would reject (manufacturers, duplicate names, primary IPs, identity collisions)"),
            dg.AssetCheckSpec(EMPTY_SOURCES, asset="sync_plan", blocking=True,
                              description="no source instance that owns objects suddenly returned nothing"),
            dg.AssetCheckSpec(CONFIRMED_PLAN, asset="sync_plan", blocking=True,
                              description="a run launched to apply a confirmed plan computes that same plan (else it writes nothing)"),
            dg.AssetCheckSpec(DUPLICATES_CHECK, asset="sync_plan",
                              description="NetBox holds no object twice that the pipeline cannot remove itself "
                              "(a person's, differing, or pointed at: each named with every id)"),
        ],
    )
    def plan_sync(context: dg.AssetExecutionContext, pipeline: PipelineResource):
        config, staging = pipeline.config(), pipeline.staging()
        for line in free_dead_slots(context.instance):  # before this run's NetBox steps need a slot
            context.log.warning(line)
        # A run that writes holds the lease from before it reads NetBox until its last write, so no
        # other run plans from a NetBox state this one is about to change.
        with run_write_lease(context, config, staging, dry_run=config.netbox.dry_run) as lease:
            reading = NetBoxReading(config)  # NetBox answers while the inventory is merged
            built = build_inventory(config, staging, dagster_run_id=context.run.run_id)
            yield dg.MaterializeResult(asset_key="inventory", metadata=_inventory_metadata(context, built))
            desired = desired_for(config, built.inventory)
            client = reading.client()
            try:
                live, counts = reading.result()
            except Exception as exc:  # the asset that failed, in the words of the innermost cause
                raise dg.Failure(description=f"netbox_snapshot: reading NetBox failed: {_innermost(exc)}") from exc
            metadata = {f"objects_{name}": dg.MetadataValue.int(n) for name, n in counts.items()}
            metadata.update(netbox_version=client.version(), requests=dg.MetadataValue.int(client.stats.total),
                            duplicates=dg.MetadataValue.int(len(live.duplicates)))
            yield dg.MaterializeResult(asset_key="netbox_snapshot", metadata=metadata)
            planned = make_plan(config, staging, built, live, dagster_run_id=context.run.run_id,
                                expected_hash=context.run.tags.get(CONFIRMED_PLAN_TAG),
                                lease_wait_s=(lease.waited_s if lease is not None else 0.0)
                                + float(context.run.tags.get(LEASE_WAIT_TAG, 0)), desired=desired)
            for problem in planned.excluded[:100]:
                context.log.warning("left out of the plan: %s", problem.message)
            for problem in [p for p in planned.problems if p.check == "near_name"][:100]:
                context.log.warning("%s", problem.message)
            for finding in planned.plan.duplicate_findings[:100]:
                context.log.warning("duplicate left for a person to resolve: %s", finding.message)
            for item in duplicate_removals(planned.plan)[:100]:
                context.log.info("%s %s id %s: %s", item.type, key_text(item.key), item.netbox_id, item.reason)
            yield dg.MaterializeResult(asset_key="sync_plan", metadata=_plan_metadata(planned))
            yield from _plan_checks(planned)
            if lease is not None and planned.blocked:
                lease.release()  # no NetBox step of this run will write

    return plan_sync


def _innermost(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc)


def _inventory_metadata(context, built: InventoryBuild) -> dict:
    for conflict in built.inventory.conflicts[:100]:
        context.log.warning("conflict: %s %s: %s", conflict.record_type, "/".join(conflict.key), conflict.message)
    unhealthy = sorted(f"{k}:{i}" for (k, i), s in built.instance_status.items() if (k, i) not in built.healthy_instances)
    metadata = {f"{name}": dg.MetadataValue.int(n) for name, n in built.inventory.counts().items()}
    metadata.update(
        conflicts=dg.MetadataValue.int(len(built.inventory.conflicts)),
        identity_links=dg.MetadataValue.int(len(built.inventory.links)),
        new=dg.MetadataValue.int(built.history.get("new", 0)),
        changed=dg.MetadataValue.int(built.history.get("changed", 0)),
        unhealthy_instances=dg.MetadataValue.text(", ".join(unhealthy) or "none"),
    )
    return metadata


def _plan_metadata(planned: PlanOutcome) -> dict:
    metadata = {action: dg.MetadataValue.int(n) for action, n in planned.plan.totals().items()}
    metadata.update(
        dry_run=dg.MetadataValue.bool(planned.dry_run),
        plan_size=dg.MetadataValue.int(len(planned.plan.writes())),
        drift=dg.MetadataValue.int(sum(1 for item in planned.plan.items if item.drift)),
        lease_wait_s=dg.MetadataValue.float(round(planned.lease_wait_s, 3)),
        delete_ratio=dg.MetadataValue.float(round(planned.plan.delete_ratio(), 4)),
        duplicates_removed=dg.MetadataValue.int(len(duplicate_removals(planned.plan))),
        duplicates_unresolved=dg.MetadataValue.int(len(planned.plan.duplicate_findings)),
        changes=dg.MetadataValue.md(plan_markdown(planned.plan)),
        staging_plan_run=dg.MetadataValue.text(planned.run_id),
    )
    return metadata


def _plan_checks(planned: PlanOutcome):
    plan, ratio, emptied, problems = planned.plan, planned.plan.delete_ratio(), planned.emptied_instances, planned.blocking_problems
    limit = planned.max_delete_ratio
    yield dg.AssetCheckResult(
        asset_key="sync_plan", check_name=DELETION_GUARD, passed=planned.deletion_guard_ok,
        metadata={"delete_ratio": round(ratio, 4), "max_ratio": limit, "deletions": len(plan.deletions())},
        description=None if planned.deletion_guard_ok else
        f"{len(plan.deletions())} deletions are {ratio:.0%} of owned objects (limit {limit:.0%}); nothing was written",
    )
    excluded = planned.excluded
    shown = problems or excluded  # blocking findings first; else what was left out, and why
    yield dg.AssetCheckResult(
        asset_key="sync_plan", check_name=RULES_CHECK, passed=not problems,
        metadata={"problems": len(problems), "excluded": len(excluded)},
        description="; ".join(p.message for p in shown[:20]) or None,
    )
    yield dg.AssetCheckResult(
        asset_key="sync_plan", check_name=EMPTY_SOURCES, passed=not emptied,
        metadata={"emptied": ", ".join(f"{k}:{i}" for k, i in emptied) or "none"},
        description=None if not emptied else
        "returned no records but own objects in NetBox: " + ", ".join(f"{k}:{i}" for k, i in emptied)
        + " (fix the source; nothing is deleted meanwhile)",
    )
    findings = plan.duplicate_findings
    yield dg.AssetCheckResult(
        asset_key="sync_plan", check_name=DUPLICATES_CHECK, passed=not findings, severity=dg.AssetCheckSeverity.WARN,
        metadata={"unresolved": len(findings), "removed": len(duplicate_removals(plan)),
                  "findings": dg.MetadataValue.md("\n".join(f"- {f.message}" for f in findings[:50]) or "none")},
        description="; ".join(f.message for f in findings[:20]) or None,
    )
    yield dg.AssetCheckResult(
        asset_key="sync_plan", check_name=CONFIRMED_PLAN, passed=planned.confirmation_ok,
        metadata={"expected_hash": planned.expected_hash or "none", "plan_hash": planned.plan_hash or "not compared"},
        description=None if planned.confirmation_ok else
        "the plan differs from the confirmed preview (NetBox or the sources changed since); nothing was written",
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
