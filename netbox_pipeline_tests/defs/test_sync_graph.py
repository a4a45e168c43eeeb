"""The whole graph, run through Dagster, against the NetBox stand-in and a real staging DB.

The scenarios that prove the sync also run against the real NetBox 4.7 (`REAL`, see real_netbox.py):
there the request log comes from a logging proxy in front of gunicorn.
"""

import re

import pytest

from netbox_pipeline.staging import store
from netbox_pipeline_tests.estate import small_estate
from netbox_pipeline_tests.real_netbox import REAL

VERSIONS = ["4.4", "4.6", REAL]


@pytest.mark.parametrize("version", VERSIONS)
def test_first_sync_creates_the_estate_and_a_rerun_writes_nothing(make_estate, staging_url, version):
    estate = make_estate(version=version, staging_url=staging_url)
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]

    devices = estate.by_name("devices")
    assert sorted(devices) == ["db-01", "web-01", "web-02"]
    web = devices["web-01"]
    assert web["site"]["slug"] == "home" and devices["db-01"]["site"]["slug"] == "lab"
    assert web["device_type"]["model"] == "AX-1" and web["device_type"]["manufacturer"]["name"] == "Acme"
    assert web["serial"] == "SN-web-01" and web["status"]["value"] == "active"
    assert {"netbox-pipeline", "source-filesystem"} <= {t["slug"] for t in web["tags"]}
    interfaces = [i for i in estate.objects("interfaces") if i["device"]["id"] == web["id"]]
    assert sorted(i["name"] for i in interfaces) == ["eth0", "eth1"]
    eth0 = next(i for i in interfaces if i["name"] == "eth0")
    ip = estate.by_name("ip_addresses")["192.0.2.11/24"]
    assert ip["assigned_object_type"] == "dcim.interface" and ip["assigned_object_id"] == eth0["id"]
    assert web["primary_ip4"]["id"] == ip["id"]
    assert eth0["mac_address"].lower() == "02:00:00:00:00:0b"

    vms = estate.by_name("virtual_machines")
    assert sorted(vms) == ["vm-a", "vm-b"]
    assert vms["vm-a"]["cluster"]["name"] == "pve" and vms["vm-a"]["memory"] == 2048
    assert vms["vm-a"]["primary_ip4"]["address"] == "198.51.100.10/24"

    # Bulk writes: a chunk is at most 2 objects here, so 3 devices took 2 POSTs, not 3.
    device_posts = [e for e in estate.sandbox.request_log if e.method == "POST" and e.path == "/api/dcim/devices/"]
    assert len(device_posts) == 2

    changes_before = estate.sandbox.change_count() if version == REAL else None
    with estate.staging().session() as session:
        object_map_before = store.load_object_map(session)
    rerun = estate.sync()
    assert rerun.success
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]
    with estate.staging().session() as session:  # nor in the object map: no absence count rewritten as it was
        assert store.load_object_map(session) == object_map_before
    if version == REAL:  # and NetBox's own change log agrees
        assert estate.sandbox.change_count() == changes_before


