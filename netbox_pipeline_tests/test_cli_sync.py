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


# --- failure output: one line per failure with its cause and next step; traces only with --verbose ---


def _no_trace(text: str) -> bool:
    return "Traceback" not in text and "Stack Trace" not in text and "dagster._core" not in text


def test_plan_against_an_unreachable_netbox_prints_one_line_and_never_a_stale_plan(make_estate, capsys):
    estate = make_estate()
    assert main(["--config", str(estate.config_path), "plan"]) == 0
    older = capsys.readouterr().out
    assert "create     devices            home/web-01" in older
    with estate.staging().session() as session:
        from netbox_pipeline.staging import store

        older_plan = store.get_run(session, store.latest_plan_run_id(session))
    estate.sandbox.stop()

    assert main(["--config", str(estate.config_path), "plan"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no table at all: the old plan is not printed as if it were current
    lines = [line for line in captured.err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 2, captured.err
    failed, no_plan = lines
    assert failed.startswith("FAILED merge and plan")
    assert f"GET {estate.sandbox.url}/api/" in failed and "no answer from NetBox" in failed
    assert failed.endswith(f"— next: check that NetBox is running and answers at {estate.sandbox.url} (netbox.url), then run again")
    assert no_plan.startswith("no plan: this run made none (the failure is above); the newest stored plan, ")
    assert f"from run {older_plan['dagster_run_id']}, is not shown: it may no longer be true" in no_plan
    assert _no_trace(captured.err)
    assert all(line.startswith("warning: GET ") and "retrying in" in line
               for line in captured.err.splitlines() if line.startswith("warning: "))

    assert main(["--config", str(estate.config_path), "sync"]) == 1
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert [line.split()[0] for line in out] == ["ok", "FAILED", "NetBox:"]
    assert out[1].startswith("FAILED merge, plan and write") and "— next: check that NetBox is running" in out[1]
    assert out[2] == "NetBox: no changes written (the run failed)"
    assert _no_trace(captured.err) and all(line.startswith("warning: ") for line in captured.err.splitlines())


def test_verbose_shows_dagster_log_and_the_trace(make_estate, capsys):
    estate = make_estate()
    estate.sandbox.stop()
    assert main(["--config", str(estate.config_path), "plan", "--verbose"]) == 1
    err = capsys.readouterr().err
    assert "Stack Trace" in err and "STEP_FAILURE" in err and "NetBoxError" in err
    assert "FAILED merge and plan" in err  # the one line still ends it
    assert main(["--verbose", "--config", str(estate.config_path), "plan"]) == 1  # before the command, too
    assert "Stack Trace" in capsys.readouterr().err
