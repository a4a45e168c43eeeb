"""Home Assistant source: the pure normalisation of a registry snapshot."""

from datetime import datetime, timezone

import pytest

from netbox_pipeline.sources.home_assistant import HomeAssistantOptions, normalise_snapshot

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
OPTIONS = HomeAssistantOptions(default_site="home", role="iot", role_map={"unifi": "network"},
                               skip_domains=frozenset({"met", "demo"}))


def device(id_: str, **fields) -> dict:
    entry = {"area_id": None, "config_entries": ["e-unifi"], "configuration_url": None, "connections": [],
             "disabled_by": None, "entry_type": None, "hw_version": None, "id": id_, "identifiers": [["x", id_]],
             "manufacturer": "Ubiquiti Inc.", "model": "U6 Lite", "name": f"Device {id_}", "name_by_user": None,
             "serial_number": None, "sw_version": None, "via_device_id": None}
    entry.update(fields)
    return entry


def snapshot(*devices: dict, **extra) -> dict:
    base = {"devices": list(devices), "warnings": [],
            "config_entries": [{"entry_id": "e-unifi", "domain": "unifi"}, {"entry_id": "e-zha", "domain": "zha"},
                               {"entry_id": "e-met", "domain": "met"}],
            "areas": [{"area_id": "closet", "name": "Network Closet", "floor_id": "basement"},
                      {"area_id": "office", "name": "Office"}],
            "floors": [{"floor_id": "basement", "name": "Basement", "level": -1}],
            "entities": [{"device_id": "a1", "entity_id": "sensor.a"}, {"device_id": "a1", "entity_id": "sensor.b"}],
            "config": {"location_name": "Lab Home"}}
    base.update(extra)
    return base


def run(snap: dict, options: HomeAssistantOptions = OPTIONS):
    return normalise_snapshot(snap, options, instance="home", observed_at=NOW, base_url="http://ha.lan:8123")


def by_name(result) -> dict:
    return {d.name: d for d in result.records}


def test_a_device_maps_its_registry_fields():
    result = run(snapshot(device("a1", serial_number="SN1", sw_version="6.6.77", hw_version="r2",
                                 connections=[["mac", "24:5a:4c:10:20:31"]], area_id="closet")))
    [d] = result.records
    assert (d.name, d.site, d.role, d.manufacturer, d.model, d.serial, d.status) == (
        "Device a1", "Lab Home", "network", "Ubiquiti Inc.", "U6 Lite", "SN1", "active")
    assert d.custom_fields == {"ha_device_id": "a1", "sw_version": "6.6.77", "hw_version": "r2"}
    assert d.tags == ["ha:unifi"]
    assert [(i.name, i.mac) for i in d.interfaces] == [("eth0", "24:5A:4C:10:20:31")]
    assert result.errors == [] and result.warnings == []


def test_provenance_and_raw_record_name_the_registry_entry():
    result = run(snapshot(device("a1", area_id="closet")))
    [d], [raw] = result.records, result.raw_records
    assert d.provenance["model"].record_id == "device/a1"
    assert d.provenance["model"].location == "http://ha.lan:8123 config/device_registry id=a1"
    assert d.provenance["custom_fields.ha_device_id"].source_kind == "home_assistant"
    assert not d.provenance["role"].defaulted  # unifi is in role_map
    assert raw["payload"]["area"] == "Network Closet" and raw["payload"]["floor"] == "Basement"
    assert raw["payload"]["domain"] == "unifi" and raw["payload"]["entities"] == 2
    assert raw["payload"]["device"]["id"] == "a1"


def test_role_falls_back_to_the_default_and_says_so():
    [d] = run(snapshot(device("z1", config_entries=["e-zha"], connections=[["zigbee", "00:17:88:01:0b:aa:bb:01"]]))).records
    assert d.role == "iot" and d.provenance["role"].defaulted and d.tags == ["ha:zha"]


def test_primary_config_entry_decides_the_domain():
    entry = device("a1", config_entries=["e-unifi", "e-zha"], primary_config_entry="e-zha")
    [d] = run(snapshot(entry)).records
    assert d.tags == ["ha:zha"] and d.role == "iot"


