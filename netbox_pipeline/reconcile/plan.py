"""The sync plan: what to create, update, leave, retire or delete, per object, and why.

Ownership: an object in NetBox without the owner tag belongs to people. Reference types
(manufacturers, sites, ...) that exist unowned are simply used; other types are skipped (and so
are their children) unless `adopt` covers the type, which manages them and adds the owner tag.
Tags carry no tags, so a tag object is "ours" when the object map says we wrote it.

Deletion lifecycle: an owned object no source produces is an orphan; its missing count grows
only when every instance that owns it (object map) is healthy this run and observed its type (a
source that could not read a part, e.g. a NAS refusing its disk list, says which types it did not
observe: `SourceResult.unobserved`), and at `grace_runs` it
is deleted, or in "offline" mode set to its type's offline status (devices, VMs: offline; IPs:
deprecated); in that mode children without a status (interfaces, MACs, services) of a retired
parent are kept, and only those of a parent that stays are deleted. Only prunable types are
ever deleted, children before parents.

Duplicates (reconcile/duplicates.py): an extra copy the pipeline itself made (owner tag, same key
and fields, nothing points at it) is deleted with the prunes, its item naming the copy kept; any
other duplicate is a finding with every id (`Plan.duplicate_findings`), never silently left.

Renames: a type with a stable key (VMs: cluster + VMID custom field) matches a desired object
whose natural key is not in NetBox to the live object with the same stable key whose natural key
is no longer desired. The live side is re-keyed as if the rename were written (its children move
with it), so the rename is one update and nothing is duplicated or orphaned.
"""

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.items import ACTIONS, PlanItem
from netbox_pipeline.netbox.schema import (
    OWNER_TAG,
    TYPES,
    Key,
    LiveIndex,
    LiveObject,
    LiveState,
    NetBoxType,
    normalise_field,
    rekey_index,
    rekey_live,
    stable_key_of,
)
from netbox_pipeline.reconcile.building import SLUGGED
from netbox_pipeline.reconcile.desired import DesiredObject, DesiredObjects, Problem
from netbox_pipeline.reconcile.duplicates import DuplicateFinding, DuplicateRemoval, sort_duplicates, with_kept
from netbox_pipeline.values import jsonable, slugify
from netbox_pipeline.reconcile.diff import (
    DriftPolicy,
    diff_fields,
    hash_managed,
    managed_view,
)

DeletionMode = Literal["delete", "offline"]
ObjectMap = Mapping[tuple[str, Key], Mapping[str, Any]]


@dataclass
class Plan:
    items: list[PlanItem]
    live: dict[str, dict[Key, LiveObject]]
    next_missing_runs: dict[tuple[str, Key], int]
    owned_live_count: int
    max_delete_ratio: float = 0.1
    live_duplicates: list[LiveObject] = field(default_factory=list)
    # Duplicate groups left alone, each with every id, for a person to resolve.
    duplicate_findings: list[DuplicateFinding] = field(default_factory=list)
    # (type, old key) -> new key for every object a rename moves (the object map follows).
    renamed: dict[tuple[str, Key], Key] = field(default_factory=dict)
    # The live index under the new keys (when built from a LiveState): resolve_id for writes.
    index: LiveIndex | None = None

    def by_type(self, name: str) -> list[PlanItem]:
        return [item for item in self.items if item.type == name]

    def by_action(self, action: str) -> list[PlanItem]:
        return [item for item in self.items if item.action == action]

    def item(self, type_name: str, key: Key) -> PlanItem | None:
        return next((i for i in self.items if i.type == type_name and i.key == tuple(key)), None)

    def deletions(self) -> list[PlanItem]:
        """In reverse dependency order (children first)."""
        return [item for item in self.items if item.action == "delete"]

    def writes(self) -> list[PlanItem]:
        return [item for item in self.items if item.action in ("create", "update", "delete")]

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for item in self.items:
            per_type = out.setdefault(item.type, {a: 0 for a in ACTIONS})
            per_type[item.action] += 1
        return out

    def totals(self) -> dict[str, int]:
        totals = {a: 0 for a in ACTIONS}
        for item in self.items:
            totals[item.action] += 1
        return totals

    def rows(self) -> list[dict[str, Any]]:
        return [item.row() for item in self.items]

    def delete_ratio(self) -> float:
        removals = sum(1 for item in self.items if item.removal)
        return removals / self.owned_live_count if self.owned_live_count else 0.0

    def deletion_guard_ok(self, max_ratio: float | None = None) -> bool:
        limit = self.max_delete_ratio if max_ratio is None else max_ratio
        return self.delete_ratio() <= limit


def duplicate_removals(plan: "Plan") -> list[PlanItem]:
    return [item for item in plan.items if item.duplicate_of is not None]


def _live_by_type(live: Any) -> tuple[dict[str, dict[Key, LiveObject]], list[LiveObject]]:
    if isinstance(live, LiveState):
        return live.objects, list(live.duplicates)
    out: dict[str, dict[Key, LiveObject]] = {}
    for name, objects in (live or {}).items():
        if isinstance(objects, Mapping):
            out[name] = {tuple(k): v for k, v in objects.items()}
        else:
            out[name] = {obj.key: obj for obj in objects}
    return out, []


