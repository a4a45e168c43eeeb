"""`undo` and `explain` end to end, on the stand-in and the real NetBox 4.7 (`REAL`, see
real_netbox.py): each undo goes through the `undo_run` Dagster job."""

import json

import pytest

from netbox_pipeline.cli import main
from netbox_pipeline.netbox.client import NetBoxClient
from netbox_pipeline.netbox.schema import TYPES, build_live
from netbox_pipeline_tests.estate import small_estate
from netbox_pipeline_tests.real_netbox import REAL

VERSIONS = ["4.4", REAL]

VOLATILE = ("last_updated", "created")


def netbox_state(estate) -> dict:
    """Every managed object in comparison form, by type and natural key (ids left out: a recreated
    object gets a new one), plus the raw objects of types nobody recreates."""
    raw = {name: estate.objects(name) for name in TYPES}
    live = build_live(raw)
    return {name: {key: (obj.fields, sorted(obj.tags)) for key, obj in objects.items()} for name, objects in live.objects.items()}


def counts(estate) -> dict:
    return {name: len(estate.objects(name)) for name in TYPES}


def client(estate) -> NetBoxClient:
    return NetBoxClient(estate.sandbox.url, estate.sandbox.token)


def sync_run_id(estate) -> str:
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    return outcome.runs[-1].run_id


def undo(estate, *args) -> int:
    return main(["--config", str(estate.config_path), "undo", *args])


@pytest.mark.parametrize("version", VERSIONS)
def test_undo_of_a_first_sync_leaves_netbox_as_it_was_and_undoing_the_undo_reapplies(make_estate, capsys, version):
    estate = make_estate(version)
    person_site = client(estate).request("POST", "dcim/sites", json={"name": "Home", "slug": "home", "status": "active"})
    before, before_counts = netbox_state(estate), counts(estate)
    first = sync_run_id(estate)
    synced = netbox_state(estate)
    assert len(synced["devices"]) == 3 and len(synced["ip_addresses"]) == 4

    assert undo(estate, first[:8], "--dry-run") == 0
    dry = capsys.readouterr().out
    assert "delete" in dry and "home/web-01" in dry and "dry run: nothing written" in dry
    assert netbox_state(estate) == synced  # a dry run writes nothing

    assert undo(estate, first) == 0
    out = capsys.readouterr().out
    assert "the next sync will apply the same change again" in out
    assert counts(estate) == before_counts
    assert netbox_state(estate) == before
    site = client(estate).request("GET", f"dcim/sites/{person_site['id']}")
    assert {k: site[k] for k in person_site if k not in VOLATILE} == {k: v for k, v in person_site.items() if k not in VOLATILE}

    undo_run = out.split("undo written, run ")[1].split()[0]
    assert undo(estate, undo_run) == 0
    capsys.readouterr()
    again = netbox_state(estate)
    assert again == synced  # every object back, under the same keys, with the same fields

    assert main(["--config", str(estate.config_path), "history"]) == 0
    history = capsys.readouterr().out.splitlines()
    assert history[0].split()[:3] == ["started", "(UTC)", "kind"]
    kinds = [line.split()[2] for line in history[1:]]
    assert kinds[:3] == ["undo", "undo", "sync"], history
    assert "filesystem:rack" in history[3]
    assert all("None" not in line for line in history)


