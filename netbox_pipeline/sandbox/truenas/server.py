"""A TrueNAS JSON-RPC 2.0 WebSocket API look-alike over TLS on loopback, for the demo and the tests.

    with TrueNASSandbox(version="25.04") as nas:
        ...  # wss://127.0.0.1:<nas.port>/api/current, trusting nas.ca_cert_path, key nas.api_key

Answers as middlewared does (truenas/middleware `api/base/server/ws_handler/rpc.py`): an unknown
method is `-32601 "Method does not exist"` (checked before authentication); a call before login is
`-32001 "Method call error"` with `data.error` 199 (ENOTAUTHENTICATED), reason "Not authenticated";
a call the key may not make is `-32001` with EACCES, "Not authorized"; bad query options are
`-32602 "Invalid params"`. Only `/api/current` and `/api/v<version>.0` exist (404 otherwise).

The version switch changes what the published schemas change between releases: 24.10 logs keys in
with `auth.login_with_api_key` only; 25.04 and 25.10 offer `auth.mechanism_choices` and
`auth.login_ex` (`API_KEY_PLAIN` needs the key owner's username: keys belong to users since 25.04),
and add `virt.instance.query`; 24.10 reports its version as `TrueNAS-SCALE-24.10.x`.
"""

import argparse
import json
import logging
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from netbox_pipeline.sandbox.loopback import LOOPBACK_HOSTS, LoopbackSandbox, Serving, serve_until_stopped

from .estate import Nas, seeded_nas
from .query import QueryError, run_query

DEFAULT_API_KEY = "1-3f9c6b1e8a2d4c7f9e0b5a6d3c8e1f2a4b7c9d0e6f3a8b5c2d9e4f1a7b3c6d8e"
DEFAULT_USERNAME = "truenas_admin"
VERSIONS = {"24.10": "TrueNAS-SCALE-24.10.2.2", "25.04": "25.04.2.4", "25.10": "25.10.1"}
MECHANISMS = ["PASSWORD_PLAIN", "API_KEY_PLAIN", "TOKEN_PLAIN", "OTP_TOKEN"]
ENOTAUTHENTICATED, EACCES, EINVAL, ENOENT = 199, 13, 22, 2
_QUERY_METHODS = {
    "interface.query": "interfaces", "disk.query": "disks", "pool.query": "pools",
    "sharing.smb.query": "smb_shares", "sharing.nfs.query": "nfs_shares", "vm.query": "vms",
    "virt.instance.query": "containers",
}
_BASE_METHODS = {"core.ping", "auth.login_with_api_key", "auth.me", "system.info", "system.version",
                 "network.configuration.config", "interface.query", "disk.query", "pool.query",
                 "sharing.smb.query", "sharing.nfs.query", "vm.query"}
_NEW_METHODS = {"auth.mechanism_choices", "auth.login_ex", "virt.instance.query"}
_NO_AUTH = {"auth.login_with_api_key", "auth.login_ex", "auth.mechanism_choices"}


@dataclass(frozen=True)
class CallLogEntry:
    method: str
    authenticated: bool
    outcome: str  # "ok" or the JSON-RPC error code; never a parameter (they hold the key)


