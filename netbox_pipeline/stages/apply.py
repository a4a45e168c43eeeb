"""Apply: write one NetBox type's slice of a stored plan, in one phase, once.

Each call loads only what its slice needs from the staging DB: the type's plan items, and the
keys and ids of the types they reference. A slice with nothing to write touches neither NetBox
nor the staging DB beyond one indexed query.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.apply import GONE, Phase, TypeResult, apply_slice, create_settled, index_ids
from netbox_pipeline.netbox.client import NetBoxClient
from netbox_pipeline.netbox.items import PlanItem
from netbox_pipeline.netbox.schema import TYPES, LiveIndex
from netbox_pipeline.staging import store
from netbox_pipeline.values import decode_exact, jsonable

log = logging.getLogger(__name__)


def plan_to_apply(staging, dagster_run_id: str | None) -> tuple[str, bool]:
    """(plan run id, dry run) of the plan a Dagster run made, else of the newest plan.

    Raises LookupError when no plan was ever made (a NetBox asset materialised on its own first).
    """
    with staging.session() as session:
        run_id = (store.plan_run_of_dagster_run(session, dagster_run_id) if dagster_run_id else None) \
            or store.latest_plan_run_id(session)
        if run_id is None:
            raise LookupError("no sync plan exists yet: materialise sync_plan (or run `netbox-pipeline sync`) first")
        return run_id, bool(store.get_run(session, run_id)["dry_run"])


def plan_totals(staging, plan_run_id: str) -> dict[str, int]:
    with staging.session() as session:
        return dict(store.get_run(session, plan_run_id).get("counts") or {})


def apply_type(
    config: PipelineConfig,
    staging,
    client: NetBoxClient | None,
    plan_run_id: str,
    type_name: str,
    phase: Phase,
    *,
    dry_run: bool = False,
    dagster_run_id: str | None = None,
) -> TypeResult:
    """Apply one type's slice of the plan once; a slice already applied is a no-op."""
    dry_run = dry_run or config.netbox.dry_run
    with staging.session() as session:
        if not store.plan_writes(session, plan_run_id, type_name, phase):
            return _nothing_to_write(session, plan_run_id, type_name, phase)
        if _already_applied(session, plan_run_id, type_name, phase):
            log.info("%s (%s) of plan %s was applied before; nothing to do", type_name, phase, plan_run_id)
            return TypeResult(type_name, phase)
        items = [PlanItem.from_stored(stored) for stored in store.plan_slice(session, plan_run_id, type_name)]
        index = _id_index(session, plan_run_id, type_name, items)
    result = apply_slice(
        None if dry_run else client, type_name, items, index, phase=phase,
        chunk_size=config.netbox.chunk_size, dry_run=dry_run, owner_tag=config.netbox.owner_tag,
    )
    with staging.session() as session:
        run_id = store.start_run(session, "apply", dagster_run_id=dagster_run_id, dry_run=dry_run,
                                 plan_run_id=plan_run_id, object_type=type_name, phase=phase)
        store.record_applied(session, run_id, [change.row() for change in result.changes])
        if not dry_run:
            _remember_written(session, run_id, result)
        store.finish_run(session, run_id, "failed" if result.failures else "success", counts=result.counts())
    return result


def _nothing_to_write(session, plan_run_id: str, type_name: str, phase: Phase) -> TypeResult:
    result = TypeResult(type_name, phase)
    if phase == "first":  # counted once per sync, as apply_slice does
        counts = store.plan_action_counts(session, plan_run_id, type_name)
        result.unchanged = counts.get("unchanged", 0)
        result.skipped = counts.get("skip", 0) + counts.get("orphan", 0)
    return result


def _id_index(session, plan_run_id: str, type_name: str, items: list[PlanItem]) -> LiveIndex:
    """Ids of this slice and of every type its fields point at: from the plan, else the object map."""
    referenced = referenced_types(type_name)
    known = store.netbox_ids(session, referenced)
    entries = [(item.type, item.key, item.netbox_id) for item in items if item.duplicate_of is None]
    entries += [(t, decode_exact(key), netbox_id)
                for t, key, netbox_id in store.plan_keys(session, plan_run_id, referenced - {type_name})]
    return index_ids(entries, known)


