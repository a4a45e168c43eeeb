"""The stand-in's estate: a homelab's Home Assistant registries, and how each HA version renders them.

Devices are declared once (`DeviceSpec`) and used twice: rendered here as the registry answers of
the stand-in, and written as fixture data for the real Home Assistant of the tests, which creates
them through its own device registry. The contract tests compare the two.
"""

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

# The release whose answers the stand-in reproduces by default (the one the real-HA tests run),
# and a newer dialect with floors, labels, model_id and primary_config_entry (HA 2024.4 … 2025).
HA_VERSION = "2024.3.3"
NEWER_HA_VERSION = "2025.1.4"


@dataclass
class DeviceSpec:
    key: str  # the integration's own identifier for the device
    domain: str  # the integration (config entry domain)
    name: str | None
    manufacturer: str | None = None
    model: str | None = None
    model_id: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None
    serial_number: str | None = None
    area: str | None = None  # area name (HA derives the area_id from it)
    configuration_url: str | None = None
    connections: list[tuple[str, str]] = field(default_factory=list)
    via: str | None = None  # key of the parent device
    service: bool = False
    name_by_user: str | None = None
    disabled_by: str | None = None


@dataclass
class Estate:
    location_name: str = "Lab Home"
    floors: dict[str, tuple[str, int]] = field(default_factory=dict)  # floor_id -> (name, level)
    areas: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # area_id -> (name, floor_id)
    devices: dict[str, DeviceSpec] = field(default_factory=dict)  # by key

    def area_id(self, name: str | None) -> str | None:
        if not name:
            return None
        for area_id, (area_name, _) in self.areas.items():
            if area_name == name:
                return area_id
        return slug(name)

    def domains(self) -> list[str]:
        return sorted({d.domain for d in self.devices.values()})


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def registry_id(*parts: str) -> str:
    """A stable 32-hex id like HA's (uuid4().hex there; derived here so runs are reproducible)."""
    return hashlib.md5(":".join(parts).encode()).hexdigest()


def device_id(spec: DeviceSpec) -> str:
    return registry_id("device", spec.domain, spec.key)


def entry_id(domain: str) -> str:
    return registry_id("entry", domain)


def demo_estate() -> Estate:
    """A realistic homelab: network gear, a camera, a printer, a UPS, plugs, Zigbee, Bluetooth, services."""
    estate = Estate(
        floors={"basement": ("Basement", -1), "ground_floor": ("Ground Floor", 0), "first_floor": ("First Floor", 1)},
        areas={"network_closet": ("Network Closet", "basement"), "living_room": ("Living Room", "ground_floor"),
               "kitchen": ("Kitchen", "ground_floor"), "garage": ("Garage", "ground_floor"),
               "office": ("Office", "first_floor"), "bedroom": ("Bedroom", "first_floor")},
    )
    for spec in DEMO_DEVICES:
        estate.devices[spec.key] = replace(spec, connections=list(spec.connections))
    return estate


