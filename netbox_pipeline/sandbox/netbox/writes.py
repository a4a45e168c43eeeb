"""Validation of write requests (field types, references, choices, required fields, uniqueness, model rules).

`validate(...)` returns the new record (not yet stored) or raises `Invalid` with NetBox's error body.
"""

import re
from datetime import datetime, timezone
from typing import Any

from . import rules
from .render import Context, custom_fields_for
from .resources import (
    BY_ENDPOINT,
    BY_OBJECT_TYPE,
    GENERIC,
    GENERIC_TARGETS,
    Resource,
    Unique,
    endpoint_for_schema,
)
from .store import Record

REQUIRED = "This field is required."
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
CHANGELOG_MESSAGE_MAX = 200
NON_FIELD = "__all__"  # NetBox's NON_FIELD_ERRORS_KEY: errors of an object or entry as a whole


# Messages 4.7 words differently from 4.4 / 4.6 (recordings-4.7, 52 and 63).
MESSAGES_47 = {"Device name must be unique per site.": "Device name must be unique per site and tenant."}


class Invalid(Exception):
    """A 400 (or `status`) with NetBox's error body (a dict keyed by field; for bulk requests see bulk_errors.py)."""

    def __init__(self, errors: Any, status: int = 400) -> None:
        super().__init__(str(errors))
        self.errors = errors
        self.status = status


def now_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def request_schema(ctx: Context, res: Resource) -> dict[str, Any]:
    name = ctx.schema.ENDPOINTS[res.endpoint][2]
    return ctx.schema.REQUESTS.get(name, {"fields": {}, "required": ()})


def resolve_ref(ctx: Context, endpoint: str | None, value: Any) -> int | None:
    """A reference given as an id or as a dict of attributes -> the object's id (raises ValueError with NetBox's text)."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"id"}:
        value = value["id"]
    if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).isdigit():
        if endpoint and ctx.store.get(endpoint, int(value)) is not None:
            return int(value)
        raise ValueError(f"Related object not found using the provided numeric ID: {value}")
    if isinstance(value, dict):
        matches = [o for o in ctx.store.all(endpoint)] if endpoint else []
        matches = [o for o in matches if all(_attr_matches(ctx, endpoint, o, k, v) for k, v in value.items())]
        if not matches:
            raise ValueError(f"Related object not found using the provided attributes: {value!r}")
        if len(matches) > 1:
            raise ValueError(f"Multiple objects match the provided attributes: {value!r}")
        return matches[0]["id"]
    raise ValueError(
        f"Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: {value}"
    )


def _attr_matches(ctx: Context, endpoint: str | None, obj: Record, key: str, wanted: Any) -> bool:
    actual = obj.get(key)
    if isinstance(wanted, dict) and endpoint:
        target = _ref_target(ctx, BY_ENDPOINT[endpoint], key)
        try:
            return actual is not None and resolve_ref(ctx, target, wanted) == actual
        except ValueError:
            return False
    return actual == wanted or (actual is not None and str(actual) == str(wanted))


def _ref_target(ctx: Context, res: Resource, field: str) -> str | None:
    spec = request_schema(ctx, res)["fields"].get(field)
    return endpoint_for_schema(spec[1]) if spec and spec[1] else None


def _convert(ctx: Context, res: Resource, name: str, spec: tuple, value: Any) -> Any:
    """Convert one request field to its stored form (raises ValueError with the message)."""
    kind, arg, nullable = spec
    if value is None:
        if nullable or kind in ("any", "object"):
            return None
        raise ValueError("This field may not be null.")
    if kind == "ref":
        return resolve_ref(ctx, endpoint_for_schema(arg) if arg else None, value)
    if kind == "refs" and arg == "GenericObjectRequest":
        return _generic_objects(ctx, value)
    if kind == "refs":
        if not isinstance(value, list):
            raise ValueError(f'Expected a list of items but got type "{type(value).__name__}".')
        target = endpoint_for_schema(arg) if arg else None
        return [resolve_ref(ctx, target, v) for v in value]
    if kind == "choice":
        if value == "" and nullable:
            return None
        if value not in arg:
            raise ValueError(f"{value} is not a valid choice.")
        return value
    if kind == "string":
        if isinstance(value, (dict, list)) or isinstance(value, bool):
            raise ValueError("Not a valid string.")
        value = str(value)
        if arg and len(value) > arg:
            raise ValueError(f"Ensure this field has no more than {arg} characters.")
        if name == "slug" and not SLUG_RE.match(value):
            raise ValueError('Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.')
        return value
    if kind == "integer":
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value).strip()):
            raise ValueError("A valid integer is required.")
        return int(value)
    if kind == "number":
        try:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        except (TypeError, ValueError):
            raise ValueError("A valid number is required.") from None
    if kind == "boolean":
        truth = {True: True, False: False, "true": True, "false": False, "1": True, "0": False}  # 1 and 0 hash as True and False
        key = value.lower() if isinstance(value, str) else value
        if key not in truth:
            raise ValueError("Must be a valid boolean.")
        return truth[key]
    if kind == "array" and not isinstance(value, list):
        raise ValueError(f'Expected a list of items but got type "{type(value).__name__}".')
    return value


def _generic_objects(ctx: Context, value: Any) -> list[dict[str, Any]]:
    """A cable's terminations: [{object_type, object_id}] naming existing objects."""
    if not isinstance(value, list):
        raise ValueError(f'Expected a list of items but got type "{type(value).__name__}".')
    out = []
    for item in value:
        if not isinstance(item, dict) or "object_type" not in item or "object_id" not in item:
            raise ValueError("Each termination needs object_type and object_id.")
        target = BY_OBJECT_TYPE.get(item["object_type"])
        if target is None:
            raise ValueError(f"Invalid object type: {item['object_type']}")
        if ctx.store.get(target.endpoint, item["object_id"]) is None:
            raise ValueError(f"Related object not found using the provided numeric ID: {item['object_id']}")
        out.append({"object_type": item["object_type"], "object_id": int(item["object_id"])})
    return out