def test_a_no_op_rerun_loads_no_plan_slice_and_a_one_field_change_loads_only_its_own(make_estate, monkeypatch):
    """Each NetBox asset asks `store.plan_writes` first: a slice with nothing to write is never
    loaded (`store.plan_slice`) nor decoded (`PlanItem.from_stored`)."""
    from netbox_pipeline.netbox.items import PlanItem

    loaded: list[str] = []
    decoded: list[str] = []
    plan_slice, from_stored = store.plan_slice, PlanItem.from_stored

    def counted_slice(session, plan_run_id, object_type):
        loaded.append(object_type)
        return plan_slice(session, plan_run_id, object_type)

    def counted_decode(stored):
        item = from_stored(stored)
        decoded.append(item.type)
        return item

    monkeypatch.setattr(store, "plan_slice", counted_slice)
    monkeypatch.setattr(PlanItem, "from_stored", staticmethod(counted_decode))
    estate = make_estate()
    assert estate.sync().success
    assert "devices" in loaded and "devices" in decoded  # the counters see the first sync's slices

    loaded.clear(), decoded.clear()
    assert estate.sync().success
    assert estate.writes() == []
    assert (loaded, decoded) == ([], [])

    data = small_estate()
    data["devices"][1]["serial"] = "SN-CHANGED"
    estate.write_inventory(data)
    loaded.clear(), decoded.clear()
    assert estate.sync().success
    assert set(loaded) == {"devices"} and set(decoded) == {"devices"}


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_dry_run_reads_everything_and_writes_nothing_even_with_a_read_only_token(make_estate, monkeypatch, version):
    estate = make_estate(version=version)
    monkeypatch.setenv("TEST_NETBOX_TOKEN", estate.read_only_token())
    outcome = estate.sync(dry_run=True)
    assert outcome.success, [r.error for r in outcome.runs]
    assert estate.writes() == []
    assert estate.sandbox.count(method="GET") > 0
    with estate.staging().session() as session:
        plan = store.plan_for_run(session, store.latest_plan_run_id(session))
    assert sum(1 for row in plan if row["action"] == "create" and row["object_type"] == "devices") == 3


# Two scenarios also run on NetBox 4.6 with the staging DB on PostgreSQL, and on the real NetBox 4.7.
MODES = [pytest.param(("4.4", "sqlite"), id="4.4-sqlite"), pytest.param(("4.6", "postgres"), id="4.6-postgres"),
         pytest.param((REAL, "sqlite"), id=f"{REAL}-sqlite")]


def _estate_in_mode(request, make_estate, mode, **kwargs):
    version, backend = mode
    staging_url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    return make_estate(version=version, staging_url=staging_url, **kwargs)


@pytest.mark.parametrize("mode", MODES)
def test_one_changed_field_is_one_patch_with_just_that_field(make_estate, request, mode):
    estate = _estate_in_mode(request, make_estate, mode)
    assert estate.sync().success
    data = small_estate()
    data["devices"][1]["serial"] = "SN-CHANGED"
    estate.write_inventory(data)
    assert estate.sync().success
    writes = estate.writes()
    assert [(e.method, e.path) for e in writes] == [("PATCH", "/api/dcim/devices/")]
    assert estate.by_name("devices")["web-02"]["serial"] == "SN-CHANGED"
    with estate.staging().session() as session:
        runs = [r for r in store.list_runs(session) if r["kind"] == "apply" and (r["object_type"], r["phase"]) == ("devices", "first")]
        changes = [c for c in store.applied_for_run(session, runs[0]["id"]) if c["status"] == "applied"]
    assert [(c["natural_key"], c["after"]) for c in changes] == [("home/web-02", {"serial": "SN-CHANGED"})]
    assert changes[0]["before"] == {"serial": "SN-web-02"}


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_persons_edit_to_an_unmanaged_field_survives(make_estate, version):
    estate = make_estate(version=version)
    assert estate.sync().success
    web = estate.by_name("devices")["web-01"]
    client = _client(estate)
    client.request("PATCH", f"dcim/devices/{web['id']}", json={"comments": "racked by Sam"})
    assert estate.sync().success
    assert estate.writes() == []
    assert estate.by_name("devices")["web-01"]["comments"] == "racked by Sam"


