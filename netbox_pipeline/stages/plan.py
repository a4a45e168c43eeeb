"""Plan: read NetBox, diff it with the desired objects, and store the plan for the NetBox steps.

The plan is stored item by item with everything apply needs (`PlanItem.to_stored`), so each
NetBox step loads only its own type's slice. A real (not dry) plan that no blocking check stops
also records each owned object's consecutive-absence count and follows renames in the object map
here, so a sync in which NetBox rejects an object still counts absences toward grace deletion.
"""

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.model import Inventory, key_text
from netbox_pipeline.netbox.client import NetBoxClient
from netbox_pipeline.netbox.items import PlanItem
from netbox_pipeline.netbox.schema import TYPES, LiveState, build_live, read_params
from netbox_pipeline.reconcile.desired import DesiredObjects, Problem, desired_objects
from netbox_pipeline.reconcile.duplicates import duplicate_referrers
from netbox_pipeline.reconcile.plan import (
    Plan,
    SyncPolicy,
    blocking,
    build_plan,
    duplicate_removals,
    exclude_rejected,
    validate_plan,
)
from netbox_pipeline.sources import stable_keys
from netbox_pipeline.stages.gc_pause import gc_paused
from netbox_pipeline.stages.inventory import InventoryBuild
from netbox_pipeline.staging import store
from netbox_pipeline.values import jsonable


FINDINGS_KEPT = 200  # duplicate findings stored with a plan (the count is always whole)


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
        server_timeout_s=config.netbox.server_timeout_s,
    )


@gc_paused()
def read_netbox(client: NetBoxClient, *, owner_tag: str) -> tuple[LiveState, dict[str, int]]:
    """One paginated read per managed type of only the fields the plan compares.

    The types are independent reads, so they run `max_parallel` at a time; the live state is then
    built in dependency order (a reference resolves through the types read before it).
    """
    with ThreadPoolExecutor(max_workers=client.max_parallel) as pool:
        pages = pool.map(lambda t: client.list_all(t.endpoint, read_params(t)), TYPES.values())
        raw = dict(zip(TYPES, pages, strict=True))
    live = build_live(raw, owner_tag=owner_tag)
    if live.duplicates:  # who points at each copy, from this same read: whether one may go
        live.referrers = duplicate_referrers(raw, live)
    return live, {name: len(objects) for name, objects in raw.items()}


class NetBoxReading:
    """`read_netbox` started in a thread of its own, so the inventory is merged while NetBox answers.

    Reading is mostly waiting for NetBox and merging is CPU work, so on a no-op rerun the merge
    (and the desired state) costs next to nothing beside the reads. Nothing is raised here: a
    configuration without a NetBox URL raises from `client()`, a failed read from `result()`,
    where the caller would have made the client and read NetBox itself. A read nobody waits for
    (the merge failed) runs to its end in the background and is dropped.
    """

    def __init__(self, config: PipelineConfig):
        self._client: NetBoxClient | None = None
        self._client_error: ValueError | None = None
        self._read: Future | None = None
        try:
            self._client = netbox_client(config)
        except ValueError as exc:
            self._client_error = exc
            return
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netbox-read")
        self._read = pool.submit(read_netbox, self._client, owner_tag=config.netbox.owner_tag)
        pool.shutdown(wait=False)

    def client(self) -> NetBoxClient:
        if self._client is None:
            raise self._client_error or ValueError("no NetBox client")
        return self._client

    def result(self) -> tuple[LiveState, dict[str, int]]:
        """The live state and the objects read per type, once the read is done."""
        self.client()
        return self._read.result()


def sync_policy(config: PipelineConfig) -> SyncPolicy:
    adopt = config.netbox.adopt
    return SyncPolicy(
        adopt=adopt if isinstance(adopt, bool) else frozenset(adopt),
        drift_policy=config.netbox.drift_policy,
        grace_runs=config.deletion.grace_runs,
        deletion_mode=config.deletion.mode,
        max_delete_ratio=config.deletion.max_ratio,
        owner_tag=config.netbox.owner_tag,
        stable_keys=stable_keys(),
    )


@dataclass
class PlanOutcome:
    """A stored plan, and what the planning step reports about it."""

    plan: Plan
    problems: list[Problem]
    run_id: str
    dry_run: bool
    emptied_instances: list[tuple[str, str]] = field(default_factory=list)
    max_delete_ratio: float = 0.1
    # A confirmed sync (the MCP `sync` tool) names the hash of the plan it previewed; any other plan is refused.
    expected_hash: str | None = None
    plan_hash: str | None = None

    @property
    def confirmation_ok(self) -> bool:
        return self.expected_hash is None or self.expected_hash == self.plan_hash
    lease_wait_s: float = 0.0  # how long this run waited for another run's NetBox writes

    @property
    def blocking_problems(self) -> list[Problem]:
        return blocking(self.problems)

    @property
    def excluded(self) -> list[Problem]:
        """Errors handled by leaving the offending objects out: reported, not blocking."""
        return [p for p in self.problems if p.severity == "excluded"]

    @property
    def deletion_guard_ok(self) -> bool:
        return self.plan.deletion_guard_ok(self.max_delete_ratio)

    @property
    def blocked(self) -> bool:
        """A blocking check fails: the NetBox steps will not run for this plan."""
        return bool(self.blocking_problems or self.emptied_instances or not self.deletion_guard_ok
                    or not self.confirmation_ok)


