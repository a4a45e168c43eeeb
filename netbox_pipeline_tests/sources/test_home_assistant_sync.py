"""The Home Assistant source end to end: real Dagster runs from the stand-in HA (and, last, from the
real Home Assistant) into the NetBox sandbox. The pure-core scenarios are in test_home_assistant.py."""

import pytest

from netbox_pipeline.sandbox.home_assistant import NEWER_HA_VERSION, HomeAssistantSandbox
from netbox_pipeline.sources.home_assistant import ID_FIELD, VIA_FIELD
from netbox_pipeline.staging import store
from netbox_pipeline_tests.real_netbox import REAL

TOKEN = "ha-sandbox-token-0123456789"
SOURCE = "home_assistant_devices[home]"
SYNCED = ["Closet Switch", "Desk Plug", "Driveway Camera", "Garage Door", "Hallway Motion", "Kitchen Temperature",
          "Living Room AP", "Office Printer", "Plant Sensor", "Rack UPS", "Sofa Lamp", "TV Plug", "Zigbee Coordinator"]


@pytest.fixture
def ha():
    with HomeAssistantSandbox(TOKEN, version=NEWER_HA_VERSION) as sandbox:  # with floors
        yield sandbox


def ha_config(url: str, **settings) -> str:
    values = {"name": "home", "url": f"'{url}'", "token": "'${HA_TOKEN}'", "site": "home", "timeout_s": 30,
              "role_map": "{unifi: network, lab_unifi: network}"}
    values.update(settings)
    entry = ", ".join(f"{key}: {value}" for key, value in values.items())
    return f"  home_assistant:\n    - {{{entry}}}"


@pytest.fixture
def ha_estate(make_estate, ha, monkeypatch):
    """ha_estate(files={}, url=None, token=TOKEN, **settings) -> an Estate with HA instance `home`."""

    def make(files: dict | None = None, url: str | None = None, token: str = TOKEN, version: str = "4.4", **settings):
        monkeypatch.setenv("HA_TOKEN", token)
        return make_estate(files=files or {}, extra_config=ha_config(url or ha.url, **settings), version=version)

    return make


def failure(outcome, label: str) -> str:
    return next(r.error for r in outcome.runs if r.label == label and not r.success)


def latest_plan(estate) -> list[dict]:
    with estate.staging().session() as session:
        return store.plan_for_run(session, store.latest_plan_run_id(session))


