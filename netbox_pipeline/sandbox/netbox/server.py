"""The request handler (on the shared loopback HTTP server) and the `NetBoxSandbox` handle tests use."""

import socket
import sys
import time
from http.server import BaseHTTPRequestHandler
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from netbox_pipeline.sandbox.loopback import LoopbackHTTPSandbox, LoopbackHTTPServer, serve_until_stopped

from . import operations, render
from .api import Api, Reply, Request
from .auth import split_v2
from .faults import Faults
from .reqlog import RequestLog, RequestLogEntry, changelog_messages
from .resources import BY_ENDPOINT
from .store import Store

DEFAULT_V1_TOKEN = "0123456789abcdef0123456789abcdef01234567"
DEFAULT_V2_TOKEN = "nbt_8lk4PJvyUQ4p.RSFqlEzGVdVdw8DgTvjdXf1l9EWXz4BxQYEEmIGN"
VERSIONS = ("4.4", "4.6", "4.7")
_STATUS = {
    "4.4": {"django-version": "5.2.9", "hostname": "netbox-sandbox", "installed_apps": {"django_filters": "25.1",
            "django_prometheus": "2.4.1", "django_rq": "3.1", "django_tables2": "2.7.5", "drf_spectacular": "0.29.0",
            "drf_spectacular_sidecar": "2025.10.1", "mptt": "0.17.0", "rest_framework": "3.16.1",
            "social_django": "5.6.0", "taggit": "6.1.0", "timezone_field": "7.1"},
            "netbox-version": "4.4.10", "netbox-full-version": "4.4.10", "plugins": {}, "python-version": "3.11.7",
            "rq-workers-running": 0},
    "4.6": {"django-version": "6.0.8", "hostname": "netbox-sandbox", "installed_apps": {"django_filters": "26.1",
            "django_prometheus": "2.4.0", "django_rq": "4.1.1", "django_tables2": "2.8.0", "drf_spectacular": "0.30.0",
            "drf_spectacular_sidecar": "2026.8.1", "mptt": "0.18.0", "rest_framework": "3.17.1",
            "social_django": "5.9.0", "taggit": "6.1.0", "timezone_field": "7.2.2"},
            "netbox-version": "4.6.8", "netbox-full-version": "4.6.8", "plugins": {}, "python-version": "3.12.1",
            "rq-workers-running": 0},
    "4.7": {"django-version": "6.1.2", "hostname": "netbox-sandbox", "installed_apps": {"django_filters": "26.2",
            "django_prometheus": "2.4.0", "django_rq": "4.2.0", "django_tables2": "3.0.1", "drf_spectacular": "0.30.0",
            "drf_spectacular_sidecar": "2026.10.1", "mptt": "0.18.0", "rest_framework": "3.18.0",
            "social_django": "6.1.0", "taggit": "6.1.0", "timezone_field": "7.2.2"},
            "netbox-version": "4.7.3", "netbox-full-version": "4.7.3", "plugins": {}, "python-version": "3.12.1",
            "rq-workers-running": 0},
}


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        started = time.perf_counter()
        sandbox = self.server.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        decision = sandbox.faults.decide(self.command, parts.path)
        if decision.latency_s:
            time.sleep(decision.latency_s)

        def log(status: int) -> None:  # logged before answering, so a client never outruns the counters
            entry = RequestLogEntry(
                self.command, parts.path, parts.query, status, time.perf_counter() - started, len(body), changelog_messages(body)
            )
            sandbox.request_log_store.add(entry)

        if decision.fails and not decision.after_write:
            self._fail(decision.drop, sandbox.faults.error_status, log)
            return
        request = Request(
            self.command, parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}, body,
            self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}",
        )
        reply = sandbox.api.handle(request)
        if decision.answer_delay_s:  # the write is done; the client hears of it only later (or never)
            time.sleep(decision.answer_delay_s)
        if decision.fails:  # after_write: the write happened, the client never learns it
            self._fail(decision.drop, sandbox.faults.error_status, log)
            return
        log(reply.status)
        self._send(reply, head_only=self.command == "HEAD")

    def _fail(self, drop: bool, error_status: int, log: Callable[[int], None]) -> None:
        log(0 if drop else error_status)
        if drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = b"<h1>Server Error (500)</h1>"
        self.send_response(error_status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send(self, reply: Reply, head_only: bool) -> None:
        try:
            self._write_reply(reply, head_only)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a slow-answer fault)
            self.close_connection = True

    def _write_reply(self, reply: Reply, head_only: bool) -> None:
        payload = reply.encoded()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and not head_only:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve


