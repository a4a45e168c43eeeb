"""The real-NetBox launcher: finding Python 3.12, its configuration, clear errors, and the CLI command."""

import re
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from netbox_pipeline.sandbox.real_netbox import RealNetBoxError, database, install
from netbox_pipeline.sandbox.real_netbox.configuration import MARKER, write_configuration
from netbox_pipeline_tests.conftest import require_real

CLI = str(Path(sys.executable).with_name("netbox-pipeline"))


def _no_python_here(monkeypatch, tmp_path):
    monkeypatch.delenv(install.PYTHON_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setattr(install, "sys", SimpleNamespace(version_info=(3, 11), executable="/nonexistent"))


def test_no_python_312_is_a_clear_error(monkeypatch, tmp_path):
    _no_python_here(monkeypatch, tmp_path)
    with pytest.raises(RealNetBoxError, match=r"need Python 3\.12\+, and none was found .*pyenv install 3\.12"):
        install.find_python312()


def test_python_312_is_found_in_pyenv_and_a_failing_shim_is_skipped(monkeypatch, tmp_path):
    _no_python_here(monkeypatch, tmp_path)
    shim_dir = tmp_path / "empty-bin"
    shim_dir.mkdir()
    (shim_dir / "python3.12").write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    found = tmp_path / "pyenv" / "versions" / "3.12.9" / "bin" / "python3.12"
    found.parent.mkdir(parents=True)
    found.write_text("#!/bin/sh\necho True\n")
    for script in (shim_dir / "python3.12", found):
        script.chmod(0o755)
    assert install.find_python312() == str(found)


def test_unreachable_postgres_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(database, "PG_PORT", 1)  # nothing listens there
    with pytest.raises(RealNetBoxError, match=r"PostgreSQL is not reachable at postgres@127\.0\.0\.1:1"):
        database.admin_connection()


def test_configuration_has_what_v2_tokens_and_database_swaps_need_and_keeps_its_secrets(tmp_path):
    path = write_configuration(tmp_path, "127.0.0.1", 5432, "postgres")
    text = path.read_text()
    assert text.startswith(MARKER) and oct(path.stat().st_mode & 0o777) == "0o600"
    namespace: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETBOX_PIPELINE_NETBOX_DB", "some_db")
        exec(compile(text, str(path), "exec"), namespace)
    assert namespace["DATABASES"]["default"]["NAME"] == "some_db"
    assert namespace["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True
    assert len(namespace["API_TOKEN_PEPPERS"][1]) >= 50 and len(namespace["SECRET_KEY"]) >= 50
    assert namespace["CENSUS_REPORTING_ENABLED"] is False and namespace["ISOLATED_DEPLOYMENT"] is True
    write_configuration(tmp_path, "127.0.0.1", 5432, "postgres")
    assert path.read_text() == text  # the pepper stays, so tokens made earlier keep working


@pytest.mark.slow
def test_real_netbox_command_prints_url_and_tokens_and_cleans_up_on_ctrl_c(real_netbox_server):
    """Uses the session's server only to know a real NetBox can start here (installed, template ready)."""
    process = subprocess.Popen([CLI, "sandbox", "real-netbox", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(6)]
        require_real(lines[0].startswith("NetBox 4.7"), f"the real-netbox command to start: {lines} {process.stderr.read()[-2000:] if process.poll() is not None else ''}")
        url = re.search(r"on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)
        write, read_only, v1 = (line.split()[-1] for line in lines[1:4])
        db_name = re.search(r"database: +(\S+)", lines[5]).group(1)
        assert database.database_exists(db_name)
        assert requests.get(f"{url}/api/status/", headers={"Authorization": f"Bearer {write}"}, timeout=30).status_code == 200
        assert requests.get(f"{url}/api/dcim/sites/", headers={"Authorization": f"Token {v1}"}, timeout=30).status_code == 200
        refused = requests.post(f"{url}/api/dcim/sites/", json={"name": "x", "slug": "x"},
                                headers={"Authorization": f"Bearer {read_only}"}, timeout=30)
        assert refused.status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    assert not database.database_exists(db_name) and not database.database_exists(db_name + "_seed")