DEMO_DEVICES = (
    DeviceSpec("usw-lite-8", "unifi", "Closet Switch", "Ubiquiti Inc.", "USW-Lite-8-PoE", "USL8LP", "6.6.61",
               area="Network Closet", configuration_url="http://192.168.10.2/",
               connections=[("mac", "24:5a:4c:10:20:30")]),
    DeviceSpec("u6-lite", "unifi", "Living Room AP", "Ubiquiti Inc.", "U6 Lite", "UAL6", "6.6.77", area="Living Room",
               configuration_url="http://192.168.10.3/", connections=[("mac", "24:5a:4c:10:20:31")], via="usw-lite-8"),
    DeviceSpec("rlc-810a", "reolink", "Driveway Camera", "Reolink", "RLC-810A", None, "v3.1.0.956_22041503",
               "IPC_523128M8MP", "192168150012", "Garage", "http://192.168.10.50",
               [("mac", "ec:71:db:aa:bb:01")]),
    DeviceSpec("hl-l2350dw", "ipp", "Office Printer", "Brother", "HL-L2350DW series", None, "1.71", None,
               "E78254K1N123456", "Office", "http://192.168.10.60/"),
    DeviceSpec("ups", "nut", "Rack UPS", "American Power Conversion", "Back-UPS ES 700G", None, "871.O2 .I", None,
               "5B1234T56789", "Network Closet"),
    DeviceSpec("plug-desk", "tplink", "Desk Plug", "TP-Link", "KP115(EU)", None, "1.0.16 Build 210205 Rel.163735",
               "1.0", None, "Office", None, [("mac", "50:91:e3:00:00:01")]),
    DeviceSpec("plug-tv", "tplink", "TV Plug", "TP-Link", "KP115(EU)", None, "1.0.16 Build 210205 Rel.163735",
               "1.0", None, "Living Room", None, [("mac", "50:91:e3:00:00:02")]),
    DeviceSpec("plug-old", "tplink", "Old Plug", "TP-Link", "HS100(EU)", None, "1.2.5", "2.0",
               connections=[("mac", "50:c7:bf:00:00:03")], disabled_by="user"),
    DeviceSpec("shelly1-aabbcc", "shelly", "shelly1-AABBCC", "Shelly", "Shelly 1", "SHSW-1", "20230913-112003/v1.14.0",
               area="Garage", configuration_url="http://192.168.10.71", connections=[("mac", "e8:db:84:aa:bb:cc")],
               name_by_user="Garage Door"),
    DeviceSpec("coordinator", "zha", "Zigbee Coordinator", "Texas Instruments", "CC2652", area="Network Closet",
               connections=[("zigbee", "00:12:4b:00:24:c2:7a:10")]),
    DeviceSpec("hue-bulb-1", "zha", "Sofa Lamp", "Signify Netherlands B.V.", "LCA001", None, "1.104.2",
               area="Living Room", connections=[("zigbee", "00:17:88:01:0b:aa:bb:01")], via="coordinator"),
    DeviceSpec("motion-hall", "zha", "Hallway Motion", "IKEA of Sweden", "TRADFRI motion sensor", None, "2.0.022",
               connections=[("zigbee", "90:fd:9f:ff:fe:12:34:56")], via="coordinator"),
    DeviceSpec("temp-kitchen", "zha", "Kitchen Temperature", "LUMI", "lumi.weather", area="Kitchen",
               connections=[("zigbee", "00:15:8d:00:04:5a:6b:7c")], via="coordinator"),
    DeviceSpec("flora-1", "xiaomi_ble", "Plant Sensor", "Xiaomi", "HHCCJCY01", area="Kitchen",
               connections=[("bluetooth", "C4:7C:8D:6A:3E:12")]),
    DeviceSpec("forecast", "met", "Forecast Home", "Met.no", "Forecast", service=True,
               configuration_url="https://www.met.no/en"),
    DeviceSpec("virtual-switch", "mqtt", "Virtual Switch"),
)


# --------------------------------------------------------------------------- rendering


def device_entry(estate: Estate, spec: DeviceSpec, version: str) -> dict[str, Any]:
    """`config/device_registry/list` item, with the keys the given HA version has."""
    parent = estate.devices.get(spec.via) if spec.via else None
    entry: dict[str, Any] = {
        "area_id": estate.area_id(spec.area), "config_entries": [entry_id(spec.domain)],
        "configuration_url": spec.configuration_url,
        "connections": [list(c) for c in sorted(set(spec.connections))],
        "disabled_by": spec.disabled_by, "entry_type": "service" if spec.service else None,
        "hw_version": spec.hw_version, "id": device_id(spec), "identifiers": [[spec.domain, spec.key]],
        "manufacturer": spec.manufacturer, "model": spec.model, "name": spec.name, "name_by_user": spec.name_by_user,
        "serial_number": spec.serial_number, "sw_version": spec.sw_version,
        "via_device_id": device_id(parent) if parent else None,
    }
    if newer(version):
        entry.update({"created_at": 1735689600.0, "labels": [], "model_id": spec.model_id,
                      "modified_at": 1735689600.0, "primary_config_entry": entry_id(spec.domain)})
    return dict(sorted(entry.items()))


def area_entry(estate: Estate, area_id: str, version: str) -> dict[str, Any]:
    name, floor_id = estate.areas[area_id]
    entry: dict[str, Any] = {"aliases": [], "area_id": area_id, "icon": None, "name": name, "picture": None}
    if newer(version):
        entry.update({"created_at": 1735689600.0, "floor_id": floor_id, "humidity_entity_id": None, "labels": [],
                      "modified_at": 1735689600.0, "temperature_entity_id": None})
    return dict(sorted(entry.items()))


