"""Objects NetBox holds more than once under one natural key: which go, which are reported.

NetBox has no uniqueness rule for many types (MAC addresses, services, VLANs without a group,
addresses when global uniqueness is off), so two runs that both found a type empty, or a resend
after an answer that never came, can leave the same object twice. The natural keys are the
declared ones (`netbox/schema.py`); the live side matches the lowest id of each key.

A group is cleaned up by the next plan only when it is certainly the pipeline's own doing: every
member carries the owner tag, every compared field (natural key and managed fields) is identical,
and at most one member is pointed at by an object that stays (an interface's primary MAC, a
device's primary IP, a MAC on an interface), in a type the pipeline prunes at all. That member
(else the lowest id) is kept and the others are deleted. Anything else is a finding naming every id, for a person to resolve: the
pipeline never guesses which of two different objects, or of a person's, is the right one.

Pure: the referrers come from the one paginated read per type the plan already made.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.schema import TYPES, Key, LiveObject, LiveState, reference_ids

Ident = tuple[str, int]  # (type name, NetBox id)


@dataclass(frozen=True)
class DuplicateRemoval:
    """An extra copy the plan deletes; `kept` is the member the plan goes on matching."""

    extra: LiveObject
    kept: LiveObject

    @property
    def reason(self) -> str:
        return (f"id {self.extra.id} duplicates id {self.kept.id}, both made by the pipeline (owner tag, same key "
                f"and fields, nothing points at id {self.extra.id}): removed, id {self.kept.id} kept")


@dataclass(frozen=True)
class DuplicateFinding:
    """A group the pipeline leaves alone, reported with every id until a person resolves it."""

    type: str
    key: Key
    ids: tuple[int, ...]  # the member the plan matches first
    why: str

    @property
    def message(self) -> str:
        ids = ", ".join(str(i) for i in self.ids)
        return (f"NetBox holds {self.type} {key_text(self.key)} {len(self.ids)} times (ids {ids}); "
                f"the plan uses id {self.ids[0]} and removes none, because {self.why}")


@dataclass
class Duplicates:
    removals: list[DuplicateRemoval] = field(default_factory=list)
    findings: list[DuplicateFinding] = field(default_factory=list)
    # (type, key) -> the member the key resolves to when it is not the lowest id.
    kept: dict[tuple[str, Key], LiveObject] = field(default_factory=dict)


def duplicate_referrers(snapshot: Mapping[str, Iterable[Mapping]], live: LiveState) -> dict[Ident, tuple[Ident, ...]]:
    """Who points at each member of a duplicate group: (type, id) -> (type, id) of the referrers,
    found in the raw objects of the same read (nothing is read again)."""
    members: set[Ident] = set()
    for extra in live.duplicates:
        members.add((extra.type, extra.id))
        first = live.objects.get(extra.type, {}).get(extra.key)
        if first is not None:
            members.add((first.type, first.id))
    found: dict[Ident, list[Ident]] = {member: [] for member in members}
    if not members:
        return {}
    for name in TYPES:
        for obj in snapshot.get(name, ()):
            holder = (name, int(obj["id"]))
            for target in reference_ids(name, obj):
                if target in found and target != holder:
                    found[target].append(holder)
    return {member: tuple(sorted(holders)) for member, holders in found.items()}


def sort_duplicates(
    live: Mapping[str, Mapping[Key, LiveObject]],
    duplicates: Iterable[LiveObject],
    referrers: Mapping[Ident, Iterable[Ident]] | None,
) -> Duplicates:
    """Removals and findings for every duplicate group, children before parents (a removed
    copy no longer holds the copy of its parent)."""
    groups: dict[tuple[str, Key], list[LiveObject]] = {}
    for extra in duplicates:
        group = groups.setdefault((extra.type, extra.key), [])
        first = live.get(extra.type, {}).get(extra.key)
        if not group and first is not None:
            group.append(first)
        group.append(extra)
    out = Duplicates()
    removed: set[Ident] = set()
    order = {name: i for i, name in enumerate(TYPES)}
    for (type_name, key), members in sorted(groups.items(), key=lambda g: (-order.get(g[0][0], 0), repr(g[0][1]))):
        members = sorted(members, key=lambda m: m.id)
        if len(members) < 2:
            continue
        why = _not_ours(members) if TYPES[type_name].prunable else f"{type_name} are never deleted by the pipeline"
        pointed: list[LiveObject] = []
        if why is None and referrers is None:
            why = "what points at them was not read"
        if why is None:
            holders = {m.id: [h for h in referrers.get((type_name, m.id), ()) if h not in removed] for m in members}
            pointed = [m for m in members if holders[m.id]]
            if len(pointed) > 1:
                why = "; ".join(f"id {m.id} is used by " + ", ".join(f"{t} {i}" for t, i in holders[m.id][:5])
                                for m in pointed)
        if why is not None:
            out.findings.append(DuplicateFinding(type_name, key, tuple(m.id for m in members), why))
            continue
        kept = pointed[0] if pointed else members[0]
        if kept is not members[0]:
            out.kept[(type_name, key)] = kept
        for member in members:
            if member is not kept:
                out.removals.append(DuplicateRemoval(member, kept))
                removed.add((type_name, member.id))
    return out


def _not_ours(members: list[LiveObject]) -> str | None:
    """Why a group is not certainly the pipeline's own doing, or None."""
    unowned = [str(m.id) for m in members if not m.owned]
    if len(unowned) == 1:
        return f"id {unowned[0]} does not carry the owner tag (a person's object)"
    if unowned:
        return f"ids {', '.join(unowned)} do not carry the owner tag (a person's objects)"
    first = members[0]
    differing = sorted({name for m in members[1:] for name in set(first.fields) | set(m.fields)
                        if first.fields.get(name) != m.fields.get(name)})
    if differing:
        return f"they differ in {', '.join(differing)}"
    return None


def with_kept(
    live: Mapping[str, Mapping[Key, LiveObject]], found: Duplicates
) -> dict[str, dict[Key, LiveObject]]:
    """The live objects with each group's key resolving to the member the plan keeps."""
    if not found.kept:
        return live  # type: ignore[return-value]  # nothing moves: no copy of a large estate
    out = {name: dict(objects) for name, objects in live.items()}
    for (type_name, key), obj in found.kept.items():
        out.setdefault(type_name, {})[key] = obj
    return out