def _normalise_object_map(object_map: ObjectMap | None) -> dict[tuple[str, Key], Mapping[str, Any]]:
    return {(name, tuple(key)): entry for (name, key), entry in (object_map or {}).items()}


def _adopts(adopt: bool | Iterable[str], type_name: str) -> bool:
    if isinstance(adopt, bool):
        return adopt
    return type_name in set(adopt)


def _is_owned(t: NetBoxType, live: LiveObject, entry: Mapping[str, Any] | None) -> bool:
    if t.taggable:
        return live.owned
    return entry is not None and entry.get("netbox_id") in (None, live.id)


def _parent_key(t: NetBoxType, fields: Mapping[str, Any]) -> tuple[str, Key] | None:
    if t.parent is None:
        return None
    value = fields.get(t.parent)
    if value is None:
        return None
    if t.parent in t.refs:
        return (t.refs[t.parent], tuple(value))
    return (value[0], tuple(value[1]))


@dataclass(frozen=True)
class SyncPolicy:
    """The operator's choices that shape a plan, built once from the configuration."""

    adopt: bool | frozenset[str] = False
    drift_policy: DriftPolicy = "overwrite"
    grace_runs: int = 3
    deletion_mode: DeletionMode = "delete"
    max_delete_ratio: float = 0.1
    owner_tag: str = OWNER_TAG
    # NetBox type -> fields identifying an object across renames (declared by the sources).
    stable_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def build_plan(
    desired: Mapping[str, Mapping[Key, DesiredObject]],
    live: "LiveState | Mapping[str, Any]",
    *,
    object_map: ObjectMap | None = None,
    healthy_instances: Iterable[tuple[str, str]] = (),
    policy: SyncPolicy = SyncPolicy(),
    unobserved: Mapping[tuple[str, str], Iterable[str]] | None = None,
) -> Plan:
    """`unobserved`: (kind, instance) -> NetBox types it could not observe this run; absences of
    its objects of those types are not counted, as if the instance had failed for them alone."""
    adopt, drift_policy, owner_tag = policy.adopt, policy.drift_policy, policy.owner_tag
    live_objects, duplicates = _live_by_type(live)
    found = sort_duplicates(live_objects, duplicates, live.referrers if isinstance(live, LiveState) else None)
    live_objects = with_kept(live_objects, found)
    renames = match_renames(desired, live_objects, policy.stable_keys)
    renames.update(match_moved_ends(desired, live_objects))
    renames.update(match_moved_ranges(desired, live_objects))
    moved: dict[tuple[str, Key], Key] = {}
    if renames:
        live_objects, moved = rekey_live(live_objects, renames)
    index = live.index if isinstance(live, LiveState) else None
    if index is not None and found.kept:
        index = LiveIndex(dict(index.id_to_key), {**index.key_to_id, **{k: o.id for k, o in found.kept.items()}})
    if index is not None and moved:
        index = rekey_index(index, moved)
    previous = {(name, new): old for (name, old), new in moved.items()}
    entries = _normalise_object_map(object_map)
    for (name, new), old in previous.items():  # the object map still knows the old key
        if (name, new) not in entries and (name, old) in entries:
            entries[(name, new)] = entries[(name, old)]
    healthy = {tuple(i) for i in healthy_instances}
    blind = {tuple(instance): frozenset(types) for instance, types in (unobserved or {}).items()}
    items: list[PlanItem] = []
    deletions: list[PlanItem] = []
    next_missing: dict[tuple[str, Key], int] = {}
    skipped: set[tuple[str, Key]] = set()
    owned_live = 0
    for t in TYPES.values():
        wanted = desired.get(t.name, {})
        present = live_objects.get(t.name, {})
        blind_to_type = {i for i, types in blind.items() if t.name in types}
        for key, obj in wanted.items():
            entry = entries.get((t.name, key))
            item = _plan_desired(t, obj, present.get(key), entry, skipped, adopt, drift_policy, owner_tag)
            item.renamed_from = previous.get((t.name, key))
            if (t.name, item.renamed_from) in renames:
                item.reason = f"renamed from {key_text(item.renamed_from)}; {item.reason}"
            if item.action == "skip":
                skipped.add((t.name, key))
            if entry is not None:
                next_missing[(t.name, key)] = 0
            items.append(item)
        for key, obj in present.items():
            entry = entries.get((t.name, key))
            if not _is_owned(t, obj, entry):
                continue
            owned_live += 1
            if key in wanted:
                continue
            parent = _parent_key(t, obj.fields)
            parent_gone = parent is not None and parent[1] not in desired.get(parent[0], {})
            item = _plan_orphan(t, obj, entry, healthy, policy.grace_runs, policy.deletion_mode, parent_gone,
                                blind_to_type)
            next_missing[(t.name, key)] = item.missing_runs
            (deletions if item.action == "delete" else items).append(item)
    held = _hold_protected(deletions, live_objects)
    items += held
    deletions = [item for item in deletions if item.action == "delete"]
    order = {name: i for i, name in enumerate(TYPES)}
    deletions.sort(key=lambda i: (-order[i.type], i.key))
    attach_cascades(deletions, live_objects)
    # After the holds and cascades: those follow natural keys, which a copy shares with the one kept.
    deletions += [_remove_duplicate(removal) for removal in found.removals]
    deletions.sort(key=lambda i: (-order[i.type], i.key, i.duplicate_of is not None))
    return Plan(items=items + deletions, live=live_objects, next_missing_runs=next_missing,
                owned_live_count=owned_live, max_delete_ratio=policy.max_delete_ratio,
                live_duplicates=duplicates, duplicate_findings=found.findings, renamed=moved, index=index)


