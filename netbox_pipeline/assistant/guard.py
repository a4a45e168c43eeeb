"""The write guard and the secret filter every tool result passes through.

A write tool's preview (`sync`, `undo`) issues a one-time token bound to the hash of what it
showed and to the preview's arguments; redeeming it is the only way to start a write, and a token
is gone once redeemed, refused or expired.
"""

import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

TOKEN_TTL_S = 600.0
_SECRET_ENV_NAMES = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE", re.IGNORECASE)
_MIN_SECRET_LEN = 6  # shorter values would blank ordinary words


@dataclass(frozen=True)
class Confirmation:
    tool: str  # the write tool that previewed: a token confirms only that tool
    plan_hash: str  # what the preview showed, as stages/plan.plan_hash or stages/undo.undo_hash
    subject: str  # the previewed plan run (sync), the undone run (undo)
    request: tuple[tuple[str, Any], ...]  # the preview's arguments; the confirming call must repeat them
    client: str
    issued_at: float


class ConfirmationTokens:
    """One-time tokens, each bound to one previewed write; kept in memory by the server process."""

    def __init__(self, ttl_s: float = TOKEN_TTL_S, clock=time.monotonic):
        self._ttl_s, self._clock = ttl_s, clock
        self._pending: dict[str, Confirmation] = {}
        self._lock = threading.Lock()

    def issue(self, tool: str, plan_hash: str, subject: str, client: str, request: dict[str, Any] | None = None) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[token] = Confirmation(tool, plan_hash, subject, _frozen(request), client, self._clock())
        return token

    def redeem(self, token: str, tool: str, request: dict[str, Any] | None = None) -> Confirmation:
        """The confirmation a token stands for; raises ValueError when it is unknown, used or expired, or
        was issued by another tool or for other arguments. A token is gone after any redeem."""
        with self._lock:
            confirmation = self._pending.pop(token, None)
        again = f"call {tool} without a token for a new preview"
        if confirmation is None:
            raise ValueError(f"unknown or already used confirmation token: {again}")
        if confirmation.tool != tool:
            raise ValueError(f"refused: this token confirms a {confirmation.tool} preview, not {tool}; {again}")
        if confirmation.request != _frozen(request):
            previewed = ", ".join(f"{k}={v!r}" for k, v in confirmation.request) or "no arguments"
            raise ValueError(f"refused: the token was issued for {tool} with {previewed}; nothing was written; {again}")
        if self._clock() - confirmation.issued_at > self._ttl_s:
            raise ValueError(f"confirmation token expired (valid {self._ttl_s:.0f} s): {again}")
        return confirmation

    @property
    def ttl_s(self) -> float:
        return self._ttl_s


def _frozen(request: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (request or {}).items()))


def known_secrets(config: Any) -> set[str]:
    """Every secret the server could leak: the configuration's SecretStr values and secret-named environment variables."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif hasattr(value, "__pydantic_fields__"):
            for name in type(value).__pydantic_fields__:
                walk(getattr(value, name, None))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(config)
    found |= {value for name, value in os.environ.items() if _SECRET_ENV_NAMES.search(name)}
    return {s for s in found if s and len(s) >= _MIN_SECRET_LEN}


def scrub(value: Any, secret_values: set[str]) -> Any:
    """`value` with every secret replaced by "***", at any depth (keys included)."""
    if isinstance(value, str):
        for secret in secret_values:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {scrub(k, secret_values): scrub(v, secret_values) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item, secret_values) for item in value]
    return value
