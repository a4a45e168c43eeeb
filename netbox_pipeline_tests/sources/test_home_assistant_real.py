"""Home Assistant source against a real Home Assistant (installed from PyPI by the test set-up),
and the contract that keeps the stand-in answering like it.

The real server is seeded with the stand-in's own estate (through a fixture integration that
creates each device with HA's device registry), so both must give the same answers and the same
synced devices; only registry ids and the fixture's `lab_` domain prefix differ.
"""

from datetime import datetime, timezone
from typing import Any

import pytest

from netbox_pipeline.sandbox.home_assistant import HA_VERSION, NEWER_HA_VERSION, HomeAssistantSandbox
from netbox_pipeline.sources.home_assistant import (
    COMMANDS,
    HomeAssistantClient,
    HomeAssistantConfig,
    collect_home_assistant,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
DEFAULTS = {"site": "home", "device_role": "server"}
SANDBOX_TOKEN = "contract-token"


@pytest.fixture(scope="module")
def sandbox():
    with HomeAssistantSandbox(SANDBOX_TOKEN, version=HA_VERSION) as ha:
        yield ha


def answers(url: str, token: str) -> dict[str, Any]:
    with HomeAssistantClient(url.replace("http", "ws", 1) + "/api/websocket", token, where=url) as client:
        out = {command: client.call(command) for command, _ in COMMANDS.values()}
        out["ha_version"] = client.ha_version
        return out


def kind(value: Any) -> str:
    return {bool: "bool", int: "number", float: "number", str: "str", list: "list", dict: "dict",
            type(None): "null"}[type(value)]


def key_kinds(items: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in items:
        for key, value in item.items():
            out.setdefault(key, set()).add(kind(value))
    return out


def assert_same_shape(command: str, real: Any, standin: Any, *, superset: bool = False) -> None:
    real_items = real if isinstance(real, list) else [real]
    standin_items = standin if isinstance(standin, list) else [standin]
    assert type(real) is type(standin), command
    real_kinds, standin_kinds = key_kinds(real_items), key_kinds(standin_items)
    if superset:
        assert set(standin_kinds) >= set(real_kinds), (command, set(real_kinds) - set(standin_kinds))
    else:
        assert set(standin_kinds) == set(real_kinds), (
            command, "stand-in lacks", set(real_kinds) - set(standin_kinds),
            "stand-in adds", set(standin_kinds) - set(real_kinds))
    for key, kinds in standin_kinds.items():
        seen = real_kinds.get(key, set()) - {"null"}
        extra = kinds - {"null"} - seen
        assert not (seen and extra), f"{command}: {key} is {sorted(extra)} in the stand-in, {sorted(seen)} in HA"


def test_the_real_server_runs_the_version_the_stand_in_imitates(real_home_assistant, sandbox):
    real = answers(real_home_assistant.url, real_home_assistant.token)
    assert real["ha_version"] == HA_VERSION == sandbox.version


@pytest.mark.parametrize("command", [c for c, _ in COMMANDS.values()])
def test_the_stand_in_answers_with_the_real_shapes(real_home_assistant, sandbox, command):
    real = answers(real_home_assistant.url, real_home_assistant.token)[command]
    standin = answers(sandbox.url, SANDBOX_TOKEN)[command]
    if command == "config/floor_registry/list":
        assert real == standin == []  # 2024.3 answers the command, with no floors
        return
    if command == "config/area_registry/list":  # onboarding adds Living Room, Kitchen, Bedroom
        assert {a["area_id"] for a in real} >= {a["area_id"] for a in standin if a["area_id"] != "basement"} - {
            "first_floor"}
    assert_same_shape(command, real, standin)


@pytest.mark.parametrize("command", ["config/device_registry/list", "config/area_registry/list",
                                     "config_entries/get", "config/entity_registry/list"])
def test_the_newer_dialect_keeps_every_key_of_the_real_one(real_home_assistant, command):
    real = answers(real_home_assistant.url, real_home_assistant.token)[command]
    with HomeAssistantSandbox(SANDBOX_TOKEN, version=NEWER_HA_VERSION) as newer:
        standin = answers(newer.url, SANDBOX_TOKEN)[command]
    assert_same_shape(command, real, standin, superset=True)


def comparable(result, domain_prefix: str = "") -> dict[str, dict[str, Any]]:
    """Synced devices without what legitimately differs: registry ids and the fixture's domain prefix."""
    out = {}
    for device in result.records:
        data = device.model_dump(exclude={"provenance"})
        data["custom_fields"] = {k: v for k, v in data["custom_fields"].items() if k != "ha_device_id"}
        data["tags"] = [t.replace(f"ha:{domain_prefix}", "ha:") for t in data["tags"]]
        out[device.name] = data
    return out


def test_the_stand_in_and_the_real_server_sync_the_same_devices(real_home_assistant, sandbox):
    real = collect_home_assistant(HomeAssistantConfig(name="real", url=real_home_assistant.url,
                                                      token=real_home_assistant.token), NOW, DEFAULTS)
    standin = collect_home_assistant(HomeAssistantConfig(name="standin", url=sandbox.url, token=SANDBOX_TOKEN),
                                     NOW, DEFAULTS)
    assert real.status == standin.status == "ok", (real.error, standin.error)
    assert comparable(real, "lab_") == comparable(standin)
    real_places = {r["record_key"]: r["payload"]["area"] for r in real.raw_records}
    assert real_places == {r["record_key"]: r["payload"]["area"] for r in standin.raw_records}


def test_collect_from_the_real_server(real_home_assistant):
    ha = real_home_assistant
    cfg = HomeAssistantConfig(name="home", url=ha.url, token=ha.token, site="lab",
                              role_map={"lab_unifi": "network", "lab_zha": "iot"})
    result = collect_home_assistant(cfg, NOW, DEFAULTS)
    assert result.status == "ok", result.error
    assert result.warnings == []
    devices = {d.name: d for d in result.records}
    assert len(devices) == 13
    assert {"Forecast Home", "Virtual Switch", "Old Plug"}.isdisjoint(devices)  # service, virtual, disabled
    door = devices["Garage Door"]  # name_by_user set through the registry, as in the UI
    assert door.custom_fields["ha_device_id"] == ha.device_ids["shelly1-aabbcc"]
    assert (door.site, door.manufacturer, door.model, door.primary_ip4) == ("lab", "Shelly", "Shelly 1", "192.168.10.71")
    assert [(i.name, i.mac) for i in door.interfaces] == [("eth0", "E8:DB:84:AA:BB:CC")]
    lamp = devices["Sofa Lamp"]
    assert lamp.role == "iot" and lamp.tags == ["ha:lab_zha"]
    assert lamp.custom_fields["ha_via_device"] == "Zigbee Coordinator"
    assert lamp.interfaces[0].type == "ieee802.15.4"
    assert devices["Plant Sensor"].interfaces[0].mac == "C4:7C:8D:6A:3E:12"
    assert devices["Rack UPS"].serial == "5B1234T56789"


def test_a_rename_and_an_area_change_in_the_real_server(real_home_assistant):
    ha = real_home_assistant
    cfg = HomeAssistantConfig(name="home", url=ha.url, token=ha.token)
    ha.update_device("plug-desk", name_by_user="Standing Desk Plug", area_id="living_room")
    try:
        result = collect_home_assistant(cfg, NOW, DEFAULTS)
    finally:
        ha.update_device("plug-desk", name_by_user=None, area_id="office")
    [raw] = [r for r in result.raw_records if r["payload"]["device"]["id"] == ha.device_ids["plug-desk"]]
    assert raw["record_key"].endswith("standing desk plug")
    assert raw["payload"]["area"] == "Living Room"


def test_a_wrong_token_against_the_real_server(real_home_assistant):
    ha = real_home_assistant
    result = collect_home_assistant(HomeAssistantConfig(name="home", url=ha.url, token="not-" + ha.token),
                                    NOW, DEFAULTS)
    assert result.status == "failed"
    assert "auth_invalid" in result.error and ha.url in result.error
    assert ha.token not in result.error
