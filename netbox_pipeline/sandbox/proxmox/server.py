"""A Proxmox VE API look-alike over TLS on loopback: `/api2/json/...`, read-only, for the demo and tests.

    with ProxmoxSandbox(token_id="root@pam!netbox", secret="s3cret") as pve:
        ProxmoxAPI("127.0.0.1", port=pve.port, user="root@pam", token_name="netbox",
                   token_value="s3cret", verify_ssl=pve.ca_cert_path).version.get()

Errors are answered the way pveproxy does: the message is the HTTP reason phrase and the body is
`{"data": null}` (plus `message`); 401 without valid credentials, 595 for a request routed to an
offline node, 500 from the guest agent, 501 for a path this API version does not have.
"""

import argparse
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from netbox_pipeline.sandbox.loopback import LOOPBACK_HOSTS, LoopbackHTTPSandbox, LoopbackHTTPServer, serve_until_stopped

from . import estate
from .estate import AGENT_STATES, PVE_VERSION, ApiError, Cluster

DEFAULT_TOKEN_ID = "root@pam!netbox-pipeline"
DEFAULT_SECRET = "6f1c1d0e-5b7a-4a53-9d3e-0c2f4e8b9a71"
API_PREFIX = "/api2/json"


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    path: str  # below /api2/json
    query: str
    status: int
    auth: str | None  # "token", "ticket" or None; never the credential itself


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int
    message: str
    remaining: int | None


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = parts.path[len(API_PREFIX):] if parts.path.startswith(API_PREFIX + "/") else parts.path
        auth: str | None = None
        try:
            if not parts.path.startswith(API_PREFIX + "/"):
                raise ApiError(501, f"Method '{self.command} {parts.path}' not implemented")
            if self.command == "POST" and path == "/access/ticket":
                data = sandbox._ticket(parse_qs(body.decode("utf-8", "replace")))
            else:
                auth = sandbox._authenticate(self.headers)
                if self.command != "GET":
                    raise ApiError(501, f"Method '{self.command} {path}' not implemented")
                sandbox._fault(path)
                data = sandbox._route(path, parse_qs(parts.query))
            status, message, payload = 200, "OK", {"data": data}
        except ApiError as exc:
            status, message, payload = exc.status, exc.message, {"data": None, "message": exc.message + "\n"}
        sandbox._log(RequestLogEntry(self.command, path, parts.query, status, auth))
        self._send(status, message, payload)

    def _send(self, status: int, message: str, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status, message)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Server", "pve-api-daemon/3.0")
        self.end_headers()
        self.wfile.write(raw)


