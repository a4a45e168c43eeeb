"""A Home Assistant look-alike on loopback: REST `/api/…` and the WebSocket API `/api/websocket`,
over plain HTTP/ws or TLS/wss, answering the registry commands the way HA does (see estate.py for
the shapes per version). For the demo and the tests only.

    with HomeAssistantSandbox(token="t0ken") as ha:
        ...  # ws://127.0.0.1:<ha.port>/api/websocket, or ha.url (http://…)
"""

import json
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from netbox_pipeline.sandbox.loopback import LoopbackSandbox

from . import estate as render
from .estate import HA_VERSION, DeviceSpec, Estate, demo_estate

DEFAULT_TOKEN = "sandbox-long-lived-access-token"


@dataclass(frozen=True)
class CommandLogEntry:
    command: str
    success: bool


class HomeAssistantSandbox(LoopbackSandbox):
    """The stand-in server (http/ws, or https/wss with tls): start/stop, connection details, command
    log and test knobs."""

    label = "home-assistant-sandbox"

    def __init__(self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False,
                 version: str = HA_VERSION, estate: Estate | None = None):
        super().__init__(host=host, port=port, tls=tls)
        self.token, self.version = token, version
        self.estate = estate or demo_estate()
        self._lock = threading.RLock()
        self._log: list[CommandLogEntry] = []
        self._failures: dict[str, tuple[str, str]] = {}  # command -> (code, message)

    # ------------------------------------------------------------------ lifecycle
    def _bind(self, host: str, port: int, tls: ssl.SSLContext | None) -> Server:
        return serve(self._session, host, port, ssl=tls, process_request=self._http,
                     server_header="Python/3.12 aiohttp/3.9.3", compression=None, max_size=None)

    @property
    def websocket_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/api/websocket"

    @property
    def commands(self) -> list[CommandLogEntry]:
        with self._lock:
            return list(self._log)

    # ------------------------------------------------------------------ test knobs
    def device(self, key: str) -> DeviceSpec:
        try:
            return self.estate.devices[key]
        except KeyError:
            raise KeyError(f"no device {key!r} in the sandbox estate") from None

    def device_id(self, key: str) -> str:
        return render.device_id(self.device(key))

    def rename(self, key: str, name_by_user: str | None) -> None:
        with self._lock:
            self.device(key).name_by_user = name_by_user

    def move(self, key: str, area: str | None) -> None:
        """Put a device in the area of that name (created when new), or in none."""
        with self._lock:
            if area and self.estate.area_id(area) not in self.estate.areas:
                self.estate.areas[render.slug(area)] = (area, None)
            self.device(key).area = area

    def remove(self, key: str) -> None:
        with self._lock:
            self.device(key)
            del self.estate.devices[key]

    def add(self, spec: DeviceSpec) -> None:
        with self._lock:
            self.estate.devices[spec.key] = spec

    def fail(self, command: str, code: str = "unknown_command", message: str = "Unknown command.") -> None:
        """Answer `command` with success: false (unknown_command by default)."""
        with self._lock:
            self._failures[command] = (code, message)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    # ------------------------------------------------------------------ REST
    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] == "/api/websocket":
            return None  # the WebSocket handshake
        if not request.path.startswith("/api/"):
            return _json(404, {"message": "Not Found"}) if request.path != "/" else _json(200, {})
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(401, {"message": "401: Unauthorized"}, text=True)
        routes = {"/api/": lambda: {"message": "API running."}, "/api/config": self._get_config,
                  "/api/config/config_entries/entry": self._config_entries}
        route = routes.get(request.path.split("?")[0])
        return _json(200, route()) if route else _json(404, {"message": "Not Found"})

    # ------------------------------------------------------------------ WebSocket
    def _session(self, connection: ServerConnection) -> None:
        try:
            connection.send(json.dumps({"type": "auth_required", "ha_version": self.version}))
            message = json.loads(connection.recv(timeout=10))
            if message.get("type") != "auth" or message.get("access_token") != self.token:
                connection.send(json.dumps({"type": "auth_invalid", "message": "Invalid access token or password"}))
                connection.close()
                return
            connection.send(json.dumps({"type": "auth_ok", "ha_version": self.version}))
            for raw in connection:
                message = json.loads(raw)
                connection.send(json.dumps(self._answer(message)))
        except (ConnectionClosed, TimeoutError):
            pass

    def _answer(self, message: dict[str, Any]) -> dict[str, Any]:
        command, message_id = str(message.get("type")), message.get("id")
        if command == "ping":
            return {"id": message_id, "type": "pong"}
        with self._lock:
            handler = self._handlers().get(command)
            failure = self._failures.get(command) or (None if handler else ("unknown_command", "Unknown command."))
            self._log.append(CommandLogEntry(command, failure is None))
            if failure is not None:
                return {"id": message_id, "type": "result", "success": False,
                        "error": {"code": failure[0], "message": failure[1]}}
            return {"id": message_id, "type": "result", "success": True, "result": handler()}

    def _handlers(self) -> dict[str, Any]:
        handlers = {
            "config/device_registry/list": lambda: [render.device_entry(self.estate, d, self.version)
                                                    for d in self.estate.devices.values()],
            "config/area_registry/list": lambda: [render.area_entry(self.estate, a, self.version)
                                                  for a in self.estate.areas],
            "config_entries/get": self._config_entries,
            "config/entity_registry/list": lambda: [render.entity_entry(d, self.version)
                                                    for d in self.estate.devices.values()],
            "get_config": self._get_config,
            # 2024.3 already answers the command, with no floors; floors arrive with 2024.4.
            "config/floor_registry/list": lambda: [render.floor_entry(f, n, lv) for f, (n, lv)
                                                   in self.estate.floors.items()] if render.newer(self.version) else [],
        }
        return handlers

    def _config_entries(self) -> list[dict[str, Any]]:
        return [render.config_entry(domain, self.version) for domain in self.estate.domains()]

    def _get_config(self) -> dict[str, Any]:
        return render.core_config(self.estate, self.version, self.url)


def _json(status: int, payload: Any, text: bool = False) -> Response:
    body = (payload["message"] if text else json.dumps(payload)).encode()
    headers = Headers({"Content-Type": "text/plain; charset=utf-8" if text else "application/json",
                       "Content-Length": str(len(body))})
    reasons = {200: "OK", 401: "Unauthorized", 404: "Not Found"}
    return Response(status, reasons.get(status, "Error"), headers, body)