def _remove_duplicate(removal: DuplicateRemoval) -> PlanItem:
    """Not a removal for the deletion guard: the object stays in NetBox, once."""
    extra = removal.extra
    return PlanItem(type=extra.type, key=extra.key, action="delete", netbox_id=extra.id, reason=removal.reason,
                    live_fields=dict(extra.fields), duplicate_of=removal.kept.id)


def _hold_protected(deletions: list[PlanItem], live: Mapping[str, Mapping[Key, LiveObject]]) -> list[PlanItem]:
    """Deletions NetBox would refuse: a live object that stays (a person's, or ours) still points at
    the object through a protected reference (a prefix at its VLAN). They are kept, with the reason,
    until nothing does; holding one may protect what it points at in turn."""
    doomed = {(item.type, item.key): item for item in deletions}
    held: list[PlanItem] = []
    changed = True
    while changed:
        changed = False
        for t in TYPES.values():
            for key, obj in live.get(t.name, {}).items():
                if (t.name, key) in doomed:
                    continue
                for name in t.protected:
                    target = (t.refs[name], tuple(obj.fields.get(name) or ()))
                    item = doomed.pop(target, None)
                    if item is None:
                        continue
                    item.action, item.removal = "orphan", False
                    item.reason += f"; kept: {t.name} {key_text(key)} still points at it ({name})"
                    held.append(item)
                    changed = True
    return held


def _ends(t: NetBoxType, fields: Mapping[str, Any]) -> set:
    return {end for name in t.symmetric or () for end in fields.get(name) or ()}


def match_moved_ends(
    desired: Mapping[str, Mapping[Key, DesiredObject]], live: Mapping[str, Mapping[Key, LiveObject]],
) -> dict[tuple[str, Key], Key]:
    """(type, live key) -> desired key for a moved cable end: our cable no longer desired that
    shares an end with a desired one not in NetBox is that cable moved, one PATCH (NetBox would
    refuse a second cable on the end that stays, and the grace runs would hold the old one)."""
    renames: dict[tuple[str, Key], Key] = {}
    for t in TYPES.values():
        if not t.symmetric:
            continue
        wanted, present = desired.get(t.name, {}), live.get(t.name, {})
        spare = {key: obj for key, obj in present.items() if key not in wanted and obj.owned}
        for key, obj in wanted.items():
            if key in present or not spare:
                continue
            ends = _ends(t, obj.fields)
            old = next((k for k, other in spare.items() if _ends(t, other.fields) & ends), None)
            if old is not None:
                renames[(t.name, old)] = key
                del spare[old]
    return renames


def ip_span(fields: Mapping[str, Any]) -> tuple[Key, int, int, int] | None:
    """An IP range's (VRF key, family, first, last) from its comparison-form fields."""
    start, end = fields.get("start_address"), fields.get("end_address")
    if not start or not end:
        return None
    first, last = ipaddress.ip_interface(start), ipaddress.ip_interface(end)
    return tuple(fields.get("vrf") or ()), first.version, int(first.ip), int(last.ip)


def _overlap(a: tuple[Key, int, int, int] | None, b: tuple[Key, int, int, int] | None) -> bool:
    return a is not None and b is not None and a[:2] == b[:2] and a[2] <= b[3] and b[2] <= a[3]


def match_moved_ranges(
    desired: Mapping[str, Mapping[Key, DesiredObject]], live: Mapping[str, Mapping[Key, LiveObject]],
) -> dict[tuple[str, Key], Key]:
    """(ip_ranges, live key) -> desired key for a range whose start or end moved: our range no
    longer desired that overlaps a desired one not in NetBox, in the same VRF, is that range,
    one PATCH (NetBox refuses overlapping ranges, and the grace runs would hold the old one)."""
    renames: dict[tuple[str, Key], Key] = {}
    wanted, present = desired.get("ip_ranges", {}), live.get("ip_ranges", {})
    spare = {key: ip_span(obj.fields) for key, obj in present.items() if key not in wanted and obj.owned}
    for key, obj in wanted.items():
        if key in present or not spare:
            continue
        span = ip_span(obj.fields)
        old = next((k for k, other in spare.items() if _overlap(span, other)), None)
        if old is not None:
            renames[("ip_ranges", old)] = key
            del spare[old]
    return renames


