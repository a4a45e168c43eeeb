"""`demo --netbox-url`: the demo's sources synced into a NetBox of one's own instead of the stand-in.

Run as a user would (the CLI in its own process, the token in $NETBOX_TOKEN) against a stand-in
started apart from the demo and against the real NetBox 4.7; then NetBox itself is asked what landed.
"""

import os
import re
import subprocess
import sys

import pytest

from netbox_pipeline.netbox.schema import TYPES
from netbox_pipeline.sandbox.demo_estate import demo_records
from netbox_pipeline_tests.conftest import REPO_ROOT
from netbox_pipeline_tests.real_netbox import REAL, serve_netbox


@pytest.fixture(params=["4.4", REAL])
def netbox(request):
    yield from serve_netbox(request)


def run_demo_cli(workdir, *args: str, token: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "NETBOX_PIPELINE_CONFIG", "NETBOX_TOKEN")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    if token is not None:
        env["NETBOX_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "netbox_pipeline.cli", "demo", "--workdir", str(workdir), *args],
                          cwd=workdir.parent, env=env, capture_output=True, text=True, timeout=1800)


def test_the_demo_syncs_its_sources_into_the_named_netbox(netbox, tmp_path):
    workdir = tmp_path / ".demo"
    done = run_demo_cli(workdir, "--netbox-url", netbox.url, token=netbox.token)
    assert done.returncode == 0, done.stdout + done.stderr

    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"NetBox at {netbox.url}; Proxmox VE sandbox on ")
    assert "second sync wrote 0 object(s): NetBox was already in sync." in lines
    first_written = next(line for line in lines if line.startswith("first sync: "))
    assert int(re.match(r"first sync: (\d+) object\(s\) written", first_written).group(1)) > 0

    devices = {d["name"] for d in netbox.objects("dcim/devices")}
    assert {d["name"] for d in demo_records()[0]} < devices  # the files' devices, and the other sources' too
    vms = {v["name"] for v in netbox.objects("virtualization/virtual-machines")}
    assert {v["name"] for v in demo_records()[1]} <= vms
    # what the demo printed NetBox holds is what NetBox holds
    held = next(line for line in reversed(lines) if line.startswith("  NetBox now holds: "))
    printed = {name: int(n) for name, n in re.findall(r"(\w+)=(\d+)", held)}
    for name in ("devices", "virtual_machines", "sites", "ip_addresses"):
        assert printed[name] == len(netbox.objects(TYPES[name].endpoint))

    config = (workdir / "netbox_pipeline.yaml").read_text()
    assert f"url: {netbox.url}" in config and netbox.token not in config
    assert netbox.token not in (workdir / "env").read_text()  # the user's token stays in the user's environment
    assert netbox.token not in done.stdout + done.stderr


def test_without_a_token_the_demo_says_where_it_belongs_and_starts_nothing(tmp_path):
    done = run_demo_cli(tmp_path / ".demo", "--netbox-url", "http://127.0.0.1:9", token=None)
    assert done.returncode == 2
    assert "--netbox-url needs that NetBox's API token (write access) in $NETBOX_TOKEN" in done.stderr
    assert not (tmp_path / ".demo").exists()
