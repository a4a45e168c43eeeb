"""The registered source kinds: the one list the configuration, assets, schedules and CLI are built from.

Adding a source: write `sources/<kind>.py` ending in `KIND = SourceKind(...)` (see contract.py and
docs/architecture.md) and add its module's name to `REGISTERED`, one line. The order is the default
precedence: when sources disagree on a field, the earlier kind wins unless `precedence:` says otherwise.
"""

from importlib import import_module

from netbox_pipeline.model import CustomField
from netbox_pipeline.sources.contract import SourceKind

# Modules under netbox_pipeline.sources, most trusted first.
REGISTERED: tuple[str, ...] = (
    "filesystem",
    "proxmox",
    "truenas",
    "home_assistant",
    "nmap",
)

SOURCES: dict[str, SourceKind] = {
    kind.kind: kind for kind in (import_module(f"{__name__}.{module}").KIND for module in REGISTERED)
}


def default_precedence() -> dict[str, list[str]]:
    """The merge's precedence when the configuration says nothing: the registered kinds, in order."""
    return {"default": list(SOURCES)}


def declared_custom_fields() -> dict[str, CustomField]:
    return {cf.name: cf for source in SOURCES.values() for cf in source.custom_fields}


def stable_keys() -> dict[str, tuple[str, ...]]:
    """NetBox type -> the rename-proof identity its sources declare (one per type)."""
    return {type_name: fields for source in SOURCES.values() for type_name, fields in source.stable_keys.items()}
