"""The REST API, independent of the HTTP plumbing: (method, path, query, headers, body) -> Reply."""

import json
import re
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode

from . import auth, filters, operations, render
from .render import Context
from .resources import BY_ENDPOINT, Resource
from .store import Store
from .writes import Invalid, now_stamp

LIST_ALLOW = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
DETAIL_ALLOW = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
READ_ALLOW = "GET, HEAD, OPTIONS"
VARY = "HX-Request, Accept-Language, Cookie, origin"
SAFE = ("GET", "HEAD", "OPTIONS")
MAX_PAGE_SIZE = 1000
PAGINATE_COUNT = 50
HTML_404 = (
    b"<!DOCTYPE html><html><head><title>Page Not Found | NetBox</title></head>"
    b"<body><h1>Page Not Found</h1><p>The requested page does not exist.</p></body></html>"
)
_ROUTE = re.compile(r"^/api/(?P<endpoint>[a-z0-9-]+/[a-z0-9-]+)/(?:(?P<id>\d+)/)?$")


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or bytes for HTML
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    host: str

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def json(self) -> Any:
        if not self.body.strip():
            return None
        return json.loads(self.body)


class Api:
    def __init__(self, version: str, schema: ModuleType, store: Store, status: dict[str, Any]) -> None:
        self.version = version
        self.schema = schema
        self.store = store
        self.status = status

    def context(self, request: Request, mode: str = "read") -> Context:
        return Context(self.version, self.schema, self.store, f"http://{request.host}", mode)

    def handle(self, request: Request) -> Reply:
        try:
            reply = self._route(request)
        except Exception as exc:  # an emulator bug must still answer like a server, with the cause
            import traceback

            reply = Reply(500, {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-600:]})
        reply.headers.setdefault("API-Version", self.version)
        reply.headers.setdefault("Vary", VARY)
        reply.headers.setdefault("Content-Language", "en")
        reply.headers.setdefault("X-Request-ID", str(uuid.uuid4()))
        if reply.body is not None:
            reply.headers.setdefault("Content-Type", "application/json")
        return reply

    def _route(self, request: Request) -> Reply:
        path = request.path
        if path in ("/api/", "/api/status/") or (path == "/api/authentication-check/" and self.version != "4.4"):
            return self._simple(request, path)
        if path == "/api/users/tokens/provision/" and self.version != "4.4":
            return operations.provision_token(self, request)
        match = _ROUTE.match(path)
        res = BY_ENDPOINT.get(match["endpoint"]) if match else None
        if res is None or self.version not in res.versions or res.endpoint not in self.schema.ENDPOINTS:
            return Reply(404, HTML_404, {"Content-Type": "text/html; charset=utf-8"})
        detail = match["id"] is not None
        read_only_endpoint = self.schema.ENDPOINTS[res.endpoint][2] is None
        allow = READ_ALLOW if read_only_endpoint else (DETAIL_ALLOW if detail else LIST_ALLOW)
        if res.trace:
            allow += ", TRACE"
        reply = self._authorised(request, res, detail, read_only_endpoint)
        reply.headers.setdefault("Allow", allow)
        return reply

    def _simple(self, request: Request, path: str) -> Reply:
        who = auth.authenticate(request.headers.get("authorization"), self.version, self.store)
        if not who.ok:
            return Reply(403, {"detail": who.error}, {"Allow": READ_ALLOW})
        if path == "/api/status/":
            return Reply(200, self.status, {"Allow": READ_ALLOW})
        ctx = self.context(request)
        if path == "/api/":
            apps = sorted({e.split("/")[0] for e in self.schema.ENDPOINTS} | {"ipam", "extras", "plugins", "status"})
            return Reply(200, {app: f"{ctx.base}/api/{app}/" for app in apps}, {"Allow": READ_ALLOW})
        user = self.store.get("users/users", who.token["user"]) if who.token else None
        return Reply(200, render.full(ctx, BY_ENDPOINT["users/users"], user or {"id": 1}), {"Allow": READ_ALLOW})

    def _authorised(self, request: Request, res: Resource, detail: bool, read_only_endpoint: bool) -> Reply:
        who = auth.authenticate(request.headers.get("authorization"), self.version, self.store)
        if not who.ok:
            return Reply(403, {"detail": who.error})
        who.token["last_used"] = now_stamp()
        method = request.method
        if method not in SAFE and (read_only_endpoint or not who.token.get("write_enabled", True)):
            if read_only_endpoint:
                return Reply(405, {"detail": f'Method "{method}" not allowed.'})
            return Reply(403, {"detail": auth.NO_PERMISSION})
        try:
            if method == "OPTIONS":
                return self._options(request, res, detail)
            if method in ("GET", "HEAD"):
                return self._get_one(request, res, int(request.path.split("/")[-2])) if detail else self._list(request, res)
            body = request.json()
            if detail:
                return operations.detail_write(self, request, res, int(request.path.split("/")[-2]), body)
            return operations.list_write(self, request, res, body)
        except Invalid as exc:
            return Reply(exc.status, exc.errors)
        except filters.FilterError as exc:
            return Reply(400, exc.errors)
        except json.JSONDecodeError as exc:
            return Reply(400, {"detail": f"JSON parse error - {exc}"})

    def _get_one(self, request: Request, res: Resource, object_id: int) -> Reply:
        rec = self.store.get(res.endpoint, object_id)
        if rec is None:
            return not_found(res)
        ctx = self.context(request)
        body = render.brief(ctx, res, rec) if _flag(request.params, "brief") else render.full(ctx, res, rec)
        return Reply(200, shape_fields(body, request.params, self.version), self.etag(rec))

    def etag(self, rec: dict[str, Any]) -> dict[str, str]:
        tag = render.etag_of(rec) if self.version != "4.4" else None
        return {"ETag": tag} if tag else {}

    def _list(self, request: Request, res: Resource) -> Reply:
        params = request.params
        ctx = self.context(request)
        with self.store.lock:
            objects = filters.apply(ctx, res, self.store.all(res.endpoint), params)
            limit = _limit(params)
            if self.version != "4.4" and "start" in params:
                page, count, next_link, previous = self._cursor_page(request, objects, params, limit)
            else:
                objects = filters.order(res, objects, (params.get("ordering") or [None])[0])
                offset = _int_param(params, "offset", 0)
                page, count = objects[offset : offset + limit], len(objects)
                next_link = _link(request, {"limit": limit, "offset": offset + limit}) if offset + limit < count else None
                previous = None
                if offset > 0:
                    previous = _link(request, {"limit": limit}, drop="offset") if offset - limit <= 0 else _link(
                        request, {"limit": limit, "offset": offset - limit}
                    )
            brief = _flag(params, "brief")
            results = [
                shape_fields(render.brief(ctx, res, o) if brief else render.full(ctx, res, o), params, self.version)
                for o in page
            ]
        return Reply(200, {"count": count, "next": next_link, "previous": previous, "results": results})

    def _cursor_page(self, request: Request, objects: list, params: dict[str, list[str]], limit: int) -> tuple:
        if "offset" in params:
            raise Invalid(["'start' and 'offset' are mutually exclusive."])
        if "ordering" in params:
            raise Invalid(["Ordering cannot be specified in conjunction with cursor-based pagination."])
        start = _int_param(params, "start", 0)
        page = sorted((o for o in objects if o["id"] >= start), key=lambda o: o["id"])[:limit]
        next_link = _link(request, {"limit": limit, "start": page[-1]["id"] + 1}) if len(page) == limit else None
        return page, None, next_link, None

    def _options(self, request: Request, res: Resource, detail: bool) -> Reply:
        recorded = self.schema.OPTIONS.get(res.endpoint)
        if recorded is not None:
            return Reply(200, recorded)
        return Reply(200, operations.options_metadata(self, res, detail))


