"""A sync killed with SIGKILL while it holds the write lease and the Dagster write slot."""

import os
import signal
import time

import dagster as dg

from netbox_pipeline.defs.liveness import POOL
from netbox_pipeline.staging import store
from netbox_pipeline_tests.conftest import REPO_ROOT
from netbox_pipeline_tests.operations.helpers import duplicates, output, start_sync

LEASE_TTL_S = 5


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_next_run_takes_over_a_killed_runs_lease_and_slot_and_heals(make_estate):
    estate = make_estate()
    estate.config_path.write_text(estate.config_path.read_text().replace("chunk_size: 2}", f"chunk_size: 2, lease_ttl_s: {LEASE_TTL_S}}}"))
    home = os.environ["DAGSTER_HOME"]
    (REPO_ROOT / "dagster.yaml").read_text()
    with open(os.path.join(home, "dagster.yaml"), "w") as f:  # the project's instance: one netbox_writes slot
        f.write((REPO_ROOT / "dagster.yaml").read_text())
    staging = estate.staging()
    estate.sandbox.faults.configure(latency_s=0.3, methods=["POST", "PATCH"])
    victim = start_sync(estate, log_name="victim")

    def holding():
        with dg.DagsterInstance.get() as instance:
            slots = instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
        with staging.session() as session:
            return slots and store.lease_holder(session, estate.sandbox.url)

    _wait_for(holding, 240, "the first sync to hold the lease and the write slot")
    _wait_for(lambda: len(estate.objects("devices")) > 0 or len(estate.objects("sites")) > 0, 120, "some writes")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    estate.sandbox.faults.clear()

    started = time.monotonic()
    rescue = start_sync(estate, log_name="rescue")
    assert rescue.wait(timeout=600) == 0, output(estate, "rescue")
    log = output(estate, "rescue")
    assert "freed the netbox_writes slot(s) of run" in log and "is gone" in log
    assert "took over" in log  # the killed run's lease
    assert time.monotonic() - started < 600
    assert duplicates(estate) == []
    assert len(estate.objects("devices")) == 3 and len(estate.objects("mac_addresses")) == 7
    with staging.session() as session:
        assert store.lease_holder(session, estate.sandbox.url) is None
