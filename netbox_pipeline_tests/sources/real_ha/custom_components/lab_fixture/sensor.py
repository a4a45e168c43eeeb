"""One "Status" sensor per fixture device, so devices have entities like real ones."""

from homeassistant.components.sensor import SensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import DeviceInfo
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from . import DOMAIN


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry, add: AddEntitiesCallback) -> None:
    add(StatusSensor(device) for device in hass.data[DOMAIN][entry.entry_id])


class StatusSensor(SensorEntity):
    _attr_has_entity_name = True
    _attr_name = "Status"
    _attr_should_poll = False

    def __init__(self, device: dict) -> None:
        self._attr_unique_id = f"{DOMAIN}-{device['id']}-status"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, device["id"])})
        self._attr_native_value = "ok"
