"""The core benchmark's machinery: a generated inventory planned against empty and equal NetBox states."""

from netbox_pipeline.benchmarks.core import STAGES, live_equal_to, measure_core
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import build_plan
from netbox_pipeline.sandbox.demo_estate import generate_bench_inventory
from netbox_pipeline_tests.sandbox.test_demo_estate import NOW


def test_live_equal_to_desired_plans_nothing_and_empty_plans_everything(tmp_path):
    from netbox_pipeline.sources.filesystem import read_inventory_file

    result = read_inventory_file(generate_bench_inventory(tmp_path / "b.json", devices=10), "bench", observed_at=NOW)
    desired = desired_objects(merge([result], default_precedence()))
    healthy = {(result.source_kind, result.instance)}
    assert build_plan(desired, live_equal_to(desired), healthy_instances=healthy).totals()["unchanged"] == desired.count()
    assert build_plan(desired, {}, healthy_instances=healthy).totals()["create"] == desired.count() == 10 * 7 + 7


def test_each_size_runs_in_its_own_process_and_reports_every_stage():
    rows = measure_core((5, 10), out=lambda _: None)
    assert [row["devices"] for row in rows] == [5, 10]
    for row in rows:
        assert set(row["times"]) == set(row["cpu"]) == set(STAGES)
        assert row["noop_totals"]["unchanged"] == row["objects"] and row["empty_totals"]["create"] == row["objects"]
        assert row["peak_rss_mib"] > 0


def test_large_sizes_get_addresses_beyond_the_benchmark_range(tmp_path):
    path = generate_bench_inventory(tmp_path / "big.json", devices=2, network_text="10.0.0.0/8")
    assert '"10.0.0.1/8"' in path.read_text()


def test_an_estate_over_several_files_is_parsed_and_merged_whole(monkeypatch):
    # Inventory files have a size limit, so large sizes are written as several files (in the parent).
    from netbox_pipeline.benchmarks import core

    monkeypatch.setattr(core, "DEVICES_PER_FILE", 4)
    [row] = measure_core((10,), out=lambda _: None)
    assert row["objects"] == 10 * 7 + 7 and row["noop_totals"]["unchanged"] == row["objects"]


def test_a_size_whose_files_cannot_be_read_reports_the_error_not_a_fast_nothing(monkeypatch, tmp_path):
    from netbox_pipeline.benchmarks import core

    def unreadable(folder, devices, **_):
        folder.mkdir(parents=True)
        (folder / "bench-1.json").write_text("{not json")
        return [folder / "bench-1.json"]

    monkeypatch.setattr(core, "generate_bench_inventory_files", unreadable)
    [row] = measure_core((3,), out=lambda _: None)
    assert "times" not in row and "bench-1.json" in row["error"]


def test_bench_files_split_the_estate_without_losing_or_repeating_a_device(tmp_path):
    import json

    from netbox_pipeline.sandbox.demo_estate import generate_bench_inventory_files

    paths = generate_bench_inventory_files(tmp_path, 5, per_file=2)
    names = [d["name"] for p in paths for d in json.loads(p.read_text())["devices"]]
    assert len(paths) == 3 and names == [f"bench-{i:05d}" for i in range(1, 6)]