class NetBoxSandbox(LoopbackHTTPSandbox):
    """A NetBox 4.4 / 4.6 / 4.7 look-alike on loopback. `start()` serves in a daemon thread (port 0 = a free port)."""

    handler = _Handler
    label = "netbox-sandbox"

    def __init__(
        self,
        version: str = "4.4",
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        tokens: Iterable[str] | None = None,
        read_only_tokens: Iterable[str] = (),
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"NetBox sandbox version must be one of {VERSIONS}, not {version!r}")
        super().__init__(host=host, port=port)
        self.version = version
        write_tokens = list(tokens) if tokens is not None else []
        if token:
            write_tokens.insert(0, token)
        if not write_tokens:
            write_tokens = [DEFAULT_V1_TOKEN] + ([DEFAULT_V2_TOKEN] if version != "4.4" else [])
        for value in [*write_tokens, *read_only_tokens]:
            if split_v2(value) and version == "4.4":
                raise ValueError("v2 tokens (nbt_...) exist only in NetBox 4.6; use version='4.6'")
        self.token = write_tokens[0]
        self._tokens = [(t, True) for t in write_tokens] + [(t, False) for t in read_only_tokens]
        self.store = Store(state_file)
        schema = import_module(f".schema_{version.replace('.', '')}", __package__)
        self.api = Api(version, schema, self.store, _STATUS[version])
        operations.seed(self.api, self._tokens)
        self.faults = Faults()
        self.request_log_store = RequestLog()

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    # --- request log ---
    @property
    def request_log(self) -> list[RequestLogEntry]:
        return self.request_log_store.entries

    def writes(self) -> list[RequestLogEntry]:
        return self.request_log_store.writes()

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        return self.request_log_store.count(method, path_prefix)

    def reset_log(self) -> None:
        self.request_log_store.reset()

    # --- data ---
    def objects(self, endpoint: str) -> list[dict[str, Any]]:
        """Stored objects of an endpoint ("dcim/devices"), rendered in full as the API would, ordered by id."""
        endpoint = endpoint.strip("/").removeprefix("api/")
        res = BY_ENDPOINT[endpoint]
        ctx = render.Context(self.version, self.api.schema, self.store, self.url)
        with self.store.lock:
            return [render.full(ctx, res, r) for r in sorted(self.store.all(endpoint), key=lambda r: r["id"])]

    def add_token(self, value: str, write_enabled: bool = True, enabled: bool = True) -> None:
        """Register one more API token (v1 40-hex or v2 `nbt_<key>.<secret>`)."""
        operations.add_token(self.api, value, write_enabled, enabled)
        self._tokens.append((value, write_enabled))

    def reset(self) -> None:
        """Wipe every object (ids restart at 1); tokens, faults and the log are kept."""
        with self.store.lock:
            self.store.wipe()
            operations.seed(self.api, self._tokens)
            self.store.save()


def serve_forever(host: str, port: int, version: str, token: str | None, state_file: str | None) -> None:
    """Run a sandbox in the foreground until SIGINT/SIGTERM (the `netbox-pipeline sandbox netbox` command)."""
    sandbox = NetBoxSandbox(version=version, token=token, host=host, port=port, state_file=state_file)
    serve_until_stopped(sandbox, lambda netbox: [f"NetBox sandbox ({version}) listening on {netbox.url}"])


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m netbox_pipeline.sandbox.netbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--netbox-version", choices=VERSIONS, default="4.4")
    parser.add_argument("--token", default=None)
    parser.add_argument("--state-file", default=None)
    args = parser.parse_args(argv)
    try:
        serve_forever(args.host, args.port, args.netbox_version, args.token, args.state_file)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


