"""Apply one NetBox type's slice of a plan: chunked bulk writes, references resolved to ids.

Three phases per type, run by separate assets in dependency order: `first` (creates and updates of
everything but second-pass fields), `second` (fields that point at objects written later, such as
a device's primary IP) and `delete` (prunes, children first). One object's rejection never stops
the others: it is recorded with NetBox's reason and reported at the end.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from netbox_pipeline.model import key_text
from netbox_pipeline.netbox.client import BulkOutcome, NetBoxClient, NetBoxError, UncertainWrite
from netbox_pipeline.netbox.items import PlanItem
from netbox_pipeline.netbox.schema import (
    LiveIndex,
    UnresolvedReference,
    from_live,
    get_type,
    to_payload,
)
from netbox_pipeline.values import jsonable

log = logging.getLogger(__name__)

Phase = Literal["first", "second", "delete"]
GONE = "already gone from NetBox (deleted since the plan read it)"
Key = tuple


@dataclass
class AppliedChange:
    """One audit row: what was (or would have been) written, before and after."""

    type: str
    key: Key
    action: str
    netbox_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    status: Literal["applied", "failed", "skipped"]
    error: str | None = None
    item: PlanItem | None = None

    def row(self) -> dict[str, Any]:
        return {
            "object_type": self.type,
            "natural_key": key_text(self.key),
            "netbox_id": self.netbox_id,
            "action": self.action,
            "before": jsonable(self.before),
            "after": jsonable(self.after),
            "status": self.status,
            "error": self.error,
        }


@dataclass
class TypeResult:
    type: str
    phase: Phase
    created: int = 0
    updated: int = 0
    deleted: int = 0
    gone: int = 0  # to delete, but already deleted by someone else
    unchanged: int = 0
    skipped: int = 0
    requests: int = 0
    changes: list[AppliedChange] = field(default_factory=list)

    def absorb(self, other: "TypeResult") -> None:
        """Add another type's counts and changes (for steps that apply several types)."""
        for name in ("created", "updated", "deleted", "gone", "unchanged", "skipped", "requests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.changes += other.changes

    @property
    def failures(self) -> list[AppliedChange]:
        return [c for c in self.changes if c.status == "failed"]

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "gone": self.gone,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": len(self.failures),
            "requests": self.requests,
        }

    def failure_summary(self) -> str:
        lines = [f"{len(self.failures)} {self.type} object(s) were rejected:"]
        lines += [f"  {key_text(c.key)} ({c.action}): {c.error}" for c in self.failures[:50]]
        if len(self.failures) > 50:
            lines.append(f"  … and {len(self.failures) - 50} more (see the staging DB's applied_changes)")
        return "\n".join(lines)


def build_id_index(items: Iterable[PlanItem], known_ids: dict[tuple[str, str], int]) -> LiveIndex:
    """id <-> natural key for every object the plan touches or references (a removed duplicate's
    key resolves to the copy kept)."""
    return index_ids(((item.type, item.key, item.netbox_id) for item in items if item.duplicate_of is None), known_ids)


def index_ids(entries: Iterable[tuple[str, Key, int | None]], known_ids: dict[tuple[str, str], int]) -> LiveIndex:
    """id <-> natural key from (type, key, id known to the plan) entries.

    `known_ids` maps (type, key text) to ids written by earlier steps (the staging object map),
    so a step in another process sees the objects created upstream in the same sync.
    """
    index = LiveIndex()
    for type_name, key, plan_id in entries:
        netbox_id = plan_id or known_ids.get((type_name, key_text(key)))
        if netbox_id:
            index.id_to_key[(type_name, netbox_id)] = key
            index.key_to_id[(type_name, key)] = netbox_id
    return index


def apply_slice(
    client: NetBoxClient | None,
    type_name: str,
    items: list[PlanItem],
    index: LiveIndex,
    *,
    phase: Phase,
    chunk_size: int = 100,
    dry_run: bool = False,
    owner_tag: str = "netbox-pipeline",
) -> TypeResult:
    """Write this type's items for one phase; `index` gains the ids of created objects."""
    result = TypeResult(type_name, phase)
    before_requests = client.stats.total if client else 0
    if phase == "delete":
        _delete(client, type_name, [i for i in items if i.action == "delete"], result, chunk_size, dry_run)
    else:
        _write(client, type_name, items, index, result, phase, chunk_size, dry_run, owner_tag)
    result.requests = (client.stats.total - before_requests) if client else 0
    return result


