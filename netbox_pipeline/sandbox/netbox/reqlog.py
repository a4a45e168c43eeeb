"""The request log tests and benchmarks read: one entry per answered (or dropped) request."""

import json
import threading
from dataclasses import dataclass
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    path: str  # without the query string
    query: str
    status: int  # 0 when the connection was dropped without an answer
    duration_s: float
    body_bytes: int
    # The change-log message of each object a write sent (one per item of a bulk body, None where
    # absent): the sandbox keeps no change log, so this is where a test finds what NetBox would record.
    changelog_messages: tuple[str | None, ...] = ()


def changelog_messages(body: bytes) -> tuple[str | None, ...]:
    try:
        data: Any = json.loads(body) if body.strip() else None
    except ValueError:
        return ()
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    return tuple(item.get("changelog_message") if isinstance(item, dict) else None for item in items)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RequestLogEntry] = []

    def add(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[RequestLogEntry]:
        with self._lock:
            return list(self._entries)

    def writes(self) -> list[RequestLogEntry]:
        return [e for e in self.entries if e.method in WRITE_METHODS]

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        return sum(
            1
            for e in self.entries
            if (method is None or e.method == method.upper()) and (path_prefix is None or e.path.startswith(path_prefix))
        )

    def by_method(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.method] = counts.get(e.method, 0) + 1
        return counts

    def by_path(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.path] = counts.get(e.path, 0) + 1
        return counts

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