def referenced_types(type_name: str) -> set[str]:
    """The type itself and every type its fields (second-pass ones included) point at."""
    nbtype = TYPES[type_name]
    targets = {type_name, *nbtype.refs.values(), *nbtype.ref_lists.values()}
    for generic in nbtype.generic_refs.values():
        targets.update(generic.targets)
    for listed in nbtype.generic_ref_lists.values():
        targets.update(listed)
    return targets


def _already_applied(session, plan_run_id: str, type_name: str, phase: Phase) -> bool:
    return any(run["object_type"] == type_name and run["phase"] == phase and run["status"] == "success"
               and not run.get("dry_run") for run in store.apply_runs(session, plan_run_id))


def rejected_in_plan(staging, plan_run_id: str) -> list[dict[str, Any]]:
    """Every object NetBox rejected while this plan was applied."""
    with staging.session() as session:
        return [change for run in store.apply_runs(session, plan_run_id)
                for change in store.applied_for_run(session, run["id"]) if change["status"] == "failed"]


def _remember_written(session, run_id: str, result: TypeResult) -> None:
    written, deleted, repointed = [], [], {}
    for change in result.changes:
        # A delete NetBox had already done (someone else deleted the object) counts like ours.
        done = change.status == "applied" or change.error == GONE
        if not done or change.item is None:
            continue
        item = change.item
        if item.duplicate_of is not None:  # the key (and its entry) stays with the copy kept
            repointed[(item.type, key_text(item.key))] = (item.netbox_id, item.duplicate_of)
            continue
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
    if repointed:
        store.repoint_object_map(session, repointed)


@dataclass
class CustomFieldSetup:
    """What bootstrapping the plan's custom fields did, and what a person should know about it."""

    created: list[str] = field(default_factory=list)
    type_conflicts: list[str] = field(default_factory=list)  # one sentence per field NetBox types differently


def type_conflicts(declared: dict[str, Any], existing: dict[str, dict], names) -> list[str]:
    """Fields the pipeline writes that NetBox already has with another type than they are declared with.

    The pipeline never changes the type of a field it did not create (that would convert or drop a
    person's data); it says so, because NetBox will refuse values of the declared type.
    """
    conflicts = []
    for name in sorted(names):
        if name not in existing or name not in declared:
            continue
        have = existing[name].get("type")
        have = have.get("value") if isinstance(have, dict) else have
        if have and have != declared[name].type:
            conflicts.append(
                f"custom field {name!r} is declared as {declared[name].type} but NetBox has it as {have}: NetBox may "
                f"refuse its values; change the field's type in NetBox or the declaration under custom_fields")
    return conflicts


def ensure_custom_fields(config: PipelineConfig, staging, client: NetBoxClient | None, plan_run_id: str,
                         *, dry_run: bool = False) -> CustomFieldSetup:
    """Create the custom fields the plan writes and NetBox lacks (4.6 rejects unknown keys).

    Each gets the type it is declared with: by its source (`SourceKind.custom_fields`, e.g. the
    Proxmox VMID) or in the configuration's `custom_fields:` (the only ones inventory files may set).
    """
    with staging.session() as session:
        wanted = (store.get_run(session, plan_run_id).get("details") or {}).get("custom_fields") or {}
    if not wanted or client is None or dry_run or config.netbox.dry_run:
        return CustomFieldSetup()
    declared_fields = config.custom_field_specs()
    existing = {cf["name"]: cf for cf in client.list_all("extras/custom-fields")}
    setup = CustomFieldSetup(type_conflicts=type_conflicts(declared_fields, existing, wanted))
    created = setup.created
    for name, types in sorted(wanted.items()):
        declared = declared_fields.get(name)
        content_types = set(types) | (set(declared.object_types) if declared else set())
        if name in existing:
            have = set(existing[name].get("object_types") or [])
            if not content_types <= have:
                client.request("PATCH", f"extras/custom-fields/{existing[name]['id']}", json={"object_types": sorted(have | content_types)})
            continue
        create_settled(client, "extras/custom-fields", {
            "name": name,
            "label": declared.label if declared else name.replace("_", " ").capitalize(),
            "type": declared.type if declared else "text",
            "object_types": sorted(content_types),
            "description": declared.description if declared else f"Set by {config.netbox.owner_tag}",
        }, content_type="extras.customfield")
        created.append(name)
    return setup