def _drift_on_devices(estate) -> dict[str, tuple[dict, str]]:
    """The newest plan's drifted devices: key -> (field -> (last written, live), the plan's reason)."""
    from netbox_pipeline.netbox.items import PlanItem

    with estate.staging().session() as session:
        plan = store.plan_for_run(session, store.latest_plan_run_id(session))
    drifted = {}
    for row in plan:
        item = PlanItem.from_stored(row["item"])
        if row["object_type"] == "devices" and item.drift:
            drifted[row["natural_key"]] = (item.drift, item.reason)
    return drifted


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_persons_edit_to_a_managed_field_is_overwritten_by_default(make_estate, version):
    estate = make_estate(version=version)
    assert estate.sync().success
    web = estate.by_name("devices")["web-01"]
    _client(estate).request("PATCH", f"dcim/devices/{web['id']}", json={"serial": "SN-BY-HAND"})

    assert estate.sync().success
    assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/dcim/devices/")]
    assert estate.by_name("devices")["web-01"]["serial"] == "SN-web-01"
    assert _drift_on_devices(estate) == {"home/web-01": (
        {"serial": ("SN-web-01", "SN-BY-HAND")}, "changed: serial; drift in NetBox (overwritten): serial")}
    assert estate.sync().success
    assert estate.writes() == []


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_with_drift_policy_keep_a_persons_edit_to_a_managed_field_stays(make_estate, version):
    estate = make_estate(version=version, netbox_options="drift_policy: keep")
    assert estate.sync().success
    web = estate.by_name("devices")["web-01"]
    _client(estate).request("PATCH", f"dcim/devices/{web['id']}", json={"serial": "SN-BY-HAND"})

    for _ in range(2):  # kept, and still reported, run after run
        assert estate.sync().success
        assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]
        assert estate.by_name("devices")["web-01"]["serial"] == "SN-BY-HAND"
        assert _drift_on_devices(estate) == {"home/web-01": (
            {"serial": ("SN-web-01", "SN-BY-HAND")}, "drift in NetBox (kept): serial")}

    data = small_estate()  # when the source changes the field too, the source wins
    data["devices"][0]["serial"] = "SN-NEW"
    estate.write_inventory(data)
    assert estate.sync().success
    assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/dcim/devices/")]
    assert estate.by_name("devices")["web-01"]["serial"] == "SN-NEW"


@pytest.mark.parametrize("mode", MODES)
def test_removed_record_is_an_orphan_then_deleted_after_the_grace_runs(make_estate, request, mode):
    estate = _estate_in_mode(request, make_estate, mode, files={"rack": small_estate(), "edge": {"devices": [
        {"name": f"edge-{n}", "site": "home", "role": "switch", "manufacturer": "Acme", "model": "SW-1"} for n in range(30)]}})
    assert estate.sync().success
    data = small_estate()
    del data["devices"][2]  # db-01 leaves the rack file
    estate.write_inventory(data)
    for run in (1, 2):
        assert estate.sync().success
        assert "db-01" in estate.by_name("devices"), f"deleted after {run} run(s), before the grace of 3"
        with estate.staging().session() as session:
            plan = store.plan_for_run(session, store.latest_plan_run_id(session))
        assert any(r["action"] == "orphan" and r["natural_key"] == "lab/db-01" for r in plan)
    assert estate.sync().success
    assert "db-01" not in estate.by_name("devices")
    deletes = [e for e in estate.writes() if e.method == "DELETE"]
    # children first: the interfaces' addresses and MACs, then interfaces, then the device
    paths = [e.path for e in deletes]
    assert paths.index("/api/dcim/interfaces/") < paths.index("/api/dcim/devices/")


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_child_deleted_in_netbox_is_recreated(make_estate, version):
    estate = make_estate(version=version)
    assert estate.sync().success
    web = estate.by_name("devices")["web-01"]
    eth1 = next(i for i in estate.objects("interfaces") if i["device"]["id"] == web["id"] and i["name"] == "eth1")
    _client(estate).request("DELETE", f"dcim/interfaces/{eth1['id']}")  # a person removes it (its MAC goes too)
    assert estate.sync().success
    assert ("POST", "/api/dcim/interfaces/") in [(e.method, e.path) for e in estate.writes()]
    again = next(i for i in estate.objects("interfaces") if i["device"]["id"] == web["id"] and i["name"] == "eth1")
    assert again["id"] != eth1["id"] and again["mac_address"].lower() == "02:00:00:00:01:0b"
    assert estate.sync().success
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]


