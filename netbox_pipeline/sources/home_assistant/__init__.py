"""Home Assistant: its device, area, floor and entity registries over the WebSocket API -> devices.

Each configured HA server is one source instance. `collect.fetch_snapshot` reads every registry
into one plain dict; `normalise.normalise_snapshot` turns it into canonical records without I/O;
`collect_home_assistant` does both and never raises (a failed instance is a failed SourceResult).
"""

from .client import CommandError, HomeAssistantClient, HomeAssistantError
from .collect import COMMANDS, collect_home_assistant, fetch_snapshot, options_from
from .config import HomeAssistantConfig, websocket_url
from .normalise import (
    CUSTOM_FIELDS,
    ID_FIELD,
    SOURCE_KIND,
    VIA_FIELD,
    HomeAssistantOptions,
    Location,
    locations_of,
    normalise_snapshot,
)

__all__ = [
    "COMMANDS", "CUSTOM_FIELDS", "CommandError", "HomeAssistantClient", "HomeAssistantConfig", "HomeAssistantError",
    "HomeAssistantOptions", "ID_FIELD", "Location", "SOURCE_KIND", "VIA_FIELD", "collect_home_assistant",
    "fetch_snapshot", "locations_of", "normalise_snapshot", "options_from", "websocket_url",
]
