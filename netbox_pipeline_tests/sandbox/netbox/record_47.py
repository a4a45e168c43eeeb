"""Record the exchanges of a real NetBox 4.7 in the format of ../shared/netbox-reference.

    .venv/bin/python -m netbox_pipeline_tests.sandbox.netbox.record_47 [--out DIR] [--openapi FILE]

Starts a real NetBox (`RealNetBox`, a fresh database) with the tokens and admin password the 4.6
recording used, replays every 4.6 example request in order (ids translated as in the contract
test), and writes each exchange as the real 4.7 answered it, with a `notes` key listing how it
differs from 4.6. Then records the 4.7-only exchanges (`EXTRA`): failed bulk create, update and
delete. The stand-in's 4.7 mode is checked against these files (test_contract.py).
"""

import argparse
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests

from netbox_pipeline.sandbox.netbox import schema_46
from netbox_pipeline_tests.conftest import NETBOX_REFERENCE_DIR
from netbox_pipeline_tests.sandbox.netbox.replay import EXTRA_TOKENS_46, Replayer, example_files

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "recordings-4.7"
SOURCE_DIR = NETBOX_REFERENCE_DIR / "v4.6" / "examples"
KEPT_HEADERS = ("Content-Type", "API-Version", "Allow", "Location", "Vary", "Content-Language", "X-Request-ID", "ETag")
V1 = "0123456789abcdef0123456789abcdef01234567"
V2 = "nbt_8lk4PJvyUQ4p.RSFqlEzGVdVdw8DgTvjdXf1l9EWXz4BxQYEEmIGN"
HEADERS = {"Authorization": f"Token {V1}", "Accept": "application/json", "Content-Type": "application/json"}

# 4.7-only exchanges, recorded after the replay: (file stem, description, method, path, body).
# Ids refer to objects the replay left in place (resolved by name at recording time).
EXTRA: list[tuple[str, str, str, str, Any]] = [
    ("149_create_free_manufacturer", "Setup for 153-155: a manufacturer nothing uses", "POST", "/api/dcim/manufacturers/",
     {"name": "Free Maker", "slug": "free-maker"}),
    ("150_bulk_create_one_invalid", "Bulk create of 3 manufacturers, the 2nd duplicating an existing slug",
     "POST", "/api/dcim/manufacturers/",
     [{"name": "Bulk A", "slug": "bulk-a"}, {"name": "Bulk B", "slug": "acme-networks"}, {"name": "Bulk C", "slug": "bulk-c"}]),
    ("151_verify_after_failed_bulk_create", "Was anything of 150 created?", "GET", "/api/dcim/manufacturers/?name__isw=Bulk", None),
    ("152_bulk_create_two_invalid", "Bulk create of 3 devices, the 1st and 3rd invalid (missing site, bad status)",
     "POST", "/api/dcim/devices/", "devices"),
    ("153_bulk_update_one_invalid", "Bulk PATCH of 2 manufacturers, the 2nd to a slug that is taken",
     "PATCH", "/api/dcim/manufacturers/", "patch"),
    ("154_bulk_delete_protected", "Bulk DELETE of a manufacturer that device types still use, with a free one",
     "DELETE", "/api/dcim/manufacturers/", "delete"),
    ("155_bulk_update_missing_id_second", "Bulk PATCH where the 2nd item has no id", "PATCH", "/api/dcim/manufacturers/",
     "patch_no_id"),
    ("156_changelog_message_on_create", "Create with changelog_message, then the change log entry",
     "POST", "/api/dcim/manufacturers/", {"name": "Logged", "slug": "logged", "changelog_message": "by the pipeline"}),
    ("157_object_changes_list", "The change log of the object created in 156", "GET",
     "/api/core/object-changes/?changed_object_type=dcim.manufacturer&limit=1&ordering=-id", None),
]


class RecordingSession(requests.Session):
    """Remembers the last exchange so the replayer's request can be written out as sent."""

    last: tuple[str, str, dict, Any, requests.Response] | None = None

    def request(self, method, url, headers=None, data=None, **kw):  # noqa: ANN001 - requests' signature
        reply = super().request(method, url, headers=headers, data=data, **kw)
        self.last = (method, url, dict(headers or {}), data, reply)
        return reply


