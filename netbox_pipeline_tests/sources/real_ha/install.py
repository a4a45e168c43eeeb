"""Install a real Home Assistant from PyPI into its own venv under a cache folder (once per machine).

    python -m netbox_pipeline_tests.sources.real_ha.install     # what run.sh test calls

Version and fixes follow the project's source reference (§2): 2024.3.3 is the last release line
that runs on Python 3.11; `josepy<2` (else every HTTP request answers 500) and the requirements HA
would otherwise pip-install at first start are installed up front, so HA runs with --skip-pip.
"""

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

HA_VERSION = "2024.3.3"
# Requirements of the integrations HA 2024.3 always loads (and of its MFA modules), pinned by HA's
# own package_constraints.txt; see the reference for how the list was derived.
PRELOADED_REQUIREMENTS = (
    "Pillow==10.2.0", "PyTurboJPEG==1.7.1", "SQLAlchemy==2.0.27", "aiohttp-fast-url-dispatcher==0.3.0",
    "aiohttp-zlib-ng==0.3.1", "aiohttp_cors==0.7.0", "fnv-hash-fast==0.5.0", "ha-ffmpeg==3.1.0",
    "hassil==1.6.1", "home-assistant-frontend==20240307.0", "home-assistant-intents==2024.3.12",
    "ifaddr==0.2.0", "janus==1.0.0", "mutagen==1.47.0", "psutil-home-assistant==0.0.1",
    "securetar==2024.2.1", "pyotp==2.8.0", "PyQRCode==1.2.1",
)
CACHE_ENV = "NETBOX_PIPELINE_CACHE"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "netbox_pipeline")


def venv_dir(version: str = HA_VERSION) -> Path:
    return cache_dir() / f"home-assistant-{version}"


def hass_path(version: str = HA_VERSION) -> Path:
    return venv_dir(version) / "bin" / "hass"


def installed(version: str = HA_VERSION) -> bool:
    return (venv_dir(version) / ".installed").is_file() and hass_path(version).is_file()


def python_for_ha() -> str | None:
    """A Python 3.11 or 3.12 interpreter (HA 2024.3 supports both; 3.13 it does not)."""
    if sys.version_info[:2] in ((3, 11), (3, 12)):
        return sys.executable
    for name in ("python3.11", "python3.12"):
        found = shutil.which(name)
        if found:
            return found
    return None


def install(version: str = HA_VERSION, log=print) -> Path:
    """Create the venv and install HA with its fixes; a no-op when already installed. Returns hass."""
    if installed(version):
        return hass_path(version)
    python = python_for_ha()
    if python is None:
        raise RuntimeError("Home Assistant 2024.3 needs Python 3.11 or 3.12; neither was found")
    target = venv_dir(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".home-assistant-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be installing the same venv
        if installed(version):
            return hass_path(version)
        shutil.rmtree(target, ignore_errors=True)
        log(f"installing Home Assistant {version} into {target} (first time: 2-3 minutes)")
        _run([python, "-m", "venv", str(target)])
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run(pip + ["--upgrade", "pip", "wheel"])
        _run(pip + [f"homeassistant=={version}", "josepy<2"])
        constraints = next(target.glob("lib/python3.*/site-packages/homeassistant/package_constraints.txt"))
        _run(pip + ["-c", str(constraints), *PRELOADED_REQUIREMENTS])
        (target / ".installed").write_text(version + "\n")
    return hass_path(version)


def _run(command: list[str]) -> None:
    # The machine's global pip constraints (if any) are for this project's venv, not HA's.
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV")}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(command[:6])} … failed ({done.returncode}):\n{tail}")


if __name__ == "__main__":
    print(install())
