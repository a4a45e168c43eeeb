"""Hand-kept inventory files (YAML, JSON or CSV, chosen by extension): read, validate, normalise.

Each configured file is one source instance. A bad record is reported with file, line and field
and every good record still flows; a file that cannot be read or parsed fails its instance only.
The record format is documented in docs/inventory-files.md.
"""

import bisect
import csv
import difflib
import io
import json
import re
import shlex
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from netbox_pipeline.model import (
    RECORD_TYPES,
    TEXT_FIELD_TYPES,
    RecordError,
    SourceResult,
    custom_field_value,
    key_text,
    slug_collision_message,
)
from netbox_pipeline.sources import documents
from netbox_pipeline.sources.base import (
    failed_result,
    stamp_provenance,
    validation_problems,
)
from netbox_pipeline.sources.contract import CollectContext, InstanceConfig, SourceKind

SOURCE_KIND = "filesystem"

# Top-level section -> record type.
SECTIONS = {
    "devices": "device",
    "virtual_machines": "virtual_machine",
    "clusters": "cluster",
    "services": "service",
    "ip_addresses": "ip_address",
    "inventory_items": "inventory_item",
    "regions": "region",
    "site_groups": "site_group",
    "tenant_groups": "tenant_group",
    "tenants": "tenant",
    "sites": "site",
    "locations": "location",
    "racks": "rack",
    "platforms": "platform",
    "vrfs": "vrf",
    "vlan_groups": "vlan_group",
    "vlans": "vlan",
    "prefixes": "prefix",
    "ip_ranges": "ip_range",
    "cables": "cable",
}

# Which configured default fills which record field (first matching default wins).
DEFAULTS_FOR = {
    "device": {
        "site": ("site",),
        "role": ("device_role", "role"),
        "status": ("device_status", "status"),
        "manufacturer": ("manufacturer",),
        "model": ("model", "device_type"),
        "platform": ("platform",),
    },
    "virtual_machine": {
        "role": ("vm_role", "device_role", "role"),
        "status": ("vm_status", "status"),
        "cluster": ("cluster",),
    },
    "cluster": {"type": ("cluster_type",), "site": ("site",)},
    "service": {},
    "ip_address": {"status": ("ip_status",)},
    "inventory_item": {"site": ("site",)},  # the device's site, as for the device itself
    **{record_type: {} for record_type in SECTIONS.values()
       if record_type not in ("device", "virtual_machine", "cluster", "service", "ip_address", "inventory_item")},
}

CSV_RECORD_TYPES = {
    "device": "device",
    "virtual_machine": "virtual_machine",
    "vm": "virtual_machine",
    "cluster": "cluster",
    "service": "service",
    "ip_address": "ip_address",
    "ip": "ip_address",
    **{record_type: record_type for record_type in SECTIONS.values()},
}
CSV_LIST_COLUMNS = frozenset({"tags", "ports"})
CSV_CUSTOM_FIELD_PREFIX = "cf_"


class InventoryParseError(Exception):
    """The file as a whole cannot be used; the message names the file (and line/column)."""


@dataclass(frozen=True)
class _Entry:
    record_type: str
    payload: Any
    line: int
    problems: tuple[tuple[str, str], ...] = ()  # found while parsing (e.g. CSV interface syntax)


def read_inventory_file(
    path: Path,
    instance: str,
    *,
    observed_at: datetime,
    defaults: Mapping[str, Any] | None = None,
    custom_fields: Mapping[str, str] | None = None,
) -> SourceResult:
    """Read one file. `custom_fields` maps every custom field a record may set (declared in the
    configuration or by a source) to its NetBox type; any other name is an error on its record."""
    path = Path(path)
    field_types = dict(custom_fields or {})
    try:
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8" writes one) is dropped, not read as
        # part of the first column's name.
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return failed_result(
            SOURCE_KIND, instance, f"cannot read inventory file {path}: {reason}",
            observed_at=observed_at,
        )
    except UnicodeDecodeError as exc:
        return failed_result(
            SOURCE_KIND, instance, f"cannot read inventory file {path}: not UTF-8 ({exc.reason})",
            observed_at=observed_at,
        )
    suffix = path.suffix.lower()
    parsers = {".yaml": _yaml_entries, ".yml": _yaml_entries, ".json": _json_entries,
               ".csv": _csv_entries}
    if suffix not in parsers:
        return failed_result(
            SOURCE_KIND, instance,
            f"inventory file {path}: unsupported extension {suffix!r} (use .yaml, .yml, .json or .csv)",
            observed_at=observed_at,
        )
    file_errors: list[RecordError] = []
    try:
        entries = list(parsers[suffix](text, str(path), instance, file_errors, field_types))
    except InventoryParseError as exc:
        return failed_result(SOURCE_KIND, instance, str(exc), observed_at=observed_at)
    return _validate_entries(entries, str(path), instance, observed_at, dict(defaults or {}), file_errors,
                             field_types)