class _RpcFailure(Exception):
    def __init__(self, code: int, message: str, errno: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.code, self.message, self.errno, self.reason = code, message, errno, reason

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errno is not None:
            names = {ENOTAUTHENTICATED: "ENOTAUTHENTICATED", EACCES: "EACCES", EINVAL: "EINVAL", ENOENT: "ENOENT"}
            error["data"] = {"error": self.errno, "errname": names.get(self.errno, "EFAULT"),
                             "reason": self.reason or self.message, "trace": None, "extra": []}
        return error


class TrueNASSandbox(LoopbackSandbox):
    """The sandbox server (wss only): start/stop, connection details, call log, and test knobs."""

    scheme = "ws"
    label = "truenas-sandbox"

    def __init__(self, version: str = "25.04", *, nas: Nas | None = None, api_key: str = DEFAULT_API_KEY,
                 username: str = DEFAULT_USERNAME, host: str = "127.0.0.1", port: int = 0):
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {', '.join(VERSIONS)}, not {version!r}")
        super().__init__(host=host, port=port, tls=True)
        self.version, self.api_key, self.username = version, api_key, username
        self.nas = nas or seeded_nas()
        self.key_expired = False
        self.removed_methods: set[str] = set()
        self.denied_methods: set[str] = set()
        self.delays: dict[str, float] = {}
        self._stopping = threading.Event()
        self._lock = threading.RLock()
        self._calls: list[CallLogEntry] = []

    # ------------------------------------------------------------------ lifecycle
    def _bind(self, host: str, port: int, tls: ssl.SSLContext | None) -> Serving:
        from websockets.sync.server import serve

        self._stopping.clear()
        quiet = logging.getLogger("netbox_pipeline.sandbox.truenas.websockets")
        quiet.propagate, quiet.disabled = False, True  # refused handshakes are expected in the tests
        # open_timeout: websockets' 10 s default drops a client's TLS + upgrade handshake on a loaded
        # machine (a real NetBox starting beside it), long before the client's own timeout.
        return serve(self._serve_connection, host, port, ssl=tls, process_request=self._check_path, logger=quiet,
                     max_size=1024 * 1024, compression=None, server_header="nginx", open_timeout=60)

    def stop(self) -> None:
        self._stopping.set()  # first: a delayed answer must not hold up the shutdown
        super().stop()

    @property
    def url(self) -> str:
        return super().url + "/api/current"

    @property
    def methods(self) -> set[str]:
        names = _BASE_METHODS | (_NEW_METHODS if self.version != "24.10" else set())
        return names - self.removed_methods

    @property
    def calls(self) -> list[CallLogEntry]:
        with self._lock:
            return list(self._calls)

    def clear_log(self) -> None:
        with self._lock:
            self._calls.clear()

    # ------------------------------------------------------------------ test knobs
    def remove_method(self, name: str) -> None:
        """Answer `name` with -32601, as a release without it does."""
        with self._lock:
            self.removed_methods.add(name)

    def deny(self, name: str) -> None:
        """Answer `name` with -32001 EACCES "Not authorized", as for a key whose user lacks the role."""
        with self._lock:
            self.denied_methods.add(name)

    def allow(self, name: str) -> None:
        """Answer `name` again (undo `remove_method` / `deny`)."""
        with self._lock:
            self.removed_methods.discard(name)
            self.denied_methods.discard(name)

    def delay(self, name: str, seconds: float) -> None:
        """Answer `name` only after `seconds` (a slow or hung middlewared)."""
        with self._lock:
            self.delays[name] = seconds

    def replace_disk(self, name: str, serial: str) -> None:
        with self._lock:
            disk = next(d for d in self.nas.disks if d["name"] == name)
            disk["serial"] = serial
            disk["identifier"] = f"{{serial_lunid}}{serial}_{disk['lunid']}"

    def set_lag_members(self, lag: str, members: list[str]) -> None:
        with self._lock:
            next(i for i in self.nas.interfaces if i["name"] == lag)["lag_ports"] = list(members)

    # ------------------------------------------------------------------ protocol
    def _check_path(self, connection: Any, request: Any) -> Any:
        paths = ("/api/current", f"/api/v{self.version}.0")
        if request.path.split("?")[0].rstrip("/") not in paths:
            return connection.respond(404, "404: Not Found\n")
        return None

    def _serve_connection(self, ws: Any) -> None:
        session = {"authenticated": False}
        for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError as exc:
                ws.send(json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": str(exc)}}))
                continue
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "method" not in message:
                ws.send(json.dumps({"jsonrpc": "2.0", "id": None,
                                    "error": {"code": -32600, "message": "Invalid Request"}}))
                continue
            ws.send(json.dumps(self._answer(session, message), separators=(",", ":")))

    def _answer(self, session: dict[str, bool], message: dict[str, Any]) -> dict[str, Any]:
        method, params = str(message["method"]), message.get("params") or []
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message.get("id")}
        if self.delays.get(method):
            self._stopping.wait(self.delays[method])  # cut short by stop()
        try:
            with self._lock:
                reply["result"] = self._call(session, method, params)
            outcome = "ok"
        except _RpcFailure as failure:
            reply["error"] = failure.payload()
            outcome = str(failure.code)
        with self._lock:
            self._calls.append(CallLogEntry(method, session["authenticated"], outcome))
        return reply

    def _call(self, session: dict[str, bool], method: str, params: list[Any]) -> Any:
        if method not in self.methods:
            raise _RpcFailure(-32601, "Method does not exist")
        public = method in _NO_AUTH or (method == "core.ping" and self.version == "25.10")
        if not session["authenticated"] and not public:
            raise _RpcFailure(-32001, "Method call error", ENOTAUTHENTICATED, "Not authenticated")
        if method in self.denied_methods:
            raise _RpcFailure(-32001, "Method call error", EACCES, "Not authorized")
        if method.startswith("auth."):
            return self._auth(session, method, params)
        if method in _QUERY_METHODS:
            items = getattr(self.nas, _QUERY_METHODS[method])
            if method == "disk.query":
                items = _disks_for(items, params)
            try:
                return json.loads(json.dumps(run_query(items, params)))
            except QueryError as exc:
                raise _RpcFailure(-32602, "Invalid params", EINVAL, str(exc)) from None
            except LookupError as exc:
                raise _RpcFailure(-32001, "Method call error", ENOENT, str(exc)) from None
        return self._plain(method)

    def _auth(self, session: dict[str, bool], method: str, params: list[Any]) -> Any:
        if method == "auth.mechanism_choices":
            return list(MECHANISMS)
        if method == "auth.me":
            return {"pw_name": self.username, "pw_uid": 950, "account_attributes": [], "privilege": {"roles": {"$set": ["READONLY_ADMIN"]}}}
        if method == "auth.login_with_api_key":
            session["authenticated"] = bool(params) and params[0] == self.api_key and not self.key_expired
            return session["authenticated"]
        data = params[0] if params and isinstance(params[0], dict) else {}
        if data.get("mechanism") != "API_KEY_PLAIN":
            raise _RpcFailure(-32602, "Invalid params", EINVAL, "the sandbox knows API_KEY_PLAIN only")
        if data.get("api_key") != self.api_key or data.get("username") != self.username:
            return {"response_type": "AUTH_ERR"}
        if self.key_expired:
            return {"response_type": "EXPIRED"}
        session["authenticated"] = True
        return {"response_type": "SUCCESS", "user_info": {"pw_name": self.username, "pw_uid": 950}}

    def _plain(self, method: str) -> Any:
        if method == "core.ping":
            return "pong"
        if method == "system.info":
            return dict(self.nas.system, version=VERSIONS[self.version])
        if method == "system.version":
            version = VERSIONS[self.version]
            return version if version.startswith("TrueNAS") else f"TrueNAS-SCALE-{version}"
        if method == "network.configuration.config":
            return dict(self.nas.network)
        raise _RpcFailure(-32601, "Method does not exist")


def _disks_for(disks: list[dict[str, Any]], params: list[Any]) -> list[dict[str, Any]]:
    """disk.query fills `pool` only when asked with `extra: {pools: true}`."""
    options = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
    if (options.get("extra") or {}).get("pools"):
        return disks
    return [dict(d, pool=None) for d in disks]


# ---------------------------------------------------------------------- command line


def serve_forever(version: str = "25.04", host: str = "127.0.0.1", port: int = 8443) -> None:
    """Run until interrupted, printing how to connect (the key is the sandbox's own)."""
    serve_until_stopped(TrueNASSandbox(version, host=host, port=port), lambda nas: [
        f"TrueNAS {version} sandbox on {nas.url}",
        f"  api_key: {nas.api_key}  username: {nas.username}",
        f"  CA certificate: {nas.ca_cert_path}  (or verify_ssl: false)",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m netbox_pipeline.sandbox.truenas",
                                     description="Serve a TrueNAS JSON-RPC WebSocket API over TLS on loopback.")
    parser.add_argument("--version", default="25.04", choices=tuple(VERSIONS))
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK_HOSTS)
    parser.add_argument("--port", type=int, default=8443)
    args = parser.parse_args(argv)
    serve_forever(args.version, args.host, args.port)