@gc_paused()
def desired_for(config: PipelineConfig, inventory: Inventory) -> DesiredObjects:
    """The NetBox objects an inventory implies, with the configuration's owner tag and defaults
    (all of them: `resolve_defaults` takes those that are build fallbacks)."""
    return desired_objects(inventory, owner_tag=config.netbox.owner_tag, defaults=config.defaults.model_dump())


@gc_paused()
def make_plan(
    config: PipelineConfig, staging, inventory: InventoryBuild, live: LiveState, *, dagster_run_id: str | None = None,
    expected_hash: str | None = None,
    lease_wait_s: float = 0.0,
    desired: DesiredObjects | None = None,
) -> PlanOutcome:
    """`desired`: `desired_for(config, inventory.inventory)` when the caller made it already
    (the planning step does, while NetBox is being read)."""
    policy = sync_policy(config)
    if desired is None:
        desired = desired_for(config, inventory.inventory)
    with staging.session() as session:
        staged = store.load_object_map(session)
    plan = build_plan(desired, live, object_map=_object_map_for_plan(staged, desired, live),
                      healthy_instances=inventory.healthy_instances, policy=policy,
                      unobserved=inventory.unobserved)
    dry_run = config.netbox.dry_run
    # What NetBox would reject is left out with a located error; everything else is written.
    problems = exclude_rejected(plan, desired, validate_plan(plan, desired))
    outcome = PlanOutcome(plan, problems, "", dry_run, empty_instances(staged, inventory),
                          policy.max_delete_ratio, expected_hash, lease_wait_s=lease_wait_s)
    with staging.session() as session:
        outcome.run_id = store.start_run(session, "plan", dagster_run_id=dagster_run_id, dry_run=dry_run,
                                         details={"custom_fields": wanted_custom_fields(plan.items),
                                                  "instances": sorted(f"{k}:{n}" for k, n in inventory.healthy_instances),
                                                  "lease_wait_s": round(lease_wait_s, 3),
                                                  "drift": sum(1 for item in plan.items if item.drift),
                                                  "live_duplicates": len(plan.live_duplicates),
                                                  "duplicates_removed": len(duplicate_removals(plan)),
                                                  "duplicates_unresolved": len(plan.duplicate_findings),
                                                  "duplicate_findings": [f.message for f in plan.duplicate_findings[:FINDINGS_KEPT]]})
        store.save_plan(session, outcome.run_id, [plan_row(item) for item in plan.items])
        if expected_hash is not None:
            outcome.plan_hash = plan_hash(store.plan_for_run(session, outcome.run_id))
        if not dry_run and not outcome.blocked:
            _record_absences(session, plan, staged)
        store.finish_run(session, outcome.run_id, "success", counts=plan.totals())
    return outcome


def plan_hash(rows: list[dict[str, Any]]) -> str:
    """What a plan would do, as one hash: every stored item's decision and payload, in key order.

    Run ids, row ids and times are left out, so two plans of the same state hash alike, and a
    plan confirmed from a preview can be recognised when a later run computes it again.
    """
    fields = ("object_type", "natural_key", "action", "netbox_id", "changes", "desired", "reason", "item")
    decisions = sorted(([row.get(name) for name in fields] for row in rows), key=lambda r: (r[0], r[1], r[2]))
    return store.content_hash(decisions)


def _record_absences(session, plan: Plan, staged: dict) -> None:
    """Renames, and the absence counts that change (`staged`: the object map the plan was made from).

    A count equal to the stored one is not written: on a no-op every owned object would be
    rewritten with the 0 it already holds. A renamed entry is compared under its new key, where
    `staged` holds it only if an entry already sat there, and that one stays.
    """
    renames = {(type_name, key_text(old)): key_text(new) for (type_name, old), new in plan.renamed.items()}
    updates = {}
    for (type_name, key), runs in plan.next_missing_runs.items():
        text = key_text(key)
        entry = staged.get((type_name, text))
        if entry is None or (entry.get("missing_runs") or 0) != runs:
            updates[(type_name, text)] = runs
    store.rename_object_map(session, renames)  # a renamed VM's entries (and its children's) follow it
    store.set_missing_runs(session, updates)


def wanted_custom_fields(items: list[PlanItem]) -> dict[str, list[str]]:
    """Custom field name -> content types the plan writes it on (NetBox 4.6 rejects unknown keys)."""
    wanted: dict[str, set[str]] = {}
    for item in items:
        if item.action in ("create", "update"):
            for name in (item.payload_fields.get("custom_fields") or {}):
                wanted.setdefault(name, set()).add(TYPES[item.type].content_type)
    return {name: sorted(types) for name, types in sorted(wanted.items())}


def plan_row(item: PlanItem) -> dict[str, Any]:
    row = item.row()
    writes = item.action in ("create", "update")
    return {
        "object_type": item.type,
        "natural_key": row["key"],
        "action": item.action,
        "netbox_id": item.netbox_id,
        "changes": row["changes"] or None,
        "desired": jsonable(item.payload_fields) or None,
        "reason": item.reason or None,
        "item": item.to_stored(),
        "writes_first": writes and bool(item.first_pass()),
        "writes_second": writes and bool(item.second_pass()),
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
