"""TrueNAS query methods' `[filters, options]` over a list of dicts, as middlewared's filter_list does
(the subset a reader needs: filters with = != < > <= >= in nin ^ $ ~, and the options select, order_by,
offset, limit, count, get)."""

import re
from typing import Any

_OPERATORS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a is not None and a > b,
    "<": lambda a, b: a is not None and a < b, ">=": lambda a, b: a is not None and a >= b,
    "<=": lambda a, b: a is not None and a <= b, "in": lambda a, b: a in b, "nin": lambda a, b: a not in b,
    "^": lambda a, b: isinstance(a, str) and a.startswith(b), "$": lambda a, b: isinstance(a, str) and a.endswith(b),
    "~": lambda a, b: isinstance(a, str) and re.search(b, a) is not None,
}
_OPTIONS = {"select", "order_by", "offset", "limit", "count", "get", "extra", "relationships", "force_sql_filters"}


class QueryError(ValueError):
    """Bad filters or options: answered as JSON-RPC -32602 Invalid params."""


def run_query(items: list[dict[str, Any]], params: list[Any]) -> Any:
    filters = params[0] if len(params) > 0 and params[0] is not None else []
    options = params[1] if len(params) > 1 and params[1] is not None else {}
    if not isinstance(filters, list) or not isinstance(options, dict):
        raise QueryError("query-filters must be a list and query-options an object")
    unknown = set(options) - _OPTIONS
    if unknown:
        raise QueryError(f"query-options: unknown option(s) {', '.join(sorted(unknown))}")
    rows = [row for row in items if all(_matches(row, f) for f in filters)]
    for key in reversed(options.get("order_by") or []):
        descending = key.startswith("-")
        rows.sort(key=lambda r, k=key.lstrip("-"): (_get(r, k) is None, _get(r, k)), reverse=descending)
    offset, limit = int(options.get("offset") or 0), int(options.get("limit") or 0)
    rows = rows[offset:offset + limit] if limit else rows[offset:]
    if options.get("count"):
        return len(rows)
    if options.get("select"):
        rows = [_select(row, options["select"]) for row in rows]
    if options.get("get"):
        if not rows:
            raise LookupError("Object not found")
        return rows[0]
    return rows


def _matches(row: dict[str, Any], spec: Any) -> bool:
    if not isinstance(spec, list) or len(spec) != 3 or spec[1] not in _OPERATORS:
        raise QueryError(f"invalid query-filter {spec!r}")
    field, operator, value = spec
    return _OPERATORS[operator](_get(row, field), value)


def _get(row: dict[str, Any], dotted: str) -> Any:
    value: Any = row
    for part in str(dotted).split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _select(row: dict[str, Any], fields: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in fields:
        if isinstance(spec, list) and len(spec) == 2:  # [field, rename]
            out[spec[1]] = _get(row, spec[0])
            continue
        name = str(spec)
        if "." not in name:
            if name in row:
                out[name] = row[name]
            continue
        head, *rest = name.split(".")
        target = out.setdefault(head, {})
        for part in rest[:-1]:
            target = target.setdefault(part, {})
        target[rest[-1]] = _get(row, name)
    return out
