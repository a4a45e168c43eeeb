"""The imperative shell: each pipeline stage as a plain function over config, staging DB and NetBox.

Dagster assets (defs/) and the CLI call these; the decisions themselves are made by the pure
core (sources/, reconcile/, netbox/schema.py). Sources write their snapshots to the staging DB and
the inventory is merged from there, so one instance can be re-pulled alone and a failed one keeps
its last good data. The merged inventory, NetBox's live state and the plan travel between assets
as Dagster outputs; every stage also records its result in the staging DB (history, plan items,
applied changes with before/after, the object map), keyed by run.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.model import RECORD_TYPES, Inventory, key_text, record_type_of
from netbox_pipeline.netbox.apply import Phase, TypeResult, apply_slice, build_id_index
from netbox_pipeline.netbox.client import NetBoxClient
from netbox_pipeline.netbox.schema import CUSTOM_FIELDS, READ_PARAMS, TYPES, LiveIndex, LiveState, build_live
from netbox_pipeline.reconcile.desired import Problem, desired_objects
from netbox_pipeline.reconcile.diff import jsonable
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.reconcile.plan import Plan, PlanItem, blocking, build_plan, validate_plan
from netbox_pipeline.sources.base import RecordError, SourceResult
from netbox_pipeline.sources.registry import SOURCES
from netbox_pipeline.staging import store

log = logging.getLogger(__name__)


# --- sources ------------------------------------------------------------------------------------


@dataclass
class CollectSummary:
    kind: str
    instance: str
    status: str
    error: str | None
    counts: dict[str, int]
    errors: list[RecordError] = field(default_factory=list)
    run_id: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status != "ok"


def find_instance(config: PipelineConfig, kind: str, name: str):
    for instance in config.sources.instances(kind):
        if instance.name == name:
            return instance
    known = ", ".join(i.name for i in config.sources.instances(kind)) or "none"
    raise KeyError(f"no {kind} source instance named {name!r} in the configuration (configured: {known})")


def collect_source(config: PipelineConfig, staging, kind: str, instance_name: str, *, dagster_run_id: str | None = None) -> CollectSummary:
    """Pull one source instance and keep its snapshot; a failure is recorded, never raised here."""
    instance = find_instance(config, kind, instance_name)
    observed_at = datetime.now(UTC)
    try:
        result = SOURCES[kind].collect(config, instance, observed_at)
    except Exception as exc:  # a collector bug must fail this instance only, with a message
        log.exception("%s:%s collector crashed", kind, instance_name)
        result = SourceResult(kind, instance_name, status="failed", error=f"{type(exc).__name__}: {exc}", observed_at=observed_at)
    with staging.session() as session:
        run_id = store.start_run(session, "source", dagster_run_id=dagster_run_id, source_kind=kind, instance=instance_name)
        store.record_snapshot(
            session, run_id, kind, instance_name, snapshot_rows(result), status=result.status, error=result.error
        )
        counts = {**result.counts(), "record_errors": len(result.errors), "warnings": len(result.warnings)}
        store.finish_run(session, run_id, "success" if result.status == "ok" else "failed", counts=counts, error=result.error)
    return CollectSummary(kind, instance_name, result.status, result.error, result.counts(), list(result.errors), run_id,
                          list(result.warnings))


def snapshot_rows(result: SourceResult) -> list[dict[str, Any]]:
    """Staging rows for a result: each canonical record (to rebuild the inventory) with its raw input."""
    raw_by_key = {(raw["record_type"], raw.get("record_key")): raw for raw in result.raw_records}
    rows = []
    for record in result.records:
        record_type = record_type_of(record)
        key = key_text(record.key)
        raw = raw_by_key.pop((record_type, key), None)
        # Stored under the id its provenance names, so lineage finds the record it came from.
        record_id = next((p.record_id for p in record.provenance.values()), key)
        rows.append(
            {
                "record_type": record_type,
                "record_key": record_id,
                "location": (raw or {}).get("location"),
                "payload": {"canonical": record.model_dump(mode="json"), "raw": (raw or {}).get("payload")},
            }
        )
    for raw in raw_by_key.values():  # input that did not validate: kept for lineage, not merged
        rows.append({**raw, "payload": {"canonical": None, "raw": raw.get("payload")}})
    return rows


def latest_results(staging, config: PipelineConfig) -> tuple[list[SourceResult], dict[tuple[str, str], str]]:
    """SourceResults rebuilt from the latest good snapshot of every configured instance.

    Also returns the status of each instance's most recent attempt, so that an instance whose
    latest pull failed contributes its last good data but counts as unhealthy for pruning.
    """
    configured = {(kind, i.name) for kind in config.sources.configured_kinds() for i in config.sources.instances(kind)}
    results = []
    with staging.session() as session:
        snapshots = store.latest_snapshots(session, only_ok=True)
        status = store.latest_snapshot_status(session)
        for (kind, instance), snapshot in sorted(snapshots.items()):
            if (kind, instance) not in configured:
                continue
            records = []
            for row in store.snapshot_records(session, snapshot["id"]):
                canonical = (row.get("payload") or {}).get("canonical")
                if canonical is not None:
                    records.append(RECORD_TYPES[row["record_type"]].model_validate(canonical))
            results.append(SourceResult(kind, instance, status="ok", records=records, observed_at=snapshot.get("taken_at")))
    return results, {key: value for key, value in status.items() if key in configured}


# --- inventory ----------------------------------------------------------------------------------


@dataclass
class InventoryBuild:
    inventory: Inventory
    healthy_instances: set[tuple[str, str]]
    instance_status: dict[tuple[str, str], str]
    history: dict[str, int]
    run_id: str


def build_inventory(config: PipelineConfig, staging, *, dagster_run_id: str | None = None) -> InventoryBuild:
    """Merge the latest good snapshot of every instance; keep the versioned result."""
    results, status = latest_results(staging, config)
    precedence = {"default": config.precedence.default, **config.precedence.fields}
    inventory = merge(results, precedence)
    # An instance may count absences only if its newest pull succeeded and returned records.
    healthy = {(r.source_kind, r.instance) for r in results if r.healthy and status.get((r.source_kind, r.instance)) == "ok"}
    with staging.session() as session:
        run_id = store.start_run(session, "inventory", dagster_run_id=dagster_run_id)
        history = store.save_inventory(session, run_id, inventory_items(inventory))
        store.finish_run(session, run_id, "success", counts={**inventory.counts(), "conflicts": len(inventory.conflicts)})
    return InventoryBuild(inventory, healthy, status, history, run_id)


def inventory_items(inventory: Inventory) -> list[dict[str, Any]]:
    items = []
    for record_type, records in (
        ("device", inventory.devices),
        ("virtual_machine", inventory.virtual_machines),
        ("cluster", inventory.clusters),
        ("service", inventory.services),
        ("ip_address", inventory.ip_addresses),
    ):
        for record in records:
            fields = record.model_dump(mode="json", exclude={"provenance"}, exclude_none=True)
            provenance = {name: p.model_dump(mode="json") for name, p in record.provenance.items()}
            items.append({"object_type": record_type, "natural_key": key_text(record.key), "fields": fields, "provenance": provenance})
    return items


# --- NetBox snapshot and plan -------------------------------------------------------------------


def netbox_client(config: PipelineConfig, changelog_message: str | None = None) -> NetBoxClient:
    if not config.netbox.url:
        raise ValueError("netbox.url is not set (configuration file or NETBOX_PIPELINE_NETBOX__URL)")
    token = config.netbox.token.get_secret_value() if config.netbox.token else None
    return NetBoxClient(
        config.netbox.url,
        token,
        timeout_s=config.netbox.timeout_s,
        retries=config.netbox.retries,
        max_parallel=config.netbox.max_parallel,
        verify_ssl=config.netbox.verify_ssl,
        changelog_message=changelog_message,
    )


def read_netbox(client: NetBoxClient, *, owner_tag: str) -> tuple[LiveState, dict[str, int]]:
    """One paginated read per managed type, in dependency order."""
    raw = {name: client.list_all(nbtype.endpoint, READ_PARAMS) for name, nbtype in TYPES.items()}
    return build_live(raw, owner_tag=owner_tag), {name: len(objects) for name, objects in raw.items()}


@dataclass
class PlannedSync:
    """A plan and what applying it needs; passed from the plan asset to the NetBox assets."""

    plan: Plan
    problems: list[Problem]
    run_id: str
    dry_run: bool
    owner_tag: str
    instances_seen: list[tuple[str, str]] = field(default_factory=list)
    emptied_instances: list[tuple[str, str]] = field(default_factory=list)

    @property
    def blocking_problems(self) -> list[Problem]:
        return blocking(self.problems)


def make_plan(
    config: PipelineConfig, staging, inventory: InventoryBuild, live: LiveState, *, dagster_run_id: str | None = None
) -> PlannedSync:
    defaults = config.defaults
    desired = desired_objects(
        inventory.inventory,
        owner_tag=config.netbox.owner_tag,
        defaults={"device_role": defaults.device_role, "manufacturer": defaults.manufacturer, "model": defaults.device_type},
    )
    with staging.session() as session:
        staged = store.load_object_map(session)
    object_map = _object_map_for_plan(staged, desired, live)
    plan = build_plan(
        desired,
        live,
        object_map=object_map,
        healthy_instances=inventory.healthy_instances,
        adopt=config.netbox.adopt,
        drift_policy=config.netbox.drift_policy,
        grace_runs=config.deletion.grace_runs,
        deletion_mode=config.deletion.mode,
        max_delete_ratio=config.deletion.max_ratio,
        owner_tag=config.netbox.owner_tag,
    )
    problems = validate_plan(plan, desired)
    with staging.session() as session:
        run_id = store.start_run(session, "plan", dagster_run_id=dagster_run_id, dry_run=config.netbox.dry_run)
        store.save_plan(session, run_id, [_plan_row(item) for item in plan.items])
        store.finish_run(session, run_id, "success", counts=plan.totals())
    return PlannedSync(plan, problems, run_id, config.netbox.dry_run, config.netbox.owner_tag,
                       sorted(inventory.healthy_instances), empty_instances(staged, inventory))


def _plan_row(item: PlanItem) -> dict[str, Any]:
    row = item.row()
    return {
        "object_type": item.type,
        "natural_key": row["key"],
        "action": item.action,
        "netbox_id": item.netbox_id,
        "changes": row["changes"] or None,
        "desired": jsonable(item.payload_fields) or None,
        "reason": item.reason or None,
    }


def _object_map_for_plan(staged: dict, desired, live: LiveState) -> dict[tuple[str, tuple], dict[str, Any]]:
    """Staging's object map (keys as text) keyed by the natural-key tuples the plan uses."""
    by_text: dict[tuple[str, str], tuple] = {}
    for type_name, objects in desired.items():
        for key in objects:
            by_text[(type_name, key_text(key))] = key
    for type_name, objects in live.objects.items():
        for key in objects:
            by_text.setdefault((type_name, key_text(key)), key)
    out = {}
    for (type_name, text), entry in staged.items():
        key = by_text.get((type_name, text))
        if key is None:
            continue
        out[(type_name, key)] = {
            "last_written": entry.get("last_written"),
            "netbox_id": entry.get("netbox_id"),
            "missing_runs": entry.get("missing_runs") or 0,
            "instances": [tuple(i.split(":", 1)) for i in entry.get("source_kinds") or [] if ":" in i],
        }
    return out


