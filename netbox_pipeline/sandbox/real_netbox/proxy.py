"""A logging pass-through proxy in front of a real NetBox, so tests count requests on the wire.

The stand-in logs every request it answers; a real NetBox does not tell us. `LoggedNetBox` puts a
small HTTP proxy on loopback in front of gunicorn and offers the stand-in's test surface (`url`,
`token`, `request_log`, `writes()`, `count()`, `reset_log()`, `objects()`), so the same end-to-end
tests run against both. The client's Host header is forwarded, so URLs in bodies name the proxy.
"""

import http.client
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import requests

from netbox_pipeline.sandbox.loopback import LoopbackHTTPSandbox, LoopbackHTTPServer
from netbox_pipeline.sandbox.netbox.reqlog import RequestLog, RequestLogEntry

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackHTTPServer

    def log_message(self, *args: Any) -> None:  # the request log is the record; keep stderr quiet
        pass

    def _forward(self) -> None:
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        proxy = self.server.sandbox
        upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=600)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            reply = upstream.getresponse()
            data = reply.read()
        finally:
            upstream.close()
        # Logged before the client has the answer: a caller that counts requests right after its last
        # answer arrives must find that request in the log.
        parts = urlsplit(self.path)
        proxy.log.add(RequestLogEntry(self.command, parts.path, parts.query, reply.status,
                                      time.monotonic() - started, len(body or b"")))
        self.send_response_only(reply.status, reply.reason)
        for key, value in reply.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _forward


class LoggedNetBox(LoopbackHTTPSandbox):
    """A running NetBox (`upstream_url`) seen through a logging proxy, with the stand-in's test
    surface; serving from construction until `stop()`."""

    handler = _Handler
    label = "netbox-proxy"

    def __init__(self, upstream_url: str, token: str, read_only_token: str | None = None, version: str = "") -> None:
        super().__init__()
        self.upstream_url, self.token, self.read_only_token, self.version = upstream_url, token, read_only_token, version
        parts = urlsplit(upstream_url)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.log = RequestLog()
        self._session = requests.Session()
        self._session.headers["Authorization"] = ("Bearer " if token.startswith("nbt_") else "Token ") + token
        self.start()

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    @property
    def request_log(self) -> list[RequestLogEntry]:
        return self.log.entries

    def writes(self) -> list[RequestLogEntry]:
        return self.log.writes()

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        return self.log.count(method, path_prefix)

    def reset_log(self) -> None:
        self.log.reset()

    def objects(self, endpoint: str) -> list[dict[str, Any]]:
        """Every object of an endpoint ("dcim/devices"), in full, ordered by id; read past the proxy, not logged."""
        endpoint = endpoint.strip("/").removeprefix("api/")
        url: str | None = f"{self.upstream_url}/api/{endpoint}/?limit=1000&ordering=id"
        found: list[dict[str, Any]] = []
        while url:
            reply = self._session.get(url, timeout=120)
            reply.raise_for_status()
            page = reply.json()
            found += page["results"]
            url = page.get("next")
        return found

    def change_count(self) -> int:
        """How many entries NetBox's own change log holds: a second witness that nothing was written."""
        reply = self._session.get(f"{self.upstream_url}/api/core/object-changes/?limit=1", timeout=60)
        reply.raise_for_status()
        return reply.json()["count"]
