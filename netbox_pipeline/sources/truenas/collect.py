"""One configured TrueNAS host -> its SourceResult (the imperative shell around fetch + normalise)."""

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from netbox_pipeline.model import SourceResult
from netbox_pipeline.sources.base import failed_result, scrub
from netbox_pipeline.sources.contract import CollectContext

from .client import TrueNASClient, TrueNASError
from .config import TrueNASConfig
from .fetch import fetch_snapshot
from .normalise import SOURCE_KIND, TrueNASOptions, normalise_snapshot


def collect_truenas(
    config: TrueNASConfig, observed_at: datetime, defaults: Mapping[str, Any] | None = None,
    ca_cert: Path | None = None,
) -> SourceResult:
    """Never raises: a NAS that cannot be read is a failed instance (and nothing of it is pruned)."""
    secret = config.api_key.get_secret_value() if config.api_key is not None else ""
    try:
        with TrueNASClient(config, ca_cert) as client:
            snapshot = fetch_snapshot(client)
    except TrueNASError as exc:
        return failed_result(SOURCE_KIND, config.name, scrub(str(exc), secret), observed_at=observed_at)
    except Exception as exc:  # a bug or an answer of a shape nobody expected: still located, still secret-free
        message = f"truenas {config.name} ({config.where}): {type(exc).__name__}: {exc}"
        return failed_result(SOURCE_KIND, config.name, scrub(message, secret), observed_at=observed_at)
    return normalise_snapshot(snapshot, options_from(config, defaults or {}), instance=config.name,
                              observed_at=observed_at, base_url=config.url)


def options_from(config: TrueNASConfig, defaults: Mapping[str, Any]) -> TrueNASOptions:
    vm_role = config.vm_role or defaults.get("vm_role")
    return TrueNASOptions(
        site=config.site or defaults.get("site"), role=config.role or defaults.get("device_role"),
        manufacturer=config.manufacturer or defaults.get("manufacturer"),
        device_type=config.device_type or defaults.get("device_type"), vm_role=vm_role,
        container_role=config.container_role or vm_role, cluster_type=config.cluster_type,
    )


def collect(instance: TrueNASConfig, context: CollectContext) -> SourceResult:
    """The registered collector: `ca_cert` is relative to the configuration file."""
    ca_cert = context.resolve_path(instance.ca_cert) if instance.ca_cert else None
    return collect_truenas(instance, context.observed_at, context.defaults, ca_cert=ca_cert)