def interfaces_of(estate, device: dict) -> dict[str, dict]:
    return {i["name"]: i for i in estate.objects("interfaces") if i["device"]["id"] == device["id"]}


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_first_sync_lands_devices_locations_and_macs_and_a_rerun_writes_nothing(ha_estate, ha, version):
    estate = ha_estate(version=version)
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert [r.label for r in outcome.runs] == [SOURCE, "merge, plan and write"]

    fields = {f["name"]: f for f in estate.sandbox.objects("extras/custom-fields")}
    assert {ID_FIELD, VIA_FIELD, "sw_version", "hw_version"} <= set(fields)
    assert fields[ID_FIELD]["type"]["value"] == "text" and "dcim.device" in fields[ID_FIELD]["object_types"]

    devices = estate.by_name("devices")
    assert sorted(devices) == SYNCED  # no service entry, virtual device or disabled device
    switch = devices["Closet Switch"]
    assert switch["custom_fields"][ID_FIELD] == ha.device_id("usw-lite-8")
    assert (switch["role"]["name"], switch["device_type"]["model"], switch["site"]["name"]) == (
        "network", "USW-Lite-8-PoE", "home")
    assert switch["primary_ip4"]["address"] == "192.168.10.2/32"
    assert interfaces_of(estate, switch)["eth0"]["mac_address"].upper() == "24:5A:4C:10:20:30"
    assert devices["Living Room AP"]["custom_fields"][VIA_FIELD] == "Closet Switch"
    assert "ha:zha" in {t["name"] for t in devices["Sofa Lamp"]["tags"]}
    zigbee = interfaces_of(estate, devices["Sofa Lamp"])["zigbee0"]
    assert zigbee["type"]["value"] == "ieee802.15.4" and zigbee["description"] == "IEEE 00:17:88:01:0b:aa:bb:01"

    locations = estate.by_name("locations")
    assert sorted(locations) == ["Basement", "First Floor", "Garage", "Ground Floor", "Kitchen", "Living Room",
                                 "Network Closet", "Office"]
    assert locations["Living Room"]["parent"]["id"] == locations["Ground Floor"]["id"]
    assert locations["Basement"]["parent"] is None
    assert all(loc["site"]["name"] == "home" for loc in locations.values())
    assert switch["location"]["id"] == locations["Network Closet"]["id"]
    assert devices["Hallway Motion"]["location"] is None

    with estate.staging().session() as session:  # what `explain "Closet Switch"` prints
        lineage = store.field_lineage(session, "Closet Switch")
    serial_rows = [r for r in lineage if r["field"] == "model"]
    assert lineage, "no lineage"
    assert serial_rows and all(r["source_kind"] == "home_assistant" and r["instance"] == "home" for r in serial_rows)
    assert f"config/device_registry id={ha.device_id('usw-lite-8')}" in serial_rows[0]["location"]

    changes_before = estate.sandbox.change_count() if version == REAL else None
    rerun = estate.sync()
    assert rerun.success, [r.error for r in rerun.runs]
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]
    if version == REAL:  # and NetBox's own change log agrees
        assert estate.sandbox.change_count() == changes_before


def test_a_renamed_device_is_one_patch(ha_estate, ha):
    estate = ha_estate()
    assert estate.sync().success
    before = estate.by_name("devices")["Desk Plug"]
    ha.rename("plug-desk", "Standing Desk Plug")
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/dcim/devices/")]
    renamed = estate.by_name("devices")["Standing Desk Plug"]
    assert renamed["id"] == before["id"] and "Desk Plug" not in estate.by_name("devices")
    assert not [r for r in latest_plan(estate) if r["action"] in ("orphan", "create", "delete")]


def test_an_area_change_moves_the_device_to_that_location(ha_estate, ha):
    estate = ha_estate()
    assert estate.sync().success
    ha.move("plug-desk", "Living Room")
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/dcim/devices/")]
    locations = estate.by_name("locations")
    assert estate.by_name("devices")["Desk Plug"]["location"]["id"] == locations["Living Room"]["id"]

    ha.move("plug-desk", "Attic")  # a new area: its location is created first
    assert estate.sync().success
    writes = [(e.method, e.path) for e in estate.writes()]
    assert writes == [("POST", "/api/dcim/locations/"), ("PATCH", "/api/dcim/devices/")], writes
    assert estate.by_name("devices")["Desk Plug"]["location"]["name"] == "Attic"


def test_a_removed_device_is_pruned_only_after_the_grace_runs(ha_estate, ha):
    estate = ha_estate()
    assert estate.sync().success
    camera = estate.by_name("devices")["Driveway Camera"]
    ha.remove("rlc-810a")
    for run in (1, 2):
        outcome = estate.sync()
        assert outcome.success, [r.error for r in outcome.runs]
        assert estate.writes() == [], f"run {run}: " + ", ".join(f"{e.method} {e.path}" for e in estate.writes())
        orphans = {r["object_type"] for r in latest_plan(estate) if r["action"] == "orphan"}
        assert {"devices", "interfaces", "mac_addresses", "ip_addresses"} <= orphans, orphans
    assert estate.sync().success
    assert "Driveway Camera" not in estate.by_name("devices")
    assert not [i for i in estate.objects("interfaces") if i["device"]["id"] == camera["id"]]
    assert {e.method for e in estate.writes()} == {"DELETE"}
    assert "Garage" in estate.by_name("locations")  # locations are never pruned