def match_renames(
    desired: Mapping[str, Mapping[Key, DesiredObject]], live: Mapping[str, Mapping[Key, LiveObject]],
    stable_keys: Mapping[str, tuple[str, ...]],
) -> dict[tuple[str, Key], Key]:
    """(type, live key) -> desired key, for objects whose stable key matches across a rename."""
    renames: dict[tuple[str, Key], Key] = {}
    for type_name, stable_key in stable_keys.items():
        t = TYPES[type_name]
        wanted, present = desired.get(t.name, {}), live.get(t.name, {})
        gone: dict[Key, Key] = {}
        for key, obj in present.items():
            stable = stable_key_of(t, stable_key, obj.fields)
            if key not in wanted and stable is not None:
                gone.setdefault(stable, key)
        for key, obj in wanted.items():
            stable = stable_key_of(t, stable_key, obj.fields) if key not in present else None
            old = gone.pop(stable, None) if stable is not None else None
            if old is not None:
                renames[(t.name, old)] = key
    return renames


def _plan_desired(
    t: NetBoxType, obj: DesiredObject, live: LiveObject | None, entry: Mapping[str, Any] | None,
    skipped: set[tuple[str, Key]], adopt: bool | Iterable[str], drift_policy: DriftPolicy,
    owner_tag: str,
) -> PlanItem:
    written = managed_view(t, obj.fields)
    item = PlanItem(type=t.name, key=obj.key, action="unchanged", desired_hash=hash_managed(written),
                    written_fields=written, instances=tuple(sorted(obj.instances)),
                    netbox_id=None if live is None else live.id,
                    provenance={name: _provenance_json(p) for name, p in obj.provenance.items()})
    parent = _parent_key(t, obj.fields)
    if live is None:
        if parent in skipped:
            item.action, item.reason = "skip", f"parent {key_text(parent[1])} is not managed"
            return item
        # The managed fields were normalised once above (`written`); only the rest is normalised here.
        fields = {k: written[k] if k in written else normalise_field(t, k, v) for k, v in obj.fields.items()
                  if k in t.compared and v is not None and v != () and v != {}}
        for name, value in t.create_only.items():
            if fields.get(name) is None:
                fields[name] = value
        item.action = "create"
        item.payload_fields = fields
        item.changes = {k: (None, v) for k, v in fields.items()}
        item.reason = "recreate: missing from NetBox" if entry is not None else "new"
        return item
    owned = _is_owned(t, live, entry)
    adopting = not owned and _adopts(adopt, t.name)
    if not owned and not adopting:
        if t.reference:
            item.reason = "exists, not owned"
        else:
            item.action = "skip"
            item.reason = (f"exists in NetBox (id {live.id}) without the owner tag {owner_tag!r}; "
                           f"not adopted (adopt {t.name} to manage it)")
        return item
    last_written = entry.get("last_written") if entry is not None and owned else None
    found = diff_fields(t, written, live.fields, last_written, drift_policy=drift_policy, normalised=True)
    item.changes, item.payload_fields, item.drift = found.changes, found.payload, found.drift
    if item.changes:
        item.action = "update"
    reasons = []
    if adopting:
        reasons.append("adopted")
    if item.changes:
        reasons.append("changed: " + ", ".join(item.changes))
    if item.drift:
        verb = "overwritten" if drift_policy == "overwrite" else "kept"
        reasons.append(f"drift in NetBox ({verb}): " + ", ".join(item.drift))
    item.reason = "; ".join(reasons) or "in sync"
    return item


def _provenance_json(provenance: Any) -> Any:
    if hasattr(provenance, "model_dump"):
        return _provenance_model_json(provenance)
    return jsonable(provenance)


@lru_cache(maxsize=1 << 14)
def _provenance_model_json(provenance: Any) -> dict[str, Any]:
    # A record's fields share one immutable entry (see sources.base.stamp_provenance): dumped once.
    # Read-only from here on: the plan stores it and never changes it.
    return provenance.model_dump(mode="json")


def _plan_orphan(
    t: NetBoxType, live: LiveObject, entry: Mapping[str, Any] | None, healthy: set,
    grace_runs: int, deletion_mode: DeletionMode, parent_gone: bool = False,
    blind: set[tuple[str, str]] | frozenset = frozenset(),
) -> PlanItem:
    """`blind`: instances that could not observe this type this run (their absences do not count)."""
    instances = tuple(sorted(tuple(i) for i in (entry or {}).get("instances", []) or []))
    missing = int((entry or {}).get("missing_runs", 0) or 0)
    unhealthy = [i for i in instances if i not in healthy or i in blind]
    counted = bool(instances) and not unhealthy
    runs = missing + 1 if counted else missing
    item = PlanItem(type=t.name, key=live.key, action="orphan", netbox_id=live.id,
                    instances=instances, missing_runs=runs)
    if not instances:
        item.reason = "absent from every source; no owning source instance recorded, not counted"
    elif unhealthy:
        names = ", ".join(f"{k}/{n}" for k, n in unhealthy)
        why = ("did not succeed with records" if any(i not in healthy for i in unhealthy)
               else f"could not observe {t.name}")
        item.reason = f"absent, but {names} {why} this run; not counted ({runs}/{grace_runs})"
    elif not t.prunable:
        item.reason = f"absent from every source for {runs} run(s); {t.name} are never pruned"
    elif runs < grace_runs:
        item.reason = f"absent from every source for {runs}/{grace_runs} runs"
    elif deletion_mode == "offline" and t.offline_status:
        current = live.fields.get("status")
        if current == t.offline_status:
            item.action, item.reason = "unchanged", f"absent for {runs} runs; already {t.offline_status}"
        else:
            item.action, item.removal = "update", True
            item.changes = {"status": (current, t.offline_status)}
            item.payload_fields = {"status": t.offline_status}
            item.reason = f"absent for {runs} runs: set {t.offline_status}"
    elif deletion_mode == "offline" and parent_gone:
        # Deleting an interface deletes its addresses in NetBox: keep what a retired object holds.
        item.reason = f"absent for {runs} runs; kept with its retired parent (offline mode)"
    else:
        item.action, item.removal = "delete", True
        item.reason = f"absent from every source for {runs} runs (grace {grace_runs})"
        item.live_fields = dict(live.fields)
    return item


