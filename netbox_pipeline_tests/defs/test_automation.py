import datetime as dt

import dagster as dg
import pytest

from netbox_pipeline.config import load_config
from netbox_pipeline.defs import build_definitions, resources
from netbox_pipeline.defs.automation import AUTOMATION_SENSOR, FILE_SENSOR


@pytest.fixture
def config_file(tmp_path):
    (tmp_path / "a.yaml").write_text("devices:\n  - {name: a1, site: home, role: server}\n")
    (tmp_path / "b.yaml").write_text("devices:\n  - {name: b1, site: home, role: server}\n")
    path = tmp_path / "netbox_pipeline.yaml"
    path.write_text(
        "netbox: {url: 'http://127.0.0.1:9'}\n"
        "sources:\n  filesystem:\n    - {name: a, path: a.yaml}\n    - {name: b, path: b.yaml}\n"
        "schedules:\n  filesystem: {cron: '*/10 * * * *', enabled: true}\n"
    )
    resources._load_cached.cache_clear()
    return path


def _tick(defs, sensor, cursor):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=defs.resources)
        result = sensor(context)
        requests = [r for r in (result if isinstance(result, list) else list(result or [])) if isinstance(r, dg.RunRequest)]
        return requests, context.cursor


def test_file_sensor_refreshes_only_the_changed_instance(config_file):
    defs = build_definitions(load_config(config_file))
    sensor = defs.get_sensor_def(FILE_SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    first, cursor = _tick(defs, sensor, None)
    assert sorted(r.partition_key for r in first) == ["a", "b"]
    again, cursor = _tick(defs, sensor, cursor)
    assert again == []

    (config_file.parent / "b.yaml").write_text("devices:\n  - {name: b1, site: home, role: router}\n")
    changed, cursor = _tick(defs, sensor, cursor)
    assert [r.partition_key for r in changed] == ["b"]
    assert changed[0].run_key.startswith("b:")
    assert _tick(defs, sensor, cursor)[0] == []


def test_schedule_is_stopped_unless_enabled_and_requests_every_instance(config_file):
    defs = build_definitions(load_config(config_file))
    schedule = defs.get_schedule_def("filesystem_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "*/10 * * * *"
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                                            repository_def=defs.get_repository_def())
        requests = list(schedule.evaluate_tick(context).run_requests)
    assert sorted(r.partition_key for r in requests) == ["a", "b"]

    config_file.write_text(config_file.read_text().replace("enabled: true", "enabled: false"))
    stopped = build_definitions(load_config(config_file)).get_schedule_def("filesystem_schedule")
    assert stopped.default_status == dg.DefaultScheduleStatus.STOPPED


def test_automation_sensor_runs_by_default_over_downstream_groups(config_file):
    defs = build_definitions(load_config(config_file))
    sensor = defs.get_sensor_def(AUTOMATION_SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    keys = {k.to_user_string() for k in sensor.asset_selection.resolve(defs.resolve_asset_graph())}
    assert {"inventory", "sync_plan", "netbox_devices", "netbox_prune"} <= keys
    assert "filesystem_inventory" not in keys


def test_netbox_assets_share_one_write_pool_and_follow_dependency_order(config_file):
    defs = build_definitions(load_config(config_file))
    graph = defs.resolve_asset_graph()
    netbox_assets = [k for k in graph.get_all_asset_keys() if k.to_user_string().startswith("netbox_") and k.to_user_string() != "netbox_snapshot"]
    assert len(netbox_assets) >= 15
    assert all(defs.get_assets_def(k).op.pool == "netbox_writes" for k in netbox_assets)
    devices = graph.get(dg.AssetKey("netbox_devices"))
    parents = {k.to_user_string() for k in devices.parent_keys}
    assert {"netbox_sites", "netbox_device_roles", "netbox_device_types", "sync_plan"} <= parents
    prune_parents = {k.to_user_string() for k in graph.get(dg.AssetKey("netbox_prune")).parent_keys}
    assert "netbox_primary_ips" in prune_parents


def test_a_refreshed_source_makes_eager_downstream_assets_run(config_file):
    defs = build_definitions(load_config(config_file))
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("refresh_filesystem")
        for key in ("a", "b"):
            assert job.execute_in_process(instance=instance, partition_key=key).success
        baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=baseline.cursor)
        assert quiet.get_num_requested(dg.AssetKey("inventory")) == 0

        assert job.execute_in_process(instance=instance, partition_key="b").success  # one instance refreshed
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
        assert result.get_num_requested(dg.AssetKey("inventory")) == 1
        assert result.get_num_requested(dg.AssetKey("filesystem_inventory")) == 0  # sources are never re-pulled by automation


def test_every_configured_kind_gets_a_stopped_default_schedule(tmp_path):
    path = tmp_path / "netbox_pipeline.yaml"
    path.write_text("sources:\n  filesystem:\n    - {name: a, path: a.yaml}\n  nmap:\n    - {name: lab, hosts: 127.0.0.1/32}\n")
    defs = build_definitions(load_config(path))
    nmap = defs.get_schedule_def("nmap_schedule")
    files = defs.get_schedule_def("filesystem_schedule")
    assert (nmap.cron_schedule, nmap.default_status) == ("0 * * * *", dg.DefaultScheduleStatus.STOPPED)
    assert (files.cron_schedule, files.default_status) == ("*/15 * * * *", dg.DefaultScheduleStatus.STOPPED)