def test_emptied_file_deletes_nothing_and_the_guard_blocks(make_estate):
    estate = make_estate()
    assert estate.sync().success
    estate.write_inventory({"devices": []})
    outcome = estate.sync()
    assert not outcome.success
    assert outcome.runs[-1].error.startswith("check no_emptied_sources failed: returned no records but own objects in NetBox: filesystem:rack")
    assert estate.writes() == []
    assert len(estate.by_name("devices")) == 3


def test_bad_records_give_located_errors_while_good_ones_land(make_estate):
    data = small_estate()
    data["devices"][1]["interfaces"][0]["mac"] = "not-a-mac"
    estate = make_estate(files={"rack": data})
    outcome = estate.sync()
    assert outcome.success
    assert sorted(estate.by_name("devices")) == ["db-01", "web-01"]
    with estate.staging().session() as session:
        run = next(r for r in store.list_runs(session) if r["kind"] == "source")
    assert run["counts"]["record_errors"] == 1
    from netbox_pipeline.config import load_config
    from netbox_pipeline.stages.collect import collect_source

    summary = collect_source(load_config(estate.config_path), estate.staging(), "filesystem", "rack")
    (error,) = summary.errors
    lines = estate.inventory_path().read_text().splitlines()
    record_line = next(n for n, text in enumerate(lines, 1) if text.strip() == "- name: web-02")
    assert error.location == f"{estate.inventory_path()}:{record_line}"
    assert error.field == "interfaces[0].mac" and error.record_key == "web-02"


# NetBox 4.7 answers a failed bulk write with one object naming the failed items; the client pairs it.
@pytest.mark.parametrize("version", ["4.4", "4.7", REAL])
def test_a_400_on_one_device_leaves_the_others_created_and_reports_it(make_estate, version):
    data = small_estate()
    data["devices"][0]["asset_tag"] = "AT-1"
    estate = make_estate(version=version, files={"rack": data})
    client = _client(estate)
    # A person's device, not ours, already holds that asset tag (unique in NetBox).
    site = client.request("POST", "dcim/sites", json={"name": "Elsewhere", "slug": "elsewhere"})
    maker = client.request("POST", "dcim/manufacturers", json={"name": "Other", "slug": "other"})
    kind = client.request("POST", "dcim/device-types", json={"manufacturer": maker["id"], "model": "X", "slug": "x"})
    role = client.request("POST", "dcim/device-roles", json={"name": "Misc", "slug": "misc"})
    client.request("POST", "dcim/devices", json={"name": "theirs", "site": site["id"], "device_type": kind["id"], "role": role["id"], "asset_tag": "AT-1"})

    outcome = estate.sync()
    assert not outcome.success
    assert "web-01" in outcome.runs[-1].error and "asset tag" in outcome.runs[-1].error.lower()
    devices = estate.by_name("devices")
    assert {"web-02", "db-01", "theirs"} <= set(devices) and "web-01" not in devices


