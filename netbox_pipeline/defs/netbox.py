"""One asset per NetBox object type, in dependency order, each applying only its slice of the plan.

The object types share one step (`netbox_objects`, a multi-asset), so a sync pays Dagster's step
overhead a handful of times, not once per type; each type keeps its own asset, metadata and check.

Every NetBox-writing step takes a slot of the `netbox_writes` pool, so only one run writes to
NetBox at a time. Each reports created / updated / unchanged / failed / requests as numeric
metadata, which the UI plots across runs. A rejected object does not stop the others: it fails
the type's `no_rejections` check, and the run fails at the end (in `netbox_prune`, which then
deletes nothing) with a summary naming every rejected object and NetBox's reason.
"""

import dagster as dg

from netbox_pipeline.defs.liveness import POOL, run_write_lease
from netbox_pipeline.defs.resources import PipelineResource
from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.apply import TypeResult
from netbox_pipeline.netbox.schema import TYPES, second_pass_fields
from netbox_pipeline.stages.apply import apply_type, ensure_custom_fields, plan_to_apply, plan_totals, rejected_in_plan
from netbox_pipeline.stages.plan import netbox_client

NO_REJECTIONS = "no_rejections"
BOOTSTRAP_TYPES = ("tags",)


def asset_name(type_name: str) -> str:
    return f"netbox_{type_name}"


def _metadata(result: TypeResult, dry_run: bool = False) -> dict:
    # A dry run's counts go under their own names, so the UI's plots of real writes never drop to 0.
    prefix = "would_" if dry_run else ""
    metadata = {prefix + name: dg.MetadataValue.int(n) for name, n in result.counts().items()}
    changed = [c for c in result.changes if c.status == "applied"]
    if changed:
        # Each changed object links to its explanation: which source gave each field, which run wrote it.
        metadata["changed_objects"] = dg.MetadataValue.md(
            "\n".join(["| object | action | fields | explain |", "|---|---|---|---|"]
                      + [f"| {key_text(c.key)} | {c.action} | {', '.join(c.after) or '-'} | `netbox-pipeline explain '{key_text(c.key)}'` |"
                         for c in changed[:200]])
        )
    if result.failures:
        metadata["rejected"] = dg.MetadataValue.md(
            "\n".join(["| object | action | NetBox's reason |", "|---|---|---|"]
                      + [f"| {key_text(c.key)} | {c.action} | {str(c.error).replace('|', '/')} |" for c in result.failures[:200]])
        )
    return metadata


def _check(asset: str, result: TypeResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=NO_REJECTIONS, asset_key=asset, passed=not result.failures,
        severity=dg.AssetCheckSeverity.ERROR, metadata={"failed": len(result.failures)},
        description=result.failure_summary() if result.failures else None,
    )


class _Slice:
    """The plan this step applies (the one its Dagster run made, else the newest) and how to write it."""

    def __init__(self, context: dg.AssetExecutionContext, pipeline: PipelineResource):
        self.context = context
        self.config, self.staging = pipeline.config(), pipeline.staging()
        self.run_id = context.run.run_id
        self.plan_run_id, plan_dry_run = plan_to_apply(self.staging, self.run_id)
        self.dry_run = plan_dry_run or self.config.netbox.dry_run
        self._client = None

    @property
    def client(self):
        if self._client is None and not self.dry_run:
            # Named on every NetBox change-log entry this sync writes.
            self._client = netbox_client(self.config, f"netbox-pipeline sync, plan run {self.plan_run_id}")
        return self._client

    def lease(self, *, release: bool = False):
        """The write lease this run took when it planned, held (with heartbeat) while this step writes."""
        return run_write_lease(self.context, self.config, self.staging, dry_run=self.dry_run, release=release, continued=True)

    def apply(self, type_name: str, phase: str) -> TypeResult:
        return apply_type(self.config, self.staging, self.client, self.plan_run_id, type_name, phase,
                          dry_run=self.dry_run, dagster_run_id=self.run_id)

    def count(self, action: str) -> int:
        """How many items of an action the whole plan has (its run's counts)."""
        return plan_totals(self.staging, self.plan_run_id).get(action, 0)


def _log(context, result: TypeResult, dry_run: bool) -> None:
    if not result.changes:  # nothing written or tried: a log event would cost more than it says
        return
    verb = "would write" if dry_run else "wrote"
    context.log.info("%s %s: %s", verb, result.type, ", ".join(f"{k}={v}" for k, v in result.counts().items()))
    for change in result.failures:
        context.log.error("%s %s rejected: %s", result.type, key_text(change.key), change.error)


@dg.asset(
    group_name="netbox", pool=POOL, kinds={"netbox"}, automation_condition=dg.AutomationCondition.eager(),
    deps=["sync_plan"], check_specs=[dg.AssetCheckSpec(NO_REJECTIONS, asset="netbox_bootstrap")],
    description="The owner tag, per-source tags and the custom fields the plan writes.",
)
def netbox_bootstrap(context: dg.AssetExecutionContext, pipeline: PipelineResource):
    plan = _Slice(context, pipeline)
    with plan.lease():
        result = plan.apply("tags", "first")
        fields = ensure_custom_fields(plan.config, plan.staging, plan.client, plan.plan_run_id, dry_run=plan.dry_run)
    _log(context, result, plan.dry_run)
    for conflict in fields.type_conflicts:
        context.log.warning(conflict)
    metadata = _metadata(result, plan.dry_run)
    metadata["custom_fields_created"] = dg.MetadataValue.int(len(fields.created))
    if fields.type_conflicts:
        metadata["custom_field_type_conflicts"] = dg.MetadataValue.md("\n".join(f"- {c}" for c in fields.type_conflicts))
    return dg.MaterializeResult(metadata=metadata, check_results=[_check("netbox_bootstrap", result)])


