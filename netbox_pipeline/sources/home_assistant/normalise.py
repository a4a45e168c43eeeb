"""The pure half of the Home Assistant source: a fetched snapshot -> canonical device records.

Mapping (docs/source-home-assistant.md has the table): the registry id is the stable identity
(custom field `ha_device_id`), `name_by_user` or `name` the device name, manufacturer (through an
alias map), model, `model_id` (newer HA) as the device type's part number, serial,
`sw_version`/`hw_version` as custom fields, `connections` MACs as interfaces (bluetooth as an
ieee802.15.1 interface, zigbee's EUI-64 as an ieee802.15.4 interface with the address in its
description), an IP literal in `configuration_url` as that interface's address and the primary
IPv4, `via_device_id` as the parent's name in `ha_via_device`, the integration domain as role
(through `role_map`) and a tag `ha:<domain>`, the area as the device's location and the area's
floor as that location's parent.

Skipped: service entries, devices of `skip_domains`, devices with nothing physical about them
(no manufacturer, model or connections) unless `skip_virtual` is off, and disabled devices
unless `include_disabled` (then status offline). Keys HA versions add or drop are tolerated.
"""

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from netbox_pipeline.model import Device, Interface, RecordError, SourceResult, key_text, record_type_of
from netbox_pipeline.values import fold_name, normalise_mac, recordable_ip
from netbox_pipeline.sources.base import stamp_provenance, validation_problems

SOURCE_KIND = "home_assistant"
ID_FIELD = "ha_device_id"
VIA_FIELD = "ha_via_device"
SW_VERSION_FIELD = "sw_version"
HW_VERSION_FIELD = "hw_version"
CUSTOM_FIELDS = (ID_FIELD, VIA_FIELD, SW_VERSION_FIELD, HW_VERSION_FIELD)
BLUETOOTH_TYPE = "ieee802.15.1"
ZIGBEE_TYPE = "ieee802.15.4"
PART_NUMBER_MAX = 50  # NetBox's device type part_number length


@dataclass(frozen=True)
class HomeAssistantOptions:
    """What the registries cannot say: where the devices are and what to call their parts."""

    site: str | None = None  # configured; else HA's location name, else default_site
    default_site: str | None = None
    role: str | None = None
    role_map: Mapping[str, str] = field(default_factory=dict)
    manufacturer_aliases: Mapping[str, str] = field(default_factory=dict)
    skip_domains: frozenset[str] = frozenset()
    skip_virtual: bool = True
    include_disabled: bool = False
    tags: tuple[str, ...] = ()


def normalise_snapshot(
    snapshot: Mapping[str, Any], options: HomeAssistantOptions, *, instance: str, observed_at: datetime,
    base_url: str = "",
) -> SourceResult:
    """A fetched snapshot -> one Device per physical HA device (with warnings and located errors)."""
    result = SourceResult(SOURCE_KIND, instance, observed_at=observed_at, warnings=list(snapshot.get("warnings", [])))
    site = site_of(snapshot, options)
    domains = entry_domains(snapshot.get("config_entries"))
    devices = [d for d in snapshot.get("devices") or [] if isinstance(d, Mapping) and d.get("id")]
    synced = [d for d in devices if skip_reason(d, domain_of(d, domains), options) is None]
    names = unique_names(synced)
    by_id = {d["id"]: d for d in devices}
    places = device_locations(snapshot, devices)
    entity_counts = _entity_counts(snapshot.get("entities"))
    for entry in synced:
        ha_id = str(entry["id"])
        location = f"{base_url} config/device_registry id={ha_id}"
        parent = by_id.get(entry.get("via_device_id") or "")
        parent_name = (names.get(parent["id"]) or display_name(parent)) if parent else None
        domain = domain_of(entry, domains)
        area, floor = places.get(ha_id, (None, None))
        try:
            device = device_record(entry, names[ha_id], domain, site, parent_name, options, result.warnings,
                                   location=(area, floor))
        except ValidationError as exc:
            for path, message in validation_problems(exc):
                result.errors.append(RecordError(instance, location, names[ha_id], path, message))
            continue
        stamp_provenance(device, source_kind=SOURCE_KIND, instance=instance, record_id=f"device/{ha_id}",
                         location=location, observed_at=observed_at,
                         defaulted=_defaulted(entry, domain, options, site), default_location="config")
        result.records.append(device)
        result.raw_records.append({
            "record_type": record_type_of(device), "record_key": key_text(device.key), "location": location,
            "payload": {"device": dict(entry), "domain": domain, "area": area, "floor": floor,
                        "entities": entity_counts.get(ha_id, 0)},
        })
    return result