def test_a_sync_with_a_rejected_object_still_counts_absences_at_plan_time(make_estate):
    """The plan step records the grace counters, not netbox_prune: a sync that fails because NetBox
    rejects one object (prune then refuses to delete anything) still counts a removed device's absence."""
    filler = {"devices": [{"name": f"edge-{n}", "site": "home", "role": "switch", "manufacturer": "Acme", "model": "SW-1"}
                          for n in range(30)]}  # keeps one delete under the deletion guard's ratio
    estate = make_estate(files={"rack": small_estate(), "edge": filler}, extra_config="deletion: {grace_runs: 2}")
    assert estate.sync().success
    client = _client(estate)
    site = client.request("POST", "dcim/sites", json={"name": "Elsewhere", "slug": "elsewhere"})
    maker = client.request("POST", "dcim/manufacturers", json={"name": "Other", "slug": "other"})
    kind = client.request("POST", "dcim/device-types", json={"manufacturer": maker["id"], "model": "X", "slug": "x"})
    role = client.request("POST", "dcim/device-roles", json={"name": "Misc", "slug": "misc"})
    theirs = client.request("POST", "dcim/devices", json={"name": "theirs", "site": site["id"], "device_type": kind["id"],
                                                         "role": role["id"], "asset_tag": "AT-1"})
    data = small_estate()
    del data["devices"][2]  # db-01 leaves the rack file
    data["devices"][0]["asset_tag"] = "AT-1"  # and web-01's update is rejected: the tag is taken
    estate.write_inventory(data)

    outcome = estate.sync()
    assert not outcome.success
    assert "home/web-01 (update): asset_tag" in outcome.runs[-1].error
    with estate.staging().session() as session:
        entry = store.load_object_map(session, "devices")[("devices", "lab/db-01")]
        plan_run_id = store.latest_plan_run_id(session)
        assert [r["phase"] for r in store.apply_runs(session, plan_run_id) if r["phase"] == "delete"] == []
    assert entry["missing_runs"] == 1  # counted by the plan, though prune never ran a delete
    assert "db-01" in estate.by_name("devices")

    # The conflict resolved, the next run is db-01's second absence: the grace is reached and it goes.
    client.request("DELETE", f"dcim/devices/{theirs['id']}")
    assert estate.sync().success
    assert "db-01" not in estate.by_name("devices")
    assert estate.by_name("devices")["web-01"]["asset_tag"] == "AT-1"