# --------------------------------------------------------------------------- validation


def _validate_entries(
    entries: list[_Entry],
    path: str,
    instance: str,
    observed_at: datetime,
    defaults: dict[str, Any],
    file_errors: list[RecordError],
    field_types: Mapping[str, str],
) -> SourceResult:
    result = SourceResult(SOURCE_KIND, instance, observed_at=observed_at, errors=list(file_errors))
    first_seen: dict[tuple[str, tuple], tuple[str, Any]] = {}
    for entry in entries:
        location = f"{path}:{entry.line}"
        label = _record_label(entry.record_type, entry.payload)
        result.raw_records.append(
            {"record_type": entry.record_type, "record_key": label, "location": location,
             "payload": entry.payload}
        )

        def report(field: str | None, message: str) -> None:
            result.errors.append(RecordError(instance, location, label, field, message))

        if not isinstance(entry.payload, Mapping):
            report(None, f"record must be a mapping, got {_type_name(entry.payload)}")
            continue
        if entry.problems:
            for field, message in entry.problems:
                report(field, message)
            continue
        payload = dict(entry.payload)
        if "provenance" in payload:
            report("provenance", "unknown field")
            continue
        defaulted = _apply_defaults(entry.record_type, payload, defaults)
        try:
            record = RECORD_TYPES[entry.record_type].model_validate(payload)
        except ValidationError as exc:
            for field, message in validation_problems(exc):
                report(field or None, message)
            continue
        problems = _custom_field_problems(record, field_types)
        if problems:
            for field, message in problems:
                report(field, message)
            continue
        key = (entry.record_type, record.key)  # type: ignore[attr-defined]
        if key in first_seen:
            first_location, first = first_seen[key]
            collision = slug_collision_message(first, record)
            if collision is not None:
                report(*collision)
            else:
                report(None, f"duplicate {entry.record_type.replace('_', ' ')} "
                             f"{key_text(record.key)!r}: first defined at {first_location}")  # type: ignore[attr-defined]
            continue
        first_seen[key] = (location, record)
        result.raw_records[-1]["record_key"] = key_text(record.key)  # type: ignore[attr-defined]
        stamp_provenance(
            record, source_kind=SOURCE_KIND, instance=instance,
            record_id=f"{entry.record_type}:{key_text(record.key)}",  # type: ignore[attr-defined]
            location=location, observed_at=observed_at, defaulted=defaulted,
            default_location=f"defaults of {instance}",
        )
        result.records.append(record)  # type: ignore[arg-type]
    return result