def validate(
    ctx: Context, res: Resource, data: Any, existing: Record | None, partial: bool, pending: tuple[Record, ...] = ()
) -> Record:
    """The record `data` produces (create when `existing` is None), or `Invalid`."""
    if not isinstance(data, dict):
        raise Invalid({NON_FIELD: [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]})
    schema = request_schema(ctx, res)
    errors: dict[str, Any] = {}
    record: Record = dict(existing) if existing else {}
    for name, spec in schema["fields"].items():
        if name not in data:
            if not partial and name in schema["required"]:
                errors[name] = [REQUIRED]
            continue
        if name == "custom_fields":
            continue
        try:
            record[name] = _convert(ctx, res, name, spec, data[name])
        except ValueError as exc:
            errors[name] = [str(exc)]
    _check_changelog_message(data, errors)
    if ctx.version != "4.4":
        rules.apply_tag_edits(ctx, res, data, record, existing, errors)
    if "custom_fields" in data:
        _custom_fields(ctx, res, data["custom_fields"], record, errors)
    if existing is None:
        _fill_defaults(ctx, res, schema, record)
        _required_custom_fields(ctx, res, record, errors)
    if errors:
        raise Invalid(errors)
    _unique(ctx, res, record, pending, field_level=True)
    rules.clean(ctx, res, record, existing)
    _unique(ctx, res, record, pending, field_level=False)
    return record


def _check_changelog_message(data: dict[str, Any], errors: dict[str, Any]) -> None:
    """Write-only (4.4+): NetBox records it on the change-log entry, never on the object itself."""
    message = data.get("changelog_message")
    if message is not None and len(str(message)) > CHANGELOG_MESSAGE_MAX:
        errors["changelog_message"] = [f"Ensure this field has no more than {CHANGELOG_MESSAGE_MAX} characters."]


def _fill_defaults(ctx: Context, res: Resource, schema: dict[str, Any], record: Record) -> None:
    for name, (kind, _arg, nullable) in schema["fields"].items():
        if name in record or name == "custom_fields":
            continue
        if name in res.defaults:
            record[name] = res.defaults[name]
        elif kind == "refs" or kind == "array":
            record[name] = [] if not nullable else None
        elif kind == "string" and not nullable:
            record[name] = ""
        elif kind == "boolean":
            record[name] = False
        else:
            record[name] = None
    record.setdefault("custom_fields", {})


