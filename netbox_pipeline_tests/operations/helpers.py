"""What the operations tests look at: duplicates in NetBox, CLI syncs in their own processes."""

import os
import subprocess
import sys

from netbox_pipeline.netbox.schema import TYPES, build_live


def duplicates(estate) -> list[tuple[str, str, int]]:
    """(type, natural key, id) of every object whose natural key an older object of its type has."""
    live = build_live({name: estate.objects(name) for name in TYPES})
    return [(d.type, str(d.key), d.id) for d in live.duplicates]


def custom_field_duplicates(estate) -> list[str]:
    names = [cf["name"] for cf in estate.sandbox.objects("extras/custom-fields")]
    return sorted({n for n in names if names.count(n) > 1})


def start_sync(estate, *args: str, log_name: str = "sync") -> subprocess.Popen:
    """`netbox-pipeline sync` in a process of its own (as a second terminal or a cron job would)."""
    log = open(estate.root / f"{log_name}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "netbox_pipeline.cli", "--config", str(estate.config_path), "sync", *args],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ), cwd=estate.root)


def output(estate, log_name: str) -> str:
    return (estate.root / f"{log_name}.log").read_text()
