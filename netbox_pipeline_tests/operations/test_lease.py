"""The NetBox write lease in the staging DB: one holder, re-entry, waiting, expiry, dead holders."""

import threading
import time

import pytest

from netbox_pipeline.stages.lease import LeaseBusy, LeaseLost, WriteLease, lease_key
from netbox_pipeline.staging import store
from netbox_pipeline.staging.db import open_staging

URL = "http://127.0.0.1:8000"


@pytest.fixture
def staging(staging_url):
    db = open_staging(staging_url)
    yield db
    db.dispose()


def lease(staging, run_id, **kwargs):
    return WriteLease(staging, URL, run_id, holder=f"test {run_id}", **kwargs)


def holder(staging):
    with staging.session() as session:
        return store.lease_holder(session, URL)


def test_one_holder_at_a_time_and_a_second_run_is_told_who_holds_it(staging):
    with lease(staging, "run-a", ttl_s=60):
        assert holder(staging)["run_id"] == "run-a"
        with pytest.raises(LeaseBusy, match=r"run run-a \(test run-a\), holding since"):
            lease(staging, "run-b", wait=False).acquire()
        lease(staging, "run-a", ttl_s=60).acquire().stop_heartbeat()  # the holder re-enters
    assert holder(staging) is None  # released on exit


def test_released_on_an_exception_too(staging):
    with pytest.raises(RuntimeError), lease(staging, "run-a"):
        raise RuntimeError("boom")
    assert holder(staging) is None


def test_a_waiting_run_reports_the_holder_and_gets_the_lease_when_it_is_released(staging):
    first = lease(staging, "run-a", ttl_s=60).acquire()
    messages = []
    second = lease(staging, "run-b", report=messages.append)
    got = threading.Event()
    waiter = threading.Thread(target=lambda: (second.acquire(), got.set()))
    waiter.start()
    deadline = time.monotonic() + 20
    while not messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not got.is_set()
    first.release()
    waiter.join(timeout=20)
    assert got.is_set() and holder(staging)["run_id"] == "run-b"
    assert "waiting for the NetBox write lease" in messages[0] and "run run-a" in messages[0]
    assert second.waited_s > 0
    second.release()


def test_an_expired_lease_is_taken_over_and_its_holder_cannot_continue(staging):
    dead = lease(staging, "run-dead", ttl_s=1).acquire()
    dead.stop_heartbeat()  # as if killed: no more heartbeats
    with pytest.raises(LeaseBusy):
        lease(staging, "run-b", wait=False).acquire()
    time.sleep(1.2)
    with lease(staging, "run-b", wait=False, ttl_s=60):
        assert holder(staging)["run_id"] == "run-b"
        with pytest.raises(LeaseLost, match="plan may be stale"):
            lease(staging, "run-dead").continue_holding()


def test_a_holder_whose_run_ended_yields_at_once(staging):
    lease(staging, "run-ended", ttl_s=600).acquire().stop_heartbeat()
    taken = lease(staging, "run-b", wait=False, holder_alive=lambda run_id: run_id != "run-ended").acquire()
    assert holder(staging)["run_id"] == "run-b"
    taken.release()


def test_heartbeat_keeps_a_short_lease_alive(staging):
    with lease(staging, "run-a", ttl_s=1):
        time.sleep(1.6)
        with pytest.raises(LeaseBusy):
            lease(staging, "run-b", wait=False).acquire()


def test_one_lease_per_netbox_however_the_url_is_spelled():
    assert lease_key("HTTP://NetBox.Example:8000/") == lease_key("http://netbox.example:8000") == "http://netbox.example:8000"
    assert lease_key("https://user:secret@nb.example/") == "https://nb.example"