def floor_entry(floor_id: str, name: str, level: int) -> dict[str, Any]:
    return {"aliases": [], "created_at": 1735689600.0, "floor_id": floor_id, "icon": None, "level": level,
            "modified_at": 1735689600.0, "name": name}


def config_entry(domain: str, version: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "disabled_by": None, "domain": domain, "entry_id": entry_id(domain), "pref_disable_new_entities": False,
        "pref_disable_polling": False, "reason": None, "source": "user", "state": "loaded",
        "supports_options": False, "supports_remove_device": True, "supports_unload": True,
        "title": domain.replace("_", " ").title(),
    }
    if newer(version):
        entry.update({"supports_reconfigure": False, "error_reason_translation_key": None, "error_reason_translation_placeholders": None,
                      "modified_at": 1735689600.0, "created_at": 1735689600.0, "num_subentries": 0})
    return dict(sorted(entry.items()))


def entity_entry(spec: DeviceSpec, version: str) -> dict[str, Any]:
    entity_slug = slug(spec.name_by_user or spec.name or spec.key)
    entry: dict[str, Any] = {
        "area_id": None, "config_entry_id": entry_id(spec.domain), "device_id": device_id(spec),
        "disabled_by": None, "entity_category": None, "entity_id": f"sensor.{entity_slug}_status",
        "has_entity_name": True, "hidden_by": None, "icon": None, "id": registry_id("entity", spec.domain, spec.key),
        "labels": [], "name": None, "options": {}, "original_name": "Status",
        "platform": spec.domain, "translation_key": None, "unique_id": f"{spec.domain}-{spec.key}-status",
    }
    if newer(version):
        entry.update({"categories": {}, "created_at": 1735689600.0, "modified_at": 1735689600.0})
    return dict(sorted(entry.items()))


def core_config(estate: Estate, version: str, url: str) -> dict[str, Any]:
    return {  # the home zone's `radius` arrived after 2024.3
        "allowlist_external_dirs": ["/config/www", "/config/media"], "allowlist_external_urls": [],
        "components": sorted({"api", "config", "http", "websocket_api", *estate.domains()}),
        "config_dir": "/config", "config_source": "storage", "country": "NL", "currency": "EUR", "elevation": 0,
        "external_url": None, "internal_url": url, "language": "en", "latitude": 52.3731,
        "location_name": estate.location_name, "longitude": 4.8922, "recovery_mode": False,
        "safe_mode": False, "state": "RUNNING", "time_zone": "Europe/Amsterdam",
        "unit_system": {"length": "km", "accumulated_precipitation": "mm", "mass": "g", "pressure": "Pa",
                        "temperature": "°C", "volume": "L", "wind_speed": "m/s"},
        "version": version, "whitelist_external_dirs": ["/config/www", "/config/media"],
        **({"radius": 100} if newer(version) else {}),
    }


def newer(version: str) -> bool:
    """Floors, labels, model_id and primary_config_entry arrived in HA 2024.4 … 2024.11."""
    year, month = (int(p) for p in version.split(".")[:2])
    return (year, month) >= (2024, 11)


def fixture_devices(estate: Estate, domain_prefix: str = "lab_") -> dict[str, list[dict[str, Any]]]:
    """The estate as the real-HA test fixture integration reads it (`lab_devices.json`), one list per
    domain (`lab_<domain>`), parents before children."""
    out: dict[str, list[dict[str, Any]]] = {}
    ordered = sorted(estate.devices.values(), key=lambda s: (s.via is not None, s.key))
    for spec in ordered:
        parent = estate.devices.get(spec.via) if spec.via else None
        out.setdefault(domain_prefix + spec.domain, []).append({
            "id": spec.key, "name": spec.name, "manufacturer": spec.manufacturer, "model": spec.model,
            "sw_version": spec.sw_version, "hw_version": spec.hw_version, "serial_number": spec.serial_number,
            "area": spec.area, "configuration_url": spec.configuration_url,
            "connections": [list(c) for c in spec.connections], "service": spec.service,
            "via": [domain_prefix + parent.domain, parent.key] if parent else None,
        })
    return out
