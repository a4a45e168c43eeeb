"""`netbox-pipeline mcp` through the SDK's own client, over stdio and over streamable HTTP, against
an estate of inventory files and a Proxmox cluster synced into the NetBox sandbox."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import dagster as dg
import pytest
import requests
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import Implementation

from netbox_pipeline.sandbox.proxmox import ProxmoxSandbox
from netbox_pipeline_tests.estate import small_estate

pytestmark = pytest.mark.slow

PVE_SECRET = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
PLANTED = "planted-s3cret-4d8e1f"  # an environment secret that also sits in a bad inventory record
CLIENT = Implementation(name="netbox-pipeline-tests", version="1.0")
TOOLS = {"plan", "explain", "history", "run", "drift", "sources", "search_inventory", "sync", "undo"}


def estate_beside_proxmox() -> dict:
    """The small estate on addresses the Proxmox sandbox's nodes do not use (they hold 192.0.2.11-13)."""
    return json.loads(json.dumps(small_estate()).replace("192.0.2.", "203.0.113."))


def server_env(**extra) -> dict[str, str]:
    return {**os.environ, "PLANTED_API_TOKEN": PLANTED, **extra}


def hand_edit(estate, endpoint: str, name: str, **fields) -> None:
    """What a person does in NetBox: a PATCH outside the pipeline."""
    (obj,) = [o for o in estate.sandbox.objects(endpoint) if o.get("name") == name]
    response = requests.patch(f"{estate.sandbox.url}/api/{endpoint}/{obj['id']}/", json=fields, timeout=10,
                              headers={"Authorization": f"Token {estate.sandbox.token}", "Accept": "application/json"})
    assert response.status_code == 200, response.text


class Transcript:
    """Every tool result's text and structured content, to search for secrets afterwards."""

    def __init__(self, client: Client):
        self.client, self.texts = client, []

    async def call(self, tool: str, /, **arguments):
        result = await self.client.call_tool(tool, arguments)
        self.texts.append(json.dumps(result.structured_content) + " ".join(getattr(c, "text", "") for c in result.content))
        return result

    async def ok(self, tool: str, /, **arguments) -> dict:
        result = await self.call(tool, **arguments)
        assert not result.is_error, result.content
        return result.structured_content

    async def resource(self, uri: str) -> dict:
        (content,) = (await self.client.read_resource(uri)).contents
        self.texts.append(content.text)
        return json.loads(content.text)

    async def error(self, tool: str, /, **arguments) -> str:
        result = await self.call(tool, **arguments)
        assert result.is_error, result.structured_content
        text = " ".join(c.text for c in result.content)
        assert "Traceback" not in text
        return text


@pytest.fixture
def pve():
    with ProxmoxSandbox(token_id="root@pam!netbox-pipeline", secret=PVE_SECRET) as sandbox:
        yield sandbox


