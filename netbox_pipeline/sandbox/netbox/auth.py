"""Token authentication as NetBox 4.4 and 4.6 do it (403 bodies as recorded).

Tokens live in the `users/tokens` table; only digests of the secrets are kept, never the plaintext.
"""

import hashlib
import hmac
from dataclasses import dataclass

from .store import Record, Store

NOT_PROVIDED = "Authentication credentials were not provided."
NO_PERMISSION = "You do not have permission to perform this action."


@dataclass(frozen=True)
class AuthResult:
    token: Record | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.token is not None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_v2(value: str) -> tuple[str, str] | None:
    """`nbt_<key>.<secret>` -> (key, secret)."""
    if not value.startswith("nbt_") or "." not in value:
        return None
    key, _, secret = value[4:].partition(".")
    return key, secret


def authenticate(header: str | None, version: str, store: Store) -> AuthResult:
    if not header:
        return AuthResult(error=NOT_PROVIDED)
    parts = header.split()
    keyword = parts[0].lower()
    if version == "4.4":
        if keyword != "token":
            return AuthResult(error=NOT_PROVIDED)
        if len(parts) == 1:
            return AuthResult(error="Invalid token header. No credentials provided.")
        if len(parts) > 2:
            return AuthResult(error="Invalid token header. Token string should not contain spaces.")
        return _check_v1(parts[1], store, "Invalid token")
    if keyword not in ("token", "bearer"):
        return AuthResult(error=NOT_PROVIDED)
    if len(parts) != 2:
        return AuthResult(error='Invalid authorization header: Must be in the form "Bearer <key>.<token>" or "Token <token>"')
    value = parts[1]
    if not value.startswith("nbt_"):
        return _check_v1(value, store, "Invalid v1 token")
    pair = split_v2(value)
    if pair is None:
        return AuthResult(
            error="Invalid authorization header: Could not parse key from v2 token. "
            "Did you mean to use 'Token' instead of 'Bearer'?"
        )
    key, secret = pair
    for token in store.all("users/tokens"):
        if token.get("version") == 2 and token.get("key") == key:
            if hmac.compare_digest(token.get("secret_digest", ""), digest(secret)):
                return _enabled(token)
    return AuthResult(error="Invalid v2 token")


def _check_v1(value: str, store: Store, invalid: str) -> AuthResult:
    wanted = digest(value)
    for token in store.all("users/tokens"):
        if token.get("version") == 1 and hmac.compare_digest(token.get("secret_digest", ""), wanted):
            return _enabled(token)
    return AuthResult(error=invalid)


def _enabled(token: Record) -> AuthResult:
    if token.get("enabled") is False:
        return AuthResult(error="Token disabled")
    return AuthResult(token=token)


def token_record(value: str, object_id: int, write_enabled: bool, description: str, created: str) -> Record:
    """A stored token for a v1 (40 hex) or v2 (`nbt_<key>.<secret>`) value."""
    pair = split_v2(value)
    record: Record = {
        "id": object_id, "user": 1, "description": description, "created": created, "expires": None,
        "last_used": None, "enabled": True, "write_enabled": write_enabled, "allowed_ips": None,
    }
    if pair:
        record.update(version=2, key=pair[0], secret_digest=digest(pair[1]), pepper_id=1)
    else:
        record.update(version=1, key=None, secret_digest=digest(value), pepper_id=None, last_six=value[-6:])
    return record
