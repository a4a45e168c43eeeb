"""Replay the recorded NetBox exchanges against a sandbox and compare the answers.

Recorded ids belong to the recording run, so ids seen in recorded responses are mapped to the sandbox's ids
(learned by walking recorded and actual bodies side by side) and request paths, bodies and queries are
translated before sending. Comparison: status; selected headers; the body's shape (keys, nesting, types)
with ids, URLs, timestamps and request ids normalised; and the exact text of error bodies and of the
identifying values (name, slug, display, choice value/label, ...).
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.sandbox.netbox.resources import BY_OBJECT_TYPE, endpoint_for_schema

URL_RE = re.compile(r"^https?://[^/]+/api/([a-z0-9-]+/[a-z0-9-]+)/(\d+)/$")
STAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)?")
HOST_RE = re.compile(r"https?://[^/]+")
VOLATILE = {"created", "last_updated", "date_joined", "last_used", "token", "key"}
EXACT = {"name", "slug", "display", "value", "label", "description", "serial", "address", "mac_address", "model",
         "detail", "status", "username", "dns_name", "scope_type", "assigned_object_type", "comments", "color"}
HEADERS = ("Allow", "Content-Type", "API-Version")
GENERIC_IDS = {"assigned_object_id": "assigned_object_type", "scope_id": "scope_type",
               "parent_object_id": "parent_object_type"}

# Extra tokens the 4.6 recording created through the UI (not by an example file).
EXTRA_TOKENS_46 = {
    "138_v2_token_disabled": ("nbt_sjSi3VibMnfC.KxIlqxuZfoiknqTcsGueeVqewVJBBMB5pw5tBwMq", True, False),
    "139_v2_token_read_only_get": ("nbt_fC1b7ZUTqpQP.01qIuqXT6h5TSMY2my6qEtEvQ6JjdlLiexRwXYIk", False, True),
}


@dataclass
class Outcome:
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def example_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"), key=lambda p: int(p.name.split("_", 1)[0]))


class Replayer:
    def __init__(self, sandbox: NetBoxSandbox) -> None:
        self.sb = sandbox
        self.ids: dict[tuple[str, int], int] = {("users/users", 1): 1}
        self.etags: dict[str, str] = {}
        self.session = requests.Session()
        self.perf_ids: list[int] = []

    # --- id translation ---
    def _map(self, endpoint: str | None, value: Any) -> Any:
        if endpoint and isinstance(value, int) and not isinstance(value, bool):
            return self.ids.get((endpoint, value), value)
        return value

    def _translate_body(self, endpoint: str, body: Any) -> Any:
        if isinstance(body, list):
            return [self._translate_body(endpoint, item) for item in body]
        if not isinstance(body, dict):
            return body
        fields = self._request_fields(endpoint)
        out = {}
        for key, value in body.items():
            if key == "id":
                out[key] = self._map(endpoint, value)
            elif key in GENERIC_IDS:
                target = BY_OBJECT_TYPE.get(body.get(GENERIC_IDS[key]) or "")
                out[key] = self._map(target.endpoint if target else None, value)
            elif key in fields and fields[key][0] in ("ref", "refs") and fields[key][1]:
                target = endpoint_for_schema(fields[key][1])
                out[key] = [self._map(target, v) for v in value] if isinstance(value, list) else self._map(target, value)
            elif key in ("users",) and isinstance(value, list):
                out[key] = [self._map("users/users", v) for v in value]
            else:
                out[key] = value
        return out

    def _request_fields(self, endpoint: str) -> dict[str, tuple]:
        schema = self.sb.api.schema
        entry = schema.ENDPOINTS.get(endpoint)
        return schema.REQUESTS.get(entry[2], {}).get("fields", {}) if entry and entry[2] else {}

    def _translate_path(self, recorded: str) -> tuple[str, str | None]:
        parts = urlsplit(recorded)
        match = re.match(r"^/api/([a-z0-9-]+/[a-z0-9-]+)/(?:(\d+)/)?$", parts.path)
        endpoint = match.group(1) if match else None
        path = parts.path
        if match and match.group(2):
            path = f"/api/{endpoint}/{self._map(endpoint, int(match.group(2)))}/"
        query = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in ("id", "start") and value.isdigit() and endpoint:
                value = str(self._map(endpoint, int(value)))
            query.append((key, value))
        return path + (f"?{urlencode(query)}" if query else ""), endpoint

    def _learn(self, recorded: Any, actual: Any) -> None:
        if isinstance(recorded, dict) and isinstance(actual, dict):
            r_url, a_url = recorded.get("url"), actual.get("url")
            if isinstance(r_url, str) and isinstance(a_url, str):
                rm, am = URL_RE.match(r_url), URL_RE.match(a_url)
                if rm and am and rm.group(1) == am.group(1):
                    self.ids[(rm.group(1), int(rm.group(2)))] = int(am.group(2))
            for key in recorded.keys() & actual.keys():
                self._learn(recorded[key], actual[key])
        elif isinstance(recorded, list) and isinstance(actual, list) and len(recorded) == len(actual):
            for r, a in zip(recorded, actual):
                self._learn(r, a)

    # --- preconditions the example files do not create themselves ---
    def _prepare(self, name: str, endpoint: str | None) -> None:
        if name.startswith("70_"):
            wanted = 1001 - len(self.sb.store.all("dcim/devices"))
            auth = {"Authorization": f"Token {self.sb.token}"}
            template = {"device_type": self.sb.store.all("dcim/device-types")[0]["id"],
                        "role": self.sb.store.all("dcim/device-roles")[0]["id"],
                        "site": self.sb.store.all("dcim/sites")[0]["id"]}
            items = [{"name": f"perf-{'a' if i < 500 else 'b'}-{i % 500:04d}", **template} for i in range(wanted)]
            reply = self.session.post(f"{self.sb.api_url}/dcim/devices/", json=items, headers=auth)
            assert reply.status_code == 201, reply.text
            self.perf_ids = [d["id"] for d in reply.json()]
        extra = EXTRA_TOKENS_46.get(name)
        if extra and self.sb.version != "4.4":
            value, write_enabled, enabled = extra
            self.sb.add_token(value, write_enabled=write_enabled, enabled=enabled)

    def _cleanup(self, name: str) -> None:
        if name.startswith("70_") and self.perf_ids:
            auth = {"Authorization": f"Token {self.sb.token}"}
            self.session.delete(f"{self.sb.api_url}/dcim/devices/", json=[{"id": i} for i in self.perf_ids], headers=auth)

    # --- one exchange ---
    def replay(self, example: dict[str, Any], name: str) -> Outcome:
        path, endpoint = self._translate_path(example["path"])
        self._prepare(name, endpoint)
        headers = dict(example.get("request_headers") or {})
        if "If-Match" in headers:
            headers["If-Match"] = self.etags.get(headers["If-Match"], headers["If-Match"])
        body = example.get("request_body")
        data = None
        if body is not None:
            data = json.dumps(self._translate_body(endpoint, body) if endpoint else body)
        reply = self.session.request(example["method"], self.sb.url + path, headers=headers, data=data)
        outcome = Outcome(name)
        try:
            actual = reply.json() if reply.content and "json" in reply.headers.get("Content-Type", "") else None
        except ValueError:
            actual = None
        recorded = example.get("response_body")
        summary = recorded is None and "response_body_summary" in example
        if summary:
            recorded, actual = _summary_pair(example["response_body_summary"], actual)
        self._learn(recorded, actual)
        if "ETag" in example["response_headers"] and "ETag" in reply.headers:
            self.etags[example["response_headers"]["ETag"]] = reply.headers["ETag"]
        self._cleanup(name)
        compare_exchange(example, reply, recorded, actual, outcome, shape_only=summary)
        return outcome


def _summary_pair(summary: dict[str, Any], actual: Any) -> tuple[Any, Any]:
    """Example 70 stores a summary; build the same summary of the actual answer."""
    if summary.get("type") == "HTML page" or not isinstance(actual, dict):
        return None, None
    results = actual.get("results", [])
    made = {k: actual.get(k) for k in ("count", "next", "previous")}
    made["len(results)"] = len(results)
    made["first_result"] = results[0] if results else None
    made["last_result"] = results[-1] if results else None
    return summary, made


def compare_exchange(
    example: dict[str, Any], reply: requests.Response, recorded: Any, actual: Any, out: Outcome, shape_only: bool = False
) -> None:
    """`shape_only`: a summarised recording (70) whose sample items depend on the recording run's other data."""
    if reply.status_code != example["status"]:
        out.problems.append(f"status {reply.status_code} != recorded {example['status']}: {reply.text[:300]}")
        return
    rec_headers = example["response_headers"]
    for name in HEADERS:
        if name in rec_headers and reply.headers.get(name) != rec_headers[name]:
            out.problems.append(f"header {name}: {reply.headers.get(name)!r} != {rec_headers[name]!r}")
    for name in ("Location", "ETag"):
        if (name in rec_headers) != (name in reply.headers):
            out.problems.append(f"header {name} presence: sandbox {name in reply.headers}, recorded {name in rec_headers}")
    if "X-Request-ID" in rec_headers and "X-Request-ID" not in reply.headers:
        out.problems.append("header X-Request-ID missing")
    errors = example["status"] >= 400
    compare_body(recorded, actual, "body", out.problems, errors, values=not shape_only)


