"""The benchmark's targets and bare baselines: request counts on the wire, never times."""

import re

import pytest

from netbox_pipeline.bench import TOKEN_ENV
from netbox_pipeline.benchmarks.bare import Bare, bare_reads, bare_writes, best_point
from netbox_pipeline.benchmarks.targets import StandInTarget, wipe_owned
from netbox_pipeline.netbox.schema import TYPES
from netbox_pipeline.sandbox.demo_estate import generate_bench_inventory
from netbox_pipeline_tests.conftest import require_real
from netbox_pipeline_tests.real_netbox import REAL, serve_netbox

DEVICES = 3


def _devices(tmp_path):
    import json

    return json.loads(generate_bench_inventory(tmp_path / "bench.json", devices=DEVICES).read_text())["devices"]


def _bare_run(netbox, tmp_path):
    """Bare writes then bare reads, each with its own log: (write requests, read requests, objects read per type)."""
    bare = Bare(netbox.url, netbox.token, parallel=3)
    netbox.reset_log()
    bare_writes(bare, _devices(tmp_path), chunk=2)
    writes = list(netbox.request_log)
    netbox.reset_log()
    counts = bare_reads(bare)
    return writes, list(netbox.request_log), counts


def _check_bare_run(writes, reads, counts):
    by_endpoint: dict[tuple[str, str], int] = {}
    for entry in writes:
        key = (entry.method, entry.path.strip("/").removeprefix("api/"))
        by_endpoint[key] = by_endpoint.get(key, 0) + 1
    # chunks of 2: 3 devices → 2 POSTs; 6 interfaces, MACs and addresses → 3 POSTs each; the second pass PATCHes.
    assert by_endpoint == {
        ("POST", "extras/tags"): 1, ("POST", "dcim/manufacturers"): 1, ("POST", "dcim/sites"): 1, ("POST", "dcim/device-roles"): 1,
        ("POST", "dcim/device-types"): 1, ("POST", "dcim/devices"): 2, ("POST", "dcim/interfaces"): 3,
        ("POST", "dcim/mac-addresses"): 3, ("POST", "ipam/ip-addresses"): 3,
        ("PATCH", "dcim/interfaces"): 3, ("PATCH", "dcim/devices"): 2,
    }
    assert all(e.status < 300 for e in writes)
    assert len(reads) == len(TYPES) and all(e.method == "GET" and "fields=" in e.query for e in reads)
    assert counts["devices"] == DEVICES and counts["interfaces"] == counts["mac_addresses"] == counts["ip_addresses"] == 2 * DEVICES


def test_bare_calls_against_the_stand_in_through_the_proxy(tmp_path):
    target = StandInTarget()
    try:
        _check_bare_run(*_bare_run(target.fresh(), tmp_path))
    finally:
        target.close()


def test_wipe_deletes_only_objects_with_the_owner_tag(tmp_path):
    target = StandInTarget()
    try:
        netbox = target.fresh()
        _bare_run(netbox, tmp_path)
        bare = Bare(netbox.url, netbox.token)
        bare._call("POST", "dcim/sites", {"name": "Someone's", "slug": "someones"})
        ours = sum(n for t, n in bare_reads(bare).items() if t != "tags") - 1  # all but the person's site
        assert wipe_owned(netbox) == ours
        left = bare_reads(bare)
        assert left["sites"] == 1 and left["devices"] == left["ip_addresses"] == 0
    finally:
        target.close()


def test_bare_calls_against_the_real_netbox(real_netbox, tmp_path):
    require_real(True, "real NetBox")
    _check_bare_run(*_bare_run(real_netbox, tmp_path))


def test_best_point_prefers_fewer_in_flight_within_five_percent():
    rows = [{"chunk": 50, "parallel": 1, "objects_per_s": 10.0, "error": None},
            {"chunk": 100, "parallel": 4, "objects_per_s": 20.0, "error": None},
            {"chunk": 50, "parallel": 2, "objects_per_s": 19.5, "error": None},
            {"chunk": 250, "parallel": 1, "objects_per_s": 0.0, "error": "ReadTimeout"}]
    assert (best_point(rows)["chunk"], best_point(rows)["parallel"]) == (50, 2)
    assert best_point([rows[-1]]) is None


@pytest.fixture(params=["4.7", REAL])
def bench_netbox(request):
    yield from serve_netbox(request)


def test_bench_by_url_measures_every_phase_and_keeps_a_persons_objects(bench_netbox, tmp_path, monkeypatch):
    from netbox_pipeline.cli import main

    bare = Bare(bench_netbox.url, bench_netbox.token)
    bare._call("POST", "dcim/sites", {"name": "Someone's", "slug": "someones"})
    monkeypatch.setenv(TOKEN_ENV, bench_netbox.token)
    report = tmp_path / "benchmarks.md"
    assert main(["bench", "--devices", "3", "--netbox-url", bench_netbox.url, "--naive-devices", "2",
                 "--output", str(report)]) == 0
    text = report.read_text()
    assert "<!-- bench:url -->" in text and "`netbox-pipeline bench --devices 3 --netbox-url URL`" in text
    for phase in ("pipeline first sync", "pipeline no-op rerun", "bare paginated reads", "bare parallel bulk calls",
                  "naive first run", "naive rerun"):
        assert re.search(rf"^\| {phase} \| .* \| ok \|$", text, re.M), phase
    # The wipes between phases deleted only what carries the owner tag; the last phase's objects stay.
    left = bare_reads(bare)
    assert left["sites"] == 3 and left["devices"] == 2
    assert [s["slug"] for s in bare._call("GET", "dcim/sites", params={"slug": "someones"})["results"]] == ["someones"]


def test_bench_by_url_needs_the_token_in_the_environment(monkeypatch, capsys):
    from netbox_pipeline.cli import main

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert main(["bench", "--devices", "3", "--netbox-url", "http://127.0.0.1:9"]) == 2
    assert f"${TOKEN_ENV}" in capsys.readouterr().err
