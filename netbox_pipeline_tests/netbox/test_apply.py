"""apply_slice against the NetBox sandbox, with plans built by the real core from an inventory file.

inventory YAML -> read_inventory_file -> merge -> desired_objects -> build_plan (live state read
with read_netbox) -> apply_slice per type in TYPES order, phase "first" then "second".
"""

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from netbox_pipeline.stages.plan import read_netbox
from netbox_pipeline.netbox.apply import TypeResult, apply_slice, build_id_index
from netbox_pipeline.netbox.client import NetBoxClient
from netbox_pipeline.netbox.schema import OWNER_TAG, TYPES, build_live
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import Plan, SyncPolicy, build_plan
from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.sources.filesystem import read_inventory_file

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
INSTANCE = ("filesystem", "rack")
DEVICES = "/api/dcim/devices/"
# Seed 1 at a 0.5 fault rate fails the 1st request of the scoped kind and passes the 2nd and 3rd.
SEED_FIRST_FAILS = 1

# The stand-in finishes a request before it drops or fails it: settling needs no long wait.
STANDIN_SERVER_TIMEOUT_S = 0.2


def server(name: str, site: str, octet: int, **extra) -> dict:
    return {
        "name": name, "site": site, "role": "server", "manufacturer": "Acme", "model": "AX-1",
        "status": "active",
        "interfaces": [{"name": "eth0", "type": "1000base-t", "mac": f"02:00:00:00:00:{octet:02x}",
                        "ip_addresses": [f"192.0.2.{octet}/24"]}],
        "primary_ip4": f"192.0.2.{octet}",
        **extra,
    }


def estate(count: int = 5, site: str = "home") -> dict:
    return {"devices": [server(f"srv-{i:02d}", site, i) for i in range(1, count + 1)]}


@pytest.fixture(params=["4.4", "4.6"])
def sandbox(request) -> Iterator[NetBoxSandbox]:
    with NetBoxSandbox(version=request.param) as sb:
        yield sb


@pytest.fixture
def client(sandbox) -> NetBoxClient:
    return NetBoxClient(sandbox.url, sandbox.token, backoff_s=0.01, server_timeout_s=STANDIN_SERVER_TIMEOUT_S)


def plan_for(tmp_path: Path, data: dict, client: NetBoxClient, object_map=None, **options) -> Plan:
    path = tmp_path / "rack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = read_inventory_file(path, INSTANCE[1], observed_at=NOW)
    assert result.status == "ok" and not result.errors, result.errors
    desired = desired_objects(merge([result], default_precedence()), owner_tag=OWNER_TAG)
    assert not desired.problems
    live, _ = read_netbox(client, owner_tag=OWNER_TAG)
    return build_plan(desired, live, healthy_instances=[INSTANCE], object_map=object_map,
                      policy=SyncPolicy(owner_tag=OWNER_TAG, **options))


def apply_plan(
    client: NetBoxClient | None, plan: Plan, phases: Iterable[str] = ("first", "second"), *,
    dry_run: bool = False, only: Iterable[str] | None = None,
) -> dict[tuple[str, str], TypeResult]:
    index = build_id_index(plan.items, {})
    results = {}
    for phase in phases:
        for name in TYPES if only is None else only:
            results[(name, phase)] = apply_slice(client, name, plan.by_type(name), index, phase=phase,
                                                 chunk_size=100, dry_run=dry_run, owner_tag=OWNER_TAG)
    return results


def failures(results: dict[tuple[str, str], TypeResult]) -> list:
    return [change for result in results.values() for change in result.failures]


def names(sandbox: NetBoxSandbox, endpoint: str = "dcim/devices") -> list[str]:
    return sorted(o["name"] for o in sandbox.objects(endpoint))


def object_map_of(client: NetBoxClient) -> dict:
    """What the staging DB would hold after a sync wrote every owned object for this instance."""
    live, _ = read_netbox(client, owner_tag=OWNER_TAG)
    return {(name, key): {"netbox_id": obj.id, "instances": [INSTANCE], "missing_runs": 0}
            for name, objects in live.objects.items() for key, obj in objects.items()
            if obj.owned or name == "tags"}


def synced(tmp_path: Path, data: dict, client: NetBoxClient) -> None:
    results = apply_plan(client, plan_for(tmp_path, data, client))
    assert not failures(results)


# --- reads --------------------------------------------------------------------------------------


