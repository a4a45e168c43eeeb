"""The real Dagster webserver and daemon (`dagster dev`) on the code location, through GraphQL.

Nothing is launched by hand: the file sensor's first tick refreshes every inventory file, and the
automation sensor then runs inventory → plan → NetBox, so the estate lands in the NetBox sandbox.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import requests

from netbox_pipeline_tests.conftest import REPO_ROOT, require_real
from netbox_pipeline_tests.processes import free_port, stop_group, wait_until

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--virtual-time-budget=20000", "--window-size=1600,1000"]

QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes { location { name }
  assetNodes { assetKey { path } } sensors { name sensorState { status } } schedules { name scheduleState { status } } } } } }"""



def test_dagster_dev_serves_the_location_and_sensors_sync_the_estate(make_estate, tmp_path):
    estate = make_estate()
    home = tmp_path / "ui_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "NETBOX_PIPELINE_CONFIG": str(estate.config_path)}
    dagster = str(Path(sys.executable).parent / "dagster")
    log = open(tmp_path / "dagster-dev.log", "w")
    # Not from the checkout: `dagster dev` loads .env from its working directory, and the one there
    # (./run.sh) points DAGSTER_HOME at the user's own .dagster_home, over the environment given here.
    process = subprocess.Popen([dagster, "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
                               cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def graphql():
            try:
                answer = requests.post(f"{url}/graphql", json={"query": QUERY}, timeout=10)
                return answer.json()["data"]["repositoriesOrError"].get("nodes") if answer.ok else None
            except (requests.ConnectionError, ValueError, KeyError):
                return None

        (location,) = wait_until(graphql, 120, "the webserver to serve the code location")
        assert location["location"]["name"] == "netbox_pipeline"
        assets = {"/".join(a["assetKey"]["path"]) for a in location["assetNodes"]}
        assert {"filesystem_inventory", "inventory", "sync_plan", "netbox_devices", "netbox_prune"} <= assets
        sensors = {s["name"]: s["sensorState"]["status"] for s in location["sensors"]}
        assert sensors == {"inventory_files_sensor": "RUNNING", "netbox_pipeline_automation": "RUNNING"}
        assert {s["name"]: s["scheduleState"]["status"] for s in location["schedules"]} == {"filesystem_schedule": "STOPPED"}

        wait_until(lambda: len(estate.objects("devices")) == 3 and len(estate.objects("virtual_machines")) == 2, 300,
              "the sensors and automation to sync the estate into NetBox")
        assert sorted(estate.by_name("devices")) == ["db-01", "web-01", "web-02"]
        # The runs the sensors launched log at the instance's INFO (dagster.yaml): no DEBUG flood on the terminal.
        assert " - DEBUG - " not in (tmp_path / "dagster-dev.log").read_text()

        # What a person sees: the pages rendered by a real headless browser.
        lineage = _render(f"{url}/asset-groups", tmp_path / "lineage")
        assert all(group in lineage for group in ("sources", "inventory", "plan", "netbox"))
        plan_page = wait_until(lambda: _plan_page_when_synced(url, tmp_path), 120, "the plan page to show the synced plan")
        assert "Create / update / unchanged / orphan / delete per object" in plan_page
        assert "netbox_pipeline_automation" in plan_page
    finally:
        stop_group(process)
        log.close()


def _render(page_url: str, where: Path) -> str:
    """The DOM of a page after a headless Chromium ran its scripts; a screenshot lands beside it."""
    chromium = shutil.which("chromium")
    require_real(chromium is not None, "chromium (Debian package) for the browser test")
    where.mkdir(parents=True, exist_ok=True)
    base = [chromium, *CHROMIUM_FLAGS]
    subprocess.run([*base, f"--user-data-dir={where / 'shot-profile'}", f"--screenshot={where / 'page.png'}", page_url],
                   capture_output=True, timeout=120)
    dom = subprocess.run([*base, f"--user-data-dir={where / 'dom-profile'}", "--dump-dom", page_url],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def _plan_page_when_synced(url: str, tmp_path: Path) -> str | None:
    page = _render(f"{url}/assets/sync_plan", tmp_path / "plan")
    return page if "unchanged" in page and "changes" in page else None
