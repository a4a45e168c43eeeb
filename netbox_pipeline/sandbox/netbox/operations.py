"""Writes: single and bulk create / update / delete, delete cascades, tokens, OPTIONS metadata."""

import secrets
import string
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import auth, bulk_errors, render
from .resources import BY_ENDPOINT, GENERIC, RESOURCES, Resource, endpoint_for_schema
from .store import Record
from .writes import NON_FIELD, REQUIRED, Invalid, now_stamp, validate

if TYPE_CHECKING:
    from .api import Api, Reply, Request


def _reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> "Reply":
    from .api import Reply

    return Reply(status, body, headers or {})


def list_write(api: "Api", request: "Request", res: Resource, body: Any) -> "Reply":
    method = request.method
    if method == "POST":
        return _create(api, request, res, body)
    if api.version == "4.7":
        ids = bulk_errors.identified(body)
        bulk_errors.all_found(api.store, res.endpoint, ids)
    elif method == "DELETE" and not isinstance(body, list):
        return _reply(405, {"detail": 'Method "DELETE" not allowed.'})
    else:
        ids = _identified_before_47(body)
    if method == "DELETE":
        with api.store.lock:
            targets = [i for i in ids if api.store.get(res.endpoint, i) is not None]  # 4.4 / 4.6 skip the absent
            if api.version == "4.7":
                _check_deletable_47(api, res, targets)
            plan = _delete_plan(api, res, targets)
            _execute_delete(api, plan)
        return _reply(204)
    return _bulk_update(api, request, res, dict(zip(ids, body)), partial=method == "PATCH")


def _identified_before_47(body: Any) -> list[int]:
    """4.4 / 4.6: a list whose every entry has an `id`, else a 400 aligned with the request."""
    if not isinstance(body, list):
        raise Invalid({"non_field_errors": [f"Expected a list of items but got type \"{type(body).__name__}\"."]})
    missing = [{} if isinstance(item, dict) and "id" in item else {"id": [REQUIRED]} for item in body]
    if any(missing):
        raise Invalid(missing)
    return [int(item["id"]) for item in body]


def _check_deletable_47(api: "Api", res: Resource, ids: list[int]) -> None:
    """4.7's bulk DELETE: 409 naming each protected object and how many dependents hold it."""
    failed = []
    for object_id in ids:
        try:
            _delete_plan(api, res, [object_id])
        except Invalid as exc:
            count = getattr(exc, "dependents", 0)
            failed.append({"id": object_id, "errors": {NON_FIELD: [
                f"Unable to delete: {count} dependent object(s) prevent deletion."]}})
    if failed:
        raise bulk_errors.refusal(failed, len(ids), "could not be deleted", 409)


def _create(api: "Api", request: "Request", res: Resource, body: Any) -> "Reply":
    ctx = api.context(request, "create")
    items = body if isinstance(body, list) else [body]
    with api.store.lock:
        created: list[Record] = []
        errors: list[Any] = []
        for item in items:
            try:
                record = validate(ctx, res, item, None, partial=False, pending=tuple(created))
                record.update(_special_create(api, res, record, item))
                created.append(record)
                errors.append({})
            except Invalid as exc:
                errors.append(exc.errors)
        if any(errors):
            if not isinstance(body, list):
                raise Invalid(errors[0])
            if api.version == "4.7":
                raise bulk_errors.refusal(bulk_errors.by_index(errors), len(items), "could not be created")
            raise Invalid(errors)
        plaintexts = {}
        for record in created:
            record["id"] = api.store.new_id(res.endpoint)
            if res.timestamps:
                record["created"] = now_stamp()
                record["last_updated"] = now_stamp()
            plaintexts[record["id"]] = record.pop("plaintext", None)
            api.store.put(res.endpoint, record)
        api.store.save()
        rendered = [render.full(ctx, res, _with_plaintext(r, plaintexts)) for r in created]
    if isinstance(body, list):
        return _reply(201, rendered)
    location = render.url_of(ctx, res.endpoint, created[0]["id"])
    return _reply(201, rendered[0], {"Location": location, **api.etag(created[0])})


