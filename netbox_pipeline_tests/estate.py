"""An estate for end-to-end tests: inventory files, a config, a NetBox, a Dagster home.

The NetBox is the stand-in answering like 4.4 / 4.6, or with version="4.7-real" the real NetBox 4.7
of the session (fresh database, behind a logging proxy with the same test surface).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from netbox_pipeline.defs import resources
from netbox_pipeline.runner import SyncOutcome, run_sync
from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.staging.db import open_staging
from netbox_pipeline_tests.real_netbox import REAL

if TYPE_CHECKING:
    from netbox_pipeline.sandbox.real_netbox.proxy import LoggedNetBox


def small_estate() -> dict:
    def server(name: str, site: str, octet: int, **extra) -> dict:
        return {
            "name": name, "site": site, "role": "server", "manufacturer": "Acme", "model": "AX-1",
            "serial": f"SN-{name}", "status": "active",
            "interfaces": [
                {"name": "eth0", "type": "1000base-t", "mac": f"02:00:00:00:00:{octet:02x}", "ip_addresses": [f"192.0.2.{octet}/24"]},
                {"name": "eth1", "type": "1000base-t", "mac": f"02:00:00:00:01:{octet:02x}"},
            ],
            "primary_ip4": f"192.0.2.{octet}",
            **extra,
        }

    return {
        "devices": [server("web-01", "home", 11), server("web-02", "home", 12), server("db-01", "lab", 21)],
        "clusters": [{"name": "pve", "type": "Proxmox VE", "site": "home"}],
        "virtual_machines": [
            {"name": "vm-a", "cluster": "pve", "vcpus": 2, "memory_mb": 2048, "status": "active",
             "interfaces": [{"name": "net0", "mac": "02:00:00:00:10:01", "ip_addresses": ["198.51.100.10/24"]}], "primary_ip4": "198.51.100.10"},
            {"name": "vm-b", "cluster": "pve", "vcpus": 4, "memory_mb": 4096, "status": "active"},
        ],
    }


@dataclass
class Estate:
    root: Path
    sandbox: "NetBoxSandbox | LoggedNetBox"
    config_path: Path

    def inventory_path(self, name: str = "rack") -> Path:
        return self.root / "inventory" / f"{name}.yaml"

    def write_inventory(self, data: dict, name: str = "rack") -> Path:
        path = self.inventory_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def sync(self, **kwargs) -> SyncOutcome:
        self.sandbox.reset_log()
        return run_sync(str(self.config_path), **kwargs)

    def staging(self):
        from netbox_pipeline.config import load_config

        return open_staging(load_config(self.config_path).staging_url)

    def objects(self, type_name: str) -> list[dict]:
        from netbox_pipeline.netbox.schema import TYPES

        return self.sandbox.objects(TYPES[type_name].endpoint)

    def by_name(self, type_name: str) -> dict[str, dict]:
        return {o.get("name") or o.get("address"): o for o in self.objects(type_name)}

    def writes(self) -> list:
        return self.sandbox.writes()

    def read_only_token(self) -> str:
        """A token that can read but not write (the real server has one; the stand-in makes one)."""
        token = getattr(self.sandbox, "read_only_token", None)
        if token:
            return token
        token = "fedcba9876543210fedcba9876543210fedcba98"
        self.sandbox.add_token(token, write_enabled=False)
        return token


@pytest.fixture
def make_estate(tmp_path, monkeypatch, request):
    """make_estate(version="4.4", staging_url=None, files={"rack": data}, extra_config="", netbox_options="") -> Estate

    `extra_config` is appended after the filesystem entries (under `sources:` when indented);
    `netbox_options` inside the `netbox:` mapping (e.g. "drift_policy: keep").
    """
    started: list[NetBoxSandbox] = []
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("NETBOX_PIPELINE_CONFIG", "unset")  # recorded, so that teardown restores it
    resources._load_cached.cache_clear()

    def make(version: str = "4.4", staging_url: str | None = None, files: dict | None = None, extra_config: str = "", token: str | None = None,
             netbox_options: str = "") -> Estate:
        if version == REAL:
            sandbox = request.getfixturevalue("real_netbox")
        else:
            sandbox = NetBoxSandbox(version=version).start()
            started.append(sandbox)
        root = tmp_path / "estate"
        root.mkdir(exist_ok=True)
        files = files if files is not None else {"rack": small_estate()}
        estate = Estate(root, sandbox, root / "netbox_pipeline.yaml")
        for name, data in files.items():
            estate.write_inventory(data, name)
        monkeypatch.setenv("TEST_NETBOX_TOKEN", token or sandbox.token)
        lines = [
            f"netbox: {{url: '{sandbox.url}', token: '${{TEST_NETBOX_TOKEN}}', chunk_size: 2"
            + (f", {netbox_options}}}" if netbox_options else "}"),
            f"staging: {{url: '{staging_url or 'sqlite:///state/staging.sqlite'}'}}",
            "sources:",
            *(["  filesystem:"] if files else []),  # files={}: no filesystem instance (extra_config adds others)
            *[f"    - {{name: {name}, path: inventory/{name}.yaml}}" for name in files],
            extra_config,
        ]
        estate.config_path.write_text("\n".join(lines) + "\n")
        monkeypatch.setenv("NETBOX_PIPELINE_CONFIG", str(estate.config_path))
        return estate

    yield make
    for sandbox in started:
        sandbox.stop()
    resources._load_cached.cache_clear()
