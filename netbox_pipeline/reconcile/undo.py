"""Undo one run: the writes that take back what it applied, from its recorded before-values.

Pure: given the run's applied changes (oldest first), NetBox's live state and the object map, it
returns plan items apply can write like any plan (creates, updates, deletes) and the conflicts
that stop the undo. Three-way safety: a field is restored only when NetBox still holds what the
run wrote; a value changed since (by a person or a later run) is a conflict, named
`<type> <key>.<field>`, unless the operator forces that field.

- an object the run created is deleted (with the whole object recorded, so that undoing the undo
  recreates it);
- a field the run updated gets its before-value back;
- an object the run deleted (or NetBox deleted with it, action "cascade") is created again from
  its recorded fields; its new id reaches the object map when apply writes it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.items import PlanItem
from netbox_pipeline.netbox.schema import (
    TYPES,
    UNRESOLVED,
    Key,
    LiveObject,
    LiveState,
    get_type,
    key_from_fields,
    normalise_field,
    values_equal,
)
from netbox_pipeline.reconcile.diff import hash_managed, managed_view

REMOVED = ("delete", "cascade")


@dataclass(frozen=True)
class Conflict:
    type: str
    key: str
    field: str
    recorded: Any  # what the undone run wrote (or "absent" for an object it deleted)
    live: Any  # what NetBox holds now
    reason: str

    @property
    def name(self) -> str:
        return f"{self.type} {self.key}.{self.field}"

    def forced_by(self, force_fields: Iterable[str]) -> bool:
        """`--force-field` takes a field name (every object), `<key>.<field>` or `<type> <key>.<field>`."""
        return any(f in (self.field, f"{self.key}.{self.field}", self.name) for f in force_fields)


@dataclass
class UndoPlan:
    items: list[PlanItem] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def writes(self) -> list[PlanItem]:
        return [item for item in self.items if item.action in ("create", "update", "delete")]

    def unforced(self, force_fields: Iterable[str]) -> list[Conflict]:
        forced = list(force_fields)
        return [c for c in self.conflicts if not c.forced_by(forced)]


@dataclass
class _Net:
    """One object's net effect in the undone run (its phases merged)."""

    type: str
    key: str
    action: str
    netbox_id: int | None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None


def net_changes(changes: Iterable[Mapping[str, Any]]) -> list[_Net]:
    """Applied changes (oldest first) merged per object: first and second pass are one write."""
    by_object: dict[tuple[str, str], _Net] = {}
    for change in changes:
        if change.get("status") != "applied":
            continue
        ident = (change["object_type"], change["natural_key"])
        net = by_object.get(ident)
        if net is None:
            net = by_object[ident] = _Net(ident[0], ident[1], change["action"], change.get("netbox_id"),
                                          run_id=change.get("run_id"))
        for name, value in (change.get("before") or {}).items():
            net.before.setdefault(name, value)
        net.after.update(change.get("after") or {})
        net.netbox_id = net.netbox_id or change.get("netbox_id")
    return list(by_object.values())


def build_undo(
    changes: Iterable[Mapping[str, Any]],
    live: LiveState,
    *,
    object_map: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    instances: Mapping[tuple[str, str], tuple[tuple[str, str], ...]] | None = None,
    force_fields: Iterable[str] = (),
    undone: str = "",
) -> UndoPlan:
    """The undo of the given applied changes against NetBox as it is now."""
    forced = list(force_fields)
    object_map = object_map or {}
    instances = instances or {}
    live_by_text = {(name, key_text(key)): obj for name, objects in live.objects.items() for key, obj in objects.items()}
    plan = UndoPlan()
    for net in net_changes(changes):
        if net.type not in TYPES:
            plan.notes.append(f"{net.type} {net.key}: not a managed type any more; left as it is")
            continue
        current = live_by_text.get((net.type, net.key))
        owners = instances.get((net.type, net.key)) or _owners(object_map.get((net.type, net.key)))
        if net.action == "create":
            item = _undo_create(net, current, plan, forced)
        elif net.action in REMOVED:
            item = _undo_delete(net, current, plan)
        else:
            item = _undo_update(net, current, plan, forced, object_map.get((net.type, net.key)))
        if item is not None:
            item.instances = owners
            item.reason = f"undo of {undone or net.run_id}: {item.reason}"
            plan.items.append(item)
    _add_references(plan, live)
    order = {name: i for i, name in enumerate(TYPES)}
    plan.items.sort(key=lambda i: (i.action == "delete", -order[i.type] if i.action == "delete" else order[i.type]))
    return plan