def test_reading_only_the_compared_fields_sees_exactly_what_a_full_read_sees(tmp_path, sandbox, client):
    synced(tmp_path, estate(), client)
    trimmed, counts = read_netbox(client, owner_tag=OWNER_TAG)
    full = build_live({name: client.list_all(t.endpoint) for name, t in TYPES.items()}, owner_tag=OWNER_TAG)
    assert counts["devices"] == 5 and counts["ip_addresses"] == 5
    assert trimmed.objects == full.objects
    reads = [e for e in sandbox.request_log if e.method == "GET" and "fields=" in (e.query or "")]
    assert len(reads) >= len(TYPES)


# --- the baseline the other tests change --------------------------------------------------------


def test_plan_is_applied_and_a_second_plan_is_empty(tmp_path, sandbox, client):
    results = apply_plan(client, plan_for(tmp_path, estate(), client))

    assert not failures(results)
    assert results[("devices", "first")].created == 5
    assert results[("devices", "second")].updated == 5  # primary_ip4, once the addresses exist
    assert names(sandbox) == [f"srv-{i:02d}" for i in range(1, 6)]
    assert all(d["primary_ip4"] is not None for d in sandbox.objects("dcim/devices"))
    assert {a["address"] for a in sandbox.objects("ipam/ip-addresses")} == {f"192.0.2.{i}/24" for i in range(1, 6)}
    again = plan_for(tmp_path, estate(), client)
    assert again.totals()["create"] == again.totals()["update"] == 0


# --- uncertain creates --------------------------------------------------------------------------


@pytest.mark.parametrize("written", [True, False], ids=["written-then-dropped", "dropped-unwritten"])
def test_uncertain_device_post_makes_no_duplicate(tmp_path, sandbox, client, written):
    plan = plan_for(tmp_path, estate(), client)
    sandbox.reset_log()
    sandbox.faults.configure(drop_rate=0.5, path_prefix=DEVICES, methods=["POST"], after_write=written,
                             seed=SEED_FIRST_FAILS)

    results = apply_plan(client, plan)

    assert not failures(results)
    devices = sandbox.objects("dcim/devices")
    assert sorted(d["name"] for d in devices) == [f"srv-{i:02d}" for i in range(1, 6)]  # each exactly once
    device_calls = [(e.method, e.status) for e in sandbox.request_log if e.path == DEVICES and e.method != "PATCH"]
    # the dropped POST, then a re-read of the devices, then a resend only of what was missing
    assert device_calls == [("POST", 0), ("GET", 200)] + ([] if written else [("POST", 201)])
    created = results[("devices", "first")]
    assert created.created == 5 and created.counts()["failed"] == 0
    assert sorted(c.netbox_id for c in created.changes) == sorted(d["id"] for d in devices)
    # the ids learnt from the re-read (or the resend) carry the devices' children to the right parent
    by_id = {d["id"]: d["name"] for d in devices}
    for interface in sandbox.objects("dcim/interfaces"):
        assert interface["device"]["id"] in by_id
    assert {by_id[d["id"]]: d["primary_ip4"]["address"] for d in devices} == {
        f"srv-{i:02d}": f"192.0.2.{i}/24" for i in range(1, 6)}


def test_uncertain_post_that_cannot_be_re_read_is_a_failure(tmp_path, sandbox, client):
    plan = plan_for(tmp_path, estate(2), client)
    client.retries = 0
    sandbox.faults.configure(error_rate=1.0, path_prefix=DEVICES, methods=["POST", "GET"])

    results = apply_plan(client, plan, phases=["first"], only=["tags", "manufacturers", "sites", "device_roles",
                                                                "device_types", "devices"])

    failed = results[("devices", "first")].failures
    assert [c.key for c in failed] == [("home", "srv-01"), ("home", "srv-02")]
    assert all("outcome unknown and NetBox could not be re-read" in c.error for c in failed)
    assert results[("devices", "first")].created == 0


# --- updates ------------------------------------------------------------------------------------


def test_patch_carries_only_the_changed_field(tmp_path, sandbox, client):
    synced(tmp_path, estate(), client)
    data = estate()
    data["devices"][2]["description"] = "moved to rack B"
    plan = plan_for(tmp_path, data, client)
    [item] = plan.by_action("update")
    sandbox.reset_log()

    results = apply_plan(client, plan)

    [patch] = sandbox.writes()
    assert (patch.method, patch.path, patch.status) == ("PATCH", DEVICES, 200)
    expected_body = json.dumps([{"id": item.netbox_id, "description": "moved to rack B"}])
    assert patch.body_bytes == len(expected_body.encode())
    updated = results[("devices", "first")]
    assert updated.updated == 1
    [change] = updated.changes
    assert change.after == {"description": "moved to rack B"} and change.before == {"description": None}
    assert change.status == "applied" and change.key == ("home", "srv-03")
    descriptions = {d["name"]: d["description"] for d in sandbox.objects("dcim/devices")}
    assert descriptions.pop("srv-03") == "moved to rack B"
    assert set(descriptions.values()) == {""}


