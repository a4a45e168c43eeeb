"""The first ten minutes: `demo --ui` as a newcomer runs it, then the commands it prints, as printed.

One demo per module (it takes a while): it runs with the sandboxes kept up while the Dagster UI
runs on DAGSTER_PORT; the tests read its output, run its follow-up commands in bash exactly as
printed, and check what they say against the demo's data; the README's numbers are checked
against what the demo printed.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml

from netbox_pipeline.sandbox.demo_estate import demo_records
from netbox_pipeline_tests.conftest import REPO_ROOT
from netbox_pipeline_tests.processes import dagster_ui_answers, free_port, stop_group, wait_until

FOLLOW_UP_HEADER = "Try it on the demo's data while the sandboxes run"



class Demo:
    """`netbox-pipeline demo --ui` in its own process group; its terminal output collected line by line."""

    def __init__(self, workdir: Path, port: int):
        self.workdir, self.port, self.lines = workdir, port, []
        env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "NETBOX_PIPELINE_CONFIG")}
        env.update(DAGSTER_PORT=str(port), PYTHONPATH=str(REPO_ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "netbox_pipeline.cli", "demo", "--ui", "--workdir", str(workdir)],
            cwd=workdir.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if line.startswith(prefix)), None)
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"no line starting {prefix!r}; the demo printed:\n" + "\n".join(self.lines[-60:]))

    def follow_up(self) -> list[str]:
        """The indented commands under the follow-up header, as printed."""
        start = next(i for i, line in enumerate(self.lines) if line.startswith(FOLLOW_UP_HEADER)) + 1
        block = []
        for line in self.lines[start:]:
            if not line.startswith("  "):
                break
            block.append(line.strip())
        return block

    def stop(self) -> int:
        return stop_group(self.process, signal.SIGINT, timeout=90)  # Ctrl-C, as the demo says


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("first-ten-minutes") / ".demo"
    running = Demo(workdir, free_port())
    try:
        running.wait_for("Dagster UI: ", 300)
        yield running
    finally:
        running.stop()


def _run_as_printed(source: str, command: str) -> subprocess.CompletedProcess:
    # A new terminal: none of the test's own pipeline settings, only what `source` gives.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NETBOX_PIPELINE_", "DAGSTER_")) and k not in ("NETBOX_TOKEN", "PVE_TOKEN", "HA_TOKEN", "TRUENAS_API_KEY")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(["bash", "-c", f"{source}\n{command}"], cwd="/", env=env, capture_output=True, text=True, timeout=300)


def test_the_printed_commands_work_on_the_demo_data(demo):
    source, plan, history, explain = demo.follow_up()
    assert source == f"source {demo.workdir / 'env'}"
    assert plan.split()[1:2] == ["plan"] and history.split()[1:2] == ["history"] and explain.split()[1:2] == ["explain"]

    planned = _run_as_printed(source, plan)
    assert planned.returncode == 0, planned.stderr[-3000:]
    total = planned.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"total: unchanged=\d+", total), planned.stdout[-2000:]  # the demo's second sync wrote nothing either

    listed = _run_as_printed(source, history)
    assert listed.returncode == 0, listed.stderr[-3000:]
    rows = listed.stdout.splitlines()[1:]
    syncs = [row for row in rows if row.split()[2] == "sync"]
    assert len(syncs) >= 2, listed.stdout
    first_sync = syncs[-1]
    assert re.search(r"created=[1-9]\d*", first_sync) and "proxmox:pve-lab" in first_sync and "truenas:nas01" in first_sync
    assert not re.search(r":(first|second|delete)\b", listed.stdout)  # no staging keys, names a person knows

    # the Home Assistant stand-in's instance ran in the demo's sync and its devices landed
    assert demo.wait_for("  ok     home_assistant_devices[home] ", 1)
    assert "home_assistant:home" in first_sync
    from_ha = _run_as_printed(source, explain.replace(explain.split()[2], "'Closet Switch'", 1))
    assert from_ha.returncode == 0, from_ha.stderr[-3000:]
    assert from_ha.stdout.splitlines()[0].startswith("devices home/closet switch (NetBox id "), from_ha.stdout[:2000]
    assert re.search(r"from home_assistant:home \S+ config/device_registry id=[0-9a-f]{32} ", from_ha.stdout)

    device = explain.split()[2]
    inventory = yaml.safe_load((demo.workdir / "inventory" / "demo-1-yaml.yaml").read_text())
    record = next(d for d in inventory["devices"] if d["name"] == device)
    explained = _run_as_printed(source, explain)
    assert explained.returncode == 0, explained.stderr[-3000:]
    out = explained.stdout
    assert out.splitlines()[0].startswith(f"devices {record['site']}/{device} (NetBox id ")
    assert re.search(rf"serial +NetBox: {record['serial']} +desired: {record['serial']}", out), out[:3000]
    assert "demo-1-yaml.yaml:" in out and "written by sync run" in out


def test_the_ui_listens_on_dagster_port_and_the_terminal_is_not_flooded(demo):
    assert demo.wait_for("Dagster UI: ", 1).startswith(f"Dagster UI: http://127.0.0.1:{demo.port} ")
    wait_until(lambda: dagster_ui_answers(demo.port), 120, "the Dagster UI on DAGSTER_PORT")
    time.sleep(10)  # the daemon's first sensor ticks launch runs; their logs would be the flood
    assert not [line for line in demo.lines if " - DEBUG - " in line], "\n".join(demo.lines[-40:])
    assert not [line for line in demo.lines if "SupersessionWarning" in line or "Launching Dagster services" in line]


def test_the_readme_says_what_the_demo_printed(demo):
    held = demo.wait_for("  NetBox now holds: ", 1)
    counts = {name: int(n) for name, n in re.findall(r"(\w+)=(\d+)", held)}
    files = len(demo_records()[0])  # what write_demo_inventory wrote
    readme = " ".join((REPO_ROOT / "README.md").read_text().split())
    assert (f"After the first sync the NetBox sandbox holds {counts['devices']} devices over {counts['sites']} sites "
            f"(the {files} from the files,") in readme
    assert f"and {counts['virtual_machines']} virtual machines in {counts['clusters']} clusters" in readme
    assert f"writes an estate of {files} devices" in readme
    datacenter = re.search(r"`(regions=\d+(?:, \w+=\d+)*)`", readme).group(1)
    assert {name: int(n) for name, n in re.findall(r"(\w+)=(\d+)", datacenter)}.items() <= counts.items()


def test_ctrl_c_stops_the_demo_and_its_config_names_no_deleted_file(demo):
    config = yaml.safe_load((demo.workdir / "netbox_pipeline.yaml").read_text())
    netbox_url = config["netbox"]["url"]
    assert requests.get(f"{netbox_url}/api/status/", timeout=5).status_code in (200, 401, 403)
    assert demo.stop() == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{netbox_url}/api/status/", timeout=5)
    for kind in ("proxmox", "truenas"):
        ca_cert = demo.workdir / config["sources"][kind][0]["ca_cert"]
        assert ca_cert.is_file() and "BEGIN CERTIFICATE" in ca_cert.read_text()
