"""Reading YAML and JSON that people write (inventory files, the configuration) within limits.

Python's parsers recurse per nesting level (a 5,000-deep YAML list or a 100,000-deep JSON array
is a RecursionError), a YAML alias bomb expands to billions of nodes from a few hundred bytes,
and both formats keep the last of two equal keys without a word. These checks run before the
documents are built and say where the problem is (file:line:column).
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64  # an inventory record nests four or five levels
# Nodes after aliases are expanded: a 10,000-device file has a few hundred thousand.
MAX_EXPANDED_NODES = 2_000_000


class DocumentError(ValueError):
    """The document as a whole cannot be read; the message starts with `path:line:column`."""


def check_size(text: str, path: str) -> None:
    if len(text) > MAX_BYTES:
        raise DocumentError(f"{path}: {len(text):,} characters, more than the limit of {MAX_BYTES:,}; "
                            "split the file")


def check_yaml(text: str, path: str) -> None:
    """Size, nesting depth and alias expansion, from the parser's events (which do not recurse)."""
    check_size(text, path)
    depth = 0
    expanded = 0
    sizes: dict[str, int] = {}
    open_anchors: list[tuple[str | None, int]] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                expanded += sizes.get(event.anchor, 1)
            elif isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                expanded += 1
                if isinstance(event, yaml.ScalarEvent):
                    if event.anchor:
                        sizes[event.anchor] = 1
                else:
                    depth += 1
                    open_anchors.append((event.anchor, expanded - 1))
                    if depth > MAX_DEPTH:
                        raise DocumentError(f"{_mark(path, event)}: nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
                anchor, before = open_anchors.pop()
                if anchor:
                    sizes[anchor] = expanded - before
            if expanded > MAX_EXPANDED_NODES:
                raise DocumentError(f"{_mark(path, event)}: aliases expand the document to more than "
                                    f"{MAX_EXPANDED_NODES:,} values (an alias bomb?)")
    except yaml.YAMLError:
        return  # a syntax error: the parse that follows reports it with its location


def yaml_duplicate_keys(node: yaml.Node, path: str = "") -> Iterator[tuple[str, int, int]]:
    """(key path, line of the repeated key, line of its first use) for every key given twice."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            line = key_node.start_mark.line + 1
            if key in seen:
                yield child, line, seen[key]
            else:
                seen[key] = line
            yield from yaml_duplicate_keys(value_node, child)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from yaml_duplicate_keys(item, f"{path}[{index}]")


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}\n]')


def check_json(text: str, path: str) -> None:
    """Size and nesting depth, by a scan that skips strings (json.loads recurses per level)."""
    check_size(text, path)
    depth, line = 0, 1
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token == "\n":
            line += 1
        elif token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                column = match.start() - text.rfind("\n", 0, match.start())
                raise DocumentError(f"{path}:{line}:{column}: nested more than {MAX_DEPTH} levels deep")
        elif token in "]}":
            depth -= 1


class JsonObject(dict):
    """A JSON object that remembers the keys it was given more than once (the last value is kept)."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> JsonObject:
    obj = JsonObject(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.duplicates = tuple(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return obj


class JsonFloat(float):
    """A JSON number with a fraction or exponent that remembers how it was written (`1.50`), so a
    number in a text field can stay the text its author wrote."""

    text: str

    def __new__(cls, text: str) -> "JsonFloat":
        number = super().__new__(cls, text)
        number.text = text
        return number


def json_decoder() -> json.JSONDecoder:
    """A decoder whose objects know their repeated keys and whose fractions their text, refusing
    NaN and Infinity."""
    return json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant, parse_float=JsonFloat)


def load_json(text: str) -> Any:
    return json_decoder().decode(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_duplicate_keys(value: Any, path: str = "") -> Iterator[str]:
    """The key path of every key a JSON object was given twice (see `load_json`)."""
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            yield f"{path}.{key}" if path else key
        for key, item in value.items():
            yield from json_duplicate_keys(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_duplicate_keys(item, f"{path}[{index}]")


def _mark(path: str, event: Any) -> str:
    mark = event.start_mark
    return f"{path}:{mark.line + 1}:{mark.column + 1}"
