"""The Home Assistant source end to end: real Dagster runs from the stand-in HA (and, last, from the
real Home Assistant) into the NetBox sandbox. The pure-core scenarios are in test_home_assistant.py."""

import pytest

from netbox_pipeline.cli import main
from netbox_pipeline.defs import resources
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

    part_numbers = {t["model"]: t["part_number"] for t in estate.objects("device_types")}  # from model_id
    assert (part_numbers["USW-Lite-8-PoE"], part_numbers["U6 Lite"], part_numbers["Shelly 1"]) == (
        "USL8LP", "UAL6", "SHSW-1")
    assert part_numbers["KP115(EU)"] == ""  # HA gave none: NetBox's empty part number

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


def test_explain_names_the_home_assistant_registry_entry(ha_estate, ha, capsys):
    estate = ha_estate()
    assert estate.sync().success
    capsys.readouterr()
    assert main(["--config", str(estate.config_path), "explain", "Closet Switch"]) == 0
    lines = capsys.readouterr().out.splitlines()
    device_at = next(i for i, line in enumerate(lines) if line.startswith("devices home/closet switch "))
    block = []  # the device's own lines, up to the next object (its interfaces, MACs, addresses)
    for line in lines[device_at + 1:]:
        if not line.startswith(" "):
            break
        block.append(line.strip())
    sources = {field.split()[0]: source for field, source in zip(block, block[1:])
               if "NetBox:" in field and source.startswith("from ")}  # field -> the source line under it
    entry = f"from home_assistant:home {ha.url} config/device_registry id={ha.device_id('usw-lite-8')} "
    for field in ("name", "device_type", "role", "location", "primary_ip4"):
        assert sources.get(field, "").startswith(entry), (field, sources.get(field))
    # custom fields are merged one by one: each names its own source under the custom_fields line
    assert any(line.startswith(".ha_device_id ") and line.removeprefix(".ha_device_id").lstrip().startswith(entry)
               for line in block), "\n".join(block)
    mac_at = next(i for i, line in enumerate(lines) if line.startswith("mac_addresses "))
    assert lines[mac_at + 2].strip().startswith(entry)  # the MAC names the same registry entry


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_renamed_device_is_one_patch(ha_estate, ha, version):
    estate = ha_estate(version=version)
    assert estate.sync().success
    before = estate.by_name("devices")["Desk Plug"]
    ha.rename("plug-desk", "Standing Desk Plug")
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/dcim/devices/")]
    renamed = estate.by_name("devices")["Standing Desk Plug"]
    assert renamed["id"] == before["id"] and "Desk Plug" not in estate.by_name("devices")
    assert not [r for r in latest_plan(estate) if r["action"] in ("orphan", "create", "delete")]


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_an_area_change_moves_the_device_to_that_location(ha_estate, ha, version):
    estate = ha_estate(version=version)
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



def syncs_orphan_without_writing(estate, runs: int = 2) -> None:
    """The grace runs after a device left Home Assistant: each succeeds, writes nothing and keeps the
    device and its interface, MAC and address as orphans."""
    for run in range(1, runs + 1):
        outcome = estate.sync()
        assert outcome.success, [r.error for r in outcome.runs]
        assert estate.writes() == [], f"run {run}: " + ", ".join(f"{e.method} {e.path}" for e in estate.writes())
        orphans = {r["object_type"] for r in latest_plan(estate) if r["action"] == "orphan"}
        assert {"devices", "interfaces", "mac_addresses", "ip_addresses"} <= orphans, orphans

@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_removed_device_is_pruned_only_after_the_grace_runs(ha_estate, ha, version):
    estate = ha_estate(version=version)
    assert estate.sync().success
    camera = estate.by_name("devices")["Driveway Camera"]
    ha.remove("rlc-810a")
    syncs_orphan_without_writing(estate)
    assert estate.sync().success
    assert "Driveway Camera" not in estate.by_name("devices")
    assert not [i for i in estate.objects("interfaces") if i["device"]["id"] == camera["id"]]
    assert {e.method for e in estate.writes()} == {"DELETE"}
    assert "Garage" in estate.by_name("locations")  # locations are never pruned


@pytest.mark.parametrize("version", ["4.4", REAL])
@pytest.mark.parametrize("problem", ["unreachable", "unauthorised"])
def test_a_failing_instance_fails_alone_and_deletes_nothing(ha_estate, ha, problem, version):
    rack = {"devices": [{"name": "nas-01", "site": "home", "role": "server", "manufacturer": "Acme",
                         "model": "AX-1", "serial": "SN-1"}]}
    estate = ha_estate(files={"rack": rack}, version=version)
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


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_device_known_by_mac_to_a_file_becomes_one_device(ha_estate, ha, version):
    rack = {"devices": [{"name": "sw-closet", "site": "home", "role": "network", "manufacturer": "Ubiquiti Inc.",
                         "model": "USW-Lite-8-PoE", "serial": "F09FC2A1B2C3",
                         "interfaces": [{"name": "eth0", "type": "1000base-t", "mac": "24:5A:4C:10:20:30"}]}]}
    estate = ha_estate(files={"rack": rack}, version=version)
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
    # the file names no part number for the switch's type: HA's model_id fills it
    part_numbers = {t["model"]: t["part_number"] for t in estate.objects("device_types")}
    assert part_numbers["USW-Lite-8-PoE"] == "USL8LP"