def attach_cascades(deletions: list[PlanItem], live: Mapping[str, Mapping[Key, LiveObject]]) -> None:
    """Give each delete the live objects NetBox will delete with it that nothing else deletes
    (a person's interface on a pruned device, the addresses on it), so an undo can recreate them."""
    deleted = {(item.type, tuple(item.key)): item for item in deletions}
    if not deleted:
        return
    parents: dict[tuple[str, Key], tuple[str, Key]] = {}
    for t in TYPES.values():
        for key, obj in live.get(t.name, {}).items():
            parent = _parent_key(t, obj.fields)
            if parent is not None:
                parents[(t.name, key)] = (parent[0], tuple(parent[1]))
    for t in TYPES.values():  # parents before children, so the cascades list is in creation order
        for key, obj in live.get(t.name, {}).items():
            if (t.name, key) in deleted:
                continue
            ancestor = parents.get((t.name, key))
            while ancestor is not None and ancestor not in deleted:
                ancestor = parents.get(ancestor)
            if ancestor is not None:
                deleted[ancestor].cascades.append((t.name, key, obj.id, dict(obj.fields)))


# --------------------------------------------------------------------------- blocking checks


def validate_plan(plan: Plan, desired: DesiredObjects | Mapping[str, Any]) -> list[Problem]:
    """Rules NetBox would reject, found before any write (plus the problems `desired` found)."""
    problems = list(getattr(desired, "problems", []))
    active = {(i.type, i.key) for i in plan.items if i.action in ("create", "update", "unchanged")}
    problems += _platform_manufacturer(plan, desired, active)
    problems += _duplicate_device_names(plan, desired)
    problems += _primary_ip_on_own_interface(desired, active)
    problems += _mac_collisions(desired)
    problems += _cable_ends_taken(plan, desired)
    problems += _ranges_overlapping_netbox(plan, desired)
    for finding in plan.duplicate_findings:
        problems.append(Problem("live_duplicate", "warning", finding.type, finding.key, finding.message))
    problems += near_names(plan, desired)
    return problems


def near_names(plan: Plan, desired: Mapping[str, Any]) -> list[Problem]:
    """A warning for each new site, role, manufacturer... whose name is one typo away from one that
    exists (in NetBox or in the inventory): it is still created as written, but a person is told.
    Of two new names close to each other, the one fewer records name is taken for the typo."""
    problems = []
    uses: dict[tuple[str, Key], int] | None = None
    for item in plan.items:
        name_field = SLUGGED.get(item.type)
        if item.action != "create" or name_field is None:
            continue
        objects = desired.get(item.type, {})
        obj = objects.get(item.key)
        name = obj.fields.get(name_field) if obj is not None else None
        if not isinstance(name, str) or len(name) < 4:
            continue
        scope = item.key[:-1]  # a location is compared with the locations of its own site only
        close = {o.fields.get(name_field): None for k, o in plan.live.get(item.type, {}).items() if k[:-1] == scope
                 and isinstance(o.fields.get(name_field), str) and _one_typo_apart(name, o.fields[name_field])}
        new_close = {k: o.fields.get(name_field) for k, o in objects.items() if k != item.key and k[:-1] == scope
                     and k not in plan.live.get(item.type, {}) and isinstance(o.fields.get(name_field), str)
                     and _one_typo_apart(name, o.fields[name_field])}
        if new_close:
            uses = uses if uses is not None else _reference_counts(desired)
            mine = (uses.get((item.type, item.key), 0), name)
            close.update({n: None for k, n in new_close.items() if (uses.get((item.type, k), 0), n) > mine})
        if close:
            where = _first_location(obj, item.key, desired)
            problems.append(Problem(
                "near_name", "warning", item.type, item.key,
                (f"{where}: " if where else "") + f"new {item.type.rstrip('s').replace('_', ' ')} {name!r} is close "
                f"to {' and '.join(repr(c) for c in sorted(close))}; it is created as written: check the spelling",
                where))
    return problems