def _defaulted(entry: Mapping[str, Any], domain: str | None, options: HomeAssistantOptions, site: str | None) -> set[str]:
    out = set() if domain in options.role_map else {"role"}
    if not options.site and site == options.default_site:
        out.add("site")
    return out


# --------------------------------------------------------------------------- one device


def device_record(
    entry: Mapping[str, Any], name: str, domain: str | None, site: str | None, parent_name: str | None,
    options: HomeAssistantOptions, warnings: list[str], location: tuple[str | None, str | None] = (None, None),
) -> Device:
    custom_fields: dict[str, Any] = {ID_FIELD: str(entry["id"])}
    for key, value in ((VIA_FIELD, parent_name), (SW_VERSION_FIELD, _text(entry.get("sw_version"))),
                       (HW_VERSION_FIELD, _text(entry.get("hw_version")))):
        if value:
            custom_fields[key] = value
    interfaces = interfaces_of(entry, name, warnings)
    ip = configuration_ip(entry.get("configuration_url"))
    if ip:
        if not interfaces or interfaces[0].type in (BLUETOOTH_TYPE, ZIGBEE_TYPE):
            interfaces.insert(0, Interface(name="mgmt0", type="virtual"))
        interfaces[0].ip_addresses.append(ip)
    manufacturer = _text(entry.get("manufacturer"))
    tags = [f"ha:{domain}"] if domain else []
    part_number = _text(entry.get("model_id"))
    if part_number and len(part_number) > PART_NUMBER_MAX:
        warnings.append(f"home assistant device {name!r} ({entry.get('id')}): model_id {part_number!r} is longer "
                        f"than NetBox's {PART_NUMBER_MAX}-character part number; not synced")
        part_number = None
    return Device(
        name=name, site=site, location=location[0], location_parent=location[1] if location[0] else None,
        role=options.role_map.get(domain or "") or options.role,
        manufacturer=options.manufacturer_aliases.get(manufacturer or "", manufacturer),
        model=_text(entry.get("model")), part_number=part_number, serial=_text(entry.get("serial_number")),
        status="offline" if entry.get("disabled_by") else "active",
        tags=sorted({*tags, *options.tags}), custom_fields=custom_fields, interfaces=interfaces,
        primary_ip4=ip if ip and ":" not in ip else None,
    )


def interfaces_of(entry: Mapping[str, Any], name: str, warnings: list[str]) -> list[Interface]:
    """One interface per MAC, bluetooth and zigbee connection (others, e.g. upnp, carry no address)."""
    addresses: set[tuple[str, str]] = set()
    for kind, value in _connections(entry):
        if kind not in ("mac", "bluetooth", "zigbee"):
            continue
        try:
            addresses.add((kind, normalise_mac(value) if kind != "zigbee" else _eui64(value)))
        except ValueError:
            warnings.append(f"home assistant device {name!r} ({entry.get('id')}): {kind} connection "
                            f"{value!r} is not an address; not synced")
    out: list[Interface] = []
    counters: dict[str, int] = {}
    for kind, address in sorted(addresses):
        if kind == "mac":
            out.append(Interface(name=_next(counters, "eth"), mac=address))
        elif kind == "bluetooth":
            out.append(Interface(name=_next(counters, "bluetooth"), type=BLUETOOTH_TYPE, mac=address))
        else:
            out.append(Interface(name=_next(counters, "zigbee"), type=ZIGBEE_TYPE, description=f"IEEE {address}"))
    return out