def test_explain_names_the_source_record(make_estate, capsys):
    from netbox_pipeline.cli import main

    estate = make_estate()
    assert estate.sync().success
    assert main(["--config", str(estate.config_path), "explain", "web-02"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    at = next(i for i, l in enumerate(lines) if l.strip().startswith("serial"))
    field_block = " ".join(lines[at:at + 3])  # the values, the source record, the run that wrote it
    assert "SN-web-02" in field_block and "filesystem:rack" in field_block and "rack.yaml:" in field_block
    assert "written by sync run" in field_block

    # NetBox gone: its values are unknown, not empty, and it is asked once, not once per object.
    estate.sandbox.stop()
    assert main(["--config", str(estate.config_path), "explain", "web-02"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith(f"NetBox could not be read (GET {estate.sandbox.url}/api/dcim/devices/")
    assert lines[0].endswith("no answer from NetBox (ConnectionError) after 4 attempts): its values show as (not read)")
    assert re.search(r"serial +NetBox: \(not read\) +desired: SN-web-02", captured.out)
    assert "NetBox: -" not in captured.out
    assert captured.err.count("retrying in") == 3  # the first object's retries only


def test_a_scanned_host_joins_its_device_by_mac_and_explain_says_so(make_estate, capsys):
    """A second file lists a host as a scanner would (named by its address, one MAC, a service):
    it joins web-02 by that MAC, and `explain web-02` names the record and the MAC."""
    import json

    from netbox_pipeline.cli import main
    from netbox_pipeline.config import load_config
    from netbox_pipeline.stages.inventory import build_inventory
    from netbox_pipeline.staging.models import IdentityLink

    def scan(mac: str) -> dict:
        return {"devices": [{"name": "192-0-2-12", "site": "home", "interfaces": [
                    {"name": "nmap0", "mac": mac, "ip_addresses": ["192.0.2.12/24"]}]}],
                "services": [{"name": "http", "protocol": "tcp", "ports": [80], "parent": "192-0-2-12",
                              "parent_scope": "home"}]}

    estate = make_estate(files={"rack": small_estate(), "scan": scan("02:00:00:00:00:0c")})
    assert estate.sync().success
    assert sorted(estate.by_name("devices")) == ["db-01", "web-01", "web-02"]  # no device of its own
    assert main(["--config", str(estate.config_path), "explain", "web-02"]) == 0
    lines = capsys.readouterr().out.splitlines()
    device_at = next(i for i, line in enumerate(lines) if line.startswith("devices home/web-02 "))
    assert lines[device_at + 1].startswith(
        "  merged from filesystem/scan device:home/192-0-2-12 by MAC 02:00:00:00:00:0C (")
    assert "scan.yaml:" in lines[device_at + 1]
    service_at = next(i for i, line in enumerate(lines) if line.startswith("services devices/home/web-02/tcp/http "))
    assert lines[service_at + 1].startswith(
        "  merged from filesystem/scan service:device/home/192-0-2-12/tcp/http by device MAC 02:00:00:00:00:0C")
    # Nothing else was merged from elsewhere: the rack's own records are implied.
    assert sum("merged from" in line for line in lines) == 2

    # The same estate merged again: its links are seen again, not stored again.
    rebuilt = build_inventory(load_config(estate.config_path), estate.staging())
    with estate.staging().session() as session:
        links = session.query(IdentityLink).all()
    assert len(links) == 2 and {link.last_seen_run_id for link in links} == {rebuilt.run_id}

    estate.write_inventory(scan("02:00:00:00:00:99"), "scan")  # the host's MAC is no longer web-02's
    assert estate.sync().success
    assert "192-0-2-12" in estate.by_name("devices")
    capsys.readouterr()
    assert main(["--config", str(estate.config_path), "explain", "web-02", "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    (device,) = [obj for obj in explained if obj["type"] == "devices"]
    assert device["key"] == "home/web-02" and device["merged_from"] == []
    with estate.staging().session() as session:  # kept as history, no longer current
        (old,) = store.identity_links_for(session, "device", "home/web-02")
    assert (old["current"], old["reason"]) == (False, "MAC 02:00:00:00:00:0C")


def _client(estate):
    from netbox_pipeline.netbox.client import NetBoxClient

    return NetBoxClient(estate.sandbox.url, estate.sandbox.token)


def test_refreshing_one_source_never_orphans_another_sources_objects(make_estate):
    edge = {"devices": [{"name": "edge-1", "site": "home", "role": "switch", "manufacturer": "Acme", "model": "SW-1"}]}
    estate = make_estate(files={"rack": small_estate(), "edge": edge})
    assert estate.sync().success
    for _ in range(3):  # more than the grace runs
        outcome = estate.sync(sources=["filesystem:rack"])
        assert outcome.success
        assert [r.label for r in outcome.runs] == ["filesystem_inventory[rack]", "merge, plan and write"]
        assert estate.writes() == []
    with estate.staging().session() as session:
        plan = store.plan_for_run(session, store.latest_plan_run_id(session))
    assert not [r for r in plan if r["action"] in ("orphan", "delete")]
    assert "edge-1" in estate.by_name("devices")


def test_unknown_source_selection_is_a_clear_error(make_estate):
    estate = make_estate()
    with pytest.raises(ValueError, match=r"--source filesystem:nope: no such configured source instance \(configured: filesystem:rack\)"):
        estate.sync(sources=["filesystem:nope"])


def test_offline_mode_retires_a_missing_device_instead_of_deleting_it(make_estate):
    filler = {"devices": [{"name": f"edge-{n}", "site": "home", "role": "switch", "manufacturer": "Acme", "model": "SW-1"} for n in range(30)]}
    estate = make_estate(files={"rack": small_estate(), "edge": filler}, extra_config="deletion: {mode: offline, grace_runs: 2}")
    assert estate.sync().success
    data = small_estate()
    del data["devices"][2]
    estate.write_inventory(data)
    assert estate.sync().success
    assert estate.by_name("devices")["db-01"]["status"]["value"] == "active"
    assert estate.sync().success
    db = estate.by_name("devices")["db-01"]
    assert db["status"]["value"] == "offline"
    assert not [e for e in estate.writes() if e.method == "DELETE" and e.path == "/api/dcim/devices/"]