# --- apply --------------------------------------------------------------------------------------


def apply_type(
    config: PipelineConfig,
    staging,
    client: NetBoxClient | None,
    planned: PlannedSync,
    type_name: str,
    phase: Phase,
    *,
    dagster_run_id: str | None = None,
) -> TypeResult:
    """Apply one type's slice of the plan once; a plan already applied for this slice is a no-op."""
    marker = f"{planned.run_id}:{type_name}:{phase}"
    items = [i for i in planned.plan.items if i.type == type_name]
    dry_run = planned.dry_run or config.netbox.dry_run
    if not any(_writes_in_phase(item, phase) for item in items):
        # Nothing to write: count what is unchanged, touch neither NetBox nor the staging DB.
        return apply_slice(None, type_name, items, LiveIndex(), phase=phase, dry_run=True)
    with staging.session() as session:
        if _already_applied(session, marker):
            log.info("%s (%s) of plan %s was applied before; nothing to do", type_name, phase, planned.run_id)
            return TypeResult(type_name, phase)
        known = store.netbox_ids(session, referenced_types(type_name))
    index = build_id_index(planned.plan.items, known)
    result = apply_slice(
        None if dry_run else client, type_name, items, index, phase=phase,
        chunk_size=config.netbox.chunk_size, dry_run=dry_run, owner_tag=planned.owner_tag,
    )
    with staging.session() as session:
        run_id = store.start_run(session, "apply", dagster_run_id=dagster_run_id, source_kind=type_name, instance=marker, dry_run=dry_run)
        store.record_applied(session, run_id, [change.row() for change in result.changes])
        if not dry_run:
            _remember_written(session, run_id, result)
        store.finish_run(session, run_id, "failed" if result.failures else "success", counts=result.counts())
    return result


