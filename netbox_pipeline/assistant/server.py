"""The MCP server: tools and resources over the pipeline's staging DB, Dagster instance and NetBox.

Every tool is read-only except `sync` and `undo`, which write only behind `mcp.allow_writes` and
the preview/confirm guard (writes.confirmed_write). Every result and every error passes the
secret filter; an unexpected failure becomes a one-line tool error (the traceback goes to the
server's log, never the client).
"""

import functools
import json
import logging
import os
import threading
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from netbox_pipeline.assistant import answers, results, writes
from netbox_pipeline.assistant.drift import drift_view
from netbox_pipeline.assistant.guard import ConfirmationTokens, known_secrets, scrub
from netbox_pipeline.config import CONFIG_ENV_VAR, ConfigError, PipelineConfig, load_config
from netbox_pipeline.runner import RunOutcome, SyncOutcome, dagster_home, dagster_instance, run_sync, run_undo
from netbox_pipeline.staging import store
from netbox_pipeline.staging.db import open_staging

log = logging.getLogger("netbox_pipeline.assistant")
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
DEFAULT_HTTP_PORT = 8808


class Pipeline:
    """The server's handle on the pipeline: configuration (re-read per call), staging DB, Dagster runs."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self.tokens = ConfirmationTokens()
        self._launch = threading.Lock()  # one Dagster launch at a time from this server

    def config(self) -> PipelineConfig:
        return load_config(self.config_path)

    def staging(self):
        return open_staging(self.config().staging_url)

    def secrets(self) -> set[str]:
        try:
            return known_secrets(self.config())
        except ConfigError:
            return known_secrets(None)

    def launch(self, **kwargs) -> SyncOutcome:
        with self._launch:
            outcome = run_sync(self.config_path, **kwargs)
        if not outcome.runs:
            raise ValueError("nothing to do: no source is configured")
        return outcome

    def launch_undo(self, run_id: str, **kwargs) -> RunOutcome:
        with self._launch:
            return run_undo(self.config_path, run_id, **kwargs)

    def dagster_instance(self):
        os.environ["DAGSTER_HOME"] = str(dagster_home(self.config()))
        return dagster_instance()  # as the CLI opens it: under the file lock that guards a new home's creation


def _guarded(pipeline: Pipeline, fn):
    """Results and errors through the secret filter; anticipated failures as their own message."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except (ToolError, ConfigError, ValueError, LookupError) as exc:
            raise ToolError(scrub(str(exc), pipeline.secrets())) from None
        except Exception as exc:
            log.exception("tool %s failed", fn.__name__)
            raise ToolError(scrub(f"{fn.__name__} failed: {type(exc).__name__}: {exc}", pipeline.secrets())) from None
        return type(result).model_validate(scrub(result.model_dump(mode="json"), pipeline.secrets()))

    return wrapper


