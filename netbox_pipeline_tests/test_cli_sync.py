"""`sync`, `plan` and `history` as a user runs them, against the sandbox."""

from netbox_pipeline.cli import main


def test_plan_prints_a_table_and_writes_nothing(make_estate, capsys):
    estate = make_estate()
    assert main(["--config", str(estate.config_path), "plan"]) == 0
    out = capsys.readouterr().out
    assert estate.writes() == []
    assert any(line.split()[:3] == ["create", "devices", "home/web-01"] for line in out.splitlines())
    assert "total: create=" in out


def test_sync_then_history_lists_the_runs_with_counts(make_estate, capsys):
    estate = make_estate()
    assert main(["--config", str(estate.config_path), "sync"]) == 0
    out = capsys.readouterr().out
    assert "devices            created=3" in out
    assert main(["--config", str(estate.config_path), "sync"]) == 0
    assert "NetBox: no changes written" in capsys.readouterr().out
    assert main(["--config", str(estate.config_path), "history", "--limit", "200"]) == 0
    history = capsys.readouterr().out
    lines = history.splitlines()
    assert lines[0].split()[:5] == ["started", "(UTC)", "kind", "run", "sources"]
    kinds = [line.split()[2] for line in lines[1:]]
    assert kinds == ["sync", "refresh", "sync", "refresh"]
    assert "created=0" in lines[1] and "created=33" in lines[3] and "filesystem:rack" in lines[3]


def test_sync_exits_non_zero_and_names_the_step_when_netbox_is_unreachable(make_estate, capsys):
    estate = make_estate()
    estate.sandbox.stop()
    assert main(["--config", str(estate.config_path), "sync"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "netbox_snapshot" in out and f"GET {estate.sandbox.url}/api/" in out and "no answer from NetBox" in out
    assert estate.sandbox.token not in out


def test_sync_with_unknown_source_is_a_usage_error(make_estate, capsys):
    estate = make_estate()
    assert main(["--config", str(estate.config_path), "sync", "--source", "proxmox"]) == 2
    assert "no such configured source instance" in capsys.readouterr().err
