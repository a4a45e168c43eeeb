"""A Home Assistant look-alike (REST + WebSocket, ws or wss) on loopback, for the demo and the tests.

    from netbox_pipeline.sandbox.home_assistant import HomeAssistantSandbox
    with HomeAssistantSandbox(token="t0ken") as ha:
        ...  # point the source at ha.url with that token
"""

from .estate import HA_VERSION, NEWER_HA_VERSION, DeviceSpec, Estate, demo_estate, fixture_devices
from .server import DEFAULT_TOKEN, CommandLogEntry, HomeAssistantSandbox

__all__ = ["DEFAULT_TOKEN", "HA_VERSION", "NEWER_HA_VERSION", "CommandLogEntry", "DeviceSpec", "Estate",
           "HomeAssistantSandbox", "demo_estate", "fixture_devices"]
