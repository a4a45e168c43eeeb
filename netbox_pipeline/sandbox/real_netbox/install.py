"""Install a real NetBox from PyPI into its own Python 3.12 venv and lay out its instance root.

Everything lives under one cache directory per version (`~/.cache/netbox_pipeline/netbox-VERSION/`,
or `$NETBOX_PIPELINE_CACHE/netbox-VERSION/`), so the ~2 minute install happens once per machine:

    venv/            python3.12 -m venv; `pip install netbox==VERSION gunicorn`
    root/            NETBOX_ROOT (`netbox setup --target root`): conf/configuration.py and friends
    .installed       written last, so an interrupted install is redone, not trusted
"""

import glob
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("netbox_pipeline.real_netbox")

DEFAULT_VERSION = "4.7.3"
CACHE_ENV = "NETBOX_PIPELINE_CACHE"
PYTHON_ENV = "NETBOX_PIPELINE_PYTHON312"


class RealNetBoxError(RuntimeError):
    """A real NetBox cannot be installed or started here; the message says why and what to do."""


def cache_root() -> Path:
    base = os.environ.get(CACHE_ENV)
    return Path(base) if base else Path.home() / ".cache" / "netbox_pipeline"


def version_dir(version: str) -> Path:
    return cache_root() / f"netbox-{version}"


def find_python312() -> str:
    """NetBox 4.5+ needs Python 3.12+: $NETBOX_PIPELINE_PYTHON312, python3.12/3.13 on PATH, or pyenv's."""
    candidates = [os.environ.get(PYTHON_ENV, "")]
    if sys.version_info >= (3, 12):
        candidates.append(sys.executable)
    candidates += [shutil.which("python3.12") or "", shutil.which("python3.13") or ""]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.1[23].*/bin/python3.1[23]"), reverse=True)
    for candidate in filter(None, candidates):
        # A pyenv shim exists on PATH even when no 3.12 is selected, and then fails: ask it.
        try:
            done = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                                  capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if done.returncode == 0 and done.stdout.strip() == "True":
            return candidate
    raise RealNetBoxError(
        "NetBox 4.5 and later need Python 3.12+, and none was found (looked at $NETBOX_PIPELINE_PYTHON312, "
        "python3.12 / python3.13 on PATH and ~/.pyenv/versions). Install one, e.g. `pyenv install 3.12`, "
        "or point NETBOX_PIPELINE_PYTHON312 at it."
    )


def run_logged(what: str, command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
               log_file: Path | None = None) -> None:
    """Run a long step, logging a heartbeat every 30 s; on failure the tail of its output is in the error."""
    log.info("%s ...", what)
    started = time.monotonic()
    out_path = log_file or Path(os.devnull)
    with open(out_path, "ab") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        while True:
            try:
                code = process.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                log.info("%s: still running (%d s)", what, time.monotonic() - started)
    if code != 0:
        tail = out_path.read_text(errors="replace")[-3000:] if log_file else ""
        raise RealNetBoxError(f"{what} failed (exit {code}); see {out_path}\n{tail}")
    log.info("%s: done in %.0f s", what, time.monotonic() - started)


def ensure_installed(version: str = DEFAULT_VERSION) -> Path:
    """The version's directory with venv/ and root/ ready; installs on first use (about 2 minutes)."""
    home = version_dir(version)
    stamp = home / ".installed"
    if stamp.exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    from .locking import file_lock

    with file_lock(home / ".install.lock"):
        if stamp.exists():  # another process installed it while we waited
            return home
        python = find_python312()
        venv = home / "venv"
        if not (venv / "bin" / "python").exists():
            run_logged(f"creating a Python venv for NetBox {version} in {venv}", [python, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        run_logged(f"installing netbox=={version} and gunicorn from PyPI (about 2 minutes)",
                   pip + [f"netbox=={version}", "gunicorn"], log_file=home / "install.log")
        root = home / "root"
        if not (root / "conf").exists():
            run_logged(f"netbox setup --target {root}", [str(venv / "bin" / "netbox"), "setup", "--target", str(root)],
                       log_file=home / "install.log")
        stamp.write_text(version + "\n")
    return home