def _reference_counts(desired: Mapping[str, Any]) -> dict[tuple[str, Key], int]:
    """(type, key) -> how many desired objects name it in a reference field (as each type declares them)."""
    counts: dict[tuple[str, Key], int] = {}
    for type_name, objects in desired.items():
        named = {name: target for name, target in TYPES[type_name].refs.items() if target in SLUGGED}
        for obj in objects.values():
            for field_name, target in named.items():
                value = obj.fields.get(field_name)
                if isinstance(value, tuple):
                    counts[(target, value)] = counts.get((target, value), 0) + 1
    return counts


def _one_typo_apart(name: str, other: str) -> bool:
    """Within one edit (two for names of 8+ characters): a letter left out, added, changed or two swapped."""
    a, b = name.casefold(), other.casefold()
    if slugify(a) == slugify(b) or a.rstrip("0123456789") == b.rstrip("0123456789") or _siblings(a, b):
        return False  # one slug (the slug check's business), or numbered or lettered siblings (rack-1, site-a)
    return _edit_distance(a, b) <= (2 if min(len(a), len(b)) >= 8 else 1)


_LAST_PART = re.compile(r"^(.*[\s._-])([^\s._-]{1,2})$")


def _siblings(a: str, b: str) -> bool:
    """Lettered siblings: the same name but for a short last part after a separator
    (`site-a`/`site-b`, `Building A`/`Building B`, `pdu.l`/`pdu.r`) name two things on purpose."""
    first, second = _LAST_PART.match(a), _LAST_PART.match(b)
    return bool(first and second and first[1] == second[1])


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent swaps)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def _first_location(obj: DesiredObject, key: Key, desired: Mapping[str, Any]) -> str | None:
    """Where the name came from: the object's own record, else the first record naming it."""
    for entry in obj.provenance.values():
        if entry.location:
            return entry.location
    for objects in desired.values():
        for other in objects.values():
            for field_name, value in other.fields.items():
                entry = other.provenance.get(field_name)
                if value == key and entry is not None and entry.location:
                    return entry.location
    return None


def _platform_manufacturer(plan: Plan, desired: Mapping[str, Any], active: set) -> list[Problem]:
    problems = []
    for key, device in desired.get("devices", {}).items():
        platform, device_type = device.fields.get("platform"), device.fields.get("device_type")
        if ("devices", key) not in active or not platform or not device_type:
            continue
        source = desired.get("platforms", {}).get(tuple(platform))
        platform_manufacturer = source.fields.get("manufacturer") if source else None
        if platform_manufacturer is None:
            live = plan.live.get("platforms", {}).get(tuple(platform))
            platform_manufacturer = live.fields.get("manufacturer") if live else None
        if platform_manufacturer and tuple(platform_manufacturer) != (device_type[0],):
            problems.append(Problem(
                "platform_manufacturer", "error", "devices", key,
                f"platform {key_text(platform)} belongs to manufacturer "
                f"{key_text(platform_manufacturer)} but device type {key_text(device_type)} "
                f"to {device_type[0]}; NetBox rejects the device",
            ))
    return problems


def _cable_ends_taken(plan: Plan, desired: Mapping[str, Any]) -> list[Problem]:
    """An interface holds one cable: a cable of the files whose end NetBox already has cabled by a
    cable that stays (a person's, or ours kept during the grace runs) is an error before any write."""
    problems = []
    for t in TYPES.values():
        if not t.symmetric:
            continue
        wanted = desired.get(t.name, {})
        leaving = {i.key for i in plan.items if i.type == t.name and i.action == "delete" and i.duplicate_of is None}
        staying: dict[Any, tuple[Key, LiveObject]] = {}
        for key, obj in plan.live.get(t.name, {}).items():
            if key not in wanted and key not in leaving:
                for end in _ends(t, obj.fields):
                    staying[end] = (key, obj)
        for item in plan.items:
            if item.type != t.name or item.action not in ("create", "update"):
                continue
            for end in sorted(_ends(t, wanted[item.key].fields), key=repr):
                if end in staying:
                    other_key, other = staying[end]
                    whose = "ours, absent from the files" if other.owned else "not ours"
                    where = next((p.location for p in wanted[item.key].provenance.values() if p.location), None)
                    problems.append(Problem(
                        "cable_end_taken", "error", t.name, item.key,
                        f"cable {key_text(item.key)}: interface {key_text(end[1])} is already cabled in NetBox by "
                        f"cable id {other.id} ({key_text(other_key)}, {whose}); remove that cable or this one",
                        where,
                    ))
    return problems