def _writes_in_phase(item: PlanItem, phase: Phase) -> bool:
    if phase == "delete":
        return item.action == "delete"
    return item.action in ("create", "update") and bool(item.first_pass() if phase == "first" else item.second_pass())


def referenced_types(type_name: str) -> set[str]:
    """The type itself and every type its fields (second-pass ones included) point at."""
    nbtype = TYPES[type_name]
    targets = {type_name, *nbtype.refs.values()}
    for generic in nbtype.generic_refs.values():
        targets.update(generic.targets)
    return targets


def _apply_runs(session, plan_run_id: str) -> list[dict[str, Any]]:
    """The apply runs of one plan (their `instance` is `<plan run>:<type>:<phase>`)."""
    return store.runs_of(session, "apply", plan_run_id + ":")


def _already_applied(session, marker: str) -> bool:
    plan_run_id = marker.split(":", 1)[0]
    return any(run["instance"] == marker and run["status"] == "success" and not run.get("dry_run")
               for run in _apply_runs(session, plan_run_id))


def rejected_in_plan(staging, plan_run_id: str) -> list[dict[str, Any]]:
    """Every object NetBox rejected while this plan was applied."""
    with staging.session() as session:
        return [change for run in _apply_runs(session, plan_run_id)
                for change in store.applied_for_run(session, run["id"]) if change["status"] == "failed"]