def test_updates_of_several_devices_keep_their_own_ids(tmp_path, sandbox, client):
    """NetBox answers a bulk PATCH in its own order (by name), not in the order of the request."""
    data = {"devices": [server("zz-01", "alpha", 1), server("aa-01", "beta", 2)]}  # created zz-01 first
    synced(tmp_path, data, client)
    ids = {d["name"]: d["id"] for d in sandbox.objects("dcim/devices")}
    for device in data["devices"]:
        device["description"] = f"{device['name']} updated"
    data["devices"][0]["interfaces"].append({"name": "eth1", "type": "1000base-t"})
    plan = plan_for(tmp_path, data, client)

    results = apply_plan(client, plan)

    assert not failures(results)
    assert {c.key: c.netbox_id for c in results[("devices", "first")].changes} == {
        ("alpha", "zz-01"): ids["zz-01"], ("beta", "aa-01"): ids["aa-01"]}
    [eth1] = [i for i in sandbox.objects("dcim/interfaces") if i["name"] == "eth1"]
    assert eth1["device"]["name"] == "zz-01"


def test_update_of_an_object_deleted_since_the_read_is_a_failure(tmp_path, sandbox, client):
    synced(tmp_path, estate(2), client)
    data = estate(2)
    for device in data["devices"]:
        device["description"] = "changed"
    plan = plan_for(tmp_path, data, client)
    gone = next(d["id"] for d in sandbox.objects("dcim/devices") if d["name"] == "srv-02")
    client.request("DELETE", f"dcim/devices/{gone}")  # a person deletes it between read and write

    results = apply_plan(client, plan, phases=["first"], only=["devices"])

    result = results[("devices", "first")]
    assert result.updated == 1
    [failed] = result.failures
    assert failed.key == ("home", "srv-02") and str(gone) in failed.error


# --- dry run ------------------------------------------------------------------------------------


def test_dry_run_without_a_client_sends_nothing(tmp_path, sandbox, client):
    plan = plan_for(tmp_path, estate(), client)
    sandbox.reset_log()

    results = apply_plan(None, plan, dry_run=True)

    assert sandbox.count() == 0
    assert sandbox.objects("dcim/devices") == []
    changes = [c for r in results.values() for c in r.changes]
    writes = [i for i in plan.items if i.action in ("create", "update")]
    later = [i for i in writes if i.second_pass()]  # devices' primary IPs, interfaces' primary MACs
    assert len(later) == 10
    assert len(changes) == len(writes) + len(later)
    assert {c.status for c in changes} == {"skipped"}
    assert all(c.error == "dry run: not written" for c in changes)
    assert all(r.requests == 0 and r.created == r.updated == 0 for r in results.values())


def test_dry_run_delete_sends_nothing(tmp_path, sandbox, client):
    synced(tmp_path, estate(), client)
    plan = plan_for(tmp_path, estate(4), client, object_map=object_map_of(client), grace_runs=1)
    sandbox.reset_log()
    results = apply_plan(None, plan, phases=["delete"], only=reversed(list(TYPES)), dry_run=True)
    assert sandbox.count() == 0
    skipped = [c for r in results.values() for c in r.changes]
    assert {c.status for c in skipped} == {"skipped"} and len(skipped) == len(plan.deletions()) == 4


# --- deletes ------------------------------------------------------------------------------------