def _write(client, type_name, items, index, result, phase, chunk_size, dry_run, owner_tag) -> None:
    creates: list[tuple[PlanItem, dict]] = []
    updates: list[tuple[PlanItem, dict]] = []
    for item in items:
        if item.action not in ("create", "update"):
            if phase == "first":
                result.unchanged += item.action == "unchanged"
                result.skipped += item.action in ("skip", "orphan")
            continue
        fields = item.first_pass() if phase == "first" else item.second_pass()
        if not fields:
            continue
        if dry_run or client is None:
            # Ids of objects a real run would create first do not exist: record the intent only.
            result.changes.append(_change(item, fields, "skipped", "dry run: not written"))
            continue
        try:
            body = to_payload(type_name, fields, index.resolve_id)
        except UnresolvedReference as exc:
            result.changes.append(_change(item, fields, "failed", str(exc)))
            continue
        if phase == "first" and item.action == "create":
            creates.append((item, body))
        else:
            object_id = item.netbox_id or index.resolve_id(type_name, item.key)
            if object_id is None:
                result.changes.append(_change(item, fields, "failed", "not created in NetBox, so it cannot be updated"))
                continue
            updates.append((item, {"id": object_id, **body}))

    if creates:
        outcome = client.bulk_create(get_type(type_name).endpoint, [body for _, body in creates], chunk_size)
        if outcome.uncertain:
            _settle_uncertain(client, type_name, creates, outcome, index, chunk_size, owner_tag)
        _record(outcome, creates, index, result, phase, counter="created")
    if updates:
        outcome = client.bulk_update(get_type(type_name).endpoint, [body for _, body in updates], chunk_size)
        for body in outcome.uncertain:  # bulk PATCH is retried by the client; here only if it still failed
            outcome.failed.append((body, "no answer from NetBox"))
        _record(outcome, updates, index, result, phase, counter="updated")


def _record(outcome: BulkOutcome, sent: list[tuple[PlanItem, dict]], index: LiveIndex, result: TypeResult, phase: Phase, counter: str) -> None:
    by_body = {id(body): item for item, body in sent}
    for body, returned in outcome.done:
        item = by_body[id(body)]
        object_id = (returned or {}).get("id") or body.get("id")
        if object_id:
            index.id_to_key[(item.type, object_id)] = item.key
            index.key_to_id[(item.type, item.key)] = object_id
        if item.netbox_id is None:
            item.netbox_id = object_id
        setattr(result, counter, getattr(result, counter) + 1)
        result.changes.append(_change(item, _fields_of(item, phase), "applied"))
    for body, reason in outcome.failed:
        item = by_body[id(body)]
        result.changes.append(_change(item, _fields_of(item, phase), "failed", _reason(reason)))


def _settle_uncertain(client, type_name, creates, outcome: BulkOutcome, index: LiveIndex, chunk_size: int, owner_tag: str) -> None:
    """After POSTs with unknown outcome: wait until they cannot still be running, re-read the type
    and resend only what is not there; a resend without a certain answer goes the same way."""
    nbtype = get_type(type_name)
    by_body = {id(body): item for item, body in creates}
    for _ in range(max(client.retries, 1)):
        settled = client.wait_until_settled(outcome.uncertain_sent_at, content_type=nbtype.content_type,
                                            creates=len(outcome.done) + len(outcome.uncertain))
        log.warning("%d %s create(s) had no certain answer; %s, re-reading %s before resending",
                    len(outcome.uncertain), type_name, settled, type_name)
        found, resend = _find_by_key(client, type_name, [(by_body[id(body)], body) for body in outcome.uncertain], index, owner_tag)
        if found is None:
            outcome.failed.extend((body, "outcome unknown and NetBox could not be re-read") for body in outcome.uncertain)
            outcome.uncertain = []
            return
        outcome.done.extend(found)
        outcome.uncertain = []
        if not resend:
            return
        retry = client.bulk_create(nbtype.endpoint, resend, chunk_size)
        outcome.done.extend(retry.done)
        outcome.failed.extend(retry.failed)
        outcome.uncertain, outcome.uncertain_sent_at = retry.uncertain, retry.uncertain_sent_at
        if not outcome.uncertain:
            return
    outcome.failed.extend((body, "no certain answer from NetBox after retries (not resent again)") for body in outcome.uncertain)
    outcome.uncertain = []