def _with_plaintext(record: Record, plaintexts: dict[int, Any]) -> Record:
    value = plaintexts.get(record["id"])
    return {**record, "plaintext": value} if value else record


def _bulk_update(api: "Api", request: "Request", res: Resource, updates: dict[int, Any], partial: bool) -> "Reply":
    ctx = api.context(request, "update")
    updates = {object_id: {k: v for k, v in item.items() if k != "id"} for object_id, item in updates.items()}
    with api.store.lock:
        from .filters import order

        existing = [api.store.get(res.endpoint, object_id) for object_id in updates]
        targets = order(res, [r for r in existing if r is not None], None)
        if api.version == "4.7":
            new_records = _update_each_47(api, ctx, res, targets, updates, partial)
        else:  # 4.4 / 4.6 stop at the first refused object (in model order) and answer its errors alone
            new_records = [validate(ctx, res, updates[target["id"]], target, partial=partial) for target in targets]
        for record in new_records:
            record["last_updated"] = now_stamp() if res.timestamps else record.get("last_updated")
            api.store.put(res.endpoint, record)
        api.store.save()
        return _reply(200, [render.full(ctx, res, r) for r in new_records])


def _update_each_47(api: "Api", ctx: render.Context, res: Resource, targets: list[Record], updates: dict, partial: bool) -> list[Record]:
    """4.7 validates and saves each object in model order, so a later one sees the earlier ones' new
    values (two renamed alike: the second is refused); any refusal names each refused object by id
    and undoes the batch."""
    saved: list[tuple[Record, Record]] = []
    failed = []
    for current in targets:
        try:
            record = validate(ctx, res, updates[current["id"]], current, partial=partial)
        except Invalid as exc:
            failed.append({"id": current["id"], "errors": exc.errors})
            continue
        api.store.put(res.endpoint, record)
        saved.append((current, record))
    if failed:
        for current, _ in saved:
            api.store.put(res.endpoint, current)
        raise bulk_errors.refusal(failed, len(targets), "could not be updated")
    return [record for _, record in saved]


def detail_write(api: "Api", request: "Request", res: Resource, object_id: int, body: Any) -> "Reply":
    from .api import not_found

    with api.store.lock:
        current = api.store.get(res.endpoint, object_id)
        if current is None:
            return not_found(res)
        if_match = request.headers.get("if-match")
        if api.version != "4.4" and if_match and if_match != "*" and if_match != render.etag_of(current):
            return _reply(412, {"detail": "Precondition failed."}, api.etag(current))
        if request.method == "DELETE":
            _execute_delete(api, _delete_plan(api, res, [object_id]))
            return _reply(204)
        if request.method not in ("PATCH", "PUT"):
            return _reply(405, {"detail": f'Method "{request.method}" not allowed.'})
        ctx = api.context(request, "update")
        record = validate(ctx, res, body if body is not None else {}, current, partial=request.method == "PATCH")
        if res.timestamps:
            record["last_updated"] = now_stamp()
        api.store.put(res.endpoint, record)
        api.store.save()
        return _reply(200, render.full(ctx, res, record), api.etag(record))


# --- deletion -------------------------------------------------------------------------------------------------

def _references(api: "Api") -> list[tuple[Resource, str, str | None, bool]]:
    """(holder resource, field, target endpoint or None for generic, required) for every reference field."""
    found = []
    for holder in RESOURCES:
        if holder.endpoint not in api.schema.ENDPOINTS:
            continue
        schema = request_schema_of(api, holder)
        for name, (kind, arg, _nullable) in schema["fields"].items():
            if kind in ("ref", "refs") and arg and arg != "GenericObjectRequest":  # cable ends: render.py
                found.append((holder, name, endpoint_for_schema(arg), name in schema["required"]))
        for generic in GENERIC:
            if GENERIC[generic][0] in schema["fields"]:
                found.append((holder, generic, None, False))
    return found


def request_schema_of(api: "Api", res: Resource) -> dict[str, Any]:
    name = api.schema.ENDPOINTS[res.endpoint][2]
    return api.schema.REQUESTS.get(name, {"fields": {}, "required": ()})


