"""A real Home Assistant for the tests: configured, started, onboarded, seeded with devices.

Set-up (reference §2): HA from the cached venv (install.py), a config with only `api`, `config`
and the fixture integrations (no `default_config`, which would reach the internet), the devices of
the stand-in's estate written as fixture data and created by HA's own device registry, onboarding
over REST (user, then token; the `core_config` step is skipped because offline it stalls), and a
long-lived access token made over the WebSocket API as a user would in their profile.

Isolation: as root, HA runs in a network namespace that has only its loopback (no route
anywhere) and a relay makes it reachable on the host's 127.0.0.1; otherwise it binds the host's
loopback, with --skip-pip so that it installs nothing.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from netbox_pipeline.sandbox.home_assistant import Estate, demo_estate, fixture_devices
from netbox_pipeline.sources.home_assistant import HomeAssistantClient

from . import install

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "custom_components" / "lab_fixture"
DOMAIN_PREFIX = "lab_"
START_TIMEOUT_S = 180
CLIENT_ID = "http://127.0.0.1:8123/"


def namespaces_available() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("ip") is not None


class RealHomeAssistant:
    """`with RealHomeAssistant() as ha:` ha.url, ha.token, ha.call(command, …)."""

    def __init__(self, estate: Estate | None = None, *, isolate: bool | None = None):
        self.estate = estate or demo_estate()
        self.isolate = namespaces_available() if isolate is None else isolate
        self.netns = f"nbp-ha-{os.getpid()}" if self.isolate else None
        self.dir = Path(tempfile.mkdtemp(prefix="real-ha-"))
        self.config_dir = self.dir / "config"
        self.port = 0
        self.token = ""
        self.device_ids: dict[str, str] = {}  # estate key -> registry id
        self._processes: list[subprocess.Popen] = []
        self._listener: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / "ha.log"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "RealHomeAssistant":
        hass = install.install()
        try:
            self._write_config()
            self._launch(hass)
            self._wait_ready()
            self.token = self._onboard()
            self._wait_devices()
            self._apply_user_settings()
        except BaseException:
            tail = self.log_tail()
            self.stop()
            if tail:
                print(f"--- Home Assistant log (last lines) ---\n{tail}", file=sys.stderr)
            raise
        return self

    def stop(self) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "RealHomeAssistant":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # ------------------------------------------------------------------ talking to it
    def client(self, token: str | None = None) -> HomeAssistantClient:
        return HomeAssistantClient(self.url.replace("http", "ws", 1) + "/api/websocket", token or self.token,
                                   where=self.url, timeout_s=30)

    def call(self, command: str, **params: Any) -> Any:
        with self.client() as ha:
            return ha.call(command, **params)

    def update_device(self, key: str, **changes: Any) -> dict[str, Any]:
        """config/device_registry/update, as the UI does it (name_by_user, area_id, disabled_by)."""
        return self.call("config/device_registry/update", device_id=self.device_ids[key], **changes)

    def remove_device(self, key: str) -> None:
        """The UI's "delete device": removes it from its config entry (and so from the registry)."""
        spec = self.estate.devices[key]
        entry = self._entry_ids()[DOMAIN_PREFIX + spec.domain]
        self.call("config/device_registry/remove_config_entry", device_id=self.device_ids[key], config_entry_id=entry)

    def restore_device(self, key: str) -> None:
        """Undo `remove_device`: reloading its config entry re-creates the device (HA gives a deleted
        device its old registry id back), so the session's later tests see the whole estate."""
        entry = self._entry_ids()[DOMAIN_PREFIX + self.estate.devices[key].domain]
        response = requests.post(f"{self.url}/api/config/config_entries/entry/{entry}/reload", timeout=60,
                                 headers={"Authorization": f"Bearer {self.token}"})
        response.raise_for_status()
        self.device_ids.pop(key, None)
        self._wait_devices()

    # ------------------------------------------------------------------ set-up steps
    def _write_config(self) -> None:
        devices = fixture_devices(self.estate, DOMAIN_PREFIX)
        components = self.config_dir / "custom_components"
        for domain in devices:
            target = components / domain
            shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("__pycache__"))
            manifest = json.loads((target / "manifest.json").read_text())
            manifest.update(domain=domain, name=f"Lab fixture ({domain})")
            (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
        (self.config_dir / "lab_devices.json").write_text(json.dumps(devices, indent=2))
        lines = [
            "homeassistant:", f"  name: {json.dumps(self.estate.location_name)}", "  latitude: 52.3731",
            "  longitude: 4.8922", "  elevation: 0", "  unit_system: metric", "  time_zone: Europe/Amsterdam",
            "  country: NL", "  currency: EUR", "  language: en", "logger:", "  default: warning",
            "http:", "  server_host: 127.0.0.1", "  server_port: {port}", "api:", "config:", "onboarding:",
            *(f"{domain}:" for domain in devices),
        ]
        self._config_lines = lines

    def _launch(self, hass: Path) -> None:
        if self.isolate:
            inner_port = 8123
            subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
            subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True, capture_output=True)
            self._listener = socket.socket()
            self._listener.bind(("127.0.0.1", 0))
            self._listener.listen(64)
            self.port = self._listener.getsockname()[1]
            prefix = ["ip", "netns", "exec", self.netns]
        else:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                inner_port = self.port = probe.getsockname()[1]
            prefix = []
        text = "\n".join(self._config_lines).replace("{port}", str(inner_port)) + "\n"
        (self.config_dir / "configuration.yaml").write_text(text)
        log = open(self.dir / "hass.stdout", "wb")
        self._processes.append(subprocess.Popen(
            [*prefix, str(hass), "-c", str(self.config_dir), "--skip-pip", "--log-file", str(self.log_path)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        if self.isolate:
            assert self._listener is not None
            fd = self._listener.fileno()
            self._processes.append(subprocess.Popen(
                [*prefix, sys.executable, str(HERE / "relay.py"), str(fd), str(inner_port)], pass_fds=[fd],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._processes[0].poll() is not None:
                raise RuntimeError(f"Home Assistant exited with {self._processes[0].returncode} while starting")
            try:
                if requests.get(self.url + "/api/onboarding", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"Home Assistant did not answer on {self.url} within {START_TIMEOUT_S} s")

    def _onboard(self) -> str:
        created = requests.post(self.url + "/api/onboarding/users", timeout=30, json={
            "client_id": CLIENT_ID, "name": "Lab Admin", "username": "admin", "password": "lab-admin-password",
            "language": "en"})
        created.raise_for_status()
        tokens = requests.post(self.url + "/auth/token", timeout=30, data={
            "grant_type": "authorization_code", "code": created.json()["auth_code"], "client_id": CLIENT_ID})
        tokens.raise_for_status()
        with self.client(tokens.json()["access_token"]) as ha:
            return ha.call("auth/long_lived_access_token", client_name="netbox-pipeline tests", lifespan=30)

    def _wait_devices(self) -> None:
        keys = {(DOMAIN_PREFIX + s.domain, s.key): k for k, s in self.estate.devices.items()}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for entry in self.call("config/device_registry/list"):
                for domain, key in entry.get("identifiers") or []:
                    if (domain, key) in keys:
                        self.device_ids[keys[(domain, key)]] = entry["id"]
            if len(self.device_ids) == len(keys):
                return
            time.sleep(0.3)
        missing = sorted(set(keys.values()) - set(self.device_ids))
        raise RuntimeError(f"Home Assistant did not create the fixture devices {missing}")

    def _apply_user_settings(self) -> None:
        """What a user sets in the UI rather than the integration: a custom name, disabling."""
        for key, spec in self.estate.devices.items():
            changes = {k: v for k, v in (("name_by_user", spec.name_by_user), ("disabled_by", spec.disabled_by)) if v}
            if changes:
                self.update_device(key, **changes)

    def _entry_ids(self) -> dict[str, str]:
        return {e["domain"]: e["entry_id"] for e in self.call("config_entries/get")}