class Recorder(Replayer):
    def __init__(self, nb) -> None:
        shim = SimpleNamespace(url=nb.url, api_url=nb.api_url, token=V1, version="4.6",
                               api=SimpleNamespace(schema=schema_46), add_token=lambda *a, **k: None)
        super().__init__(shim)
        self.session = RecordingSession()

    def _prepare(self, name: str, endpoint: str | None) -> None:
        if name.startswith("70_"):
            first = self._get("/api/dcim/devices/?limit=1")["results"][0]
            template = {k: first[k]["id"] for k in ("device_type", "role", "site")}
            have = self._get("/api/dcim/devices/?limit=1")["count"]
            items = [{"name": f"perf-{'a' if i < 500 else 'b'}-{i % 500:04d}", **template} for i in range(1001 - have)]
            for start in range(0, len(items), 250):
                reply = requests.post(f"{self.sb.api_url}/dcim/devices/", json=items[start:start + 250],
                                      headers=HEADERS, timeout=600)
                assert reply.status_code == 201, reply.text[:500]
                self.perf_ids += [d["id"] for d in reply.json()]

    def _cleanup(self, name: str) -> None:
        if name.startswith("70_") and self.perf_ids:
            for start in range(0, len(self.perf_ids), 250):
                requests.delete(f"{self.sb.api_url}/dcim/devices/", json=[{"id": i} for i in self.perf_ids[start:start + 250]],
                                headers=HEADERS, timeout=600)

    def _get(self, path: str) -> Any:
        return requests.get(self.sb.url + path, headers=HEADERS, timeout=120).json()

    def record(self, example: dict[str, Any], name: str) -> dict[str, Any]:
        outcome = self.replay(example, name)
        method, url, headers, data, reply = self.session.last
        out = exchange(example["description"], method, url, headers, json.loads(data) if data else None, reply)
        if name.startswith("70_"):
            body = out.pop("response_body")
            out["response_body_summary"] = _summary(body)
        problems = [p for p in outcome.problems if not p.startswith("header API-Version")]  # 4.7 everywhere
        if problems:
            out["notes"] = "differs from the 4.6 recording: " + "; ".join(problems[:12])
        return out


def exchange(description: str, method: str, url: str, headers: dict, body: Any, reply: requests.Response) -> dict:
    path = url.split("://", 1)[1].split("/", 1)[1]
    try:
        answer = reply.json() if reply.content and "json" in reply.headers.get("Content-Type", "") else None
    except ValueError:
        answer = None
    return {"description": description, "method": method, "path": "/" + path, "request_headers": headers,
            "request_body": body, "status": reply.status_code,
            "response_headers": {k: reply.headers[k] for k in KEPT_HEADERS if k in reply.headers},
            "response_body": answer}


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    results = body.get("results", [])
    return {"count": body.get("count"), "next": body.get("next"), "previous": body.get("previous"),
            "len(results)": len(results), "first_result": results[0] if results else None,
            "last_result": results[-1] if results else None}


def record_extra(nb, out: Path) -> None:
    api = nb.url
    session = requests.Session()

    def get(path: str) -> Any:
        return session.get(api + path, headers=HEADERS, timeout=60).json()

    makers = {m["slug"]: m for m in get("/api/dcim/manufacturers/?limit=1000")["results"]}
    site = get("/api/dcim/sites/?limit=1")["results"][0]
    dtype = get("/api/dcim/device-types/?limit=1")["results"][0]
    role = get("/api/dcim/device-roles/?limit=1")["results"][0]
    free: dict[str, Any] = {}
    bodies = lambda: {  # noqa: E731 - built after 149 created the free manufacturer
        "devices": [{"name": "bulk-x1", "device_type": dtype["id"], "role": role["id"]},
                    {"name": "bulk-x2", "device_type": dtype["id"], "role": role["id"], "site": site["id"]},
                    {"name": "bulk-x3", "device_type": dtype["id"], "role": role["id"], "site": site["id"], "status": "bogus"}],
        "patch": [{"id": free["id"], "description": "fine"}, {"id": makers["other-vendor"]["id"], "slug": "acme-networks"}],
        "delete": [{"id": free["id"]}, {"id": dtype["manufacturer"]["id"]}],
        "patch_no_id": [{"id": free["id"], "description": "fine"}, {"description": "no id"}],
    }
    for stem, description, method, path, body in EXTRA:
        body = bodies()[body] if isinstance(body, str) else body
        reply = session.request(method, api + path, headers=HEADERS, data=json.dumps(body) if body is not None else None,
                                timeout=120)
        write(out, stem, exchange(description, method, api + path, HEADERS, body, reply))
        if stem.startswith("149_"):
            free.update(reply.json())


def write(out: Path, stem: str, data: dict[str, Any]) -> None:
    (out / "examples").mkdir(parents=True, exist_ok=True)
    (out / "examples" / f"{stem}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    from netbox_pipeline.sandbox.real_netbox import RealNetBox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--openapi", type=Path, default=None, help="also save /api/schema/ here (about 13 MB)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    extra = tuple((value, write_enabled, enabled) for value, write_enabled, enabled in EXTRA_TOKENS_46.values())
    credentials = {"token": V2, "v1_token": V1, "admin_password": "admin"}
    with RealNetBox(credentials=credentials, extra_tokens=extra) as nb:
        recorder = Recorder(nb)
        for path in example_files(SOURCE_DIR):
            write(args.out, path.stem, recorder.record(json.loads(path.read_text()), path.stem))
            logging.info("recorded %s", path.stem)
        record_extra(nb, args.out)
        status = requests.get(nb.api_url + "/status/", headers=HEADERS, timeout=60).json()
        (args.out / "status.json").write_text(json.dumps(status, indent=1) + "\n")
        if args.openapi:
            schema = requests.get(nb.api_url + "/schema/?format=json", headers=HEADERS, timeout=600)
            args.openapi.write_text(schema.text)


if __name__ == "__main__":
    main()