def _type_spec(type_name: str) -> dg.AssetSpec:
    nbtype = TYPES[type_name]
    deps = sorted({asset_name(d) if d not in BOOTSTRAP_TYPES else "netbox_bootstrap" for d in nbtype.dependencies()}
                  | {"netbox_bootstrap", "sync_plan"})
    return dg.AssetSpec(
        asset_name(type_name), group_name="netbox", kinds={"netbox"}, deps=deps,
        automation_condition=dg.AutomationCondition.eager(),
        description=f"NetBox {nbtype.endpoint}: creates and updates from the plan (natural key {', '.join(nbtype.natural_key)}).",
    )


OBJECT_TYPES = [name for name in TYPES if name not in BOOTSTRAP_TYPES]


# One step for every NetBox type: a run pays Dagster's per-step cost (process set-up, resources,
# events) once, not once per type, which is most of a no-op sync. Each type is still its own asset
# (own materialisation, metadata and `no_rejections` check) and the specs' deps keep the write order
# visible in lineage. Types are written in TYPES order; a subset run writes only the selected ones.
# A type with nothing to write (its slice is one indexed query) still materialises with its counts,
# but logs nothing and yields no check result (it cannot have a rejection): two events, not four.
# (Not yielding it at all would make Dagster skip netbox_primary_ips and netbox_prune downstream.)
@dg.multi_asset(
    name="netbox_objects", specs=[_type_spec(name) for name in OBJECT_TYPES], pool=POOL, can_subset=True,
    check_specs=[dg.AssetCheckSpec(NO_REJECTIONS, asset=asset_name(name)) for name in OBJECT_TYPES],
)
def netbox_objects(context: dg.AssetExecutionContext, pipeline: PipelineResource):
    plan = _Slice(context, pipeline)
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    for type_name in OBJECT_TYPES:
        name = asset_name(type_name)
        if name not in selected:
            continue
        with plan.lease():
            result = plan.apply(type_name, "first")
        _log(context, result, plan.dry_run)
        yield dg.MaterializeResult(asset_key=name, metadata=_metadata(result, plan.dry_run))
        if result.changes:
            yield _check(name, result)


SECOND_PASS_TYPES = [name for name in TYPES if second_pass_fields(name)]


@dg.asset(
    group_name="netbox", pool=POOL, kinds={"netbox"}, automation_condition=dg.AutomationCondition.eager(),
    deps=["sync_plan", *(asset_name(name) for name in TYPES if name not in BOOTSTRAP_TYPES)],
    check_specs=[dg.AssetCheckSpec(NO_REJECTIONS, asset="netbox_primary_ips")],
    description="Second pass once every object exists: primary IPs of devices and VMs, primary MACs of interfaces.",
)
def netbox_primary_ips(context: dg.AssetExecutionContext, pipeline: PipelineResource):
    plan = _Slice(context, pipeline)
    total = TypeResult("primary_ips", "second")
    with plan.lease():
        for type_name in SECOND_PASS_TYPES:
            result = plan.apply(type_name, "second")
            _log(context, result, plan.dry_run)
            total.absorb(result)
    return dg.MaterializeResult(metadata=_metadata(total, plan.dry_run), check_results=[_check("netbox_primary_ips", total)])


@dg.asset(
    group_name="netbox", pool=POOL, kinds={"netbox"}, automation_condition=dg.AutomationCondition.eager(),
    deps=["sync_plan", "netbox_primary_ips"],
    description="Last: deletes (or retires) owned objects missing for deletion.grace_runs successful runs, children first. "
    "Fails the run, deleting nothing, when any object of this sync was rejected.",
)
def netbox_prune(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
    plan = _Slice(context, pipeline)
    with plan.lease(release=True):  # the last writing step: the lease goes back however it ends
        return _prune(context, plan)


def _prune(context, plan: _Slice) -> dg.MaterializeResult:
    rejected = rejected_in_plan(plan.staging, plan.plan_run_id)
    if rejected:
        lines = [f"{c['object_type']} {c['natural_key']} ({c['action']}): {c['error']}" for c in rejected[:100]]
        raise dg.Failure(
            description=f"{len(rejected)} object(s) were rejected by NetBox in this sync; nothing was pruned:\n" + "\n".join(lines),
            metadata={"rejected": len(rejected)},
        )
    total = TypeResult("prune", "delete")
    for type_name in reversed(list(TYPES)):
        result = plan.apply(type_name, "delete")
        if result.changes:
            _log(context, result, plan.dry_run)
        total.absorb(result)
    if total.failures:
        raise dg.Failure(description=total.failure_summary(), metadata=_metadata(total))
    metadata = _metadata(total, plan.dry_run)
    metadata["orphans"] = dg.MetadataValue.int(plan.count("orphan"))
    return dg.MaterializeResult(metadata=metadata)


NETBOX_ASSETS = [netbox_bootstrap, netbox_objects, netbox_primary_ips, netbox_prune]
