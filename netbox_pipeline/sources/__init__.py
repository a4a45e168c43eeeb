"""The registered source kinds: the one list the configuration, assets, schedules and CLI are built from.

Adding a source: write `sources/<kind>.py` ending in `KIND = SourceKind(...)` (see contract.py and
docs/architecture.md) and add it below. The order is the default precedence: when sources disagree
on a field, the earlier kind wins unless `precedence:` says otherwise.
"""

from netbox_pipeline.model import CustomField
from netbox_pipeline.sources import filesystem, home_assistant, nmap, proxmox, truenas
from netbox_pipeline.sources.contract import SourceKind

SOURCES: dict[str, SourceKind] = {
    source.KIND.kind: source.KIND
    for source in (
        filesystem,
        proxmox,
        truenas,
        home_assistant,
        nmap,
    )
}


def default_precedence() -> dict[str, list[str]]:
    """The merge's precedence when the configuration says nothing: the registered kinds, in order."""
    return {"default": list(SOURCES)}


def declared_custom_fields() -> dict[str, CustomField]:
    return {cf.name: cf for source in SOURCES.values() for cf in source.custom_fields}


def stable_keys() -> dict[str, tuple[str, ...]]:
    """NetBox type -> the rename-proof identity its sources declare (one per type)."""
    return {type_name: fields for source in SOURCES.values() for type_name, fields in source.stable_keys.items()}
