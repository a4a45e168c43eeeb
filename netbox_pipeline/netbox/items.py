"""A plan item: one object's decision and the payload apply sends, as plain data.

The plan (reconcile/) makes them; apply (netbox/apply.py) consumes them; the staging DB stores
them between the two, so each NetBox asset loads only its own type's slice of a plan.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.schema import Key, split_second_pass
from netbox_pipeline.values import decode_exact, encode_exact, jsonable

Action = Literal["create", "update", "unchanged", "orphan", "delete", "skip"]
ACTIONS: tuple[str, ...] = ("create", "update", "unchanged", "orphan", "delete", "skip")


@dataclass
class PlanItem:
    type: str
    key: Key
    action: Action
    netbox_id: int | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (live, new)
    payload_fields: dict[str, Any] = field(default_factory=dict)  # comparison form; to_payload
    reason: str = ""
    drift: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (written, live)
    desired_hash: str | None = None
    # What to remember as "last written" after a successful write (managed fields, normalised).
    written_fields: dict[str, Any] = field(default_factory=dict)
    instances: tuple[tuple[str, str], ...] = ()
    missing_runs: int = 0
    removal: bool = False  # a delete, or an update that retires (offline status)
    # The natural key NetBox (and the object map) knows it by, when this run renames it.
    renamed_from: Key | None = None
    # Where each desired field came from (NetBox field -> provenance as JSON), for `explain`.
    provenance: dict[str, Any] = field(default_factory=dict)
    # A delete's whole object as read (comparison form), and the objects NetBox deletes with it
    # (type, key, id, fields): what an undo needs to recreate them.
    live_fields: dict[str, Any] = field(default_factory=dict)
    cascades: list[tuple[str, Key, int, dict[str, Any]]] = field(default_factory=list)
    # A delete of an extra copy of an object the pipeline made twice: the id of the copy it keeps
    # (the key, and the object map entry, stay with that one).
    duplicate_of: int | None = None

    def to_stored(self) -> dict[str, Any]:
        """Everything apply needs, as JSON that `from_stored` turns back into an equal item."""
        return {name: encode_exact(getattr(self, name)) for name in _STORED}

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> "PlanItem":
        return cls(**{name: decode_exact(stored[name]) for name in _STORED if name in stored})

    def first_pass(self) -> dict[str, Any]:
        return split_second_pass(self.type, self.payload_fields)[0]

    def second_pass(self) -> dict[str, Any]:
        return split_second_pass(self.type, self.payload_fields)[1]

    def row(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "key": key_text(self.key),
            "action": self.action,
            "netbox_id": self.netbox_id,
            "changes": {k: jsonable(list(v)) for k, v in self.changes.items()},
            "reason": self.reason,
            "drift": {k: jsonable(list(v)) for k, v in self.drift.items()},
            "desired_hash": self.desired_hash,
            "missing_runs": self.missing_runs,
        }


_STORED = tuple(f.name for f in fields(PlanItem))