def _norm_text(value: str) -> str:
    return STAMP_RE.sub("<TS>", HOST_RE.sub("http://HOST", value))


def compare_body(
    rec: Any, act: Any, where: str, problems: list[str], exact: bool, key: str = "", values: bool = True
) -> None:
    if len(problems) > 20:
        return
    if isinstance(rec, dict):
        if not isinstance(act, dict):
            problems.append(f"{where}: recorded object, sandbox {type(act).__name__} {str(act)[:120]}")
            return
        missing, extra = rec.keys() - act.keys(), act.keys() - rec.keys()
        if missing:
            problems.append(f"{where}: missing keys {sorted(missing)}")
        if extra:
            problems.append(f"{where}: extra keys {sorted(extra)}")
        token = "/users/tokens/" in str(rec.get("url", ""))  # generated keys; the instance's own token notes
        for k in rec.keys() & act.keys():
            same_values = values and not (token and k in ("display", "description"))
            compare_body(rec[k], act[k], f"{where}.{k}", problems, exact, k, same_values)
        return
    if isinstance(rec, list):
        if not isinstance(act, list):
            problems.append(f"{where}: recorded list, sandbox {type(act).__name__}")
            return
        if len(rec) != len(act):
            problems.append(f"{where}: {len(act)} items != recorded {len(rec)}")
            return
        for i, (r, a) in enumerate(zip(rec, act)):
            compare_body(r, a, f"{where}[{i}]", problems, exact, key, values)
        return
    if rec is None or act is None:
        if (rec is None) != (act is None):
            problems.append(f"{where}: {act!r} != recorded {rec!r}")
        return
    if type(rec) is not type(act):
        problems.append(f"{where}: type {type(act).__name__} != recorded {type(rec).__name__} ({act!r} vs {rec!r})")
        return
    if values and isinstance(rec, str) and key not in VOLATILE and (exact or key in EXACT):
        if key in ("url", "display_url", "next", "previous") or rec.startswith("http"):
            rec, act = re.sub(r"\d+", "N", _norm_text(rec)), re.sub(r"\d+", "N", _norm_text(act))
        if _norm_text(rec) != _norm_text(act):
            problems.append(f"{where}: {act!r} != recorded {rec!r}")
