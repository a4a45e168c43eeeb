"""Helpers every source uses to build its `SourceResult` (defined in model.py)."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from netbox_pipeline.model import Provenance, SourceResult
from netbox_pipeline.values import mask_secrets

# Fields that identify or structure a record rather than describe it: no provenance of their own.
_NO_PROVENANCE = frozenset({"provenance"})


def failed_result(
    source_kind: str, instance: str, message: str, *, observed_at: datetime | None = None
) -> SourceResult:
    return SourceResult(
        source_kind=source_kind,
        instance=instance,
        status="failed",
        error=message,
        observed_at=observed_at,
    )


def scrub(message: str, *secrets: str | None) -> str:
    """`message` with every (non-empty) secret replaced by `***`: a failed result's error never holds one.

    values.mask_secrets: a short secret only as a whole word, so it never blanks ordinary words.
    """
    return mask_secrets(message, secrets)


def error_path(loc: Iterable[Any]) -> str:
    """Pydantic's ("interfaces", 1, "mac") -> "interfaces[1].mac"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def error_message(error: Mapping[str, Any]) -> str:
    """Pydantic's message, reworded where it would confuse someone editing a file."""
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field missing"
    if error.get("input", ...) is None and str(kind).endswith("_type"):
        return "must have a value, got null"
    message = str(error.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(field path, message) for each problem pydantic found, in a stable order."""
    problems = [(error_path(e["loc"]), error_message(e)) for e in exc.errors()]
    return sorted(set(problems))


def stamp_provenance(
    record: BaseModel,
    *,
    source_kind: str,
    instance: str,
    record_id: str,
    location: str | None,
    observed_at: datetime,
    defaulted: Iterable[str] = (),
    default_location: str = "defaults",
) -> None:
    """Give every field the record knows a provenance entry (interfaces per name and attribute)."""
    defaulted = set(defaulted)
    provenance: dict[str, Provenance] = {}
    # Provenance is immutable and a record's fields mostly share one place: one entry serves them all
    # (100,000 devices would otherwise hold well over a million equal entries).
    entries: dict[tuple[str | None, bool], Provenance] = {}

    def entry(where: str | None, defaulted: bool = False) -> Provenance:
        made = entries.get((where, defaulted))
        if made is None:
            made = entries[(where, defaulted)] = Provenance(
                source_kind=source_kind,
                instance=instance,
                record_id=record_id,
                location=where,
                observed_at=observed_at,
                defaulted=defaulted,
            )
        return made

    for name in type(record).model_fields:
        if name in _NO_PROVENANCE:
            continue
        value = getattr(record, name)
        if value is None or value == [] or value == {}:
            continue
        if name == "interfaces":
            for interface in value:
                for attr in type(interface).model_fields:
                    attr_value = getattr(interface, attr)
                    if attr == "name" or attr_value is None or attr_value == []:
                        continue
                    provenance[f"interfaces[{interface.name}].{attr}"] = entry(location)
            continue
        if name == "custom_fields":
            for cf_name in value:
                provenance[f"custom_fields.{cf_name}"] = entry(location)
            continue
        provenance[name] = entry(default_location, True) if name in defaulted else entry(location)
    record.provenance = provenance  # type: ignore[attr-defined]