def not_found(res: Resource) -> Reply:
    return Reply(404, {"detail": f"No {res.model} matches the given query."})


def _flag(params: dict[str, list[str]], name: str) -> bool:
    return (params.get(name) or ["false"])[-1].lower() in ("1", "true", "yes", "on")


def _int_param(params: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return max(int((params.get(name) or [default])[-1]), 0)
    except ValueError:
        return default


def _limit(params: dict[str, list[str]]) -> int:
    if "limit" not in params:
        return PAGINATE_COUNT
    try:
        limit = int(params["limit"][-1])
    except ValueError:
        return PAGINATE_COUNT
    if limit < 0:
        return PAGINATE_COUNT
    return MAX_PAGE_SIZE if limit == 0 or limit > MAX_PAGE_SIZE else limit


def _link(request: Request, replace: dict[str, Any], drop: str | None = None) -> str:
    """DRF's replace_query_param: set the keys, then re-encode the query sorted by key."""
    query = request.params
    for key, value in replace.items():
        query[key] = [str(value)]
    if drop:
        query.pop(drop, None)
    return f"http://{request.host}{request.path}?{urlencode(sorted(query.items()), doseq=True)}"


def shape_fields(body: dict[str, Any], params: dict[str, list[str]], version: str) -> dict[str, Any]:
    """`?fields=a,b` keeps only those fields; 4.6 `?omit=a,b` drops fields."""
    wanted = [f for v in params.get("fields", []) for f in v.split(",") if f]
    if wanted:
        body = {k: v for k, v in body.items() if k in wanted}
    omit = {f for v in params.get("omit", []) for f in v.split(",") if f} if version != "4.4" else set()
    if omit:
        body = {k: v for k, v in body.items() if k not in omit}
    return body