class ProxmoxSandbox(LoopbackHTTPSandbox):
    """The sandbox server (always TLS): start/stop, connection details, request log, and test knobs."""

    handler = _Handler
    label = "proxmox-sandbox"
    authority = "Proxmox Virtual Environment sandbox CA"

    def __init__(
        self,
        token_id: str = DEFAULT_TOKEN_ID,
        secret: str = DEFAULT_SECRET,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        password: str | None = None,
        cluster: Cluster | None = None,
        cluster_name: str = "lab",
        nodes: int = 3,
        lxc_interfaces: bool = True,
    ):
        super().__init__(host=host, port=port, tls=True)
        if "@" not in token_id or "!" not in token_id:
            raise ValueError(f"token_id must look like USER@REALM!TOKENID, got {token_id!r}")
        self.token_id, self.secret, self.password = token_id, secret, password
        self.cluster = cluster or estate.generate_cluster(cluster_name, nodes, lxc_interfaces=lxc_interfaces)
        self._lock = threading.RLock()
        self._log_entries: list[RequestLogEntry] = []
        self._faults: list[_Fault] = []
        self._tickets: set[str] = set()

    # ------------------------------------------------------------------ connection details
    @property
    def user(self) -> str:
        return self.token_id.split("!", 1)[0]

    @property
    def token_name(self) -> str:
        return self.token_id.split("!", 1)[1]

    @property
    def requests(self) -> list[RequestLogEntry]:
        with self._lock:
            return list(self._log_entries)

    def clear_log(self) -> None:
        with self._lock:
            self._log_entries.clear()

    # ------------------------------------------------------------------ test knobs
    def guest(self, vmid: int) -> estate.Guest:
        try:
            return self.cluster.guests[vmid]
        except KeyError:
            raise KeyError(f"no guest {vmid} in the sandbox cluster") from None

    def rename(self, vmid: int, name: str) -> None:
        with self._lock:
            self.guest(vmid).name = name

    def move(self, vmid: int, node: str) -> None:
        with self._lock:
            if node not in self.cluster.nodes:
                raise KeyError(f"no node {node!r} in the sandbox cluster")
            self.guest(vmid).node = node

    def remove(self, vmid: int) -> None:
        with self._lock:
            self.guest(vmid)
            del self.cluster.guests[vmid]

    def set_agent(self, vmid: int, state: str) -> None:
        """"ok", "not_running" (500 QEMU guest agent is not running) or "error" (500 qmp timeout)."""
        if state not in AGENT_STATES:
            raise ValueError(f"agent state must be one of {AGENT_STATES}")
        with self._lock:
            guest = self.guest(vmid)
            guest.agent, guest.agent_state = True, state

    def set_status(self, vmid: int, status: str) -> None:
        with self._lock:
            self.guest(vmid).status = status

    def set_node_online(self, node: str, online: bool) -> None:
        with self._lock:
            self.cluster.nodes[node].online = online

    def fail(self, path_pattern: str, status: int, message: str, times: int | None = None) -> None:
        """Answer requests whose path (below /api2/json) matches with this error."""
        with self._lock:
            self._faults.append(_Fault(re.compile(path_pattern), status, message, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ------------------------------------------------------------------ request handling
    def _log(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._log_entries.append(entry)

    def _fault(self, path: str) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.pattern.search(path) and fault.remaining != 0:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    raise ApiError(fault.status, fault.message)

    def _ticket(self, form: dict[str, list[str]]) -> dict[str, Any]:
        username = (form.get("username") or [""])[0]
        password = (form.get("password") or [""])[0]
        if self.password is None or username != self.user or password != self.password:
            time.sleep(0.05)  # pveproxy delays failed logins
            raise ApiError(401, "authentication failure")
        ticket = f"PVE:{username}:{int(time.time()):08X}::sandbox{len(self._tickets)}"
        with self._lock:
            self._tickets.add(ticket)
        return {"username": username, "ticket": ticket, "CSRFPreventionToken": f"{int(time.time()):08X}:csrf",
                "cap": {}}

    def _authenticate(self, headers: Any) -> str:
        header = headers.get("Authorization") or ""
        if header.startswith("PVEAPIToken="):
            token_id, _, secret = header[len("PVEAPIToken="):].partition("=")
            if token_id != self.token_id:
                user, _, name = token_id.partition("!")
                raise ApiError(401, f"no such token '{name}' for user '{user}'")
            if secret != self.secret:
                raise ApiError(401, "invalid token value!")
            return "token"
        cookie = headers.get("Cookie") or ""
        match = re.search(r"PVEAuthCookie=([^;]+)", cookie)
        if match:
            with self._lock:
                if match.group(1) in self._tickets:
                    return "ticket"
            raise ApiError(401, "invalid PVE ticket")
        raise ApiError(401, "No ticket")

    def _route(self, path: str, query: dict[str, list[str]]) -> Any:
        with self._lock:
            return _dispatch(self.cluster, path.rstrip("/"), query)


# ---------------------------------------------------------------------- routes


def _node(cluster: Cluster, name: str) -> estate.Node:
    node = cluster.nodes.get(name)
    if node is None:
        raise ApiError(500, f"hostname lookup '{name}' failed - failed to get address info for: {name}: "
                            "Name or service not known")
    if not node.online:
        raise ApiError(595, "No route to host")
    return node


def _guest(cluster: Cluster, node: str, kind: str, vmid: str) -> estate.Guest:
    guest = cluster.guests.get(int(vmid)) if vmid.isdigit() else None
    if guest is None or guest.node != node or guest.kind != kind:
        folder = "qemu-server" if kind == "qemu" else "lxc"
        raise ApiError(500, f"Configuration file 'nodes/{node}/{folder}/{vmid}.conf' does not exist")
    return guest


_Route = Callable[[Cluster, dict[str, list[str]], tuple[str, ...]], Any]


def _guests_on(cluster: Cluster, node: str, kind: str) -> list[dict[str, Any]]:
    _node(cluster, node)
    return [estate.guest_list_entry(g) for g in cluster.guests.values() if g.node == node and g.kind == kind]


def _lxc_interfaces(cluster: Cluster, node: str, vmid: str) -> Any:
    if not cluster.lxc_interfaces:
        raise ApiError(501, f"Method 'GET /nodes/{node}/lxc/{vmid}/interfaces' not implemented")
    _node(cluster, node)
    return estate.lxc_interfaces(_guest(cluster, node, "lxc", vmid))


def _network(cluster: Cluster, node: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    wanted = (query.get("type") or [None])[0]
    interfaces = _node(cluster, node).network
    if wanted in (None, "any_bridge"):
        return [dict(i) for i in interfaces if wanted is None or i["type"] in ("bridge", "OVSBridge")]
    return [dict(i) for i in interfaces if i["type"] == wanted]


def _on_node(render: Callable[[Any], Any], kind: str | None = None) -> _Route:
    """A route below /nodes/{node}/: the node must answer (595 when offline) before its guests."""
    def route(cluster: Cluster, query: dict[str, list[str]], groups: tuple[str, ...]) -> Any:
        node = _node(cluster, groups[0])
        if len(groups) == 1:
            return render(node)
        guest_kind = kind or groups[1]
        return render(_guest(cluster, node.name, guest_kind, groups[-1]))
    return route


_ROUTES: list[tuple[re.Pattern[str], _Route]] = [
    (re.compile(p), r) for p, r in [
        (r"/version", lambda c, q, m: dict(PVE_VERSION)),
        (r"/cluster/status", lambda c, q, m: estate.cluster_status(c)),
        (r"/cluster/resources", lambda c, q, m: estate.cluster_resources(c, (q.get("type") or [None])[0])),
        (r"/nodes", lambda c, q, m: estate.nodes_list(c)),
        (r"/nodes/([^/]+)/status", _on_node(estate.node_status)),
        (r"/nodes/([^/]+)/version", _on_node(lambda node: dict(PVE_VERSION))),
        (r"/nodes/([^/]+)/network", lambda c, q, m: _network(c, m[0], q)),
        (r"/nodes/([^/]+)/(qemu|lxc)", lambda c, q, m: _guests_on(c, m[0], m[1])),
        (r"/nodes/([^/]+)/(qemu|lxc)/(\d+)/config", _on_node(estate.guest_config)),
        (r"/nodes/([^/]+)/(qemu|lxc)/(\d+)/status/current", _on_node(estate.guest_status)),
        (r"/nodes/([^/]+)/qemu/(\d+)/agent/network-get-interfaces", _on_node(estate.agent_interfaces, "qemu")),
        (r"/nodes/([^/]+)/lxc/(\d+)/interfaces", lambda c, q, m: _lxc_interfaces(c, m[0], m[1])),
    ]
]


def _dispatch(cluster: Cluster, path: str, query: dict[str, list[str]]) -> Any:
    for pattern, route in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return route(cluster, query, match.groups())
    raise ApiError(501, f"Method 'GET {path}' not implemented")


# ---------------------------------------------------------------------- command line


def serve_forever(host: str = "127.0.0.1", port: int = 8006, token_id: str = DEFAULT_TOKEN_ID,
                  secret: str = DEFAULT_SECRET, password: str | None = None) -> None:
    """Run until interrupted, printing how to connect (the secret is the sandbox's own)."""
    serve_until_stopped(ProxmoxSandbox(token_id, secret, port=port, host=host, password=password), lambda pve: [
        f"Proxmox VE sandbox on {pve.url}/api2/json",
        f"  token: user {pve.user}, token_name {pve.token_name}, token_value {secret}",
        f"  CA certificate: {pve.ca_cert_path}  (or verify_ssl: false)",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m netbox_pipeline.sandbox.proxmox",
                                     description="Serve a generated Proxmox VE API over TLS on loopback.")
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK_HOSTS)
    parser.add_argument("--port", type=int, default=8006)
    parser.add_argument("--token-id", default=DEFAULT_TOKEN_ID, help="USER@REALM!TOKENID")
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    args = parser.parse_args(argv)
    serve_forever(args.host, args.port, args.token_id, args.secret)
