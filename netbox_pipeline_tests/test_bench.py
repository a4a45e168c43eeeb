"""The benchmark: a small real run (correctness only, never timing) and its pure pieces."""

import math
from datetime import UTC, datetime

import pytest

from netbox_pipeline import bench
from netbox_pipeline.bench import BenchResult, Phase, endpoint_of, expected_requests, findings, measure, render_report
from netbox_pipeline.cli import main
from netbox_pipeline.netbox.schema import TYPES
from netbox_pipeline.sandbox.netbox import RequestLogEntry

DEVICES = 20
SECTIONS = (
    "# stand-in 4.4: 20 devices", "## Machine", "## Goals", "## Side by side", "## Summary", "## Expected against measured (pipeline)", "## Pipeline first sync",
    "## Pipeline no-op rerun", "## Naive first run", "## Naive rerun", "## Bare paginated reads",
    "## Bare parallel bulk calls", "## Real NetBox for context",
)


@pytest.fixture(scope="module")
def measured() -> BenchResult:
    progress: list[str] = []
    result = measure(DEVICES, out=progress.append)
    assert sum(1 for line in progress if line.endswith("…")) == 6  # one start line per phase
    return result


def test_every_phase_succeeds_and_both_sides_write_the_same_objects(measured):
    assert measured.ok, {k: p.error for k, p in measured.phases.items()}
    assert measured.objects["devices"] == DEVICES
    assert measured.objects["interfaces"] == measured.objects["ip_addresses"] == 2 * DEVICES
    assert measured.objects == measured.naive_objects == measured.bare_objects


def test_bare_reads_ask_what_the_pipeline_rerun_asks(measured):
    """The no-op baseline reads the same pages of the same endpoints; the pipeline adds only its version check."""
    rerun, bare = measured.phases["pipeline_rerun"].by_endpoint(), measured.phases["bare_reads"].by_endpoint()
    assert {e: row for e, row in rerun.items() if e != "status"} == bare
    queries = {r.query for r in measured.phases["bare_reads"].requests}
    assert all("fields=" in q for q in queries)


def test_bare_bulk_calls_are_one_post_per_type_and_the_second_pass_patches(measured):
    bulk = measured.phases["bare_bulk"]
    written_types = [t for t, n in measured.objects.items() if n]
    assert bulk.by_method() == {"POST": len(written_types), "PATCH": 2}  # 20 devices fit one chunk per type
    assert bulk.writes == bulk.total


def test_pipeline_rerun_only_reads_and_naive_loop_makes_more_requests(measured):
    phases = measured.phases
    assert phases["pipeline_rerun"].writes == 0
    assert phases["pipeline_rerun"].total == len(TYPES) + 1  # one page per type plus the version check
    assert phases["naive_rerun"].writes == 0
    assert phases["naive_first"].total > phases["pipeline_first"].total
    assert phases["naive_rerun"].total > phases["pipeline_rerun"].total


def test_pipeline_matches_the_request_formula(measured):
    assert findings(measured) == []
    expected = expected_requests(measured.objects, measured.second_pass, measured.chunk_size)
    first = measured.phases["pipeline_first"]
    assert first.total == sum(row["first_reads"] + row["first_writes"] for row in expected.values())


def test_report_has_every_section_and_the_measured_numbers(measured):
    report = render_report(measured)
    for section in SECTIONS:
        assert f"\n{section}\n" in f"\n{report}"
    rerun = measured.phases["pipeline_rerun"]
    assert f"| pipeline no-op rerun | {rerun.total} | {rerun.total} | 0 |" in report
    assert "in-memory stand-in" in report and "> 30 s" in report
    assert "No deviation from the formula" in report


def test_cli_writes_the_report(measured, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "measure", lambda devices, **_: measured)  # the real run is the fixture's
    output = tmp_path / "docs" / "benchmarks.md"
    assert main(["bench", "--devices", str(DEVICES), "--output", str(output)]) == 0
    assert output.read_text().startswith("# Benchmarks\n")
    assert "report written to" in capsys.readouterr().out


def test_cli_refuses_zero_devices(capsys):
    assert main(["bench", "--devices", "0"]) == 2
    assert "--devices 0" in capsys.readouterr().err


def test_endpoint_of_drops_api_prefix_and_detail_id():
    assert endpoint_of("/api/dcim/devices/") == "dcim/devices"
    assert endpoint_of("/api/dcim/devices/12/") == "dcim/devices"
    assert endpoint_of("/api/status/") == "status"


def test_expected_requests_formula():
    table = expected_requests({"devices": 1000, "interfaces": 2000}, {"devices": 1000, "interfaces": 2000}, 100)
    assert table["dcim/devices"] == {"first_reads": 1, "first_writes": 20, "rerun_reads": 1}
    assert table["dcim/interfaces"] == {"first_reads": 1, "first_writes": 40, "rerun_reads": 2}
    assert table["ipam/vlans"] == {"first_reads": 1, "first_writes": 0, "rerun_reads": 1}
    assert table["status"]["first_reads"] == 1
    assert len(table) == len(TYPES) + 1
    assert expected_requests({"devices": 101}, {}, 50)["dcim/devices"]["first_writes"] == math.ceil(101 / 50)


