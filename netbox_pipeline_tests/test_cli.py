import subprocess
import sys
from pathlib import Path

import pytest

from netbox_pipeline.cli import main

CLI = str(Path(sys.executable).parent / "netbox-pipeline")


@pytest.fixture(autouse=True)
def isolated_config_env(monkeypatch):
    # `--config` exports NETBOX_PIPELINE_CONFIG for Dagster subprocesses; undo it after each test.
    # (setenv first so that monkeypatch records the original state and restores it)
    monkeypatch.setenv("NETBOX_PIPELINE_CONFIG", "unset")
    monkeypatch.delenv("NETBOX_PIPELINE_CONFIG")


def test_help_lists_every_command():
    result = subprocess.run([CLI, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("demo", "sandbox", "sync", "plan", "explain", "history", "migrate", "check-config", "bench"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["sync", "plan", "explain", "history", "migrate", "sandbox", "demo", "bench", "undo",
                                     "check-config", "mcp", "metrics", "sandbox netbox", "sandbox real-netbox"])
def test_each_command_has_help_and_takes_verbose(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command.split(), "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: netbox-pipeline" in out and "-v, --verbose" in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "commands:" in capsys.readouterr().out


def test_bad_config_is_a_usage_error_with_location(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("netbox:\n  urll: x\n")
    assert main(["--config", str(path), "check-config"]) == 2
    assert f"{path}:2: netbox.urll: unknown key" in capsys.readouterr().err


def test_check_config_hides_secrets(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NB_SECRET", "0123456789abcdef0123456789abcdef01234567")
    path = tmp_path / "c.yaml"
    path.write_text("netbox: {url: 'http://127.0.0.1:8000', token: '${NB_SECRET}'}\nstaging: {url: 'postgresql://u:pw123@127.0.0.1/x'}\n")
    assert main(["--config", str(path), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "token: set" in out
    assert "0123456789abcdef" not in out and "pw123" not in out


def test_an_unexpected_error_is_one_line_and_verbose_shows_its_trace(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(f"staging: {{url: 'sqlite:///{tmp_path / 's.sqlite'}'}}\n")
    assert main(["--config", str(path), "migrate", "--revision", "no_such_revision"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: StagingDBError: upgrade of staging database sqlite:///{tmp_path / 's.sqlite'} to revision "
                                "'no_such_revision' failed: CommandError: Can't locate revision identified by 'no_such_revision' "
                                "(run again with --verbose for the trace)"]
    with pytest.raises(Exception, match="no_such_revision"):  # the trace, where it was raised
        main(["--config", str(path), "migrate", "--revision", "no_such_revision", "--verbose"])


def test_sandbox_refuses_non_loopback_address(capsys):
    assert main(["sandbox", "netbox", "--host", "0.0.0.0"]) == 2
    assert "loopback only" in capsys.readouterr().err


def test_sandbox_netbox_command_serves_until_stopped():
    import json
    import signal
    import urllib.request

    process = subprocess.Popen(
        [CLI, "sandbox", "netbox", "--port", "0", "--netbox-version", "4.6", "--token", "0123456789abcdef0123456789abcdef01234567"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("NetBox sandbox (4.6) listening on http://127.0.0.1:"), line
        url = line.strip().rsplit(" ", 1)[-1]
        request = urllib.request.Request(f"{url}/api/status/", headers={"Authorization": "Token 0123456789abcdef0123456789abcdef01234567"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["API-Version"] == "4.6"
            assert json.load(response)["netbox-version"].startswith("4.6")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_sandbox_proxmox_command_serves_tls_with_the_printed_ca_and_token():
    import re
    import signal

    import requests

    process = subprocess.Popen([CLI, "sandbox", "proxmox", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        url = re.search(r"on (https://127\.0\.0\.1:\d+/api2/json)", lines[0]).group(1)
        user, token_name, secret = re.search(r"user (\S+), token_name (\S+), token_value (\S+)", lines[1]).groups()
        ca = re.search(r"CA certificate: (\S+)", lines[2]).group(1)
        header = {"Authorization": f"PVEAPIToken={user}!{token_name}={secret}"}
        answer = requests.get(f"{url}/version", headers=header, verify=ca, timeout=10)
        assert answer.status_code == 200 and "version" in answer.json()["data"]
        assert requests.get(f"{url}/version", headers={"Authorization": f"PVEAPIToken={user}!{token_name}=wrong"}, verify=ca, timeout=10).status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
