import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from netbox_pipeline.config import load_config
from netbox_pipeline.defs import build_definitions
from netbox_pipeline_tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def test_definitions_without_config_load_and_validate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NETBOX_PIPELINE_CONFIG", raising=False)
    defs = build_definitions(load_config())
    dg.Definitions.validate_loadable(defs)
    assert "pipeline" in defs.resources


def test_module_level_defs_object_is_valid():
    from netbox_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NETBOX_PIPELINE_CONFIG", "DAGSTER_HOME")}
    env["DAGSTER_HOME"] = str(tmp_path)
    (tmp_path / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_workspace_yaml_names_the_location_netbox_pipeline(tmp_path):
    result = _run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Validation successful for code location netbox_pipeline." in result.stderr + result.stdout


def test_dg_check_defs_uses_tool_dg_table(tmp_path):
    result = _run([str(BIN / "dg"), "check", "defs"], tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_instance_file_disables_telemetry_and_nux(tmp_path, monkeypatch):
    (tmp_path / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = dg.DagsterInstance.get()
    try:
        assert instance.telemetry_enabled is False
        assert instance.nux_enabled is False
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.python_log_level == "INFO"  # runs launched by the UI or the daemon: no DEBUG flood
    finally:
        instance.dispose()


def test_postgres_instance_variant_keeps_runs_in_postgres(tmp_path, monkeypatch, postgres_url):
    """dagster.postgres.yaml, as documented, against the local PostgreSQL (psycopg2 scheme)."""
    import sqlalchemy as sa

    database = postgres_url.rsplit("/", 1)[1]
    (tmp_path / "dagster.yaml").write_text((REPO_ROOT / "dagster.postgres.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    for name, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_DB": database, "DAGSTER_PG_USER": "postgres", "DAGSTER_PG_PASSWORD": ""}.items():
        monkeypatch.setenv(name, value)

    @dg.asset
    def probe() -> int:
        return 1

    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([probe], instance=instance)
        assert result.success
        run_ids = [run.run_id for run in instance.get_runs()]
    assert result.run_id in run_ids
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select run_id from runs")).scalars().all()
    engine.dispose()
    assert result.run_id in stored
