"""`./run.sh ui` on a copy of the checkout whose .venv is already set up: it serves, and says, DAGSTER_PORT."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


from netbox_pipeline_tests.conftest import REPO_ROOT
from netbox_pipeline_tests.processes import dagster_ui_answers, free_port, stop_group, wait_until



def _checkout_with_a_ready_venv(root: Path) -> Path:
    """run.sh, the files `ui` reads, and a .venv that run.sh sees as installed: this interpreter's tools."""
    for name in ("run.sh", "pyproject.toml", "workspace.yaml", "dagster.yaml"):
        shutil.copy2(REPO_ROOT / name, root / name)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "dagster"):
        (bin_dir / tool).symlink_to(Path(sys.executable).parent / tool)
    (root / ".venv" / ".installed").touch()
    os.utime(root / "pyproject.toml", (time.time() - 60, time.time() - 60))  # older than the stamp: no pip install
    return root


def test_ui_listens_on_dagster_port_and_prints_it(tmp_path):
    root = _checkout_with_a_ready_venv(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "NETBOX_PIPELINE_CONFIG")}
    env.update(DAGSTER_PORT=str(port), PYTHONPATH=str(REPO_ROOT))
    log = tmp_path / "ui.log"
    with open(log, "w") as out:
        process = subprocess.Popen(["bash", str(root / "run.sh"), "ui"], cwd=root, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def alive():
            assert process.poll() is None, log.read_text()[-3000:]

        wait_until(lambda: dagster_ui_answers(port), 120, "the Dagster UI of ./run.sh ui", alive)
        said = log.read_text()
        assert f"[run.sh] Dagster UI on http://127.0.0.1:{port} (Ctrl-C to stop); DAGSTER_HOME={root}/.dagster_home" in said
        assert "127.0.0.1:3000" not in said
    finally:
        stop_group(process)
