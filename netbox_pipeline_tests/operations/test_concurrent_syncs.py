"""Two syncs started together (a schedule firing while someone runs the CLI) write nothing twice."""

from netbox_pipeline_tests.operations.helpers import custom_field_duplicates, duplicates, output, start_sync


def test_two_syncs_started_together_make_no_duplicate_and_one_waits(make_estate):
    estate = make_estate()
    # Slow writes keep the first run writing while the second starts, as on a busy NetBox.
    estate.sandbox.faults.configure(latency_s=0.15, methods=["POST", "PATCH"])
    first, second = start_sync(estate, log_name="first"), start_sync(estate, log_name="second")
    codes = first.wait(timeout=600), second.wait(timeout=600)
    logs = output(estate, "first") + output(estate, "second")
    assert codes == (0, 0), logs
    assert "waiting for the NetBox write lease" in logs and "holding since" in logs
    assert duplicates(estate) == [] and custom_field_duplicates(estate) == []
    assert len(estate.objects("mac_addresses")) == 7 and len(estate.objects("devices")) == 3


def test_a_second_sync_with_no_wait_exits_at_once_naming_the_holder(make_estate):
    estate = make_estate()
    estate.sandbox.faults.configure(latency_s=0.15, methods=["POST", "PATCH"])
    first = start_sync(estate, log_name="first")
    import time

    from netbox_pipeline.staging import store

    staging = estate.staging()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until the first run holds the lease
        with staging.session() as session:
            if store.lease_holder(session, estate.sandbox.url):
                break
        time.sleep(0.2)
    second = start_sync(estate, "--no-wait", log_name="second")
    assert second.wait(timeout=300) == 1
    assert first.wait(timeout=600) == 0, output(estate, "first")
    assert "is being written by run" in output(estate, "second") and "not waiting (--no-wait)" in output(estate, "second")
    assert duplicates(estate) == []