def _find_by_key(client, type_name: str, sent: list[tuple[PlanItem, dict]], index: LiveIndex, owner_tag: str):
    """([(body, object found in NetBox)], [bodies not found]) by natural key; (None, None) when NetBox cannot be read."""
    try:
        live = client.list_all(get_type(type_name).endpoint)
    except NetBoxError:
        return None, None
    existing = {}
    for obj in sorted(live, key=lambda o: o["id"]):
        existing.setdefault(from_live(type_name, obj, index.key_of, owner_tag=owner_tag).key, obj)
    found, missing = [], []
    for item, body in sent:
        obj = existing.get(item.key)
        if obj is None:
            missing.append(body)
        else:
            found.append((body, obj))
    return found, missing


def create_settled(client: NetBoxClient, endpoint: str, body: dict, *, content_type: str, key_field: str = "name") -> dict:
    """Create one object (a bootstrap custom field) the way plan items are created: after an answer
    that never came, wait until the request cannot still be running, re-read by `key_field`, and
    resend only when the object is not there."""
    for _ in range(max(client.retries, 1) + 1):
        try:
            return client.request("POST", endpoint, json=body)
        except UncertainWrite as exc:
            settled = client.wait_until_settled(exc.sent_at, content_type=content_type, creates=1)
            log.warning("creating %s %s had no certain answer; %s, re-reading before resending", endpoint, body.get(key_field), settled)
            existing = client.list_all(endpoint, {key_field: body[key_field]})
            match = [obj for obj in existing if obj.get(key_field) == body[key_field]]
            if match:
                return match[0]
    raise NetBoxError(f"POST {endpoint} {body.get(key_field)}: no certain answer from NetBox after retries (not resent again)")


def _delete(client, type_name, items: list[PlanItem], result: TypeResult, chunk_size: int, dry_run: bool) -> None:
    items = [i for i in items if i.netbox_id]
    if dry_run or client is None:
        result.changes.extend(_change(i, {}, "skipped", "dry run: not deleted") for i in items)
        return
    by_id = {i.netbox_id: i for i in items}
    outcome = client.bulk_delete(get_type(type_name).endpoint, list(by_id), chunk_size)
    for body, _ in outcome.done:
        result.deleted += 1
        item = by_id[body["id"]]
        result.changes.append(_change(item, {}, "applied"))
        result.changes += [_cascaded(item, *cascade) for cascade in item.cascades]
    for body in outcome.gone:  # deleted by someone else since the plan read it: what the plan wanted, not an error
        result.gone += 1
        result.changes.append(_change(by_id[body["id"]], {}, "skipped", GONE))
    for body, reason in outcome.failed + [(b, "no answer from NetBox") for b in outcome.uncertain]:
        result.changes.append(_change(by_id[body["id"]], {}, "failed", _reason(reason)))


def _fields_of(item: PlanItem, phase: Phase) -> dict[str, Any]:
    return item.first_pass() if phase == "first" else item.second_pass()


def _change(item: PlanItem, fields: dict[str, Any], status, error: str | None = None) -> AppliedChange:
    before = {name: item.changes[name][0] for name in fields if name in item.changes}
    if item.action == "delete":
        before, fields = {"id": item.netbox_id, **item.live_fields}, {}
    return AppliedChange(item.type, item.key, item.action, item.netbox_id, before, dict(fields), status, error, item)


def _cascaded(parent: PlanItem, type_name: str, key: Key, netbox_id: int, fields: dict[str, Any]) -> AppliedChange:
    """An object NetBox deleted with `parent` (an interface with its device): recorded so an undo
    can recreate it, though the pipeline never asked for it to go."""
    return AppliedChange(type_name, tuple(key), "cascade", netbox_id, {"id": netbox_id, **fields}, {}, "applied",
                         f"deleted by NetBox with {parent.type} {key_text(parent.key)}")


def _reason(reason: Any) -> str:
    if isinstance(reason, dict):
        parts = []
        for name, messages in reason.items():
            text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
            parts.append(text if name in ("__all__", "non_field_errors", "detail") else f"{name}: {text}")
        return " | ".join(parts)
    return str(reason)