def _delete_plan(api: "Api", res: Resource, ids: list[int]) -> dict[str, Any]:
    """Objects to delete (with cascades) and references to clear; 409 when a protecting reference exists."""
    refs = _references(api)
    doomed: dict[tuple[str, int], Record] = {}
    queue = [(res.endpoint, i) for i in ids]
    protected: list[tuple[Resource, Record]] = []
    while queue:
        endpoint, object_id = queue.pop()
        if (endpoint, object_id) in doomed:
            continue
        doomed[(endpoint, object_id)] = api.store.get(endpoint, object_id) or {"id": object_id}
        target_type = BY_ENDPOINT[endpoint].object_type
        for holder, name, target, required in refs:
            for other in api.store.all(holder.endpoint):
                if name in GENERIC:
                    type_field, id_field = GENERIC[name]
                    points = other.get(type_field) == target_type and other.get(id_field) == object_id
                elif target != endpoint:
                    continue
                else:
                    value = other.get(name)
                    points = value == object_id if not isinstance(value, list) else False
                if not points:
                    continue
                if name in holder.cascade:
                    queue.append((holder.endpoint, other["id"]))
                elif required or name in holder.protect:
                    protected.append((holder, other))
    protected = [(h, o) for h, o in protected if (h.endpoint, o["id"]) not in doomed]
    if protected:
        ctx = render.Context(api.version, api.schema, api.store, "")
        names = ", ".join(f"{render.display_of(ctx, h, o)} ({o['id']})" for h, o in protected)
        conflict = Invalid({"detail": f"Unable to delete object. {len(protected)} dependent objects were found: {names}"}, 409)
        conflict.dependents = len(protected)  # 4.7's bulk DELETE reports the count
        raise conflict
    return {"doomed": doomed, "refs": refs}


def _execute_delete(api: "Api", plan: dict[str, Any]) -> None:
    doomed = plan["doomed"]
    for endpoint, object_id in doomed:
        api.store.delete(endpoint, object_id)
    gone_types = {(BY_ENDPOINT[e].object_type, i) for e, i in doomed}
    for holder, name, target, _required in plan["refs"]:
        for other in api.store.all(holder.endpoint):
            if name in GENERIC:
                type_field, id_field = GENERIC[name]
                if (other.get(type_field), other.get(id_field)) in gone_types:
                    other[type_field] = other[id_field] = None
                continue
            value = other.get(name)
            if isinstance(value, list):
                other[name] = [v for v in value if (target, v) not in doomed]
            elif value is not None and (target, value) in doomed:
                other[name] = None
    api.store.save()


# --- tokens ---------------------------------------------------------------------------------------------------

def _special_create(api: "Api", res: Resource, record: Record, item: dict[str, Any]) -> dict[str, Any]:
    if res.endpoint != "users/tokens":
        return {}
    record.pop("token", None)  # plaintext secrets are never stored
    record.pop("key", None)
    expires = record.get("expires")
    if expires:
        when = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
        now = datetime.now(timezone.utc)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if when <= now:
            raise Invalid({"expires": [
                f"Expiration time must be in the future. Current server time is {now:%Y-%m-%d %H:%M:%S} (UTC)."
            ]})
    version = 2 if api.version != "4.4" and record.get("version", 2) != 1 else 1
    value = item.get("token") or item.get("key")
    if version == 2:
        value = f"nbt_{_random(12)}.{_random(40)}"
    elif not value:
        value = secrets.token_hex(20)
    made = auth.token_record(value, 0, record.get("write_enabled", True), record.get("description", ""), now_stamp())
    made.pop("id"), made.pop("user")
    secret = auth.split_v2(value)[1] if version == 2 else value
    return {**made, "plaintext": secret, "expires": expires, "enabled": record.get("enabled", True), "allowed_ips": []}


_FEATURES = ("bookmarks", "change_logging", "cloning", "contacts", "custom_fields", "custom_links", "custom_validation",
             "event_rules", "export_templates", "image_attachments", "journaling", "notifications", "tags")


