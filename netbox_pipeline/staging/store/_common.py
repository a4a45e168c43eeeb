"""What every part of the store shares: errors, hashing, row conversion, chunking, input checks."""


import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar


from netbox_pipeline.staging.models import (
    Base,
)

Key = tuple[str, str]  # (object_type, natural_key) or (source_kind, instance)
T = TypeVar("T")

# Bound-parameter lists are chunked below SQLite's 32766-variable limit.
IN_CHUNK = 5000

# Provenance keys that change every run without the value's origin changing.
_VOLATILE_PROVENANCE_KEYS = ("observed_at", "run_id")


class StagingDataError(ValueError):
    """Input a store function cannot accept; the message locates the offending entry."""





def content_hash(value: Any) -> str:
    """sha256 of canonical JSON: key order and whitespace never change the hash."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _row_dict(obj: Base) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _require(entry: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    if not isinstance(entry, Mapping):
        raise StagingDataError(f"{where}: expected a mapping, got {type(entry).__name__}")
    missing = [k for k in keys if entry.get(k) in (None, "")]
    if missing:
        raise StagingDataError(f"{where}: missing {', '.join(missing)}")


def _one_of(value: str, allowed: Sequence[str], what: str, where: str) -> None:
    if value not in allowed:
        raise StagingDataError(f"{where}: {what} {value!r} is not one of {', '.join(allowed)}")