def _phase(label: str, *requests: tuple[str, str]) -> Phase:
    return Phase(label, [RequestLogEntry(m, p, "", 200, 0.001, 0) for m, p in requests], 1.0)


def test_findings_name_a_write_on_the_rerun_and_an_extra_read():
    reads = [("GET", f"/api/{t.endpoint}/") for t in TYPES.values()]
    result = BenchResult(
        devices=1, chunk_size=100, started_at=datetime.now(UTC), machine={},
        phases={
            "pipeline_first": _phase("pipeline first sync", *reads, ("GET", "/api/dcim/devices/")),
            "pipeline_rerun": _phase("pipeline no-op rerun", *reads, ("PATCH", "/api/dcim/devices/")),
            "naive_first": _phase("naive first run"), "naive_rerun": _phase("naive rerun"),
        },
        objects={"devices": 1}, second_pass={}, naive_objects={"devices": 1}, rss_before_kib=0, rss_pipeline_kib=0,
    )
    problems = findings(result)
    assert any("rerun made 1 write request(s): dcim/devices PATCH=1" in p for p in problems)
    assert any("first sync: dcim/devices read 2 page(s), expected 1" in p for p in problems)
    assert "## Deviations" in render_report(result)


def test_cli_refuses_a_chunk_size_the_config_would_reject(capsys):
    assert main(["bench", "--devices", "5", "--chunk-size", "5000"]) == 2
    assert "--chunk-size 5000" in capsys.readouterr().err


def _timed(label: str, seconds: float, writes: int = 0, scale: float = 1.0) -> Phase:
    phase = Phase(label, [RequestLogEntry("POST", "/api/dcim/devices/", "", 201, 0.0, 0)] * writes, seconds)
    phase.scale = scale
    return phase


def test_goals_are_judged_from_the_measured_ratios():
    from netbox_pipeline.benchmarks.goals import goals

    result = BenchResult(
        devices=1000, chunk_size=100, started_at=datetime.now(UTC), machine={},
        phases={"pipeline_first": _timed("p", 100), "pipeline_rerun": _timed("r", 3), "bare_reads": _timed("b", 2),
                "bare_bulk": _timed("bb", 90), "naive_first": _timed("n", 50, scale=10), "naive_rerun": _timed("nr", 20, scale=10)},
        objects={}, second_pass={}, naive_objects={}, rss_before_kib=0, rss_pipeline_kib=0,
    )
    result.core = [{"devices": 10_000, "times": dict.fromkeys(("parse", "merge", "desired", "plan_noop"), 1.0), "peak_rss_mib": 300},
                   {"devices": 50_000, "times": dict.fromkeys(("parse", "merge", "desired", "plan_noop"), 5.0), "peak_rss_mib": 1100}]
    verdicts = {g.name: g.met for g in goals(result)}
    # naive 500 s (50 s on a tenth, scaled) / 100 s = 5× ≥ 4.5; 100 / 90 = 1.11 ≤ 1.15; 200 / 3 = 67× < 100;
    # core 4 s → 20 s at 50k, on the line to 100k: 40 s ≥ 10 s; 3 s / 2 s = 1.5 ≤ 2.
    assert verdicts == {"P1": True, "P2": True, "P3": False, "P4": False, "P5": True}
    result.phases["pipeline_rerun"] = _timed("r", 1, writes=1)
    assert {g.name: g.met for g in goals(result)}["P3"] is False  # a write on the no-op fails P3 at any speed


def test_report_file_keeps_the_other_targets_run(measured, tmp_path):
    from netbox_pipeline.bench import merge_report

    real = BenchResult(devices=1, chunk_size=100, started_at=datetime.now(UTC), machine={}, phases={}, objects={},
                       second_pass={}, naive_objects={}, rss_before_kib=0, rss_pipeline_kib=0, target_kind="real")
    text = merge_report("", real, "# real run\n\nreal numbers\n")
    text = merge_report(text, measured, render_report(measured))
    text = merge_report(text, measured, render_report(measured))  # rewriting the stand-in run replaces it
    assert text.startswith("# Benchmarks\n")
    assert text.count("<!-- bench:stand-in -->") == 1 and text.count("<!-- bench:real -->") == 1
    assert "## real run" in text and "real numbers" in text and "### Goals" in text
    assert text.index("<!-- bench:real -->") < text.index("<!-- bench:stand-in -->")


def test_notes_written_after_the_runs_survive_a_regeneration(measured):
    from netbox_pipeline.bench import merge_report

    text = merge_report("", measured, render_report(measured))
    text += "\n## Reading the goals\n\nP4 is far off: see the core table.\n"
    again = merge_report(text, measured, render_report(measured))
    assert again.count("## Reading the goals") == 1 and again.rstrip().endswith("P4 is far off: see the core table.")
    assert again.count("<!-- bench:stand-in -->") == 1