@pytest.mark.parametrize("entry, reason", [
    (device("s1", entry_type="service", config_entries=["e-unifi"]), "service"),
    (device("v1", manufacturer=None, model=None, connections=[]), "nothing physical"),
    (device("d1", disabled_by="user"), "disabled"),
    (device("m1", config_entries=["e-met"]), "skipped domain"),
])
def test_skip_rules(entry, reason):
    result = run(snapshot(entry, device("keep")))
    assert [d.name for d in result.records] == ["Device keep"], reason


def test_skip_rules_are_configurable():
    options = HomeAssistantOptions(default_site="home", skip_virtual=False, include_disabled=True)
    result = run(snapshot(device("v1", manufacturer=None, model=None), device("d1", disabled_by="user"),
                          device("s1", entry_type="service")), options)
    assert {d.name: d.status for d in result.records} == {"Device v1": "active", "Device d1": "offline"}


def test_name_by_user_wins_and_duplicates_get_part_of_their_id():
    result = run(snapshot(device("aaaaaa11", name="Plug", name_by_user="Desk Plug"),
                          device("bbbbbb22", name="Smart Plug"), device("cccccc33", name="smart plug"),
                          device("dddddd44", name=None, name_by_user=None, model="KP115")))
    assert sorted(by_name(result)) == ["Desk Plug", "KP115", "Smart Plug (bbbbbb)", "smart plug (cccccc)"]


def test_connections_become_interfaces_by_kind():
    entry = device("a1", connections=[["mac", "50-91-E3-00-00-02"], ["bluetooth", "c4:7c:8d:6a:3e:12"],
                                      ["zigbee", "00:17:88:01:0B:AA:BB:01"], ["upnp", "uuid:1234"], ["zigbee", "0x0017880100000000x"],
                                      ["mac", "50:91:E3:00:00:01"],
                                      ["mac", "50:91:e3:00:00:01"]])
    [d] = run(snapshot(entry)).records
    assert [(i.name, i.type, i.mac, i.description) for i in d.interfaces] == [
        ("bluetooth0", "ieee802.15.1", "C4:7C:8D:6A:3E:12", None),
        ("eth0", None, "50:91:E3:00:00:01", None), ("eth1", None, "50:91:E3:00:00:02", None),
        ("zigbee0", "ieee802.15.4", None, "IEEE 00:17:88:01:0b:aa:bb:01"),
    ]


def test_a_malformed_mac_is_a_warning_and_the_device_still_syncs():
    result = run(snapshot(device("a1", connections=[["mac", "not-a-mac"], ["mac", "24:5a:4c:10:20:31"]])))
    [d] = result.records
    assert [i.mac for i in d.interfaces] == ["24:5A:4C:10:20:31"]
    assert len(result.warnings) == 1 and "not-a-mac" in result.warnings[0] and "a1" in result.warnings[0]


@pytest.mark.parametrize("url, ip, primary", [
    ("http://192.168.10.2/", "192.168.10.2", "192.168.10.2"),
    ("https://192.168.10.2:8443/manage", "192.168.10.2", "192.168.10.2"),
    ("http://[2001:db8::5]/", "2001:db8::5", None),
    ("http://switch.lan/", None, None),
    ("http://127.0.0.1:8080/", None, None),
    ("homeassistant://config/zha", None, None),
])
def test_configuration_url_with_an_ip_literal_is_the_interface_address(url, ip, primary):
    [d] = run(snapshot(device("a1", configuration_url=url, connections=[["mac", "24:5a:4c:10:20:31"]]))).records
    assert d.interfaces[0].ip_addresses == ([ip] if ip else [])
    assert d.primary_ip4 == primary


def test_an_address_without_a_mac_gets_a_management_interface():
    [d] = run(snapshot(device("p1", configuration_url="http://192.168.10.60/"))).records
    assert [(i.name, i.type, i.ip_addresses) for i in d.interfaces] == [("mgmt0", "virtual", ["192.168.10.60"])]


