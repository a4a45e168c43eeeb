"""The pieces every builder of desired objects shares (see reconcile/desired.py).

`Builder` collects desired objects per NetBox type in comparison form: a second mention of the
same natural key may add what the first did not know, never change it. `Fallbacks` are the values
NetBox requires that a record may not say, from the configuration's `defaults:`, resolved once.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from netbox_pipeline.model import DEFAULT_VALUES, Inventory, Provenance, key_text, record_location, record_type_of
from netbox_pipeline.netbox.schema import TYPES, Key, key_from_fields
from netbox_pipeline.values import fold_name, slugify

SOURCE_TAG_PREFIX = "source-"


@dataclass(frozen=True)
class Fallbacks:
    """What fills a required NetBox field no record gave. The pipeline passes the configuration's
    `defaults:` (config.Defaults, all of them); a caller passing nothing gets these: the shared
    values of model.DEFAULT_VALUES where NetBox requires one, and no site or VM role (a device
    without a site is then a `missing_site` problem, a VM without a role takes the device role)."""

    site: str | None = None
    device_role: str = DEFAULT_VALUES["device_role"]
    vm_role: str | None = None
    manufacturer: str = DEFAULT_VALUES["manufacturer"]
    device_type: str = DEFAULT_VALUES["device_type"]
    cluster_type: str = "Generic"  # no configuration key: a cluster's type only when no record says


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


# NetBox type -> the field its slug is made from, for every type that has a slug.
SLUGGED = {name: "model" if name == "device_types" else "name"
           for name, t in TYPES.items() if "slug" in t.natural_key or "slug" in t.managed}
_OWNER_TAG_SETTING = "netbox.owner_tag"


def _field_naming(record: Any, name: str) -> str | None:
    """The record's own field that gives `name`, if any (not one of an interface's)."""
    field_name = next((f for f, value in record if value == name), None)
    if field_name is None and name in (getattr(record, "tags", None) or ()):
        field_name = "tags"
    return field_name


def _mention(record: Any, name: str) -> str:
    """`device home/web-1 field site`: the record and (when it is one of its own fields) the field."""
    field_name = _field_naming(record, name)
    label = f"{record_type_of(record).replace('_', ' ')} {key_text(record.key)}"
    return f"{label} field {field_name}" if field_name else label


def _where_named(record: Any, name: str) -> str | None:
    """Where the record got `name` from: a merged record's fields each come from their own source."""
    entry = record.provenance.get(_field_naming(record, name) or "")
    if entry is not None:
        return entry.location or f"{entry.source_kind}:{entry.instance}"
    return record_location(record)


@dataclass
class _Current:
    """The record being built: where the names it gives came from, and what it makes itself."""

    record: Any
    own_type: str
    own_key: Key | None = None
    collisions: list[tuple[str, Key, str | None, str]] = field(default_factory=list)  # (type, key, where, message)


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
        # (type, slug identity) -> (the name that made it, the record that gave that name)
        self.slug_names: dict[tuple, tuple[str, Any]] = {
            ("tags", (slugify(owner_tag),)): (owner_tag, _OWNER_TAG_SETTING)}
        self.current: _Current | None = None

    # -- slug collisions: `Home Lab` and `home-lab` are two names NetBox would give one slug

    def begin(self, record: Any, own_type: str) -> None:
        self.current = _Current(record, own_type)

    def end(self) -> None:
        """Reports each slug collision of the record just built; the object the record makes is
        left out of the plan (unless it is the object whose name it collided with)."""
        current, self.current = self.current, None
        if current is None:
            return
        for type_name, key, location, message in current.collisions:
            own = (current.own_type, current.own_key)
            target = None if own == (type_name, key) or current.own_key is None else own
            self.problems.append(Problem("slug_collision", "error", target and target[0], target and target[1],
                                         message, location))

    def claim(self, type_name: str, key: Key, name: str, record: Any) -> None:
        """A record declares this object: its spelling is the one every mention must use."""
        self.slug_names.setdefault((type_name, key), (name, record))

    def _same_name(self, type_name: str, identity: tuple, key: Key, name: Any) -> bool:
        if not isinstance(name, str) or not name:
            return True
        claimed = self.slug_names.setdefault((type_name, identity), (name, self.current and self.current.record))
        if fold_name(claimed[0]) == fold_name(name) or self.current is None:
            return True  # the same name (or no record to report and leave out: a direct call)
        noun = type_name.removesuffix("s").replace("_", " ")
        first = claimed[1]
        where = first if isinstance(first, str) else _where_named(first, claimed[0]) if first is not None else None
        self.current.collisions.append((type_name, key, _where_named(self.current.record, name), (
            f"{_mention(self.current.record, name)}: {noun} {name!r} and {claimed[0]!r}"
            f"{f' ({where})' if where else ''} make the same slug {slugify(name)!r}; "
            f"NetBox keeps one {noun} per slug: write one spelling everywhere")))
        return False

    def _slug_identity(self, type_name: str, key: Key, fields: Mapping[str, Any]) -> tuple:
        natural_key = TYPES[type_name].natural_key
        if "slug" in natural_key:
            return key
        # Locations: keyed by (site, name), but NetBox keeps their slugs unique within the site too.
        return (*(fields.get(name) for name in natural_key if name not in ("name", "model")), fields.get("slug"))

    def add(
        self, type_name: str, fields: dict[str, Any], instances: list[tuple[str, str]],
        *, tags: list[str] | tuple[str, ...] = (), provenance: dict[str, Provenance] | None = None,
    ) -> Key:
        key = key_from_fields(type_name, fields)
        name_field = SLUGGED.get(type_name)
        if name_field is not None and not self._same_name(
                type_name, self._slug_identity(type_name, key, fields), key, fields.get(name_field)):
            return key  # the first spelling stays; the record that wrote another is left out
        if self.current is not None and type_name == self.current.own_type:
            self.current.own_key = key
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
            if slug and self._same_name("tags", (slug,), (slug,), tag):
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
        # Most objects carry the same few (source kinds, record tags) pairs: each tag tuple is made once.
        tag_tuples: dict[tuple[frozenset, frozenset], tuple[str, ...]] = {}
        for type_name, objects in self.pending.items():
            nbtype = TYPES[type_name]
            tagged = "tags" in nbtype.managed
            for key, pending in objects.items():
                kinds = frozenset(kind for kind, _ in pending.instances)
                all_kinds |= kinds
                fields = dict(pending.fields)
                if tagged:
                    tag_key = (kinds, frozenset(pending.record_tags))
                    tags = tag_tuples.get(tag_key)
                    if tags is None:
                        tags = tag_tuples[tag_key] = tuple(sorted(
                            {self.owner_tag, *(source_tag(k) for k in kinds), *pending.record_tags}))
                    fields["tags"] = tags
                result[type_name][key] = DesiredObject(
                    type=type_name, key=key, fields=fields, source_kinds=kinds,
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