def _ranges_overlapping_netbox(plan: Plan, desired: Mapping[str, Any]) -> list[Problem]:
    """NetBox refuses a range that overlaps another of the same VRF: a range of the files to be
    written over one NetBox holds (a person's, or ours still in its grace runs) is an error first."""
    problems = []
    live = plan.live.get("ip_ranges", {})
    spans = {key: ip_span(obj.fields) for key, obj in live.items()}
    for item in plan.items:
        if item.type != "ip_ranges" or item.action not in ("create", "update"):
            continue
        wanted = desired.get("ip_ranges", {}).get(item.key)
        span = ip_span(wanted.fields) if wanted else None
        other = next((k for k, s in spans.items() if k != item.key and _overlap(span, s)), None)
        if other is None:
            continue
        whose = "ours, absent from the files" if live[other].owned else "not ours"
        where = next((p.location for p in wanted.provenance.values() if p.location), None)
        table = f"VRF {other[0]}" if other[0] else "the global table"
        problems.append(Problem(
            "ip_range_overlap", "error", "ip_ranges", item.key,
            f"IP range {item.key[1]}-{item.key[2]} overlaps NetBox's IP range id {live[other].id} "
            f"({other[1]}-{other[2]}, {whose}) in {table}; NetBox refuses overlapping ranges",
            where,
        ))
    return problems


def _duplicate_device_names(plan: Plan, desired: Mapping[str, Any]) -> list[Problem]:
    """NetBox compares names per site with SQL LOWER(); keys fold with casefold()."""
    problems = []
    seen: dict[tuple, Key] = {}
    for key, device in desired.get("devices", {}).items():
        name_key = (device.fields.get("site"), str(device.fields.get("name", "")).strip().lower())
        if name_key in seen:
            problems.append(Problem(
                "duplicate_device_name", "error", "devices", key,
                f"device name {device.fields.get('name')!r} is used twice at site "
                f"{key_text(name_key[0] or ())} (NetBox ignores case)"))
        seen.setdefault(name_key, key)
    for key, live in plan.live.get("devices", {}).items():
        name_key = (live.fields.get("site"), str(live.fields.get("name") or "").strip().lower())
        other = seen.get(name_key)
        if other is not None and other != key and other not in plan.live.get("devices", {}):
            problems.append(Problem(
                "duplicate_device_name", "error", "devices", other,
                f"device {key_text(other)} would duplicate NetBox device id {live.id} "
                f"{live.fields.get('name')!r} at the same site (NetBox ignores case)"))
    return problems


def _primary_ip_on_own_interface(desired: Mapping[str, Any], active: set) -> list[Problem]:
    problems = []
    for owner_type, interface_type in (("devices", "interfaces"), ("virtual_machines", "vm_interfaces")):
        for key, obj in desired.get(owner_type, {}).items():
            primary = obj.fields.get("primary_ip4")
            if not primary or (owner_type, key) not in active:
                continue
            address = desired.get("ip_addresses", {}).get(tuple(primary))
            assigned = address.fields.get("assigned_object") if address else None
            on_own = (assigned is not None and assigned[0] == interface_type
                      and tuple(assigned[1][: len(key)]) == tuple(key))
            if not on_own:
                problems.append(Problem(
                    "primary_ip_not_on_device", "error", owner_type, key,
                    f"primary_ip4 {primary[-1]}{f' in VRF {primary[0]}' if primary[0] else ''} is not on an interface of "
                    f"{key_text(key)}; NetBox rejects it"))
    return problems


def _mac_collisions(desired: Mapping[str, Any]) -> list[Problem]:
    parents: dict[str, set[Key]] = {}
    for obj in desired.get("mac_addresses", {}).values():
        interface_type, interface_key = obj.fields["assigned_object"]
        parent_len = len(interface_key) - 1
        parents.setdefault(obj.fields["mac_address"], set()).add(
            (interface_type, *interface_key[:parent_len]))
    return [
        Problem("identity_collision", "error", "mac_addresses", (mac,),
                f"MAC {mac} is claimed by {len(owners)} different parents: "
                + ", ".join(sorted(key_text(o) for o in owners)))
        for mac, owners in sorted(parents.items()) if len(owners) > 1
    ]