def _random(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def provision_token(api: "Api", request: "Request") -> "Reply":
    body = request.json() or {}
    user = next((u for u in api.store.all("users/users") if u.get("username") == body.get("username")), None)
    if request.method != "POST":
        return _reply(405, {"detail": f'Method "{request.method}" not allowed.'}, {"Allow": "POST, OPTIONS"})
    if user is None or user.get("password_digest") != auth.digest(str(body.get("password", ""))):
        return _reply(403, {"detail": "Invalid username/password"}, {"Allow": "POST, OPTIONS"})
    res = BY_ENDPOINT["users/tokens"]
    item = {"user": user["id"], "description": body.get("description", ""), "write_enabled": True}
    reply = _create(api, request, res, item)
    reply.headers = {"Allow": "POST, OPTIONS"}
    body = reply.body  # the provisioning serializer orders fields differently and has no pepper_id
    order = ("id url display_url display version user key created expires last_used enabled write_enabled "
             "description allowed_ips token").split()
    reply.body = {k: body[k] for k in order if k in body}
    return reply


# --- OPTIONS --------------------------------------------------------------------------------------------------

def options_metadata(api: "Api", res: Resource, detail: bool) -> dict[str, Any]:
    """DRF SimpleMetadata-like description of the writable fields (devices are served as recorded)."""
    schema = request_schema_of(api, res)
    fields: dict[str, Any] = {}
    for name, (kind, arg, nullable) in schema["fields"].items():
        entry: dict[str, Any] = {
            "type": {"ref": "nested object", "string": "string", "integer": "integer", "boolean": "boolean",
                     "number": "float"}.get(kind, "field"),
            "required": name in schema["required"],
            "read_only": False,
            "label": name.replace("_", " ").capitalize(),
        }
        if kind == "choice":
            entry["choices"] = [{"value": v, "display_name": str(v)} for v in arg]
        fields[name] = entry
    model = res.model
    name = f"{model} {'Instance' if detail else 'List'}"
    return {"name": name, "description": "", "renders": ["application/json", "text/html"],
            "parses": ["application/json", "multipart/form-data"], "actions": {"PUT": fields} if detail else {"PUT": fields, "POST": fields}}


def add_token(api: "Api", value: str, write_enabled: bool = True, enabled: bool = True) -> None:
    store = api.store
    made = auth.token_record(value, 0, write_enabled, "sandbox token", now_stamp())
    made["enabled"] = enabled
    with store.lock:
        known = {(t.get("key"), t.get("secret_digest")) for t in store.all("users/tokens")}
        if (made.get("key"), made["secret_digest"]) in known:
            return
        made["id"] = store.new_id("users/tokens")
        store.put("users/tokens", made)
        store.save()


def seed(api: "Api", tokens: list[tuple[str, bool]]) -> None:
    """The built-in rows: user `admin` and the configured API tokens."""
    store = api.store
    with store.lock:
        if store.get("users/users", 1) is None:
            store.put("users/users", {
                "id": 1, "username": "admin", "first_name": "", "last_name": "", "email": "admin@example.com",
                "is_active": True, "date_joined": now_stamp(), "last_login": None, "groups": [], "permissions": [],
                "password_digest": auth.digest("admin"),
            })
            store.next_ids["users/users"] = max(store.next_ids.get("users/users", 1), 2)
        for value, write_enabled in tokens:
            add_token(api, value, write_enabled)
        if api.version != "4.4" and not store.all("core/object-types"):
            for object_id, res in enumerate(RESOURCES, start=1):
                app, model = res.object_type.split(".")
                store.put("core/object-types", {
                    "id": object_id, "display": f"{app.upper() if app in ('dcim', 'ipam') else app.capitalize()} > {res.model}",
                    "app_label": app, "app_name": app.upper() if app in ("dcim", "ipam") else app.capitalize(),
                    "model": model, "model_name": res.verbose, "model_name_plural": f"{res.verbose}s", "public": True,
                    "features": list(_FEATURES), "is_plugin_model": False,
                    "rest_api_endpoint": f"/api/{res.endpoint}/", "description": "",
                })
            store.next_ids["core/object-types"] = len(RESOURCES) + 1
