"""A small JSON-RPC 2.0 client for TrueNAS's versioned WebSocket API (`wss://HOST/api/current`).

TrueNAS's own client (truenas_api_client) is not on PyPI, and the protocol is small: one request
`{"jsonrpc": "2.0", "id": N, "method": "...", "params": [...]}`, one answer with `result` or
`error` (`code`, `message`, `data` = {error (errno), errname, reason, ...}). Notifications (no
`id`) are skipped. Every failure becomes a `TrueNASError` whose message names the instance and the
host and never the key.
"""

import json
import re
import ssl
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netbox_pipeline.sources.connection import CaCertError, client_context, no_answer, untrusted_certificate

from .config import TrueNASConfig

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
CALL_ERROR = -32001  # TRUENAS_CALL_ERROR: the method ran and raised (errno in error.data)
ENOTAUTHENTICATED = 199  # middlewared's ErrnoMixin.ENOTAUTHENTICATED
EACCES = 13


class TrueNASError(Exception):
    """The instance cannot be read; the message is for the operator (located, no secrets)."""


@dataclass
class RpcError(Exception):
    """The server answered a call with a JSON-RPC error object."""

    method: str
    code: int
    message: str
    data: dict[str, Any] | None = None

    @property
    def reason(self) -> str:
        data = self.data or {}
        return str(data.get("reason") or self.message or "error").strip()

    @property
    def errno(self) -> int | None:
        value = (self.data or {}).get("error")
        return value if isinstance(value, int) else None

    @property
    def method_missing(self) -> bool:
        return self.code == METHOD_NOT_FOUND

    @property
    def not_permitted(self) -> bool:
        return self.code == CALL_ERROR and self.errno in (EACCES, ENOTAUTHENTICATED)

    def __str__(self) -> str:
        return f"{self.method}: {self.reason} (JSON-RPC {self.code})"


class TrueNASClient:
    """One authenticated WebSocket session. Use as a context manager."""

    def __init__(self, config: TrueNASConfig, ca_cert: Path | None = None):
        self.config, self.ca_cert = config, ca_cert
        self.at = f"truenas {config.name} ({config.where})"
        self._ws: Any = None
        self._open = ExitStack()
        self._next_id = 0
        self.auth_method: str | None = None

    # ------------------------------------------------------------------ connection
    def __enter__(self) -> "TrueNASClient":
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def connect(self) -> None:
        from websockets.sync.client import connect

        context = tls_context(self.config, self.ca_cert, self.at)
        try:
            self._ws = self._open.enter_context(connect(
                self.config.url, ssl=context, open_timeout=self.config.timeout_s, close_timeout=2,
                max_size=self.config.max_message_mb * 1024 * 1024, proxy=None, compression=None,
                user_agent_header="netbox-pipeline",
            ))
        except Exception as exc:
            raise TrueNASError(describe_connect_failure(exc, self.at, self.config)) from None

    def close(self) -> None:
        self._ws = None
        try:
            self._open.close()
        except Exception:  # closing a broken link: nothing left to tell
            pass

    # ------------------------------------------------------------------ calls
    def call(self, method: str, *params: Any) -> Any:
        """The method's result; RpcError for a JSON-RPC error; TrueNASError when the link fails."""
        if self._ws is None:
            raise TrueNASError(f"{self.at}: not connected")
        self._next_id += 1
        request_id = self._next_id
        try:
            self._ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}))
            while True:
                message = json.loads(self._ws.recv(timeout=self.config.timeout_s))
                if isinstance(message, dict) and message.get("id") == request_id:
                    break
        except TimeoutError:
            raise TrueNASError(f"{self.at}: {method}: {no_answer(self.config.timeout_s)}") from None
        except Exception as exc:
            raise TrueNASError(f"{self.at}: {method}: {describe_link_failure(exc, self.config)}") from None
        error = message.get("error")
        if error is not None:
            data = error.get("data") if isinstance(error.get("data"), dict) else None
            raise RpcError(method, int(error.get("code", 0)), str(error.get("message") or ""), data)
        return message.get("result")

    def login(self) -> str:
        """Authenticate with the API key the way the server offers; returns the method used."""
        key = self.config.api_key.get_secret_value() if self.config.api_key is not None else ""
        if not key:
            raise TrueNASError(f"{self.at}: no api_key configured (api_key: ${{TRUENAS_API_KEY}}; "
                               "the key needs read access, see docs/source-truenas.md)")
        mechanisms = self._mechanisms()
        if "API_KEY_PLAIN" in mechanisms and self.config.username:
            answer = self._auth_call("auth.login_ex", {"mechanism": "API_KEY_PLAIN",
                                                       "username": self.config.username, "api_key": key})
            kind = (answer or {}).get("response_type") if isinstance(answer, dict) else None
            if kind == "SUCCESS":
                self.auth_method = "auth.login_ex API_KEY_PLAIN"
                return self.auth_method
            if kind == "EXPIRED":
                raise TrueNASError(f"{self.at}: authentication failed: the API key has expired or was revoked")
            raise TrueNASError(f"{self.at}: authentication failed ({kind or 'no answer'}): the API key or "
                               f"its owner username {self.config.username!r} was not accepted")
        try:
            accepted = self._auth_call("auth.login_with_api_key", key)
        except TrueNASError as exc:
            if "API_KEY_PLAIN" in mechanisms and "does not exist" in str(exc):
                raise TrueNASError(f"{self.at}: this server logs API keys in with auth.login_ex, which "
                                   "needs the key owner's name: set username") from None
            raise
        if accepted is not True:
            hint = " (on 25.04+ set username to the key's owner)" if mechanisms else ""
            raise TrueNASError(f"{self.at}: authentication failed: the API key was not accepted{hint}")
        self.auth_method = "auth.login_with_api_key"
        return self.auth_method

    def _mechanisms(self) -> list[str]:
        """auth.mechanism_choices, or [] on a server that predates it."""
        try:
            answer = self.call("auth.mechanism_choices")
        except RpcError as exc:
            if exc.method_missing:
                return []
            raise TrueNASError(f"{self.at}: {exc}") from None
        return [str(m) for m in answer] if isinstance(answer, list) else []

    def _auth_call(self, method: str, *params: Any) -> Any:
        try:
            return self.call(method, *params)
        except RpcError as exc:
            if exc.method_missing:
                raise TrueNASError(f"{self.at}: {method}: Method does not exist on this server") from None
            raise TrueNASError(f"{self.at}: authentication failed: {exc.reason}") from None