# What nmap -oX prints for the closet switch: on the scanner's segment (so with its MAC), ssh open.
NMAP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -oX - 192.168.10.2" start="1796000000" version="7.93" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="2" services="22,80"/>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.168.10.2" addrtype="ipv4"/>
<address addr="24:5A:4C:10:20:30" addrtype="mac" vendor="Ubiquiti Networks"/>
<hostnames></hostnames>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/>
<service name="ssh" product="OpenSSH" version="8.4" method="probed" conf="10"/></port>
<port protocol="tcp" portid="80"><state state="closed" reason="reset" reason_ttl="64"/>
<service name="http" method="table" conf="3"/></port></ports>
</host>
<runstats><finished time="1796000001" timestr="Tue Nov 30 01:00:01 2026" elapsed="0.52" exit="success"/>
<hosts up="1" down="0" total="1"/></runstats>
</nmaprun>
"""


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_device_home_assistant_and_nmap_both_find_by_mac_becomes_one_device(ha_estate, ha, tmp_path, version):
    xml = tmp_path / "scan.xml"
    xml.write_text(NMAP_XML)
    nmap = tmp_path / "nmap"  # stands in for the nmap program: both passes print the canned scan
    nmap.write_text('#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Nmap version 7.93 ( https://nmap.org )"; exit 0; fi\n'
                    f'cat {xml}\n')
    nmap.chmod(0o755)
    nmap_config = ("  nmap:\n    - {name: lan, hosts: 192.168.10.2, site: home, "
                   f"service_arguments: '-sV -p 22,80', nmap_path: '{nmap}'}}")
    estate = ha_estate(version=version)
    estate.config_path.write_text(estate.config_path.read_text() + nmap_config + "\n")
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert sorted(r.label for r in outcome.runs) == sorted([SOURCE, "nmap_scan[lan]", "merge, plan and write"])

    devices = estate.by_name("devices")
    assert sorted(devices) == SYNCED  # no host-192-168-10-2 beside the closet switch
    switch = devices["Closet Switch"]
    assert switch["device_type"]["manufacturer"]["name"] == "Ubiquiti Inc."  # HA's name, not the MAC vendor's
    assert {t["name"] for t in switch["tags"]} >= {"source-home_assistant", "source-nmap"}
    assert sorted(interfaces_of(estate, switch)) == ["eth0"]  # nmap's address joined HA's interface
    [address] = [a for a in estate.objects("ip_addresses") if a["address"].startswith("192.168.10.2/")]
    assert address["assigned_object"]["device"]["id"] == switch["id"]
    [ssh] = [s for s in estate.objects("services") if s["name"] == "ssh"]
    assert ssh["parent"]["id"] == switch["id"] and ssh["ports"] == [22]
    assert [m["mac_address"].upper() for m in estate.objects("mac_addresses")].count("24:5A:4C:10:20:30") == 1

    assert estate.sync().success and estate.writes() == []


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


def test_the_real_home_assistant_with_a_wrong_token_deletes_nothing_and_a_removed_device_waits_the_grace(
        make_estate, monkeypatch, real_home_assistant):
    real = real_home_assistant
    monkeypatch.setenv("HA_TOKEN", real.token)
    estate = make_estate(files={}, extra_config=ha_config(real.url))
    assert estate.sync().success
    camera = estate.by_name("devices")["Driveway Camera"]
    owned = {t: len(estate.objects(t)) for t in ("devices", "interfaces", "mac_addresses", "ip_addresses")}

    monkeypatch.setenv("HA_TOKEN", "wrong-token-0123456789")
    resources._load_cached.cache_clear()  # the configuration as a new process reads it, with the new token
    for run in range(3):  # as many runs as the grace: a failed instance never counts as absent
        outcome = estate.sync()
        assert not [r for r in outcome.runs if r.label == SOURCE and r.success], f"run {run}"
        error = failure(outcome, SOURCE)
        assert "auth_invalid" in error and real.url in error, error
        assert real.token not in str([r.error for r in outcome.runs])
        assert not [e for e in estate.writes() if e.method == "DELETE"], f"run {run}"
    assert {t: len(estate.objects(t)) for t in owned} == owned

    monkeypatch.setenv("HA_TOKEN", real.token)
    resources._load_cached.cache_clear()
    before = next(d for d in real.call("config/device_registry/list") if d["id"] == camera["custom_fields"][ID_FIELD])
    real.remove_device("rlc-810a")
    try:
        syncs_orphan_without_writing(estate)
        outcome = estate.sync()
    finally:
        real.restore_device("rlc-810a")
    assert outcome.success, [r.error for r in outcome.runs]
    assert {e.method for e in estate.writes()} == {"DELETE"}
    assert "Driveway Camera" not in estate.by_name("devices")
    assert not [i for i in estate.objects("interfaces") if i["device"]["id"] == camera["id"]]
    restored = next(d for d in real.call("config/device_registry/list") if d["id"] == real.device_ids["rlc-810a"])
    assert (restored["id"], restored["area_id"]) == (before["id"], before["area_id"])  # the session's estate again
