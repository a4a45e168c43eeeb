"""`/metrics` answers with the documented series; a dry run never overwrites the real run's counts."""

import socket

import requests

from netbox_pipeline.exporter import serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in /metrics:\n{text}")


def test_metrics_serve_the_documented_series_and_a_dry_run_keeps_the_real_counts(make_estate):
    estate = make_estate()
    assert estate.sync().success
    server, thread = serve(estate.staging(), port := _free_port())
    try:
        first = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        assert estate.sync(dry_run=True).success
        after_dry = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    finally:
        server.shutdown()
    assert _value(first, 'netbox_pipeline_netbox_objects{outcome="created",type="devices"}') == 3
    assert _value(first, 'netbox_pipeline_source_records{instance="rack",kind="filesystem"}') > 0
    assert _value(first, 'netbox_pipeline_source_last_pull_failed{instance="rack",kind="filesystem"}') == 0
    for series in ("netbox_pipeline_source_last_success_timestamp_seconds", "netbox_pipeline_plan_size", "netbox_pipeline_drift_objects",
                   "netbox_pipeline_netbox_duplicates", "netbox_pipeline_netbox_duplicates_unresolved",
                   "netbox_pipeline_sync_duration_seconds", "netbox_pipeline_lease_wait_seconds",
                   "netbox_pipeline_last_sync_timestamp_seconds"):
        assert series in first
    assert _value(first, "netbox_pipeline_plan_size") > 0
    assert _value(after_dry, 'netbox_pipeline_netbox_objects{outcome="created",type="devices"}') == 3  # not 0
