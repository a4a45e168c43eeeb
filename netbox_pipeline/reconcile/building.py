"""The pieces every builder of desired objects shares (see reconcile/desired.py).

`Builder` collects desired objects per NetBox type in comparison form: a second mention of the
same natural key may add what the first did not know, never change it. `Fallbacks` are the values
NetBox requires that a record may not say, from the configuration's `defaults:`, resolved once.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from netbox_pipeline.model import Inventory, Provenance, key_text
from netbox_pipeline.netbox.schema import TYPES, Key, key_from_fields
from netbox_pipeline.values import slugify

SOURCE_TAG_PREFIX = "source-"


@dataclass(frozen=True)
class Fallbacks:
    """What fills a required NetBox field no record gave. The pipeline passes the configuration's
    `defaults:` (config.Defaults); a caller passing nothing gets these."""

    site: str | None = None
    device_role: str = "server"
    vm_role: str | None = None
    manufacturer: str = "Generic"
    device_type: str = "Generic device"
    cluster_type: str = "Generic"


def resolve_defaults(defaults: Mapping[str, Any] | None) -> Fallbacks:
    """The one place configured defaults become fallbacks: empty values keep the fallback, keys
    that are not fallbacks (a record default such as `status`) are ignored here."""
    known = {f.name for f in fields(Fallbacks)}
    given = {k: v for k, v in (defaults or {}).items() if k in known and v not in (None, "")}
    return Fallbacks(**given)


@dataclass(frozen=True)
class DesiredObject:
    type: str
    key: Key
    fields: dict[str, Any]
    source_kinds: frozenset[str]
    instances: frozenset[tuple[str, str]]
    provenance: dict[str, Provenance] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A finding that should stop a run (severity "error") or be looked at ("warning")."""

    check: str
    severity: str
    type: str | None
    key: Key | None
    message: str
    # Where the offending input is (file:line, or kind:instance), when the finder knows it.
    location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "type": self.type,
                "key": None if self.key is None else key_text(self.key), "message": self.message,
                "location": self.location}


class DesiredObjects(dict[str, dict[Key, DesiredObject]]):
    """{type name: {natural key: DesiredObject}}, plus the problems found while deriving it."""

    def __init__(self) -> None:
        super().__init__({name: {} for name in TYPES})
        self.problems: list[Problem] = []

    def count(self) -> int:
        return sum(len(objects) for objects in self.values())


def source_tag(kind: str) -> str:
    return f"{SOURCE_TAG_PREFIX}{slugify(kind)}"


@dataclass
class _Pending:
    fields: dict[str, Any]
    record_tags: set[str]
    instances: set[tuple[str, str]]
    provenance: dict[str, Provenance]


class Builder:
    def __init__(self, owner_tag: str, inventory: Inventory, fallbacks: Fallbacks):
        self.owner_tag = owner_tag
        self.inventory = inventory  # for lookups across records (a VLAN by VID near a site)
        self.fallbacks = fallbacks
        self.pending: dict[str, dict[Key, _Pending]] = {name: {} for name in TYPES}
        self.tag_names: dict[str, str] = {}
        self.problems: list[Problem] = []
        self.ip_owner: dict[Key, str] = {}  # (VRF, host) -> the interface that carries it
        self.ip_ranges: dict[tuple[str, int], list[tuple[int, int, str]]] = {}  # (VRF, family) -> (first, last, where)
        self.cable_ends: dict[Key, tuple[Key, str]] = {}  # interface -> (cable record key, where it is)

    def add(
        self, type_name: str, fields: dict[str, Any], instances: list[tuple[str, str]],
        *, tags: list[str] | tuple[str, ...] = (), provenance: dict[str, Provenance] | None = None,
    ) -> Key:
        key = key_from_fields(type_name, fields)
        existing = self.pending[type_name].get(key)
        if existing is None:
            self.pending[type_name][key] = _Pending(dict(fields), set(), set(), dict(provenance or {}))
            existing = self.pending[type_name][key]
        else:
            for name, value in fields.items():  # a later mention may know more (not less)
                if existing.fields.get(name) is None and value is not None:
                    existing.fields[name] = value
        for tag in tags:
            slug = slugify(tag)
            if slug:
                existing.record_tags.add(slug)
                self.tag_names.setdefault(slug, tag)
        existing.instances.update(instances)
        return key

    def named(self, type_name: str, name: str | None, instances: list, **extra: Any) -> Key | None:
        """A slug-keyed object (site, region, role, ...) by name; made when no record declares it."""
        if not name:
            return None
        return self.add(type_name, {"slug": slugify(name), "name": name, **extra}, instances)

    def problem(self, check: str, type_name: str, key: Key | None, message: str,
                severity: str = "error", provenance: Provenance | None = None) -> None:
        location = None
        if provenance is not None:
            location = provenance.location or f"{provenance.source_kind}:{provenance.instance}"
        self.problems.append(Problem(check, severity, type_name, key, message, location))

    def finish(self) -> DesiredObjects:
        result = DesiredObjects()
        all_kinds: set[str] = set()
        for type_name, objects in self.pending.items():
            nbtype = TYPES[type_name]
            for key, pending in objects.items():
                kinds = {kind for kind, _ in pending.instances}
                all_kinds |= kinds
                fields = dict(pending.fields)
                if "tags" in nbtype.managed:
                    fields["tags"] = tuple(sorted(
                        {self.owner_tag, *(source_tag(k) for k in kinds), *pending.record_tags}
                    ))
                result[type_name][key] = DesiredObject(
                    type=type_name, key=key, fields=fields, source_kinds=frozenset(kinds),
                    instances=frozenset(pending.instances), provenance=pending.provenance,
                )
        self._add_tag_objects(result, all_kinds)
        result.problems = list(self.problems)
        return result

    def _add_tag_objects(self, result: DesiredObjects, all_kinds: set[str]) -> None:
        instances_by_tag: dict[str, set[tuple[str, str]]] = {}
        for objects in result.values():
            for obj in objects.values():
                for slug in obj.fields.get("tags", ()):
                    instances_by_tag.setdefault(slug, set()).update(obj.instances)
        names = {self.owner_tag: self.owner_tag, **{source_tag(k): source_tag(k) for k in all_kinds}}
        names.update(self.tag_names)
        for slug, instances in sorted(instances_by_tag.items()):
            fields = {"slug": slug, "name": names.get(slug, slug)}
            result["tags"][(slug,)] = DesiredObject(
                type="tags", key=(slug,), fields=fields,
                source_kinds=frozenset(k for k, _ in instances), instances=frozenset(instances),
            )


def renamed(provenance: Mapping[str, Provenance], renames: Mapping[str, str]) -> dict[str, Provenance]:
    """Inventory provenance re-keyed to NetBox field names."""
    out = {name: entry for name, entry in provenance.items() if "[" not in name}
    for netbox_name, inventory_name in renames.items():
        out.pop(inventory_name, None)
        if inventory_name in provenance:
            out[netbox_name] = provenance[inventory_name]
    return out


# How one kind of canonical record becomes desired objects: (builder, record, its instances).
BuildFn = Callable[[Builder, Any, list], None]


@dataclass(frozen=True)
class Build:
    """One row of the build table: an `Inventory` list and what builds NetBox objects from it."""

    records: str  # the Inventory attribute (and its name in Inventory.contributors)
    produces: tuple[str, ...]  # the NetBox types its records declare
    build: BuildFn