# ---------------------------------------------------------------------- TLS and failures


def tls_context(config: TrueNASConfig, ca_cert: Path | None, at: str) -> ssl.SSLContext:
    """Verifying (system CAs, or `ca_cert` alone when given), or accepting anything."""
    try:
        return client_context(config.verify_ssl, ca_cert)
    except CaCertError as exc:
        raise TrueNASError(f"{at}: {exc}") from None


def describe_connect_failure(exc: Exception, at: str, config: TrueNASConfig) -> str:
    """A clear, located sentence for a failure to open the WebSocket."""
    from websockets.exceptions import InvalidStatus

    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or exc.reason or "certificate verify failed"
        return f"{at}: " + untrusted_certificate(detail, whose="the NAS's")
    if isinstance(exc, ssl.SSLError):
        return f"{at}: TLS error: {exc.reason or exc}"
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status == 404:
            return (f"{at}: {config.api_path} answered 404: no JSON-RPC API there (TrueNAS before 24.10, "
                    "or a wrong api_path)")
        return f"{at}: {config.api_path} refused the WebSocket upgrade: HTTP {status}"
    if isinstance(exc, TimeoutError):
        return f"{at}: {no_answer(config.timeout_s)}"
    return f"{at}: cannot connect: {describe_link_failure(exc, config)}"


def describe_link_failure(exc: Exception, config: TrueNASConfig) -> str:
    from websockets.exceptions import ConnectionClosed, PayloadTooBig

    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, PayloadTooBig):
        return f"an answer is larger than max_message_mb ({config.max_message_mb} MiB)"
    if isinstance(exc, ConnectionClosed):
        return f"the server closed the connection ({exc})"
    if isinstance(exc, json.JSONDecodeError):
        return "the server sent something that is not JSON"
    if isinstance(exc, OSError):
        text = exc.strerror or str(exc)
        return re.sub(r"^\[Errno -?\d+\]\s*", "", text) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"
