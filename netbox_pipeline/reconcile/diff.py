"""Managed-field comparison: desired vs live, with last-written values for the three-way view.

A managed field a person changed in NetBox (live != last written) while the sources did not
(desired == last written) is drift: reported, then overwritten or kept by policy. When the
sources changed too, the sources win.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from netbox_pipeline.netbox.schema import (
    NetBoxType,
    get_type,
    normalise_field,
    values_equal,
)
from netbox_pipeline.values import jsonable, normalise_custom_fields, normalise_tags

DriftPolicy = Literal["overwrite", "keep"]


@dataclass
class FieldDiff:
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (live, new)
    payload: dict[str, Any] = field(default_factory=dict)  # only what to send
    drift: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (last written, live)


def _has_opinion(kind: str, value: Any) -> bool:
    if kind in ("tags", "custom_fields"):
        return bool(value)
    return value is not None


def diff_fields(
    nbtype: "NetBoxType | str",
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    last_written: Mapping[str, Any] | None = None,
    *,
    drift_policy: DriftPolicy = "overwrite",
    normalised: bool = False,
) -> FieldDiff:
    """Compare the managed fields the desired side has an opinion on.

    `normalised`: `desired` is a `managed_view` (comparison form, only the fields with an opinion,
    "" already None), so nothing is filtered or normalised again and equal fields cost one `==`.
    """
    t = get_type(nbtype)
    result = FieldDiff()
    for name in desired if normalised else t.managed:
        kind = t.kind(name)
        wanted = desired.get(name)
        if not normalised and not _has_opinion(kind, wanted):
            continue
        current = live.get(name)
        # Both sides arrive in comparison form, so plain equality settles most fields of a no-op
        # plan without normalising them again (equal inputs always normalise equal).
        if wanted == current or values_equal(t, name, wanted, current):
            continue
        if last_written is not None and name in last_written:
            written = last_written[name]
            if values_equal(t, name, wanted, written) and not _same_as_written(t, name, written, current):
                result.drift[name] = (normalise_field(t, name, written), normalise_field(t, name, current))
                if drift_policy == "keep":
                    continue
        before, after, payload = _change(t, name, wanted, current)
        result.changes[name] = (before, after)
        result.payload[name] = payload
    return result


def _same_as_written(t: NetBoxType, name: str, written: Any, current: Any) -> bool:
    if t.kind(name) == "tags":  # people adding tags is not drift; removing ours is
        return set(normalise_tags(written)) <= set(normalise_tags(current))
    return values_equal(t, name, written, current)


def _change(t: NetBoxType, name: str, wanted: Any, current: Any) -> tuple[Any, Any, Any]:
    kind = t.kind(name)
    if kind == "tags":
        # Never remove a tag someone added: send the union.
        union = tuple(sorted(set(normalise_tags(current)) | set(normalise_tags(wanted))))
        return normalise_tags(current), union, union
    if kind == "custom_fields":
        live_cf, wanted_cf = normalise_custom_fields(current), normalise_custom_fields(wanted)
        differing = {k: v for k, v in wanted_cf.items() if live_cf.get(k) != v}
        return {k: live_cf.get(k) for k in differing}, differing, differing
    after = normalise_field(t, name, wanted)
    return normalise_field(t, name, current), after, after


def hash_managed(fields: Mapping[str, Any]) -> str:
    """sha256 of the comparison-form fields (the "hash of what was written").

    json encodes tuples as lists and sorts the (text) keys itself; only what it cannot encode
    (sets) goes through `jsonable`. Once per planned object, so the fast path matters.
    """
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=_encodable)
    return hashlib.sha256(text.encode()).hexdigest()


def _encodable(value: Any) -> Any:
    converted = jsonable(value)
    return str(converted) if converted is value else converted


def managed_view(nbtype: "NetBoxType | str", fields: Mapping[str, Any]) -> dict[str, Any]:
    """The managed fields with an opinion, normalised: what is written and remembered."""
    t = get_type(nbtype)
    return {
        name: normalise_field(t, name, fields.get(name))
        for name in t.managed
        if _has_opinion(t.kind(name), fields.get(name))
    }
