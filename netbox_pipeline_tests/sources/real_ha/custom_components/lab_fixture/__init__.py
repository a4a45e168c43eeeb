"""A test-only integration: puts the devices listed in <config>/lab_devices.json into the registry.

The test harness copies this package once per integration domain it wants (lab_network,
lab_zigbee, ...), rewriting the manifest's domain, so devices belong to config entries of several
domains as they would with real integrations. Each device is created the way integrations do it
(`device_registry.async_get_or_create`), with manufacturer, model, versions, serial, suggested
area, configuration URL, connections, via_device and entry_type; one sensor entity per device.
"""

import json
from pathlib import Path

from homeassistant.config_entries import SOURCE_IMPORT, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr

DOMAIN = __name__.rsplit(".", 1)[-1]
CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)


def devices_of(hass: HomeAssistant) -> list[dict]:
    path = Path(hass.config.path("lab_devices.json"))
    return json.loads(path.read_text()).get(DOMAIN, []) if path.is_file() else []


async def async_setup(hass: HomeAssistant, config: dict) -> bool:
    if DOMAIN in config and not hass.config_entries.async_entries(DOMAIN):
        hass.async_create_task(
            hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_IMPORT}, data={})
        )
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    registry = dr.async_get(hass)
    devices = await hass.async_add_executor_job(devices_of, hass)
    for device in devices:
        via = device.get("via")
        registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, device["id"])},
            name=device.get("name"),
            manufacturer=device.get("manufacturer"),
            model=device.get("model"),
            sw_version=device.get("sw_version"),
            hw_version=device.get("hw_version"),
            serial_number=device.get("serial_number"),
            suggested_area=device.get("area"),
            configuration_url=device.get("configuration_url"),
            connections={tuple(c) for c in device.get("connections", [])},
            via_device=tuple(via) if via else None,
            entry_type=dr.DeviceEntryType.SERVICE if device.get("service") else None,
        )
    hass.data.setdefault(DOMAIN, {})[entry.entry_id] = devices
    await hass.config_entries.async_forward_entry_setups(entry, ["sensor"])
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    return await hass.config_entries.async_unload_platforms(entry, ["sensor"])


async def async_remove_config_entry_device(hass: HomeAssistant, entry: ConfigEntry, device: dr.DeviceEntry) -> bool:
    """Allow `config/device_registry/remove_config_entry` (the UI's "delete device")."""
    return True