def test_deletes_remove_exactly_the_planned_ids_children_first(tmp_path, sandbox, client):
    synced(tmp_path, estate(), client)
    before = {name: {o["id"] for o in sandbox.objects(t.endpoint)} for name, t in TYPES.items()}
    plan = plan_for(tmp_path, estate(4), client, object_map=object_map_of(client), grace_runs=1)
    planned = {(i.type, i.netbox_id) for i in plan.deletions()}
    assert {t for t, _ in planned} == {"devices", "interfaces", "mac_addresses", "ip_addresses"}
    assert len(planned) == 4
    sandbox.reset_log()

    results = apply_plan(client, plan, phases=["delete"], only=reversed(list(TYPES)))

    after = {name: {o["id"] for o in sandbox.objects(t.endpoint)} for name, t in TYPES.items()}
    removed = {(name, i) for name in TYPES for i in before[name] - after[name]}
    assert removed == planned
    assert [e.path for e in sandbox.writes()] == [
        "/api/ipam/ip-addresses/", "/api/dcim/mac-addresses/", "/api/dcim/interfaces/", DEVICES]
    assert all(e.method == "DELETE" and e.status == 204 for e in sandbox.writes())
    assert sum(r.deleted for r in results.values()) == 4 and not failures(results)
    assert {(c.type, c.netbox_id) for r in results.values() for c in r.changes} == planned
    assert names(sandbox) == [f"srv-{i:02d}" for i in range(1, 5)]


def test_delete_phase_ignores_creates_and_updates(tmp_path, sandbox, client):
    plan = plan_for(tmp_path, estate(), client)
    sandbox.reset_log()
    results = apply_plan(client, plan, phases=["delete"])
    assert sandbox.count() == 0 and not any(r.changes for r in results.values())


# --- unresolvable references --------------------------------------------------------------------


def test_unresolvable_reference_fails_that_object_only(tmp_path, sandbox, client):
    data = {"devices": [server("web-01", "home", 1), server("db-01", "lab", 2)]}
    plan = plan_for(tmp_path, data, client)
    index = build_id_index(plan.items, {})
    results: dict[str, TypeResult] = {}
    for name in TYPES:  # the site "lab" is never created
        items = [i for i in plan.by_type(name) if not (name == "sites" and i.key == ("lab",))]
        results[name] = apply_slice(client, name, items, index, phase="first", owner_tag=OWNER_TAG)

    devices = results["devices"]
    assert devices.created == 1
    [failed] = devices.failures
    assert failed.key == ("lab", "db-01") and failed.action == "create" and failed.netbox_id is None
    assert failed.error == "devices.site: no sites with key ('lab',) in NetBox"
    assert devices.failure_summary() == (
        "1 devices object(s) were rejected:\n"
        "  lab/db-01 (create): devices.site: no sites with key ('lab',) in NetBox")
    # its children cannot resolve it either; web-01 and its children are written
    assert [c.key[:2] for c in results["interfaces"].failures] == [("lab", "db-01")]
    assert "interfaces.device: no devices with key ('lab', 'db-01')" in results["interfaces"].failures[0].error
    assert names(sandbox) == ["web-01"]
    assert [i["device"]["name"] for i in sandbox.objects("dcim/interfaces")] == ["web-01"]
    assert [s["slug"] for s in sandbox.objects("dcim/sites")] == ["home"]
    # the second pass cannot give db-01 a primary IP either, and still gives web-01 its own
    second = apply_slice(client, "devices", plan.by_type("devices"), index, phase="second", owner_tag=OWNER_TAG)
    assert second.updated == 1
    [later] = second.failures
    assert later.key == ("lab", "db-01") and later.error.startswith("devices.primary_ip4: no ip_addresses with key")
    assert {d["name"]: d["primary_ip4"]["address"] for d in sandbox.objects("dcim/devices")} == {"web-01": "192.0.2.1/24"}


def test_rejected_object_is_reported_with_netbox_reason_and_others_apply(tmp_path, sandbox, client):
    plan = plan_for(tmp_path, estate(3), client)
    index = build_id_index(plan.items, {})
    for name in ("tags", "manufacturers", "sites", "device_roles", "device_types"):
        assert not apply_slice(client, name, plan.by_type(name), index, phase="first").failures
    # A person creates SRV-02 after the read: NetBox refuses srv-02 (names are unique per site, any case).
    client.request("POST", "dcim/devices", json={
        "name": "SRV-02", "site": sandbox.objects("dcim/sites")[0]["id"],
        "role": sandbox.objects("dcim/device-roles")[0]["id"],
        "device_type": sandbox.objects("dcim/device-types")[0]["id"]})
    sandbox.reset_log()

    result = apply_slice(client, "devices", plan.by_type("devices"), index, phase="first")

    assert result.created == 2
    [failed] = result.failures
    assert failed.key == ("home", "srv-02") and failed.status == "failed"
    assert failed.error == "Device name must be unique per site."
    assert [e.status for e in sandbox.writes()] == [400, 201]  # all-or-nothing, then the valid two
    assert names(sandbox) == ["SRV-02", "srv-01", "srv-03"]
