"""Drift: managed fields a person changed in NetBox since the pipeline last wrote them.

Compares what the object map says was last written with one live read of NetBox, field by field,
with the same normalisation and rules the plan uses (a tag someone added is not drift).
"""

from typing import Any

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.schema import TYPES
from netbox_pipeline.reconcile.diff import diff_fields
from netbox_pipeline.stages.plan import netbox_client, read_netbox
from netbox_pipeline.staging import store
from netbox_pipeline.values import jsonable


def drift_view(config: PipelineConfig, staging, object_type: str | None = None) -> dict[str, Any]:
    if object_type is not None and object_type not in TYPES:
        raise ValueError(f"unknown object_type {object_type!r}; one of: {', '.join(TYPES)}")
    with staging.session() as session:
        written = store.load_object_map(session, object_type)
    live, _ = read_netbox(netbox_client(config), owner_tag=config.netbox.owner_tag)
    return drift_between(written, live.objects)


def drift_between(written: dict, live_objects: dict) -> dict[str, Any]:
    """Pure: object map entries (what was written) against live objects by type and key text."""
    by_text = {(type_name, key_text(key)): obj for type_name, objects in live_objects.items() for key, obj in objects.items()}
    drifted, gone, checked = [], [], 0
    for (type_name, key), entry in sorted(written.items()):
        last_written = entry.get("last_written")
        if not entry.get("owned", True) or not isinstance(last_written, dict) or type_name not in TYPES:
            continue
        checked += 1
        live = by_text.get((type_name, key))
        if live is None:
            gone.append({"object_type": type_name, "natural_key": key, "netbox_id": entry.get("netbox_id")})
            continue
        found = diff_fields(type_name, last_written, live.fields, last_written)
        if found.drift:
            drifted.append({
                "object_type": type_name, "natural_key": key, "netbox_id": live.id,
                "last_written_run_id": entry.get("last_written_run_id"),
                "fields": {name: {"written": jsonable(w), "live": jsonable(now)} for name, (w, now) in found.drift.items()},
            })
    return {"checked": checked, "drifted": drifted, "missing_in_netbox": gone}