def build_server(config_path: str | None = None) -> MCPServer:
    pipeline = Pipeline(config_path)
    server = MCPServer(
        "netbox-pipeline",
        instructions="Ask about the estate the pipeline keeps in NetBox: what the next sync would change (plan), where a "
        "value came from (explain), what runs did (history, run), hand edits in NetBox (drift), source health (sources) "
        "and the merged inventory (search_inventory). sync and undo write only when the operator enabled it, after a "
        "preview and a confirmation token.",
    )

    def tool(fn=None, *, read_only: bool = True):
        def register(fn):
            server.add_tool(_guarded(pipeline, fn), annotations=READ_ONLY if read_only else None, structured_output=True)
            return fn

        return register(fn) if fn else register

    @tool
    def plan(
        fresh: Annotated[bool, Field(description="run a dry-run plan through Dagster now (pulls the sources, reads NetBox, writes nothing)")] = False,
        object_type: Annotated[str | None, Field(description="only this NetBox type, e.g. devices, virtual_machines")] = None,
        site: Annotated[str | None, Field(description="only objects at this site")] = None,
        source: Annotated[str | None, Field(description="only objects from this source: KIND or KIND:INSTANCE")] = None,
        action: Annotated[Literal["create", "update", "unchanged", "orphan", "delete", "skip"] | None, Field(description="only this action")] = None,
        include_unchanged: bool = False,
        limit: Annotated[int, Field(ge=1, le=2000)] = 200,
    ) -> results.PlanResult:
        """What the next sync would change: the latest stored plan with its age, or a fresh dry-run plan."""
        runs: list[dict[str, Any]] = []
        if fresh:
            outcome = pipeline.launch(dry_run=True, tags=writes.TRIGGER)
            runs = writes.runs_of(outcome)
            with pipeline.staging().session() as session:
                plan_run = store.plan_run_of_dagster_run(session, outcome.runs[-1].run_id)
            if plan_run is None:
                raise ToolError("the dry-run plan failed before a plan was stored: " + "; ".join(
                    f"{r.label}: {r.error}" for r in outcome.runs if not r.success))
        else:
            with pipeline.staging().session() as session:
                plan_run = store.latest_plan_run_id(session)
            if plan_run is None:
                raise ToolError("no plan recorded yet: call plan with fresh=true")
        view = answers.plan_view(pipeline.staging(), plan_run, object_type=object_type, site=site, source=source, action=action,
                                 include_unchanged=include_unchanged, limit=limit)
        return results.PlanResult(**view, runs=runs)

    @tool
    def explain(
        name: Annotated[str, Field(description="a device or VM name (also matches its interfaces, MACs, IPs, ...), any managed "
                                               "object's natural key, or a glob over natural keys")],
        fields: Annotated[list[str] | None, Field(description="only these NetBox fields, e.g. [\"serial\"]")] = None,
    ) -> results.ExplainResult:
        """Each managed field of the matching objects (as `netbox-pipeline explain --json`): NetBox's value now, the desired
        value, the source record it came from (file:line), the order in which source kinds win it, the sources that
        disagreed, and the run (and NetBox change-log entry) that last wrote it."""
        view = answers.explain_view(pipeline.config(), pipeline.staging(), name, fields)
        if not view["objects"]:
            raise ToolError(f"nothing named {name!r} in the newest plan (try search_inventory)")
        return results.ExplainResult(**view)

    @tool
    def history(limit: Annotated[int, Field(ge=1, le=500)] = 20,
                kind: Literal["source", "inventory", "plan", "apply", "sync", "prune", "undo"] | None = None) -> results.HistoryResult:
        """Recent runs, newest first: kind, status, source or NetBox type, counts."""
        return results.HistoryResult(**answers.history_view(pipeline.staging(), limit, kind))

    @tool
    def run(run_id: Annotated[str, Field(description="a run id from history, or a Dagster run id")]) -> results.RunResult:
        """One run (or every step of one Dagster run) and the changes it applied to NetBox, with before and after."""
        return results.RunResult(**answers.run_view(pipeline.staging(), run_id.strip()))

    @tool
    def drift(object_type: Annotated[str | None, Field(description="only this NetBox type")] = None) -> results.DriftResult:
        """Managed fields a person changed in NetBox since the pipeline last wrote them (one live read of NetBox)."""
        return results.DriftResult(**drift_view(pipeline.config(), pipeline.staging(), object_type))

    @tool
    def sources() -> results.SourcesResult:
        """Each configured source instance: last attempt and success, age, record count, bad records with file:line."""
        with pipeline.dagster_instance() as instance:
            return results.SourcesResult(**answers.sources_view(pipeline.config(), pipeline.staging(), instance))

    @tool
    def search_inventory(
        query: Annotated[str, Field(description="part of a name, MAC, IP address or serial")],
        object_type: Annotated[str | None, Field(description="only this type, e.g. devices")] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> results.SearchResult:
        """The merged inventory: items whose name or any value contains the query, with the sources of each."""
        return results.SearchResult(**answers.search_view(pipeline.staging(), query, object_type, limit))

    @tool(read_only=False)
    def sync(
        ctx: Context,
        confirmation_token: Annotated[str | None, Field(description="the token a preview returned; without it, sync only previews")] = None,
    ) -> results.SyncResult:
        """Write to NetBox in two steps (only when the operator set mcp.allow_writes): without a token, pull the sources,
        plan without writing and return the plan with a one-time token; with that token, apply exactly that plan, refused
        if NetBox or the sources changed since. The write is a normal Dagster run tagged with this client's name."""
        return writes.confirmed_write(pipeline, ctx, "sync", confirmation_token, {},
                                      lambda client: writes.sync_preview(pipeline, client),
                                      lambda client, confirmation: writes.sync_apply(pipeline, client, confirmation))

    @tool(read_only=False)
    def undo(
        ctx: Context,
        run_id: Annotated[str, Field(description="the run to take back: a Dagster run id from history or run (or a unique "
                                                 "prefix of 6+ characters), or a staging plan or undo run id")],
        force_fields: Annotated[list[str] | None, Field(description="undo these fields even though NetBox changed them since: "
                                                                    "a field name, KEY.FIELD or the conflict's name")] = None,
        pause: Annotated[bool, Field(description="also stop the schedules and sensors that would re-apply the change")] = False,
        confirmation_token: Annotated[str | None, Field(description="the token a preview of the same undo returned; without "
                                                                    "it, undo only previews")] = None,
    ) -> results.UndoResult:
        """Take back what one run wrote to NetBox, in two steps (only when the operator set mcp.allow_writes): without a
        token, the undo plan (the writes that restore the recorded before-values, and the fields a person changed since,
        which block it) and a one-time token; with that token and the same arguments, apply exactly that undo, refused if
        anything changed since. The undo is a normal Dagster run tagged with this client's name."""
        request = {"run_id": run_id.strip(), "force_fields": sorted(force_fields or []), "pause": pause}
        return writes.confirmed_write(
            pipeline, ctx, "undo", confirmation_token, request,
            lambda client: writes.undo_preview(pipeline, request["run_id"], request["force_fields"]),
            lambda client, confirmation: writes.undo_apply(pipeline, client, confirmation, request["run_id"],
                                                           request["force_fields"], pause))

    _resources(server, pipeline)
    return server


def _resources(server: MCPServer, pipeline: Pipeline) -> None:
    def as_json(data: dict[str, Any]) -> str:
        return json.dumps(scrub(data, pipeline.secrets()), indent=1, default=str)

    @server.resource("netbox-pipeline://plan/latest", mime_type="application/json", description="the latest stored plan (changes only)")
    def latest_plan() -> str:
        with pipeline.staging().session() as session:
            plan_run = store.latest_plan_run_id(session)
        return as_json(answers.plan_view(pipeline.staging(), plan_run, limit=2000))

    @server.resource("netbox-pipeline://runs/recent", mime_type="application/json", description="the 50 most recent runs")
    def recent_runs() -> str:
        return as_json(answers.history_view(pipeline.staging(), 50))

    @server.resource("netbox-pipeline://runs/{run_id}", mime_type="application/json", description="one run's report: its steps and applied changes")
    def run_report(run_id: str) -> str:
        return as_json(answers.run_view(pipeline.staging(), run_id))


def serve(transport: str = "stdio", port: int = DEFAULT_HTTP_PORT, host: str = "127.0.0.1") -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = build_server(os.environ.get(CONFIG_ENV_VAR))
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port, stateless_http=True, json_response=True)
