"""In-memory object store, with optional JSON persistence (loaded at start, saved after each write)."""

import json
import threading
from pathlib import Path
from typing import Any

Record = dict[str, Any]


class Store:
    """Objects per endpoint, keyed by id. Ids start at 1 per endpoint and are never reused."""

    def __init__(self, state_file: str | Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.tables: dict[str, dict[int, Record]] = {}
        self.next_ids: dict[str, int] = {}
        if self.state_file and self.state_file.exists():
            self._load()

    def table(self, endpoint: str) -> dict[int, Record]:
        return self.tables.setdefault(endpoint, {})

    def get(self, endpoint: str, object_id: Any) -> Record | None:
        try:
            return self.table(endpoint).get(int(object_id))
        except (TypeError, ValueError):
            return None

    def all(self, endpoint: str) -> list[Record]:
        return list(self.table(endpoint).values())

    def new_id(self, endpoint: str) -> int:
        object_id = self.next_ids.get(endpoint, 1)
        self.next_ids[endpoint] = object_id + 1
        return object_id

    def put(self, endpoint: str, record: Record) -> None:
        self.table(endpoint)[record["id"]] = record

    def delete(self, endpoint: str, object_id: int) -> None:
        self.table(endpoint).pop(object_id, None)

    def wipe(self) -> None:
        self.tables.clear()
        self.next_ids.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"tables": {e: list(t.values()) for e, t in self.tables.items()}, "next_ids": dict(self.next_ids)}

    def restore(self, data: dict[str, Any]) -> None:
        self.tables = {e: {r["id"]: r for r in rows} for e, rows in data.get("tables", {}).items()}
        self.next_ids = {e: int(n) for e, n in data.get("next_ids", {}).items()}

    def save(self) -> None:
        if not self.state_file:
            return
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(json.dumps(self.snapshot()))
        tmp.replace(self.state_file)

    def _load(self) -> None:
        assert self.state_file is not None
        try:
            self.restore(json.loads(self.state_file.read_text()))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.state_file}: not a NetBox sandbox state file ({exc})") from exc
