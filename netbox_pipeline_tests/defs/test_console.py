"""The terminal's view of a run: one line per warning and failed step; Dagster's full log when verbose."""

import re

import dagster as dg
import pytest

from netbox_pipeline.defs.console import LOGGER_NAME, console_logger, console_run_config


@dg.asset
def disk_check(context):
    context.log.info("looked at 3 disks")
    context.log.warning("disk %s is almost full", "sda")
    raise ValueError("pool tank is gone")


@pytest.fixture
def job():
    defs = dg.Definitions(assets=[disk_check], jobs=[dg.define_asset_job("check_disks", [disk_check])],
                          loggers={LOGGER_NAME: console_logger})
    return defs.resolve_job_def("check_disks")


def test_a_cli_run_prints_one_line_per_warning_and_leaves_the_failure_to_the_cli(job, capsys):
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=console_run_config())
    assert not result.success
    assert capsys.readouterr().err.splitlines() == ["warning: disk sda is almost full"]


def test_verbose_is_dagsters_full_log_with_the_trace(job, capsys):
    with dg.instance_for_test() as instance:
        job.execute_in_process(instance=instance, raise_on_error=False, run_config=console_run_config(verbose=True))
    err = capsys.readouterr().err
    assert "looked at 3 disks" in err and "STEP_FAILURE" in err and "Stack Trace" in err
    assert re.search(r'File ".*test_console.py", line \d+, in disk_check', err)