def _remember_written(session, run_id: str, result: TypeResult) -> None:
    written, deleted = [], []
    for change in result.changes:
        if change.status != "applied" or change.item is None:
            continue
        item = change.item
        if item.action == "delete":
            deleted.append((item.type, key_text(item.key)))
            continue
        entry = {"object_type": item.type, "natural_key": key_text(item.key), "netbox_id": item.netbox_id,
                 "owned": True, "last_written_run_id": run_id, "last_seen_run_id": run_id,
                 "source_kinds": [f"{kind}:{name}" for kind, name in item.instances]}
        if result.phase == "first":
            entry["last_written"] = jsonable(item.written_fields)
            entry["written_hash"] = item.desired_hash
        written.append(entry)
    if written:
        store.upsert_object_map(session, written)
    if deleted:
        store.delete_object_map(session, deleted)


def record_missing_runs(config: PipelineConfig, staging, planned: PlannedSync) -> int:
    """After a real (not dry) apply: persist each owned object's consecutive-absence count."""
    if planned.dry_run or config.netbox.dry_run:
        return 0
    renames = {(type_name, key_text(old)): key_text(new) for (type_name, old), new in planned.plan.renamed.items()}
    updates = {(type_name, key_text(key)): runs for (type_name, key), runs in planned.plan.next_missing_runs.items()}
    with staging.session() as session:
        store.rename_object_map(session, renames)  # a renamed VM's entries (and its children's) follow it
        return store.set_missing_runs(session, updates)


def empty_instances(staged: dict, inventory: InventoryBuild) -> list[tuple[str, str]]:
    """Instances whose newest pull succeeded with no records although they own NetBox objects.

    A file emptied by mistake looks exactly like a source whose every device was retired; the
    pipeline refuses to guess and blocks the apply until someone looks.
    """
    owned: set[tuple[str, str]] = set()
    for entry in staged.values():
        for text in entry.get("source_kinds") or []:
            kind, _, name = text.partition(":")
            owned.add((kind, name))
    return sorted(
        instance
        for instance, status in inventory.instance_status.items()
        if status == "ok" and instance not in inventory.healthy_instances and instance in owned
    )


def ensure_custom_fields(config: PipelineConfig, client: NetBoxClient | None, planned: PlannedSync) -> list[str]:
    """Create the custom fields the plan writes and NetBox lacks (4.6 rejects unknown keys).

    Fields the pipeline declares (`schema.CUSTOM_FIELDS`, e.g. the Proxmox VMID) get their type;
    keys from inventory files are text fields.
    """
    wanted: dict[str, set[str]] = {}
    for item in planned.plan.items:
        if item.action in ("create", "update"):
            for name in (item.payload_fields.get("custom_fields") or {}):
                wanted.setdefault(name, set()).add(TYPES[item.type].content_type)
    if not wanted or client is None or planned.dry_run or config.netbox.dry_run:
        return []
    existing = {cf["name"]: cf for cf in client.list_all("extras/custom-fields")}
    created = []
    for name, content_types in sorted(wanted.items()):
        declared = CUSTOM_FIELDS.get(name)
        content_types |= set(declared.object_types) if declared else set()
        if name in existing:
            have = set(existing[name].get("object_types") or [])
            if not content_types <= have:
                client.request("PATCH", f"extras/custom-fields/{existing[name]['id']}", json={"object_types": sorted(have | content_types)})
            continue
        client.request("POST", "extras/custom-fields", json={
            "name": name,
            "label": declared.label if declared else name.replace("_", " ").capitalize(),
            "type": declared.type if declared else "text",
            "object_types": sorted(content_types),
            "description": declared.description if declared else f"Set by {planned.owner_tag}",
        })
        created.append(name)
    return created