@pytest.mark.parametrize("version", VERSIONS)
def test_undo_of_an_update_restores_the_fields_and_explain_names_the_run(make_estate, capsys, version):
    estate = make_estate(version)
    sync_run_id(estate)
    data = small_estate()
    data["devices"][0]["serial"] = "SN-CHANGED"
    data["virtual_machines"][0]["memory_mb"] = 8192
    data["devices"][0]["interfaces"][0]["ip_addresses"] = ["192.0.2.111/24"]
    data["devices"][0]["primary_ip4"] = "192.0.2.111"
    estate.write_inventory(data)
    second = sync_run_id(estate)
    assert estate.by_name("devices")["web-01"]["serial"] == "SN-CHANGED"

    for name, field, before, after in (("web-01", "serial", "SN-web-01", "SN-CHANGED"),
                                       ("vm-a", "memory", "2048", "8192")):
        assert main(["--config", str(estate.config_path), "explain", name, "--field", field, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        entry = next(f for o in report for f in o["fields"] if f["field"] == field)
        assert entry["last_write"]["dagster_run_id"] == second
        assert str(entry["last_write"]["before"]) == before and str(entry["last_write"]["after"]) == after
        assert entry["source"]["location"].endswith(".yaml:" + entry["source"]["location"].rsplit(":", 1)[1])
        assert str(entry["netbox"]) == after and str(entry["desired"]) == after
        if version == REAL:  # NetBox's own change log names the same write
            assert entry["changelog"]["action"] == "update"
            assert entry["last_write"]["plan_run_id"] in entry["changelog"]["message"]
    assert main(["--config", str(estate.config_path), "explain", "192.0.2.111", "--json"]) == 0
    ip = json.loads(capsys.readouterr().out)
    address = next(f for o in ip if o["type"] == "ip_addresses" for f in o["fields"] if f["field"] == "address")
    assert address["last_write"]["dagster_run_id"] == second and address["last_write"]["action"] == "create"

    assert undo(estate, second) == 0
    devices, vms = estate.by_name("devices"), estate.by_name("virtual_machines")
    assert devices["web-01"]["serial"] == "SN-web-01"
    assert vms["vm-a"]["memory"] == 2048
    assert devices["web-01"]["primary_ip4"]["address"] == "192.0.2.11/24"
    assert "192.0.2.111/24" not in estate.by_name("ip_addresses")


@pytest.mark.parametrize("version", VERSIONS)
def test_undo_of_a_prune_recreates_the_device_with_interfaces_ips_and_primary_ip(make_estate, capsys, version):
    estate = make_estate(version, extra_config="deletion: {grace_runs: 1, max_ratio: 1.0}")
    sync_run_id(estate)
    before = netbox_state(estate)
    data = small_estate()
    data["devices"] = [d for d in data["devices"] if d["name"] != "web-02"]
    estate.write_inventory(data)
    prune = sync_run_id(estate)
    assert "web-02" not in estate.by_name("devices")
    assert "192.0.2.12/24" not in estate.by_name("ip_addresses")

    assert undo(estate, prune) == 0
    capsys.readouterr()
    assert netbox_state(estate) == before
    web02 = estate.by_name("devices")["web-02"]
    assert web02["primary_ip4"]["address"] == "192.0.2.12/24"
    interfaces = [i for i in estate.objects("interfaces") if i["device"]["id"] == web02["id"]]
    assert sorted(i["name"] for i in interfaces) == ["eth0", "eth1"]
    staging = estate.staging()
    from netbox_pipeline.staging import store

    with staging.session() as session:
        assert store.load_object_map(session)[("devices", "home/web-02")]["netbox_id"] == web02["id"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_human_edit_since_the_run_stops_the_undo_naming_the_field(make_estate, capsys, version):
    estate = make_estate(version)
    sync_run_id(estate)
    data = small_estate()
    data["devices"][0]["serial"] = "SN-CHANGED"
    estate.write_inventory(data)
    second = sync_run_id(estate)
    web01 = estate.by_name("devices")["web-01"]
    client(estate).request("PATCH", f"dcim/devices/{web01['id']}", json={"serial": "SN-BY-HAND"})
    writes = len(estate.writes())

    assert undo(estate, second) == 1
    captured = capsys.readouterr()
    assert "devices home/web-01.serial" in captured.err and "--force-field" in captured.err
    assert "CONFLICT" in captured.out
    assert len(estate.writes()) == writes
    assert estate.by_name("devices")["web-01"]["serial"] == "SN-BY-HAND"

    assert undo(estate, second, "--force-field", "serial", "--pause") == 0
    assert estate.by_name("devices")["web-01"]["serial"] == "SN-web-01"
    assert "paused:" in capsys.readouterr().out
    import dagster as dg
    from dagster._core.scheduler.instigation import InstigatorStatus

    with dg.DagsterInstance.get() as instance:  # what the UI's Automation page reads
        states = {state.instigator_name: state.status for state in instance.all_instigator_state()}
    assert states.get("netbox_pipeline_automation") == InstigatorStatus.STOPPED
    assert states.get("inventory_files_sensor") == InstigatorStatus.STOPPED