def test_via_device_names_the_parent_as_synced():
    parent = device("c0", name="Coordinator", config_entries=["e-zha"])
    twin = device("c1", name="Coordinator", config_entries=["e-zha"])
    child = device("k1", name="Lamp", via_device_id="c0", config_entries=["e-zha"])
    orphan = device("k2", name="Lamp 2", via_device_id="gone")
    devices = by_name(run(snapshot(parent, twin, child, orphan)))
    assert devices["Lamp"].custom_fields["ha_via_device"] == "Coordinator (c0)"
    assert "ha_via_device" not in devices["Lamp 2"].custom_fields


def test_a_service_parent_is_still_named():
    parent = device("hub", name="Hue Bridge Service", entry_type="service")
    [d] = run(snapshot(parent, device("k1", via_device_id="hub"))).records
    assert d.custom_fields["ha_via_device"] == "Hue Bridge Service"


def test_manufacturer_aliases_apply():
    options = HomeAssistantOptions(manufacturer_aliases={"Signify Netherlands B.V.": "Signify"})
    [d] = run(snapshot(device("a1", manufacturer="Signify Netherlands B.V.")), options).records
    assert d.manufacturer == "Signify"


@pytest.mark.parametrize("configured, location_name, expected", [
    ("Attic", "Lab Home", "Attic"), (None, "Lab Home", "Lab Home"), (None, None, "home"), (None, "  ", "home"),
])
def test_site_is_configured_else_the_ha_location_name_else_the_default(configured, location_name, expected):
    options = HomeAssistantOptions(site=configured, default_site="home")
    [d] = run(snapshot(device("a1"), config={"location_name": location_name}), options).records
    assert d.site == expected
    assert d.provenance["site"].defaulted == (expected == "home")


def test_unknown_and_missing_keys_are_tolerated():
    old = {"id": "o1", "name": "Old Router", "manufacturer": "MikroTik", "config_entries": ["e-unifi"]}
    new = device("n1", model_id="UAL6", labels=["lab"], created_at=1.0, some_future_key={"x": 1})
    result = run(snapshot(old, new, {"no": "id"}, "not a dict", config=None, areas=None, floors=None,
                          entities=None))
    assert sorted(by_name(result)) == ["Device n1", "Old Router"]
    assert result.errors == []


def test_without_config_entries_devices_have_no_domain_role_or_tag():
    [d] = run(snapshot(device("a1"), config_entries=None)).records
    assert d.tags == [] and d.role == "iot"


def test_configured_tags_are_added():
    options = HomeAssistantOptions(tags=("homelab",))
    [d] = run(snapshot(device("a1")), options).records
    assert d.tags == ["ha:unifi", "homelab"]


def test_fetch_warnings_are_kept():
    result = run(snapshot(device("a1"), warnings=["floors unknown"]))
    assert result.warnings == ["floors unknown"]


def test_the_area_is_the_location_and_its_floor_the_parent():
    result = run(snapshot(device("a1", area_id="closet"), device("a2", area_id="office"), device("a3"),
                          device("a4", area_id="deleted-area")))
    places = {d.name: (d.location, d.location_parent) for d in result.records}
    assert places == {"Device a1": ("Network Closet", "Basement"), "Device a2": ("Office", None),
                      "Device a3": (None, None), "Device a4": (None, None)}
    assert result.records[0].provenance["location"].record_id == "device/a1"


def test_model_id_is_the_device_types_part_number():
    result = run(snapshot(device("n1", model_id=" UAL6 "), device("o1"), device("n2", model_id=""),
                          device("n3", model_id="X" * 51)))
    parts = {d.name: d.part_number for d in result.records}
    assert parts == {"Device n1": "UAL6", "Device o1": None, "Device n2": None, "Device n3": None}
    assert by_name(result)["Device n1"].provenance["part_number"].record_id == "device/n1"
    assert [w for w in result.warnings if "model_id" in w and "Device n3" in w], result.warnings
    assert result.errors == []