def _eui64(value: str) -> str:
    """A zigbee IEEE address (EUI-64) as HA's zha spells it: lower-case, colon-separated."""
    digits = "".join(c for c in value.lower() if c not in ":-. ")
    if len(digits) != 16 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"invalid EUI-64 {value!r}")
    return ":".join(digits[i:i + 2] for i in range(0, 16, 2))


def _connections(entry: Mapping[str, Any]) -> set[tuple[str, str]]:
    out = set()
    for connection in entry.get("connections") or []:
        if isinstance(connection, (list, tuple)) and len(connection) == 2 and all(isinstance(c, str) for c in connection):
            out.add((connection[0].lower(), connection[1].strip()))
    return out


def _next(counters: dict[str, int], prefix: str) -> str:
    index = counters.get(prefix, 0)
    counters[prefix] = index + 1
    return f"{prefix}{index}"


def configuration_ip(url: Any) -> str | None:
    """The host of `configuration_url` when it is an IP literal (not loopback or link-local)."""
    if not isinstance(url, str) or not url:
        return None
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return None
    return str(ip) if recordable_ip(ip) else None


# --------------------------------------------------------------------------- selection and names


def skip_reason(entry: Mapping[str, Any], domain: str | None, options: HomeAssistantOptions) -> str | None:
    """Why a registry entry is not synced, or None to sync it."""
    if entry.get("entry_type") == "service":
        return "service"
    if entry.get("disabled_by") and not options.include_disabled:
        return "disabled"
    if domain in options.skip_domains:
        return "domain"
    if options.skip_virtual and not (entry.get("manufacturer") or entry.get("model") or _connections(entry)):
        return "virtual"
    return None


def entry_domains(entries: Any) -> dict[str, str]:
    """config entry id -> integration domain (from `config_entries/get`)."""
    return {str(e["entry_id"]): str(e["domain"]) for e in entries or []
            if isinstance(e, Mapping) and e.get("entry_id") and e.get("domain")}


def domain_of(entry: Mapping[str, Any], domains: Mapping[str, str]) -> str | None:
    """The integration that owns the device: HA's primary config entry (2024.11+), else the first known."""
    ids = [entry.get("primary_config_entry"), *(entry.get("config_entries") or [])]
    return next((domains[i] for i in ids if i in domains), None)


def display_name(entry: Mapping[str, Any]) -> str:
    for value in (entry.get("name_by_user"), entry.get("name"), entry.get("model")):
        if _text(value):
            return _text(value)  # type: ignore[return-value]
    return f"HA device {str(entry.get('id'))[:8]}"


def unique_names(entries: list[Mapping[str, Any]]) -> dict[str, str]:
    """HA allows one name on several devices, NetBox not per site: those get part of their id."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[fold_name(display_name(entry))] = counts.get(fold_name(display_name(entry)), 0) + 1
    return {str(e["id"]): display_name(e) if counts[fold_name(display_name(e))] == 1
            else f"{display_name(e)} ({str(e['id'])[:6]})" for e in entries}


def site_of(snapshot: Mapping[str, Any], options: HomeAssistantOptions) -> str | None:
    location_name = _text((snapshot.get("config") or {}).get("location_name"))
    return options.site or location_name or options.default_site


# --------------------------------------------------------------------------- areas and floors


def device_locations(snapshot: Mapping[str, Any], devices: list[Mapping[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
    """HA device id -> (area name, floor name); (None, None) for a device in no area."""
    areas = {a.get("area_id"): a for a in snapshot.get("areas") or [] if isinstance(a, Mapping)}
    floors = {f.get("floor_id"): f for f in snapshot.get("floors") or [] if isinstance(f, Mapping)}
    out: dict[str, tuple[str | None, str | None]] = {}
    for entry in devices:
        area = areas.get(entry.get("area_id")) if entry.get("area_id") else None
        floor = floors.get(area.get("floor_id")) if area and area.get("floor_id") else None
        out[str(entry.get("id"))] = (_text(area.get("name")) if area else None,
                                     _text(floor.get("name")) if floor else None)
    return out


def _entity_counts(entities: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for entity in entities or []:
        if isinstance(entity, Mapping) and entity.get("device_id"):
            out[entity["device_id"]] = out.get(entity["device_id"], 0) + 1
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