def blocking(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


# Checks whose finding names objects the plan can leave out; every other error was already
# handled while the desired objects were built (the object, or its second claim, left out).
_EXCLUDE_NAMED = frozenset({"platform_manufacturer", "duplicate_device_name", "cable_end_taken", "slug_collision",
                            "ip_range_overlap"})


def exclude_rejected(plan: Plan, desired: Mapping[str, Any], problems: Iterable[Problem]) -> list[Problem]:
    """Leaves out what NetBox would reject, and what depends on it, so everything else is written.

    Each error becomes severity "excluded", its message prefixed with where the object came from
    (file:line, or the source instance); the plan's items for the offending objects are skips
    whose reason says why. A primary IP that is not on the device only leaves that field out.
    """
    items = {(item.type, item.key): item for item in plan.items}
    excluded: dict[tuple[str, Key], str] = {}
    out: list[Problem] = []
    for problem in problems:
        if problem.severity != "error":
            out.append(problem)
            continue
        targets = _offending(problem, items)
        where = problem.location or next(filter(None, (_location(desired, target) for target in
                                                       targets or [(problem.type, problem.key)])), None)
        message = f"{where}: {problem.message}" if where else problem.message
        if problem.check == "primary_ip_not_on_device":
            _leave_out_field(items.get((problem.type, problem.key)), "primary_ip4", message)
        else:
            for target in targets:
                excluded.setdefault(target, message)
        out.append(replace(problem, severity="excluded", message=message, location=where))
    _skip_with_dependents(plan, excluded)
    if excluded:
        _skip_named_only_by_skipped(plan, desired)
    return out


def _offending(problem: Problem, items: Mapping[tuple[str, Key], PlanItem]) -> list[tuple[str, Key]]:
    if problem.type is None or problem.key is None:
        return []
    if problem.check == "identity_collision" and problem.type == "mac_addresses":
        mac = problem.key[0]
        return [k for k in items if k[0] == "mac_addresses" and k[1] and k[1][-1] == mac]
    if problem.check in _EXCLUDE_NAMED and (problem.type, tuple(problem.key)) in items:
        return [(problem.type, tuple(problem.key))]
    return []


def _location(desired: Mapping[str, Any], target: tuple[str | None, Key | None]) -> str | None:
    """Where an object came from: its own provenance, else its parent's (a MAC's interface's device)."""
    type_name, key = target
    for _ in range(4):
        if type_name is None or key is None:
            return None
        obj = desired.get(type_name, {}).get(tuple(key))
        if obj is None:
            return None
        for entry in obj.provenance.values():
            if entry.location:
                return entry.location
            return f"{entry.source_kind}:{entry.instance}"
        parent = _parent_key(TYPES[type_name], obj.fields)
        if parent is None:
            return None
        type_name, key = parent
    return None


def _leave_out_field(item: PlanItem | None, name: str, message: str) -> None:
    if item is None or name not in item.written_fields:
        return
    item.written_fields = {k: v for k, v in item.written_fields.items() if k != name}
    item.payload_fields = {k: v for k, v in item.payload_fields.items() if k != name}
    item.changes = {k: v for k, v in item.changes.items() if k != name}
    item.desired_hash = hash_managed(item.written_fields)
    if item.action == "update" and not item.changes:
        item.action = "unchanged"
    item.reason = f"{item.reason}; {name} left out: {message}" if item.reason else f"{name} left out: {message}"


def _skip_with_dependents(plan: Plan, excluded: Mapping[tuple[str, Key], str]) -> None:
    """Skips the excluded items, then (in dependency order) every write that needs an excluded
    object NetBox does not hold yet; a second-pass field that names one (an interface's primary
    MAC) is left out instead, and the object is written without it."""
    missing: set[tuple[str, Key]] = set()
    for item in plan.items:
        if item.action not in ("create", "update", "unchanged"):
            continue
        reason = excluded.get((item.type, item.key))
        if reason is None:
            needed = next((ref for name, ref in _references(item)
                           if ref in missing and name not in TYPES[item.type].second_pass), None)
            if needed is None:
                continue
            reason = f"needs {needed[0]} {key_text(needed[1])}, which is excluded"
        if item.action == "create":
            missing.add((item.type, item.key))
        item.action, item.reason = "skip", f"excluded: {reason}"
    for item in plan.items:
        if item.action not in ("create", "update"):
            continue
        for name, ref in list(_references(item)):
            if ref in missing and name in TYPES[item.type].second_pass:
                _leave_out_field(item, name, f"{ref[0]} {key_text(ref[1])} is excluded")


def _skip_named_only_by_skipped(plan: Plan, desired: Mapping[str, Any]) -> None:
    """A new site, role, manufacturer... that no record declares and that only excluded records name
    is not created either: a bad record must not leave a stray object in NetBox. Walked against the
    write order, so a device type's manufacturer follows the device type."""
    uses: dict[tuple[str, Key], int] = {}
    named_by_skipped: dict[tuple[str, Key], PlanItem] = {}
    for item in plan.items:
        for _, ref in _references(item):
            if item.action in ("create", "update", "unchanged"):
                uses[ref] = uses.get(ref, 0) + 1
            elif item.action == "skip" and item.reason.startswith("excluded:"):
                named_by_skipped.setdefault(ref, item)
    for item in reversed(plan.items):
        target = (item.type, item.key)
        if item.action != "create" or uses.get(target) or target not in named_by_skipped:
            continue
        obj = desired.get(item.type, {}).get(item.key)
        if obj is None or obj.provenance:  # declared by a record of its own: written as declared
            continue
        by = named_by_skipped[target]
        item.action, item.reason = "skip", f"excluded: named only by excluded {by.type} {key_text(by.key)}"
        for _, ref in _references(item):
            uses[ref] = uses.get(ref, 0) - 1
            named_by_skipped.setdefault(ref, item)


def _references(item: PlanItem) -> Iterable[tuple[str, tuple[str, Key]]]:
    """(field, (type, key)) for every object the item's fields name."""
    t = TYPES[item.type]
    # A create's payload holds its key fields too (an interface's device); an update's object
    # exists, so its parent does, and only the managed fields can name something new.
    fields = {**item.written_fields, **item.payload_fields}
    for name, target in t.refs.items():
        if fields.get(name):
            yield name, (target, tuple(fields[name]))
    for name, target in t.ref_lists.items():
        for value in fields.get(name) or ():
            yield name, (target, tuple(value))
    for name in t.generic_refs:
        value = fields.get(name)
        if value:
            yield name, (value[0], tuple(value[1]))
