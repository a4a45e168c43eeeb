"""Which collector serves which source kind, and the Dagster asset name it appears under.

Adding a source: write its module (fetch + normalise → SourceResult) and add one line here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.sources.base import SourceResult


@dataclass(frozen=True)
class SourceKind:
    kind: str
    asset_name: str
    description: str
    collect: Callable[[PipelineConfig, object, datetime], SourceResult]
    # The schedule a kind gets when `schedules:` does not name it (stopped until enabled).
    default_cron: str = "0 * * * *"


def _collect_filesystem(config: PipelineConfig, instance, observed_at: datetime) -> SourceResult:
    from netbox_pipeline.sources.filesystem import read_inventory_file

    return read_inventory_file(
        config.resolve_path(instance.path), instance.name, observed_at=observed_at, defaults=config.defaults.model_dump()
    )


def _collect_nmap(config: PipelineConfig, instance, observed_at: datetime) -> SourceResult:
    from netbox_pipeline.sources.nmap import collect_nmap

    return collect_nmap(instance, observed_at, defaults=config.defaults.model_dump())


def _collect_proxmox(config: PipelineConfig, instance, observed_at: datetime) -> SourceResult:
    from netbox_pipeline.sources.proxmox import collect_proxmox

    ca_cert = config.resolve_path(instance.ca_cert) if instance.ca_cert else None
    return collect_proxmox(instance, observed_at=observed_at, defaults=config.defaults.model_dump(), ca_cert=ca_cert)


SOURCES: dict[str, SourceKind] = {
    "filesystem": SourceKind("filesystem", "filesystem_inventory", "Hand-kept inventory files (YAML, JSON, CSV)", _collect_filesystem, "*/15 * * * *"),
    "nmap": SourceKind("nmap", "nmap_scan", "Network discovery with nmap: live IPs, MACs and vendors, services, OS guesses", _collect_nmap),
    "proxmox": SourceKind("proxmox", "proxmox_inventory", "Proxmox VE clusters: nodes, VMs and containers", _collect_proxmox),
}
