"""Home Assistant: its device, area, floor and entity registries over the WebSocket API -> devices.

Each configured HA server is one source instance. `collect.fetch_snapshot` reads every registry
into one plain dict; `normalise.normalise_snapshot` turns it into canonical records without I/O;
`collect_home_assistant` does both and never raises (a failed instance is a failed SourceResult).
"""

from netbox_pipeline.model import CustomField
from netbox_pipeline.sources.contract import SourceKind

from .client import CommandError, HomeAssistantClient, HomeAssistantError
from .collect import COMMANDS, collect, collect_home_assistant, fetch_snapshot, options_from
from .config import HomeAssistantConfig, websocket_url
from .normalise import (
    HW_VERSION_FIELD,
    ID_FIELD,
    SOURCE_KIND,
    SW_VERSION_FIELD,
    VIA_FIELD,
    HomeAssistantOptions,
    normalise_snapshot,
)

__all__ = [
    "COMMANDS", "CommandError", "HomeAssistantClient", "HomeAssistantConfig", "HomeAssistantError",
    "HomeAssistantOptions", "ID_FIELD", "KIND", "SOURCE_KIND", "VIA_FIELD", "collect_home_assistant",
    "fetch_snapshot", "normalise_snapshot", "options_from", "websocket_url",
]

_DEVICE = ("dcim.device",)

KIND = SourceKind(
    kind=SOURCE_KIND,
    asset_name="home_assistant_devices",
    description="Home Assistant: the device registry (with areas and floors) of each HA server",
    config_model=HomeAssistantConfig,
    collect=collect,
    default_cron="15 * * * *",
    custom_fields=(
        CustomField(ID_FIELD, "text", _DEVICE, "Home Assistant device id",
                    "The device's id in the Home Assistant device registry (identity across renames)"),
        CustomField(VIA_FIELD, "text", _DEVICE, "Connected via",
                    "The device Home Assistant reaches this one through (a hub, coordinator or bridge)"),
        CustomField(SW_VERSION_FIELD, "text", _DEVICE, "Firmware version", "Software or firmware version"),
        CustomField(HW_VERSION_FIELD, "text", _DEVICE, "Hardware version", "Hardware revision"),
    ),
    stable_keys={"devices": ("site", f"custom_fields.{ID_FIELD}")},
)
