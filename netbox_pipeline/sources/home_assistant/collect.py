"""The I/O half of the Home Assistant source: read the registries into one plain snapshot dict.

A failure to connect, authenticate or read the device registry fails the whole instance (so none
of its devices count as absent). A registry command this HA version does not know (floors before
2024.4, …) costs only what it would have added, with a warning.
"""

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from netbox_pipeline.model import SourceResult
from netbox_pipeline.sources.base import failed_result, scrub
from netbox_pipeline.sources.contract import CollectContext

from .client import CommandError, HomeAssistantClient, HomeAssistantError
from .config import HomeAssistantConfig
from .normalise import SOURCE_KIND, HomeAssistantOptions, normalise_snapshot

# snapshot key -> (command, required): a required command's failure fails the instance.
COMMANDS: dict[str, tuple[str, bool]] = {
    "devices": ("config/device_registry/list", True),
    "areas": ("config/area_registry/list", False),
    "floors": ("config/floor_registry/list", False),
    "config_entries": ("config_entries/get", False),
    "entities": ("config/entity_registry/list", False),
    "config": ("get_config", False),
}


def collect_home_assistant(
    config: HomeAssistantConfig, observed_at: datetime, defaults: Mapping[str, Any] | None = None,
    ca_cert: Path | None = None,
) -> SourceResult:
    """One configured HA instance -> its SourceResult; never raises."""
    defaults = defaults or {}
    token = config.token.get_secret_value()
    if ca_cert is None and config.ca_cert:
        ca_cert = Path(config.ca_cert)
    try:
        with HomeAssistantClient(config.websocket_url, token, where=config.display_url,
                                 verify_ssl=config.verify_ssl, ca_cert=ca_cert, timeout_s=config.timeout_s) as ha:
            snapshot = fetch_snapshot(ha)
    except HomeAssistantError as exc:
        return failed_result(SOURCE_KIND, config.name, scrub(str(exc), token), observed_at=observed_at)
    except Exception as exc:  # a bug or a shape we never saw: still located, still secret-free
        message = f"home assistant {config.display_url}: {type(exc).__name__}: {exc}"
        return failed_result(SOURCE_KIND, config.name, scrub(message, token), observed_at=observed_at)
    return normalise_snapshot(snapshot, options_from(config, defaults), instance=config.name,
                              observed_at=observed_at, base_url=config.display_url)


def options_from(config: HomeAssistantConfig, defaults: Mapping[str, Any]) -> HomeAssistantOptions:
    return HomeAssistantOptions(
        site=config.site, default_site=defaults.get("site"),
        role=config.role or defaults.get("device_role"), role_map=dict(config.role_map),
        manufacturer_aliases=dict(config.manufacturer_aliases), skip_domains=frozenset(config.skip_domains),
        skip_virtual=config.skip_virtual, include_disabled=config.include_disabled, tags=tuple(config.tags),
    )


def fetch_snapshot(ha: HomeAssistantClient) -> dict[str, Any]:
    """Every registry the mapping needs, as one plain dict; see normalise_snapshot for its use."""
    snapshot: dict[str, Any] = {"ha_version": ha.ha_version, "warnings": []}
    for key, (command, required) in COMMANDS.items():
        try:
            snapshot[key] = ha.call(command)
        except CommandError as exc:
            if required:
                raise HomeAssistantError(f"home assistant {ha.where} {command}: {exc.code}: {exc.message}") from exc
            snapshot[key] = None
            what = "unknown to" if exc.code == "unknown_command" else f"refused ({exc.code}: {exc.message}) by"
            snapshot["warnings"].append(
                f"home assistant {ha.where}: {command} is {what} Home Assistant {ha.ha_version or '?'}; "
                f"synced without {key.replace('_', ' ')}")
    if not isinstance(snapshot["devices"], list):
        raise HomeAssistantError(f"home assistant {ha.where} config/device_registry/list: expected a list, "
                                 f"got {type(snapshot['devices']).__name__}")
    return snapshot


def collect(instance: HomeAssistantConfig, context: CollectContext) -> SourceResult:
    """The source contract's collector: `ca_cert` is relative to the configuration file."""
    ca_cert = context.resolve_path(instance.ca_cert) if instance.ca_cert else None
    return collect_home_assistant(instance, context.observed_at, context.defaults, ca_cert=ca_cert)
