"""Two syncs started together (a schedule firing while someone runs the CLI) write nothing twice."""

import time

import pytest

from netbox_pipeline.stages.lease import WriteLease, lease_key
from netbox_pipeline_tests.operations.helpers import custom_field_duplicates, duplicates, output, start_sync
from netbox_pipeline_tests.real_netbox import REAL


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_two_syncs_started_together_make_no_duplicate_and_one_waits(make_estate, version):
    estate = make_estate(version=version)
    if version != REAL:  # the real NetBox's writes are slow enough as they are
        # Slow writes keep the first run writing while the second starts, as on a busy NetBox.
        estate.sandbox.faults.configure(latency_s=0.15, methods=["POST", "PATCH"])
    first, second = start_sync(estate, log_name="first"), start_sync(estate, log_name="second")
    codes = first.wait(timeout=900), second.wait(timeout=900)
    logs = {name: output(estate, name) for name in ("first", "second")}
    assert codes == (0, 0), logs
    assert duplicates(estate) == [] and custom_field_duplicates(estate) == []
    assert len(estate.objects("mac_addresses")) == 7 and len(estate.objects("devices")) == 3
    # One of them waited for the other's writes, and said so, naming the run it waited for.
    waited = [name for name, log in logs.items() if "waiting for the NetBox write lease" in log]
    assert len(waited) == 1, logs
    assert "took the NetBox write lease" in logs[waited[0]] and "after waiting" in logs[waited[0]]


def test_a_sync_waits_for_the_run_holding_the_lease_says_for_whom_and_writes_after_it(make_estate):
    estate = make_estate()
    staging = estate.staging()
    # Another run (a schedule on another host, say) holds the lease until the test lets it go.
    other = WriteLease(staging, lease_key(estate.sandbox.url), "scheduled-run-1", ttl_s=60, holder="cron on ops-2").acquire()
    sync = start_sync(estate, log_name="waiting")
    try:
        _wait_for(lambda: "waiting for the NetBox write lease" in output(estate, "waiting"), 240, "the wait to be reported")
        assert estate.writes() == []  # it has not even read NetBox for its plan
    finally:
        other.release()
    assert sync.wait(timeout=600) == 0, output(estate, "waiting")
    log = output(estate, "waiting")
    assert "run scheduled-run-1 (cron on ops-2), holding since" in log and "took the NetBox write lease" in log
    assert len(estate.objects("devices")) == 3 and duplicates(estate) == []


def test_a_second_sync_with_no_wait_exits_at_once_naming_the_holder(make_estate):
    estate = make_estate()
    other = WriteLease(estate.staging(), lease_key(estate.sandbox.url), "scheduled-run-1", ttl_s=60, holder="cron on ops-2").acquire()
    try:
        second = start_sync(estate, "--no-wait", log_name="second")
        assert second.wait(timeout=300) == 1
    finally:
        other.release()
    log = output(estate, "second")
    assert "is being written by run scheduled-run-1 (cron on ops-2)" in log and "not waiting (--no-wait)" in log
    assert estate.writes() == []
