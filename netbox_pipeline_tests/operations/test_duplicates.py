"""Duplicates already in NetBox: the pipeline's own are removed by one run, anyone else's are reported.

The copies are made through NetBox's API, as a racing run (or a person) would make them. Before,
later runs logged "holds mac_addresses … more than once (id 340 left alone)" and the copies stayed.
"""

import dagster as dg
import pytest
import requests

from netbox_pipeline.cli import main
from netbox_pipeline.defs.plan import DUPLICATES_CHECK
from netbox_pipeline.netbox.client import auth_header
from netbox_pipeline.stages.metrics import read_metrics
from netbox_pipeline.staging import store
from netbox_pipeline_tests.operations.helpers import duplicates
from netbox_pipeline_tests.real_netbox import REAL

MACS = "dcim/mac-addresses"


def _api(estate, method: str, endpoint: str, body: dict | None = None) -> dict:
    reply = requests.request(method, f"{estate.sandbox.url}/api/{endpoint}/", json=body, timeout=60,
                             headers={"Authorization": auth_header(estate.sandbox.token)})
    assert reply.status_code < 300, reply.text
    return reply.json()


def copy_mac(estate, mac: dict, tags: list[str]) -> int:
    """A second MAC object like `mac`, on the same interface, with these tags."""
    body = {"mac_address": mac["mac_address"], "assigned_object_type": mac["assigned_object_type"],
            "assigned_object_id": mac["assigned_object_id"], "tags": [{"slug": slug} for slug in tags]}
    return _api(estate, "POST", MACS, body)["id"]


def slugs(obj: dict) -> list[str]:
    return [tag["slug"] for tag in obj["tags"]]


def cli(estate, capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--config", str(estate.config_path), *args])
    return code, capsys.readouterr().out


def synced(make_estate, capsys, version):
    estate = make_estate(version=version)
    code, out = cli(estate, capsys, "sync")
    assert code == 0, out
    macs = estate.objects("mac_addresses")
    assert len(macs) == 7 and duplicates(estate) == []
    return estate, macs


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_the_pipeline_s_own_duplicates_are_removed_by_one_run_and_a_rerun_writes_nothing(make_estate, capsys, version):
    estate, macs = synced(make_estate, capsys, version)
    copies = {mac["id"]: copy_mac(estate, mac, slugs(mac)) for mac in macs[:3]}
    # The racing run's second pass pointed the interface at its own copy of the first MAC.
    first, its_copy = macs[0]["id"], copies[macs[0]["id"]]
    _api(estate, "PATCH", f"dcim/interfaces/{macs[0]['assigned_object_id']}", {"primary_mac_address": its_copy})
    assert len(duplicates(estate)) == 3

    code, out = cli(estate, capsys, "plan")
    assert code == 0, out
    removals = [line for line in out.splitlines() if line.startswith("delete") and "made by the pipeline" in line]
    assert len(removals) == 3, out
    assert f"id {first} duplicates id {its_copy}" in out  # the copy the interface uses is the one kept
    assert all(f"id {copies[mac['id']]} duplicates id {mac['id']}" in out for mac in macs[1:3])
    assert "duplicates to resolve" not in out

    code, out = cli(estate, capsys, "sync")
    assert code == 0, out
    assert "mac_addresses      created=0, updated=0, deleted=3, failed=0" in out
    kept = {mac["id"] for mac in estate.objects("mac_addresses")}
    assert duplicates(estate) == [] and len(kept) == 7
    assert its_copy in kept and first not in kept and not (set(copies.values()) - {its_copy}) & kept
    interface = _api(estate, "GET", f"dcim/interfaces/{macs[0]['assigned_object_id']}")
    assert interface["primary_mac_address"]["id"] == its_copy
    with estate.staging().session() as session:  # the object map follows the copy kept
        entries = store.load_object_map(session, "mac_addresses")
    assert {entry["netbox_id"] for entry in entries.values()} == kept

    estate.sandbox.reset_log()
    code, out = cli(estate, capsys, "sync")
    assert code == 0 and "NetBox: no changes written" in out, out
    assert estate.writes() == []


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_duplicates_of_a_person_or_that_differ_are_reported_with_both_ids_and_nothing_is_deleted(make_estate, capsys, version):
    estate, macs = synced(make_estate, capsys, version)
    owner, *others = slugs(macs[1])
    assert owner == "netbox-pipeline" and others  # ours carry a source tag too
    person_s = copy_mac(estate, macs[0], [])
    differing = copy_mac(estate, macs[1], [owner])  # ours, but without the source tag
    estate.sandbox.reset_log()

    code, out = cli(estate, capsys, "sync")

    assert code == 0, out
    assert "duplicates to resolve in NetBox (2;" in out
    assert f"ids {macs[0]['id']}, {person_s}" in out and f"id {person_s} does not carry the owner tag" in out
    assert f"ids {macs[1]['id']}, {differing}" in out and "they differ in tags" in out
    assert [w for w in estate.writes() if w.method == "DELETE"] == []
    assert len(estate.objects("mac_addresses")) == 9
    # The UI shows the same finding: the plan's duplicates check fails (as a warning) naming the ids.
    [evaluation] = _check_evaluations(DUPLICATES_CHECK)[-1:]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert f"ids {macs[0]['id']}, {person_s}" in evaluation.description
    assert evaluation.metadata["unresolved"].value == 2
    assert read_metrics(estate.staging()).duplicates_unresolved == 2  # netbox_pipeline_netbox_duplicates_unresolved

    code, out = cli(estate, capsys, "plan")  # reported again, until a person resolves it
    assert code == 0 and f"ids {macs[0]['id']}, {person_s}" in out and not any(
        line.startswith("delete") for line in out.splitlines())


def _check_evaluations(check_name: str) -> list:
    instance = dg.DagsterInstance.get()
    found = []
    for run in reversed(instance.get_runs()):
        for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.event_specific_data
            if evaluation.check_name == check_name:
                found.append(evaluation)
    return found
