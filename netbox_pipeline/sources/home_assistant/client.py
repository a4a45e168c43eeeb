"""A small synchronous client for Home Assistant's WebSocket API (`/api/websocket`).

Protocol: the server sends `auth_required`; the client sends `{"type": "auth", "access_token": …}`;
the server answers `auth_ok` or `auth_invalid` (and closes). Then each command is
`{"id": n, "type": "<command>", …}` answered by `{"id": n, "type": "result", "success": …,
"result": … | "error": {"code", "message"}}`; event messages in between are ignored.

Every failure becomes a `HomeAssistantError` whose message names the instance's URL and what went
wrong (refused, TLS, auth_invalid, timeout), never the token.
"""

import contextlib
import json
import socket
import ssl
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from netbox_pipeline.sources.connection import CaCertError, client_context, no_answer, untrusted_certificate

MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # a large estate's entity registry is tens of MB


class HomeAssistantError(Exception):
    """The instance cannot be read; the message is for the operator (no secrets)."""


class CommandError(Exception):
    """HA answered a command with `success: false` (e.g. code `unknown_command`)."""

    def __init__(self, command: str, code: str, message: str):
        self.command, self.code, self.message = command, code, message
        super().__init__(f"{command}: {code}: {message}")


class HomeAssistantClient:
    """`with HomeAssistantClient(url, token) as ha: ha.call("config/device_registry/list")`."""

    def __init__(self, ws_url: str, token: str, *, where: str, verify_ssl: bool = True,
                 ca_cert: Path | None = None, timeout_s: float = 30.0):
        self.ws_url, self.where, self.timeout_s = ws_url, where, timeout_s
        self._token, self._verify_ssl, self._ca_cert = token, verify_ssl, ca_cert
        self._connection: ClientConnection | None = None
        self._stack = contextlib.ExitStack()
        self._next_id = 1
        self.ha_version: str | None = None

    def __enter__(self) -> "HomeAssistantClient":
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def open(self) -> None:
        context = self._ssl_context() if self.ws_url.startswith("wss:") else None
        try:
            self._connection = self._stack.enter_context(connect(
                self.ws_url, ssl=context, open_timeout=self.timeout_s, close_timeout=2, proxy=None,
                max_size=MAX_MESSAGE_BYTES, compression=None, user_agent_header="netbox-pipeline"))
            self._authenticate()
        except HomeAssistantError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise HomeAssistantError(self.describe(exc)) from exc

    def close(self) -> None:
        self._connection = None
        try:
            self._stack.close()
        except Exception:  # closing a broken connection: nothing more to learn
            pass

    def call(self, command: str, **params: Any) -> Any:
        """The command's `result`; CommandError on `success: false`, HomeAssistantError otherwise."""
        if self._connection is None:
            raise HomeAssistantError(f"home assistant {self.where}: not connected")
        message_id, self._next_id = self._next_id, self._next_id + 1
        try:
            self._send({"id": message_id, "type": command, **params})
            while True:
                reply = self._receive()
                if reply.get("id") == message_id and reply.get("type") == "result":
                    break
        except Exception as exc:
            raise HomeAssistantError(self.describe(exc, command)) from exc
        if not reply.get("success"):
            error = reply.get("error") or {}
            raise CommandError(command, str(error.get("code") or "error"), str(error.get("message") or ""))
        return reply.get("result")

    # ------------------------------------------------------------------ internals
    def _authenticate(self) -> None:
        hello = self._receive()
        if hello.get("type") != "auth_required":
            raise HomeAssistantError(f"home assistant {self.where}: expected auth_required, got "
                                     f"{str(hello.get('type'))!r}; is this Home Assistant's /api/websocket?")
        self._send({"type": "auth", "access_token": self._token})
        answer = self._receive()
        if answer.get("type") == "auth_invalid":
            raise HomeAssistantError(
                f"home assistant {self.where}: authentication failed (auth_invalid: "
                f"{answer.get('message') or 'no message'}); check the long-lived access token")
        if answer.get("type") != "auth_ok":
            raise HomeAssistantError(f"home assistant {self.where}: unexpected answer to auth: "
                                     f"{str(answer.get('type'))!r}")
        self.ha_version = answer.get("ha_version") or hello.get("ha_version")

    def _send(self, message: dict[str, Any]) -> None:
        assert self._connection is not None
        self._connection.send(json.dumps(message))

    def _receive(self) -> dict[str, Any]:
        assert self._connection is not None
        raw = self._connection.recv(timeout=self.timeout_s)
        message = json.loads(raw)
        if not isinstance(message, dict):
            raise ValueError(f"expected a JSON object, got {type(message).__name__}")
        return message

    def _ssl_context(self) -> ssl.SSLContext:
        try:
            return client_context(self._verify_ssl, self._ca_cert)
        except CaCertError as exc:
            raise HomeAssistantError(f"home assistant {self.where}: {exc}") from None

    def describe(self, exc: BaseException, command: str | None = None) -> str:
        """A clear, located, secret-free sentence for a connection or protocol failure."""
        at = f"home assistant {self.where}" + (f" {command}" if command else "")
        if isinstance(exc, ssl.SSLCertVerificationError):
            detail = exc.verify_message or "handshake failed"
            return f"{at}: " + untrusted_certificate(detail)
        if isinstance(exc, ssl.SSLError):
            return f"{at}: TLS error: {exc.reason or exc}"
        if isinstance(exc, TimeoutError):
            return f"{at}: {no_answer(self.timeout_s)}"
        if isinstance(exc, ConnectionRefusedError):
            return f"{at}: cannot connect: connection refused (is Home Assistant running on that port?)"
        if isinstance(exc, socket.gaierror):
            return f"{at}: cannot resolve the host name ({exc.strerror})"
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            return f"{at}: the server answered HTTP {status} instead of a WebSocket; is the URL Home Assistant's?"
        if isinstance(exc, ConnectionClosed):
            return f"{at}: the connection was closed by the server ({exc.rcvd.reason if exc.rcvd else 'no reason'})"
        if isinstance(exc, (InvalidHandshake, InvalidURI)):
            return f"{at}: WebSocket handshake failed: {exc}"
        if isinstance(exc, OSError):
            return f"{at}: cannot connect: {exc.strerror or type(exc).__name__}"
        if isinstance(exc, (ValueError, json.JSONDecodeError)):
            return f"{at}: the server sent something that is not an HA message ({exc})"
        return f"{at}: {type(exc).__name__}: {exc}"