@pytest.mark.parametrize("problem", ["unreachable", "unauthorised"])
def test_a_failing_instance_fails_alone_and_deletes_nothing(ha_estate, ha, problem):
    rack = {"devices": [{"name": "nas-01", "site": "home", "role": "server", "manufacturer": "Acme",
                         "model": "AX-1", "serial": "SN-1"}]}
    estate = ha_estate(files={"rack": rack})
    assert estate.sync().success
    owned = {t: len(estate.objects(t)) for t in ("devices", "interfaces", "mac_addresses", "ip_addresses")}
    if problem == "unreachable":
        ha.stop()
    else:
        ha.token = "rotated-token"
    rack["devices"][0]["serial"] = "SN-2"
    estate.write_inventory(rack)
    for run in range(3):  # as many runs as the grace: a failed instance never counts as absent
        outcome = estate.sync()
        assert [(r.label, r.success) for r in outcome.runs] == [
            ("filesystem_inventory[rack]", True), (SOURCE, False), ("merge, plan and write", True)]
        error = failure(outcome, SOURCE)
        expected = "cannot connect" if problem == "unreachable" else "auth_invalid"
        assert expected in error and "127.0.0.1" in error, error
        assert TOKEN not in str([r.error for r in outcome.runs])
        assert not [e for e in estate.writes() if e.method == "DELETE"], f"run {run}"
    assert estate.by_name("devices")["nas-01"]["serial"] == "SN-2"
    assert {t: len(estate.objects(t)) for t in owned} == owned
    assert not [r for r in latest_plan(estate) if r["action"] in ("orphan", "delete")]


def test_a_device_known_by_mac_to_a_file_becomes_one_device(ha_estate, ha):
    rack = {"devices": [{"name": "sw-closet", "site": "home", "role": "network", "manufacturer": "Ubiquiti Inc.",
                         "model": "USW-Lite-8-PoE", "serial": "F09FC2A1B2C3",
                         "interfaces": [{"name": "eth0", "type": "1000base-t", "mac": "24:5A:4C:10:20:30"}]}]}
    estate = ha_estate(files={"rack": rack})
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    devices = estate.by_name("devices")
    assert "Closet Switch" not in devices  # the file's name wins (filesystem before home_assistant)
    switch = devices["sw-closet"]
    assert switch["serial"] == "F09FC2A1B2C3"
    assert switch["custom_fields"][ID_FIELD] == ha.device_id("usw-lite-8")  # HA's identity joins it
    assert switch["location"]["name"] == "Network Closet"
    assert [m["mac_address"].upper() for m in estate.objects("mac_addresses")].count("24:5A:4C:10:20:30") == 1
    assert len(devices) == len(SYNCED)


def test_the_real_home_assistant_through_dagster(make_estate, monkeypatch, real_home_assistant):
    real = real_home_assistant
    monkeypatch.setenv("HA_TOKEN", real.token)
    estate = make_estate(files={}, extra_config=ha_config(real.url))
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    devices = estate.by_name("devices")
    assert sorted(devices) == SYNCED
    assert devices["Garage Door"]["custom_fields"][ID_FIELD] == real.device_ids["shelly1-aabbcc"]
    assert devices["Closet Switch"]["role"]["name"] == "network"
    assert devices["Rack UPS"]["location"]["name"] == "Network Closet"
    assert estate.sync().success and estate.writes() == []

    real.update_device("plug-tv", name_by_user="Living Room TV Plug", area_id="kitchen")
    try:
        outcome = estate.sync()
    finally:
        real.update_device("plug-tv", name_by_user=None, area_id="living_room")
    assert outcome.success, [r.error for r in outcome.runs]
    assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/dcim/devices/")]
    renamed = estate.by_name("devices")["Living Room TV Plug"]
    assert renamed["id"] == devices["TV Plug"]["id"] and renamed["location"]["name"] == "Kitchen"
