"""The real-NetBox launcher: finding Python 3.12, its configuration, clear errors, and the CLI command."""

import os
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
from netbox_pipeline.sandbox.real_netbox.locking import REDIS_PAIRS, claim_redis_pair
from netbox_pipeline_tests.conftest import _postgres_reachable, require_real

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
        lines = [process.stdout.readline() for _ in range(7)]
        require_real(lines[0].startswith("NetBox 4.7"), f"the real-netbox command to start: {lines} {process.stderr.read()[-2000:] if process.poll() is not None else ''}")
        url = re.search(r"on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)
        write, read_only, v1 = (line.split()[-1] for line in lines[1:4])
        db_name = re.search(r"database: +(\S+)", lines[5]).group(1)
        assert database.database_exists(db_name)
        tasks, caching = map(int, re.search(r"Redis databases: +(\d+) \(tasks\), (\d+) \(caching\)", lines[6]).groups())
        assert (tasks, caching) != real_netbox_server.redis_dbs  # the session's server holds its own pair
        assert requests.get(f"{url}/api/status/", headers={"Authorization": f"Bearer {write}"}, timeout=30).status_code == 200
        assert requests.get(f"{url}/api/dcim/sites/", headers={"Authorization": f"Token {v1}"}, timeout=30).status_code == 200
        refused = requests.post(f"{url}/api/dcim/sites/", json={"name": "x", "slug": "x"},
                                headers={"Authorization": f"Bearer {read_only}"}, timeout=30)
        assert refused.status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    assert not database.database_exists(db_name) and not database.database_exists(db_name + "_seed")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftover_databases_are_this_hosts_whose_process_is_gone(monkeypatch):
    monkeypatch.setattr(database.socket, "gethostname", lambda: "here")
    here = database.host_tag()
    dead, alive = _dead_pid(), os.getpid()
    names = [database.instance_name(dead, "0a1b2c3d4e"), database.instance_name(dead, "0a1b2c3d4e") + "_seed",
             database.instance_name(alive, "5f6a7b8c9d"), database.instance_name(alive, "5f6a7b8c9d") + "_seed",
             f"netbox_pipeline_rn_ffffff_{dead}_0a1b2c3d4e",  # another host's: its PIDs are not ours
             "netbox_pipeline_rn_0a1b2c3d4e",                   # named before names carried a PID
             database.template_name("4.7.3"), "postgres"]
    assert database.leftover_databases(names, here, database.process_alive) == names[:2]


def test_a_sweep_drops_the_databases_of_killed_instances_and_keeps_running_ones():
    problem = _postgres_reachable()
    require_real(problem is None, f"PostgreSQL ({problem})")
    killed = database.instance_name(_dead_pid(), os.urandom(5).hex())
    running = database.instance_name(os.getpid(), os.urandom(5).hex())
    for name in (killed, killed + database.SEED_SUFFIX, running):
        database.execute(database.sql.SQL("CREATE DATABASE {}").format(database.sql.Identifier(name)))
    try:
        dropped = database.sweep_leftovers()
        assert {killed, killed + database.SEED_SUFFIX} <= set(dropped) and running not in dropped
        assert not database.database_exists(killed) and not database.database_exists(killed + database.SEED_SUFFIX)
        assert database.database_exists(running)
    finally:
        for name in (killed, killed + database.SEED_SUFFIX, running):
            database.drop_database(name)


def test_instances_claim_redis_pairs_no_other_running_instance_holds(tmp_path, caplog):
    claims = [claim_redis_pair(tmp_path) for _ in REDIS_PAIRS]
    assert [pair for pair, _ in claims] == list(REDIS_PAIRS)  # each a pair of its own
    assert len({db for pair in REDIS_PAIRS for db in pair}) == 2 * len(REDIS_PAIRS)
    assert claim_redis_pair(tmp_path) == (REDIS_PAIRS[0], None)  # all held: shared, and said so
    assert "all 6 Redis database pairs are held" in caplog.text
    claims[2][1].close()  # an instance stops
    pair, handle = claim_redis_pair(tmp_path)
    assert pair == REDIS_PAIRS[2] and handle is not None
    for _, held in claims:
        held.close()
    handle.close()
