"""Start-up, the context manager, the CLI entry point."""

import subprocess
import sys
import time

import requests

from netbox_pipeline.sandbox.netbox import DEFAULT_V1_TOKEN, NetBoxSandbox
from netbox_pipeline_tests.conftest import REPO_ROOT


def test_starts_on_a_free_port_and_stops():
    started = time.perf_counter()
    sb = NetBoxSandbox(version="4.6").start()
    elapsed = time.perf_counter() - started
    print(f"NetBox sandbox start-up: {elapsed * 1000:.1f} ms")  # informational; speed is never asserted
    try:
        assert sb.url == f"http://127.0.0.1:{sb.port}" and sb.port > 0 and sb.api_url == sb.url + "/api"
        reply = requests.get(sb.api_url + "/status/", headers={"Authorization": f"Token {DEFAULT_V1_TOKEN}"})
        assert reply.json()["netbox-version"] == "4.6.8"
    finally:
        sb.stop()
    try:
        requests.get(sb.api_url + "/status/", timeout=1)
        raise AssertionError("server still answering after stop()")
    except requests.ConnectionError:
        pass


def test_refuses_non_loopback_and_unknown_versions():
    for kwargs in ({"host": "0.0.0.0"}, {"version": "3.7"}):
        try:
            NetBoxSandbox(**kwargs)
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"accepted {kwargs}")


def test_cli_prints_the_listening_line_and_serves():
    proc = subprocess.Popen(
        [sys.executable, "-m", "netbox_pipeline.sandbox.netbox", "--port", "0", "--netbox-version", "4.4"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("NetBox sandbox (4.4) listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        reply = requests.get(url + "/api/status/", headers={"Authorization": f"Token {DEFAULT_V1_TOKEN}"})
        assert reply.headers["API-Version"] == "4.4"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