def _custom_field_problems(record: Any, field_types: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every custom field of the record is one the configuration (or a source) declares, with a
    value of its type; the checked values (dates as ISO text) replace the given ones."""
    given = getattr(record, "custom_fields", None)
    if not given:
        return []
    problems: list[tuple[str, str]] = []
    checked: dict[str, Any] = {}
    for name, value in given.items():
        field = f"custom_fields.{name}"
        field_type = field_types.get(name)
        if field_type is None:
            near = difflib.get_close_matches(name, list(field_types), n=1, cutoff=0.75)
            if near:
                message = (f"unknown custom field; did you mean {near[0]!r}? (a file sets only the custom "
                           "fields declared under custom_fields: in the configuration)")
            else:
                message = ("unknown custom field; declare it with its type under custom_fields: in the "
                           f"configuration, e.g. custom_fields: {{{name}: {{type: text}}}}")
            problems.append((field, message))
            continue
        try:
            checked[name] = custom_field_value(field_type, value)
        except ValueError as exc:
            problems.append((field, str(exc)))
    if not problems:
        record.custom_fields = checked
    return problems


def _apply_defaults(record_type: str, payload: dict[str, Any], defaults: Mapping[str, Any]) -> set[str]:
    filled: set[str] = set()
    for field, names in DEFAULTS_FOR[record_type].items():
        if payload.get(field) not in (None, ""):
            continue
        for name in names:
            if defaults.get(name) not in (None, ""):
                payload[field] = defaults[name]
                filled.add(field)
                break
    return filled


def _record_label(record_type: str, payload: Any) -> str | None:
    if not isinstance(payload, Mapping):
        return None
    if record_type == "ip_address":
        value = payload.get("address")
    elif record_type == "prefix":
        value = payload.get("prefix")
    elif record_type == "ip_range":
        value = f"{payload.get('start_address', '?')}-{payload.get('end_address', '?')}"
    elif record_type == "vlan":
        value = payload.get("vid") if payload.get("name") is None else payload.get("name")
    elif record_type == "cable":
        ends = [payload.get(side) if isinstance(payload.get(side), Mapping) else {} for side in ("a", "b")]
        value = " - ".join(f"{e.get('device', '?')}:{e.get('interface', '?')}" for e in ends)
    elif record_type == "service":
        parts = [payload.get("parent"), payload.get("protocol"), payload.get("name")]
        value = "/".join(str(p) for p in parts if p is not None) or None
    else:
        value = payload.get("name")
    # Shown in messages and terminals: a NUL or an escape sequence in a name stays visible, inert.
    return None if value is None else re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _type_name(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _section_entries(
    section: str, items: Any, line: int, path: str, instance: str, errors: list[RecordError]
) -> bool:
    """Checks a top-level section; False (with an error) when it cannot hold records."""
    if section not in SECTIONS:
        errors.append(RecordError(instance, f"{path}:{line}", None, section,
                                  f"unknown section (expected one of {', '.join(SECTIONS)})"))
        return False
    if items is None:
        return False
    if not isinstance(items, list):
        errors.append(RecordError(instance, f"{path}:{line}", None, section,
                                  f"section must be a list of records, got {_type_name(items)}"))
        return False
    return True


def _top_level_error(path: str, found: Any) -> InventoryParseError:
    return InventoryParseError(
        f"inventory file {path}: top level must be a mapping with "
        f"{', '.join(SECTIONS)}; got {_type_name(found)}"
    )


# --------------------------------------------------------------------------- YAML


class _InventoryLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 and octal numbers, and without its timestamps.

    Otherwise `mac: 52:54:00:12:34:56` loads as an integer and `serial: 0123` as 83; a date stays
    its text (`2026-11-20`), which is what NetBox takes and what a snapshot can store as JSON.
    """


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_InventoryLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_InventoryLoader.add_constructor(_TIMESTAMP, yaml.SafeLoader.construct_yaml_str)  # an explicit !!timestamp too
_InventoryLoader.add_implicit_resolver(
    _INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_InventoryLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789."),
)


def _yaml_entries(text: str, path: str, instance: str, errors: list[RecordError],
                  field_types: Mapping[str, str]) -> Iterator[_Entry]:
    try:
        documents.check_yaml(text, path)
    except documents.DocumentError as exc:
        raise InventoryParseError(f"inventory file {exc}") from None
    try:
        root = yaml.compose(text, Loader=_InventoryLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc)
        raise InventoryParseError(f"inventory file {where}: invalid YAML: {problem}") from None
    if root is None:
        return
    if not isinstance(root, yaml.MappingNode):
        raise _top_level_error(path, _construct(root))
    for key, line, first in documents.yaml_duplicate_keys(root):
        if "." not in key and "[" not in key:
            errors.append(RecordError(instance, f"{path}:{line}", None, key,
                                      f"section given twice (first at line {first}); merge the two lists"))
    for key_node, value_node in root.value:
        section = str(key_node.value)
        try:
            items = _construct(value_node)
        except yaml.YAMLError:
            items = [None] * len(value_node.value) if isinstance(value_node, yaml.SequenceNode) else None
        if not _section_entries(section, items, key_node.start_mark.line + 1, path, instance, errors):
            continue
        for item_node in value_node.value:
            problems = tuple((key, f"duplicate key (line {line})")
                             for key, line, _ in documents.yaml_duplicate_keys(item_node))
            _keep_text(item_node, RECORD_TYPES[SECTIONS[section]], _text_fields(field_types))
            try:
                payload = _construct(item_node)
            except yaml.YAMLError as exc:  # a tag SafeLoader refuses (!!python/object): this record only
                payload, problems = {}, ((None, _refused(exc)),)
            yield _Entry(SECTIONS[section], payload, item_node.start_mark.line + 1, problems)


_STR = "tag:yaml.org,2002:str"
# What YAML would make of a plain scalar that is text in a text field: 1.50, yes.
_NOT_TEXT = frozenset({_INT, _FLOAT, "tag:yaml.org,2002:bool"})


def _text_fields(field_types: Mapping[str, str]) -> frozenset[str]:
    return frozenset(name for name, field_type in field_types.items() if field_type in TEXT_FIELD_TYPES)


def _keep_text(node: yaml.Node, model: type[BaseModel], text_custom_fields: frozenset[str] = frozenset()) -> None:
    """A plain scalar in a text field stays the text written: `name: 1.50` is "1.50", not 1.5.

    YAML reads it as a number (a date, a boolean) first and the record would get `str(1.5)`;
    quoted scalars and numeric fields (`memory_mb: 2048`) are untouched. Interfaces and disks
    follow their own model; custom fields their declared type.
    """
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        name = str(key_node.value)
        field = model.model_fields.get(name)
        if field is None:
            continue
        if name == "custom_fields" and isinstance(value_node, yaml.MappingNode):
            for cf_key, cf_value in value_node.value:
                if str(cf_key.value) in text_custom_fields:
                    _plain_as_text(cf_value)
        elif _text_only(field.annotation):
            _plain_as_text(value_node)
        elif isinstance(value_node, yaml.SequenceNode):
            nested = _nested_model(field.annotation)
            for item in value_node.value if nested else ():
                _keep_text(item, nested)


def _plain_as_text(node: yaml.Node) -> None:
    if isinstance(node, yaml.ScalarNode) and node.tag in _NOT_TEXT and node.style is None:
        node.tag = _STR


def _text_only(annotation: Any) -> bool:
    """`str` or `str | None`, but not a field that also takes numbers."""
    args = set(typing.get_args(annotation)) or {annotation}
    return str in args and not args & {int, float, bool}


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _construct(node: yaml.Node) -> Any:
    loader = _InventoryLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _refused(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark else ""
    return f"not allowed in an inventory file{where}: {problem}"


# --------------------------------------------------------------------------- JSON


def _json_entries(text: str, path: str, instance: str, errors: list[RecordError],
                  field_types: Mapping[str, str]) -> Iterator[_Entry]:
    try:
        documents.check_json(text, path)
        document = documents.load_json(text)
    except documents.DocumentError as exc:
        raise InventoryParseError(f"inventory file {exc}") from None
    except json.JSONDecodeError as exc:
        raise InventoryParseError(
            f"inventory file {path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    except ValueError as exc:  # NaN / Infinity
        raise InventoryParseError(f"inventory file {path}: invalid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise _top_level_error(path, document)
    line_at = _line_finder(text)
    seen: dict[str, int] = {}
    for section, section_offset, value, item_offsets in _json_record_offsets(text):
        line = line_at(section_offset)
        if section in seen:  # each list is read from its own place in the text: both flow
            errors.append(RecordError(instance, f"{path}:{line}", None, section,
                                      f"section given twice (first at line {seen[section]}); merge the two lists"))
        seen.setdefault(section, line)
        if not _section_entries(section, value, line, path, instance, errors):
            continue
        text_custom_fields = _text_fields(field_types)
        for item, offset in zip(value, item_offsets, strict=True):
            problems = tuple((key, "duplicate key (the second value would silently win)")
                             for key in documents.json_duplicate_keys(item))
            yield _Entry(SECTIONS[section], _json_text(item, RECORD_TYPES[SECTIONS[section]], text_custom_fields),
                         line_at(offset), problems)


def _json_text(item: Any, model: type[BaseModel], text_custom_fields: frozenset[str]) -> Any:
    """A number in a text field stays the number as written: `"name": 1.50` is "1.50" (see _keep_text)."""
    if not isinstance(item, dict):
        return item
    for name, value in item.items():
        field = model.model_fields.get(name)
        if field is None:
            continue
        if name == "custom_fields" and isinstance(value, dict):
            for cf_name, cf_value in value.items():
                if cf_name in text_custom_fields:
                    value[cf_name] = _number_text(cf_value)
        elif _text_only(field.annotation):
            item[name] = _number_text(value)
        elif isinstance(value, list):
            nested = _nested_model(field.annotation)
            for element in value if nested else ():
                _json_text(element, nested, frozenset())
    return item


def _number_text(value: Any) -> Any:
    if isinstance(value, documents.JsonFloat):
        return value.text
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _json_record_offsets(text: str) -> Iterator[tuple[str, int, Any, list[int]]]:
    """For each top-level key as written (a repeated one too): its offset, its value, and the
    offsets where its list items start.

    Runs only on text `json.loads` accepted, so the scanner can stay small.
    """
    decoder = documents.json_decoder()
    ws = re.compile(r"\s*")

    def skip(pos: int) -> int:
        return ws.match(text, pos).end()  # type: ignore[union-attr]

    pos = skip(0)
    assert text[pos] == "{"
    pos = skip(pos + 1)
    while text[pos] != "}":
        key_offset = pos
        key, pos = decoder.raw_decode(text, pos)
        pos = skip(pos)
        pos = skip(pos + 1)  # ':'
        offsets: list[int] = []
        value: Any
        if text[pos] == "[":
            value = []
            pos = skip(pos + 1)
            while text[pos] != "]":
                offsets.append(pos)
                item, pos = decoder.raw_decode(text, pos)
                value.append(item)
                pos = skip(pos)
                if text[pos] == ",":
                    pos = skip(pos + 1)
            pos += 1
        else:
            value, pos = decoder.raw_decode(text, pos)
        yield key, key_offset, value, offsets
        pos = skip(pos)
        if text[pos] == ",":
            pos = skip(pos + 1)


def _line_finder(text: str) -> Callable[[int], int]:
    """offset -> 1-based line, by bisecting the newline offsets found in one pass.

    Counting newlines from the start for every record made parsing quadratic in the file size.
    """
    newlines = [match.start() for match in re.finditer("\n", text)]
    return lambda offset: bisect.bisect_left(newlines, offset) + 1


# --------------------------------------------------------------------------- CSV


def _csv_entries(text: str, path: str, instance: str, errors: list[RecordError],
                 field_types: Mapping[str, str]) -> Iterator[_Entry]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InventoryParseError(f"inventory file {path}:1: invalid CSV: {exc}") from None
    columns = [c.strip() for c in header]
    repeated = sorted({c for c in columns if c and columns.count(c) > 1}, key=columns.index)
    if repeated:
        where = "; ".join(f"{c!r} in columns " + " and ".join(str(i + 1) for i, o in enumerate(columns) if o == c)
                          for c in repeated)
        raise InventoryParseError(f"inventory file {path}:1: CSV header names a column twice ({where}); "
                                  "the second would silently win: keep one")
    type_column = next((c for c in ("record_type", "kind") if c in columns), None)
    if type_column is None:
        raise InventoryParseError(f"inventory file {path}:1: {_missing_type_column(header)}")
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InventoryParseError(f"inventory file {path}:{reader.line_num}: invalid CSV: {exc}") from None
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            errors.append(RecordError(instance, f"{path}:{start}", None, None,
                                      f"row has {len(row)} cells but the header has {len(columns)}"))
            continue
        cells = {c: v.strip() for c, v in zip(columns, row) if v.strip() != ""}
        kind = cells.pop(type_column, "").lower()
        if kind not in CSV_RECORD_TYPES:
            errors.append(RecordError(instance, f"{path}:{start}", cells.get("name"), type_column,
                                      f"unknown record type {kind!r} (expected one of "
                                      f"{', '.join(sorted(set(CSV_RECORD_TYPES)))})"))
            continue
        payload, problems = _csv_payload(cells, _text_fields(field_types))
        yield _Entry(CSV_RECORD_TYPES[kind], payload, start, tuple(problems))


def _missing_type_column(header: list[str]) -> str:
    """Why the header has no record_type column, in the words that fix it.

    A `;` or tab between the columns is a spreadsheet's regional export: not accepted, because
    `;` already separates interfaces inside an `interfaces` cell (docs/inventory-files.md).
    """
    line = ",".join(header)
    for delimiter, name in ((";", "';'"), ("\t", "a tab")):
        if any(c.strip().lower() in ("record_type", "kind") for c in line.split(delimiter)):
            return (f"the columns are separated by {name}, but inventory CSV files use ','; "
                    "export again with ',' as the field delimiter")
    found = ", ".join(repr(c.strip()) for c in header[:8]) + (", ..." if len(header) > 8 else "")
    return f"CSV header needs a 'record_type' column (the header has {found})"


def _csv_payload(cells: dict[str, str], text_custom_fields: frozenset[str] = frozenset()
                 ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    payload: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column, value in cells.items():
        if column.startswith(CSV_CUSTOM_FIELD_PREFIX):
            name = column[len(CSV_CUSTOM_FIELD_PREFIX):]
            payload.setdefault("custom_fields", {})[name] = value if name in text_custom_fields else _csv_scalar(value)
        elif column in CSV_LIST_COLUMNS:
            payload[column] = [part.strip() for part in value.split(",") if part.strip()]
        elif column == "interfaces":
            try:
                payload[column] = parse_interfaces_cell(value)
            except ValueError as exc:
                problems.append(("interfaces", str(exc)))
        else:
            payload[column] = value
    return payload, problems


def _csv_scalar(cell: str) -> Any:
    """A custom field cell of a type other than text reads like a YAML scalar, so `12` is the
    number a YAML file would give (a text field's cell is its text, as written)."""
    try:
        value = yaml.load(cell, Loader=_InventoryLoader)
    except yaml.YAMLError:
        return cell
    return value if isinstance(value, (str, int, float, bool)) or value is None else cell


_INTERFACE_LISTS = frozenset({"ip", "ip_addresses"})
_INTERFACE_VID_LISTS = frozenset({"tagged_vlans"})


def parse_interfaces_cell(cell: str) -> list[dict[str, Any]]:
    """`eth0 type=1000base-t mac=00:11:22:33:44:55 ip=192.0.2.10/24,192.0.2.11/24; eth1 ...`

    Interfaces are separated by `;`; each starts with its name, followed by `key=value`
    attributes (`type`, `mac`, `ip` (repeatable, comma-separated), `mtu`, `enabled`,
    `description`, `vlan`, `mode`, `untagged_vlan`, `tagged_vlans` (comma-separated), `vlan_group`, `vrf`).
    Values with spaces are quoted: `description="to core"`.
    """
    lexer = shlex.shlex(cell, posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise ValueError(f"cannot parse interfaces: {exc}") from None
    groups: list[list[str]] = [[]]
    for token in tokens:
        if set(token) == {";"}:
            groups.append([])
        else:
            groups[-1].append(token)
    interfaces: list[dict[str, Any]] = []
    for index, group in enumerate(g for g in groups if g):
        name, *attributes = group
        if "=" in name:
            raise ValueError(f"interface {index + 1} must start with its name, got {name!r}")
        interface: dict[str, Any] = {"name": name}
        for attribute in attributes:
            key, sep, value = attribute.partition("=")
            if not sep:
                raise ValueError(f"interface {name!r}: expected key=value, got {attribute!r}")
            if key in _INTERFACE_LISTS:
                interface.setdefault("ip_addresses", []).extend(
                    v.strip() for v in value.split(",") if v.strip()
                )
            elif key in _INTERFACE_VID_LISTS:
                interface[key] = [v.strip() for v in value.split(",") if v.strip()]
            else:
                interface[key] = value
        interfaces.append(interface)
    return interfaces


# --- configuration and registration ---------------------------------------------------------


class FilesystemSourceConfig(InstanceConfig):
    path: str = Field(description="YAML, JSON or CSV inventory file; relative to the config file")


def _collect(instance: FilesystemSourceConfig, context: CollectContext) -> SourceResult:
    return read_inventory_file(context.resolve_path(instance.path), instance.name,
                               observed_at=context.observed_at, defaults=context.defaults,
                               custom_fields=context.custom_fields)


KIND = SourceKind(
    kind=SOURCE_KIND,
    asset_name="filesystem_inventory",
    description="Hand-kept inventory files (YAML, JSON, CSV)",
    config_model=FilesystemSourceConfig,
    collect=_collect,
    default_cron="*/15 * * * *",
)