def _owners(entry: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    names = (entry or {}).get("source_kinds") or []
    return tuple(sorted(tuple(n.split(":", 1)) for n in names if ":" in n))


def _undo_create(net: _Net, current: LiveObject | None, plan: UndoPlan, forced: list[str]) -> PlanItem | None:
    if current is None:
        plan.notes.append(f"{net.type} {net.key}: created by the run, already gone from NetBox")
        return None
    t = get_type(net.type)
    for name, written in net.after.items():
        if name in t.compared and name in current.fields and not values_equal(t, name, written, current.fields[name]):
            _conflict(plan, net, name, written, current.fields[name], "changed in NetBox since the run created it", forced)
    item = PlanItem(type=net.type, key=current.key, action="delete", netbox_id=current.id, removal=True,
                    live_fields=dict(current.fields), reason="created by the run: delete")
    return item


def _undo_update(net: _Net, current: LiveObject | None, plan: UndoPlan, forced: list[str],
                 entry: Mapping[str, Any] | None) -> PlanItem | None:
    if current is None:
        _conflict(plan, net, "(object)", "present", "absent", "deleted in NetBox since the run updated it", forced)
        return None
    t = get_type(net.type)
    restore: dict[str, Any] = {}
    changes: dict[str, tuple[Any, Any]] = {}
    for name, written in net.after.items():
        before = normalise_field(t, name, net.before.get(name))
        now = current.fields.get(name)
        if _same(t, name, before, now):
            continue  # already back to the before-value
        changed_since = not values_equal(t, name, written, now)
        if changed_since and not _conflict(plan, net, name, written, now, "changed in NetBox since the run wrote it", forced):
            continue
        restore[name] = before
        changes[name] = (now, before)
    if not restore:
        plan.notes.append(f"{net.type} {net.key}: nothing to restore")
        return None
    written = {**((entry or {}).get("last_written") or {}), **restore}
    written = {k: normalise_field(t, k, v) for k, v in written.items()}
    return PlanItem(type=net.type, key=current.key, action="update", netbox_id=current.id, changes=changes,
                    payload_fields=restore, written_fields=written, desired_hash=hash_managed(written),
                    reason="restore " + ", ".join(restore))


def _undo_delete(net: _Net, current: LiveObject | None, plan: UndoPlan) -> PlanItem | None:
    if current is not None:
        plan.notes.append(f"{net.type} {net.key}: deleted by the run, exists again in NetBox (id {current.id}); left as it is")
        return None
    if not set(net.before) - {"id"}:
        plan.notes.append(f"{net.type} {net.key}: deleted before deletes recorded their fields; cannot be recreated")
        return None
    t = get_type(net.type)
    fields = {}
    for name, value in net.before.items():
        if name == "id" or name not in t.compared or value is None or _unresolved(value):
            continue
        normalised = normalise_field(t, name, value)
        if normalised not in ((), {}):
            fields[name] = normalised
    for name, value in t.create_only.items():
        fields.setdefault(name, value)
    key = _key_of(t.name, fields, net.key)
    written = managed_view(t, fields)
    return PlanItem(type=net.type, key=key, action="create", changes={k: (None, v) for k, v in fields.items()},
                    payload_fields=fields, written_fields=written, desired_hash=hash_managed(written),
                    reason=f"{'deleted with its parent' if net.action == 'cascade' else 'deleted'} by the run: recreate")


def _key_of(type_name: str, fields: Mapping[str, Any], text: str) -> Key:
    try:
        return key_from_fields(type_name, fields)
    except (KeyError, TypeError, ValueError):
        return tuple(text.split("/"))


def _unresolved(value: Any) -> bool:
    """A reference whose target was not read (UNRESOLVED marker) cannot be written back."""
    if isinstance(value, (list, tuple)):
        return bool(value) and (value[0] == UNRESOLVED or any(_unresolved(v) for v in value if isinstance(v, (list, tuple))))
    return False


def _same(t, name: str, a: Any, b: Any) -> bool:
    """Strict equality in comparison form (tags: the same set, not a subset)."""
    return normalise_field(t, name, a) == normalise_field(t, name, b)


def _conflict(plan: UndoPlan, net: _Net, name: str, recorded: Any, live: Any, reason: str, forced: list[str]) -> bool:
    """Record a conflict; True when the operator forced it (the undo writes it anyway)."""
    conflict = Conflict(net.type, net.key, name, recorded, live, reason)
    plan.conflicts.append(conflict)
    return conflict.forced_by(forced)


def _add_references(plan: UndoPlan, live: LiveState) -> None:
    """Objects the undo's writes point at that exist in NetBox, as "unchanged" items carrying their
    ids: apply resolves references from the plan (objects the undo recreates, from the object map)."""
    have = {(item.type, tuple(item.key)) for item in plan.items}
    wanted: set[tuple[str, Key]] = set()
    for item in plan.items:
        t = get_type(item.type)
        for name, value in item.payload_fields.items():
            if value is None:
                continue
            kind = t.kind(name)
            if kind == "ref":
                wanted.add((t.refs[name], tuple(value)))
            elif kind == "generic_ref":
                wanted.add((value[0], tuple(value[1])))
            elif kind == "tags":
                wanted.update(("tags", (slug,)) for slug in value)
    for type_name, key in sorted(wanted - have, key=repr):
        obj = live.objects.get(type_name, {}).get(key)
        if obj is not None:
            plan.items.append(PlanItem(type=type_name, key=key, action="unchanged", netbox_id=obj.id, reason="referenced"))