def test_read_tools_over_stdio_answer_about_the_estate_and_never_show_a_secret(make_estate, pve, monkeypatch, tmp_path):
    monkeypatch.setenv("PVE_TOKEN", PVE_SECRET)
    (tmp_path / "estate").mkdir(exist_ok=True)
    (tmp_path / "estate" / "pve-ca.pem").write_bytes(pve.ca_cert_path.read_bytes())
    bad = {"devices": [{"name": "odd-01", "site": "home", "interfaces": [{"name": "eth0", "mac": PLANTED}]}]}
    estate = make_estate(files={"rack": estate_beside_proxmox(), "bad": bad}, extra_config=(
        "  proxmox:\n    - {name: lab, host: 127.0.0.1, port: %d, user: '%s', token_name: %s, token_value: '${PVE_TOKEN}',"
        " ca_cert: pve-ca.pem, timeout_s: 5}" % (pve.port, pve.user, pve.token_name)))
    assert estate.sync().runs[-1].success
    pve.guest(100).memory_mib = 6144  # web01 grows in Proxmox
    second = estate.sync()
    assert second.runs[-1].success, [r.error for r in second.runs]
    hand_edit(estate, "dcim/devices", "web-01", serial="HAND-EDITED")

    params = StdioServerParameters(command=sys.executable, args=["-m", "netbox_pipeline.cli", "mcp"], env=server_env())

    async def session():
        async with Client(params, client_info=CLIENT, read_timeout_seconds=300) as client:
            talk = Transcript(client)
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            assert all(t.output_schema for t in tools.values())
            assert "confirmation_token" in tools["sync"].input_schema["properties"]
            assert tools["explain"].input_schema["required"] == ["name"]
            # records joined other than by their own key (a scanned host by its MAC) are part of the answer
            assert "merged_from" in tools["explain"].output_schema["$defs"]["ExplainedObject"]["properties"]

            # which source set the VM's memory after the Proxmox change, and which run wrote it (the CLI's explain)
            explained = await talk.ok("explain", name="web01", fields=["memory"])
            (vm,) = [o for o in explained["objects"] if o["type"] == "virtual_machines"]
            (memory,) = vm["fields"]
            assert vm["merged_from"] == []  # the VM's records all carry its own key
            assert (memory["netbox"], memory["desired"]) == (6144, 6144)
            assert (memory["source"]["source_kind"], memory["source"]["instance"]) == ("proxmox", "lab")
            assert memory["last_write"]["dagster_run_id"] == second.runs[-1].run_id and memory["last_write"]["after"] == 6144
            assert memory["precedence"][0] == "filesystem"

            # which devices drifted after the hand edit
            drifted = await talk.ok("drift")
            assert [(d["natural_key"], d["fields"]) for d in drifted["drifted"]] == [
                ("home/web-01", {"serial": {"written": "SN-web-01", "live": "HAND-EDITED"}})]

            # the second sync's run: the VM's memory, before and after
            report = await talk.ok("run", run_id=second.runs[-1].run_id)
            (change,) = [c for c in report["changes"] if "web01" in c["natural_key"] and c["object_type"] == "virtual_machines"]
            assert change["action"] == "update" and change["after"]["memory"] == 6144

            history = await talk.ok("history", limit=200)
            assert {"source", "plan", "apply"} <= {r["kind"] for r in history["runs"]}

            fresh = await talk.ok("plan", fresh=True, object_type="devices")
            assert [(i["natural_key"], i["changes"]) for i in fresh["items"]] == [
                ("home/web-01", {"serial": {"before": "HAND-EDITED", "after": "SN-web-01"}})]
            assert fresh["age_seconds"] < 600 and fresh["totals"]["update"] >= 1
            stored = await talk.ok("plan", source="proxmox:lab", include_unchanged=True)
            assert stored["plan_run_id"] == fresh["plan_run_id"] and stored["matching"] > 0

            # the resources: the latest plan and a run's report
            assert "netbox-pipeline://plan/latest" in {str(r.uri) for r in (await client.list_resources()).resources}
            latest = await talk.resource("netbox-pipeline://plan/latest")
            assert latest["plan_run_id"] == fresh["plan_run_id"] and latest["totals"] == fresh["totals"]
            resource_report = await talk.resource(f"netbox-pipeline://runs/{second.runs[-1].run_id}")
            assert resource_report["changes"] == report["changes"]

            sources = {(s["kind"], s["instance"]): s for s in (await talk.ok("sources"))["sources"]}
            assert sources[("proxmox", "lab")]["fresh"] and sources[("proxmox", "lab")]["record_count"] > 0
            (problem,) = sources[("filesystem", "bad")]["record_errors"]
            assert problem["where"].startswith("inventory/bad.yaml:") or "bad.yaml:" in problem["where"]

            found = await talk.ok("search_inventory", query="02:00:00:00:00:0b")
            assert [(m["natural_key"], m["sources"]) for m in found["matches"] if m["object_type"] == "device"] == [
                ("home/web-01", ["filesystem:rack"])]

            assert "sync is disabled" in await talk.error("sync")
            assert "undo is disabled" in await talk.error("undo", run_id=second.runs[-1].run_id)
            assert "nothing named" in await talk.error("explain", name="no-such-thing")
            assert "no run" in await talk.error("run", run_id="nope")
            return talk.texts

    texts = asyncio.run(session())
    everything = "\n".join(texts)
    assert "odd-01" in everything or "***" in everything  # the bad record was reported ...
    for secret in (PLANTED, PVE_SECRET, estate.sandbox.token):
        assert secret not in everything  # ... without the secret in it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server():
    started = []

    def start() -> str:
        port = free_port()
        process = subprocess.Popen([sys.executable, "-m", "netbox_pipeline.cli", "mcp", "--transport", "http", "--port", str(port)],
                                   env=server_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return f"http://127.0.0.1:{port}/mcp"
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the MCP server did not listen")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=20)


def devices_now(estate) -> dict[str, dict]:
    return {name: {k: v for k, v in device.items() if k != "last_updated"} for name, device in estate.by_name("devices").items()}


def test_sync_and_undo_over_http_write_only_what_was_confirmed(make_estate, http_server):
    estate = make_estate(extra_config="mcp: {allow_writes: true}")
    assert estate.sync().success
    data = small_estate()
    data["devices"][1]["serial"] = PLANTED  # a secret that ends up in NetBox: every tool shows it as ***
    estate.write_inventory(data)
    url = http_server()

    async def session():
        async with Client(url, client_info=CLIENT, read_timeout_seconds=300) as client:
            talk = Transcript(client)
            estate.sandbox.reset_log()
            preview = await talk.ok("sync")  # a call without a token writes nothing
            assert preview["stage"] == "preview" and preview["confirmation_token"]
            assert [(i["natural_key"], i["action"]) for i in preview["plan"]["items"]] == [("home/web-02", "update")]
            assert estate.writes() == []

            hand_edit(estate, "dcim/devices", "db-01", serial="HAND-EDITED")  # the plan is stale now
            writes_so_far = len(estate.writes())  # the hand edit
            refused = await talk.error("sync", confirmation_token=preview["confirmation_token"])
            assert "plan changed since the preview" in refused and "nothing was written" in refused
            assert len(estate.writes()) == writes_so_far
            assert "unknown or already used" in await talk.error("sync", confirmation_token=preview["confirmation_token"])

            second = await talk.ok("sync")
            previewed = {(i["object_type"], i["natural_key"]) for i in second["plan"]["items"]}
            assert previewed == {("devices", "home/web-02"), ("devices", "lab/db-01")}
            before_sync = devices_now(estate)
            applied = await talk.ok("sync", confirmation_token=second["confirmation_token"])
            assert applied["stage"] == "applied" and applied["plan_hash"] == second["plan_hash"]
            assert applied["applied"]["devices"]["updated"] == 2
            merge_run = applied["runs"][-1]["dagster_run_id"]
            report = await talk.ok("run", run_id=merge_run)
            assert {(c["object_type"], c["natural_key"]) for c in report["changes"] if c["status"] == "applied"} == previewed
            devices = estate.by_name("devices")
            assert (devices["web-02"]["serial"], devices["db-01"]["serial"]) == (PLANTED, "SN-db-01")

            # undo that sync: the preview writes nothing and names what it would restore
            estate.sandbox.reset_log()
            undo_preview = await talk.ok("undo", run_id=merge_run)
            assert undo_preview["stage"] == "preview" and undo_preview["undoes"] == f"sync {merge_run}"
            assert {(c["natural_key"], c["action"]) for c in undo_preview["changes"]} == {("home/web-02", "update"), ("lab/db-01", "update")}
            assert undo_preview["conflicts"] == [] and estate.writes() == []

            hand_edit(estate, "dcim/devices", "db-01", serial="HAND-AGAIN")  # a person edits what the sync wrote
            refused = await talk.error("undo", run_id=merge_run, confirmation_token=undo_preview["confirmation_token"])
            assert "undo changed since the preview" in refused and "nothing was written" in refused
            assert len(estate.writes()) == 1  # the hand edit
            blocked = await talk.ok("undo", run_id=merge_run)
            assert blocked["stage"] == "blocked" and blocked["confirmation_token"] is None
            assert [(c["name"], c["live"]) for c in blocked["conflicts"]] == [("devices lab/db-01.serial", "HAND-AGAIN")]

            hand_edit(estate, "dcim/devices", "db-01", serial="SN-db-01")  # the person takes it back
            again = await talk.ok("undo", run_id=merge_run)
            assert again["undo_hash"] == undo_preview["undo_hash"]
            estate.sandbox.reset_log()
            undone = await talk.ok("undo", run_id=merge_run, confirmation_token=again["confirmation_token"])
            assert undone["stage"] == "applied" and undone["counts"]["updated"] == 2
            assert {(c["natural_key"], c["action"]) for c in undone["changes"]} == {("home/web-02", "update"), ("lab/db-01", "update")}
            assert devices_now(estate) == before_sync  # NetBox as it was before the sync
            assert [(w.method, w.path, len(w.changelog_messages)) for w in estate.writes()] == [("PATCH", "/api/dcim/devices/", 2)]
            return merge_run, undone["dagster_run_id"], [undo_preview, again], talk.texts

    merge_run, undo_run, undo_previews, texts = asyncio.run(session())
    assert all("***" in json.dumps(p["changes"]) for p in undo_previews)  # the planted serial, filtered
    with dg.DagsterInstance.get() as instance:
        for run_id in (merge_run, undo_run):
            tags = instance.get_run_by_id(run_id).tags
            assert tags["netbox_pipeline/mcp_client"] == "netbox-pipeline-tests 1.0" and tags["netbox_pipeline/trigger"] == "mcp"
        assert instance.get_run_by_id(undo_run).job_name == "undo_run"
    for secret in (PLANTED, estate.sandbox.token):
        assert not any(secret in text for text in texts)