def _unique(ctx: Context, res: Resource, record: Record, pending: tuple[Record, ...], field_level: bool) -> None:
    others = [o for o in ctx.store.all(res.endpoint) if o["id"] != record.get("id")] + list(pending)
    errors: dict[str, list[str]] = {}
    for rule in res.unique:
        if (rule.key is None) != field_level:
            continue
        values = [record.get(f) for f in rule.fields]
        if values[0] in (None, ""):
            continue  # NULL never collides (e.g. unnamed devices)
        if any(v is None for v in values[1:]) and rule.key == "non_field_errors":
            continue

        def norm(v: Any) -> Any:
            return v.lower() if rule.case_insensitive and isinstance(v, str) else v

        wanted = [norm(v) for v in values]
        if any([norm(o.get(f)) for f in rule.fields] == wanted for o in others):
            if rule.key is None:
                errors[rule.fields[0]] = [f"{res.verbose} with this {rule.fields[0].replace('_', ' ')} already exists."]
            elif ctx.version == "4.7":
                key, message = _unique_together_47(res, rule)
                errors.setdefault(key, []).append(message)
                break
            else:
                errors.setdefault(rule.key, []).append(rule.message or "")
                break
    if errors:
        raise Invalid(errors)


def _unique_together_47(res: Resource, rule: Unique) -> tuple[str, str]:
    """4.7 reports a unique-together clash from the model's constraint, in Django's words, as a whole-object error.

    4.4 / 4.6 answer DRF's `{"non_field_errors": ["The fields device, name must make a unique set."]}`;
    the real 4.7.3 answers `{"__all__": ["Interface with this Device and Name already exists."]}`.
    """
    if rule.key != "non_field_errors":
        return rule.key or NON_FIELD, MESSAGES_47.get(rule.message or "", rule.message or "")
    labels = [name.replace("_", " ").capitalize() for name in rule.fields]
    listed = f"{', '.join(labels[:-1])} and {labels[-1]}"
    return NON_FIELD, f"{res.verbose[0].upper()}{res.verbose[1:]} with this {listed} already exists."


def _custom_fields(ctx: Context, res: Resource, given: Any, record: Record, errors: dict[str, Any]) -> None:
    if not isinstance(given, dict):
        errors["custom_fields"] = ['Expected a dictionary of items but got type "%s".' % type(given).__name__]
        return
    defined = {cf["name"]: cf for cf in custom_fields_for(ctx, res.object_type)}
    values = dict(record.get("custom_fields") or {})
    unknown = {k: f"Custom field '{k}' does not exist for this object type." for k in given if k not in defined}
    if unknown and ctx.version != "4.4":
        errors["custom_fields"] = unknown
        return
    problems = []
    for key, value in given.items():
        cf = defined.get(key)
        if cf is not None:
            try:
                value = rules.custom_field_value(ctx, cf, value)
            except ValueError as exc:
                problems.append(f"Invalid value for custom field '{key}': {exc}")
                continue
        values[key] = value  # 4.4 keeps unknown keys silently (never rendered)
    if problems:
        errors["custom_fields"] = problems
    record["custom_fields"] = values


def _required_custom_fields(ctx: Context, res: Resource, record: Record, errors: dict[str, Any]) -> None:
    values = record.setdefault("custom_fields", {})
    for cf in custom_fields_for(ctx, res.object_type):
        if cf["name"] not in values or values[cf["name"]] is None:
            if cf.get("default") is not None:
                values[cf["name"]] = cf["default"]
            elif cf.get("required"):
                errors.setdefault("custom_fields", []).append(f"Missing required custom field '{cf['name']}'.")


def generic_target(ctx: Context, res: Resource, record: Record, generic: str, errors: dict[str, Any]) -> None:
    """Validate a generic foreign key pair (e.g. assigned_object_type / assigned_object_id)."""
    type_field, id_field = GENERIC[generic]
    object_type, object_id = record.get(type_field), record.get(id_field)
    if object_type is None and object_id is None:
        return
    allowed = GENERIC_TARGETS.get((res.endpoint, generic), ())
    if object_type not in allowed:
        errors[type_field] = [f"Invalid object type: {object_type}"] if object_type else [REQUIRED]
        return
    if object_id is None:
        errors[id_field] = [REQUIRED]
        return
    target = BY_OBJECT_TYPE[object_type]
    if ctx.store.get(target.endpoint, object_id) is None:
        errors[id_field] = [f"Related object not found using the provided numeric ID: {object_id}"]
