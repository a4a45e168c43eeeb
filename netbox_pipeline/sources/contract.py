"""The source contract: what a source module declares so the rest of the pipeline can use it.

A source is one module under `sources/` that defines, at its end, `KIND = SourceKind(...)`:
its configuration model (one list entry under `sources.<kind>:`), its collector (fetch and
normalise, no Dagster), the Dagster asset name and the schedule it gets when none is configured.
`sources/__init__.py` lists the kinds; configuration, assets, schedules and the CLI are built
from that list, so a source is one module plus one registration line.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from netbox_pipeline.model import CustomField, SourceResult

INSTANCE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class InstanceConfig(BaseModel):
    """One configured instance of a source kind; unknown keys are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # timeout_s: 1e400 is a typo

    name: str = Field(pattern=INSTANCE_NAME, description="Instance name; unique within its kind")


@dataclass(frozen=True)
class CollectContext:
    """What a collector may know of the rest of the configuration."""

    observed_at: datetime
    # `defaults:` of the configuration (site, device_role, manufacturer, ...), as plain values.
    defaults: Mapping[str, Any]
    # Resolves a path written in the configuration file relative to that file.
    resolve_path: Callable[[str], Path]
    # Custom field name -> NetBox type, for every field a record may set: those `custom_fields:`
    # of the configuration declares and those the sources define (SourceKind.custom_fields).
    custom_fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceKind:
    kind: str
    asset_name: str
    description: str
    config_model: type[InstanceConfig]
    # Never raises for a problem of the source: a failed pull is a failed SourceResult.
    collect: Callable[[Any, CollectContext], SourceResult]
    # The schedule a kind gets when `schedules:` does not name it (stopped until enabled).
    default_cron: str = "0 * * * *"
    # Custom fields this source's records carry, created in NetBox with their type when missing.
    custom_fields: tuple[CustomField, ...] = ()
    # NetBox type -> fields that identify an object across a rename ("custom_fields.<name>" for a
    # custom field), e.g. {"virtual_machines": ("cluster", "custom_fields.proxmox_vmid")}.
    stable_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
