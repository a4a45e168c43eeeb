"""`netbox-pipeline demo`: the whole pipeline on a generated estate against local sandboxes.

Starts fresh in its work directory every time: writes inventory files for a small estate, starts
a NetBox sandbox, a Proxmox VE sandbox (TLS, a generated 3-node cluster), a Home Assistant
stand-in (a homelab's device registry with areas on floors) and a TrueNAS stand-in (JSON-RPC over
TLS WebSocket: a NAS with a LAG, disks, pools, shares and VMs) on loopback, writes a
config pointing at them, runs the graph through Dagster, prints what was created, runs it again
to show that nothing is written, and (with --ui) opens the Dagster UI on the same instance, config
and sandboxes.
"""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from netbox_pipeline.netbox.schema import TYPES
from netbox_pipeline.runner import dagster_home, run_sync
from netbox_pipeline.sandbox.demo_estate import write_demo_inventory
from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.sandbox.home_assistant import NEWER_HA_VERSION, HomeAssistantSandbox
from netbox_pipeline.sandbox.proxmox import ProxmoxSandbox
from netbox_pipeline.sandbox.truenas import TrueNASSandbox

DEMO_TOKEN_ENV = "NETBOX_TOKEN"
PROXMOX_TOKEN_ENV = "PVE_TOKEN"
HA_TOKEN_ENV = "HA_TOKEN"
TRUENAS_KEY_ENV = "TRUENAS_API_KEY"


def write_demo_config(workdir: Path, netbox_url: str, inventory_files: list[Path], proxmox: ProxmoxSandbox | None = None,
                      home_assistant: HomeAssistantSandbox | None = None, truenas: TrueNASSandbox | None = None) -> Path:
    lines = [
        "# Written by `netbox-pipeline demo`; points at the local NetBox sandbox.",
        "netbox:",
        f"  url: {netbox_url}",
        f"  token: ${{{DEMO_TOKEN_ENV}}}",
        "staging:",
        "  url: sqlite:///state/staging.sqlite",
        "state_dir: state",
        "sources:",
        "  filesystem:",
    ]
    for path in inventory_files:
        lines.append(f"    - {{name: {path.stem}, path: {path.relative_to(workdir)}}}")
    if proxmox is not None:
        lines += [
            "  proxmox:",
            f"    - {{name: pve-lab, host: {proxmox.host}, port: {proxmox.port}, user: '{proxmox.user}',",
            f"       token_name: {proxmox.token_name}, token_value: '${{{PROXMOX_TOKEN_ENV}}}', ca_cert: {proxmox.ca_cert_path}, site: lab}}",
        ]
    if home_assistant is not None:
        lines += [
            "  home_assistant:",
            f"    - {{name: home, url: '{home_assistant.url}', token: '${{{HA_TOKEN_ENV}}}', site: home,",
            "       role_map: {unifi: network, zha: iot, tplink: iot, shelly: iot, reolink: camera, ipp: printer, nut: power}}",
        ]
    if truenas is not None:
        lines += [
            "  truenas:",
            f"    - {{name: nas01, host: 127.0.0.1, port: {truenas.port}, api_key: '${{{TRUENAS_KEY_ENV}}}',",
            f"       username: {truenas.username}, ca_cert: {truenas.ca_cert_path}, site: home, role: storage}}",
        ]
    lines += ["schedules:", "  filesystem: {cron: '*/15 * * * *', enabled: false}", ""]
    config = workdir / "netbox_pipeline.yaml"
    config.write_text("\n".join(lines))
    return config


def run_demo(workdir: str = ".demo", *, ui: bool = False, port: int = 0, out=print) -> int:
    root = Path(workdir).resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    files = write_demo_inventory(root / "inventory")
    sandbox = NetBoxSandbox(version="4.4", port=port, state_file=str(root / "netbox-sandbox.json")).start()
    proxmox = ProxmoxSandbox(cluster_name="lab").start()
    home_assistant = HomeAssistantSandbox(version=NEWER_HA_VERSION).start()
    truenas = TrueNASSandbox("25.04").start()
    try:
        os.environ[DEMO_TOKEN_ENV] = sandbox.token
        os.environ[PROXMOX_TOKEN_ENV] = proxmox.secret
        os.environ[HA_TOKEN_ENV] = home_assistant.token
        os.environ[TRUENAS_KEY_ENV] = truenas.api_key
        config_path = write_demo_config(root, sandbox.url, files, proxmox, home_assistant, truenas)
        os.environ["NETBOX_PIPELINE_CONFIG"] = str(config_path)
        out(f"NetBox sandbox (4.4) on {sandbox.url}; Proxmox VE sandbox on {proxmox.url}; "
            f"Home Assistant stand-in on {home_assistant.url}; TrueNAS stand-in on {truenas.url}; "
            f"demo estate in {root / 'inventory'} ({len(files)} files)")

        status = _sync_and_report(sandbox, str(config_path), "first sync", out)
        if status:
            return status
        status = _sync_and_report(sandbox, str(config_path), "second sync (nothing changed)", out)
        if status:
            return status
        writes = len(sandbox.writes())
        out(f"second sync wrote {writes} object(s): " + ("NetBox was already in sync." if writes == 0 else "UNEXPECTED"))
        from netbox_pipeline.config import load_config

        home = dagster_home(load_config(config_path))
        if not ui:
            out("Open the Dagster UI on the same data with:  netbox-pipeline demo --ui   (or ./run.sh demo --ui)")
            return 0 if writes == 0 else 1
        return _serve_ui(config_path, home, sandbox, out)
    finally:
        truenas.stop()
        home_assistant.stop()
        proxmox.stop()
        sandbox.stop()


def _sync_and_report(sandbox: NetBoxSandbox, config_path: str, label: str, out) -> int:
    sandbox.reset_log()
    outcome = run_sync(config_path)
    for run in outcome.runs:
        out(f"  {'ok    ' if run.success else 'FAILED'} {run.label} (run {run.run_id[:8]}){'' if run.success else ': ' + str(run.error)}")
    if not outcome.success:
        out(f"{label} failed")
        return 1
    writes = {m: sandbox.count(method=m) for m in ("POST", "PATCH", "PUT", "DELETE")}
    reads = sandbox.count(method="GET")
    out(f"{label}: {reads} read request(s), {sum(writes.values())} write request(s) " + ", ".join(f"{m}={n}" for m, n in writes.items() if n))
    counts = [(name, len(sandbox.objects(t.endpoint))) for name, t in TYPES.items()]
    out("  NetBox now holds: " + ", ".join(f"{name}={n}" for name, n in counts if n))
    return 0


def _serve_ui(config_path: Path, home: Path, sandbox: NetBoxSandbox, out) -> int:
    env = {**os.environ, "DAGSTER_HOME": str(home), "NETBOX_PIPELINE_CONFIG": str(config_path)}
    port = os.environ.get("DAGSTER_PORT", "3000")
    dagster = Path(sys.executable).parent / "dagster"
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    args = [str(dagster), "dev", "-h", "127.0.0.1", "-p", port]
    args += ["-w", str(workspace)] if workspace.exists() else ["-m", "netbox_pipeline.definitions"]
    out(f"Dagster UI: http://127.0.0.1:{port}  (NetBox sandbox stays up at {sandbox.url}; Ctrl-C stops both)")
    process = subprocess.Popen(args, env=env, cwd=str(config_path.parent))
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0
