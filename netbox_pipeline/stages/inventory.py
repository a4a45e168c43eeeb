"""Inventory: merge the latest good snapshot of every configured instance, with provenance."""

from dataclasses import dataclass, field
from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.model import Inventory, key_text
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.stages.collect import latest_results
from netbox_pipeline.stages.gc_pause import gc_paused
from netbox_pipeline.staging import store


@dataclass
class InventoryBuild:
    inventory: Inventory
    healthy_instances: set[tuple[str, str]]
    instance_status: dict[tuple[str, str], str]
    history: dict[str, int]
    run_id: str
    # (kind, instance) -> NetBox types its latest good snapshot could not observe.
    unobserved: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)


MAX_STORED_CONFLICTS = 5000


@gc_paused()
def build_inventory(config: PipelineConfig, staging, *, dagster_run_id: str | None = None) -> InventoryBuild:
    """Merge the latest good snapshot of every instance; keep the versioned result."""
    results, status = latest_results(staging, config)
    inventory = merge(results, config.precedence.mapping())
    # An instance may count absences only if its newest pull succeeded and returned records.
    healthy = {(r.source_kind, r.instance) for r in results if r.healthy and status.get((r.source_kind, r.instance)) == "ok"}
    with staging.session() as session:
        # Disagreements between sources, kept so `explain` can say who lost a field and why.
        conflicts = [c.model_dump(mode="json") for c in inventory.conflicts[:MAX_STORED_CONFLICTS]]
        run_id = store.start_run(session, "inventory", dagster_run_id=dagster_run_id, details={"conflicts": conflicts})
        history = store.save_inventory(session, run_id, inventory_items(inventory))
        # Why records joined items other than by their own key; stored once, seen again each run.
        store.save_identity_links(session, run_id, identity_links(inventory))
        store.finish_run(session, run_id, "success", counts={**inventory.counts(), "conflicts": len(inventory.conflicts)})
    unobserved = {(r.source_kind, r.instance): r.unobserved for r in results if r.unobserved}
    return InventoryBuild(inventory, healthy, status, history, run_id, unobserved)


def inventory_items(inventory: Inventory) -> list[dict[str, Any]]:
    items = []
    for record_type, records in (
        ("device", inventory.devices),
        ("virtual_machine", inventory.virtual_machines),
        ("cluster", inventory.clusters),
        ("service", inventory.services),
        ("ip_address", inventory.ip_addresses),
        ("inventory_item", inventory.inventory_items),
    ):
        for record in records:
            fields = record.model_dump(mode="json", exclude={"provenance"}, exclude_none=True)
            provenance = {name: p.model_dump(mode="json") for name, p in record.provenance.items()}
            items.append({"object_type": record_type, "natural_key": key_text(record.key), "fields": fields, "provenance": provenance})
    return items


def identity_links(inventory: Inventory) -> list[dict[str, Any]]:
    """The merge's identity links as staging rows, keyed like `inventory_items` (record type, key)."""
    return [{"object_type": link.record_type, "inventory_natural_key": key_text(link.key),
             "source_kind": link.source_kind, "instance": link.instance, "record_key": link.record_key,
             "reason": link.reason} for link in inventory.links]
