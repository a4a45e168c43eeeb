"""The baselines the pipeline is measured against: bare bulk writes, bare paginated reads, a write sweep.

No planning, no staging database, no Dagster: the least a client can do for the same workload.
Bare writes create the same objects with the same fields as the pipeline (tags, MAC objects,
primary MAC, primary IP), type by type in dependency order, in chunked POSTs with a few in flight,
then the second-pass PATCHes. Bare reads page through the same types with the same `fields=`.
"""

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from netbox_pipeline.netbox.client import PAGE_SIZE
from netbox_pipeline.netbox.schema import TYPES, read_params
from netbox_pipeline.values import slugify

OWNER_TAG, SOURCE_TAG = "netbox-pipeline", "source-filesystem"


class Bare:
    """A keep-alive client against one NetBox URL (the proxy), `parallel` requests in flight."""

    def __init__(self, url: str, token: str, parallel: int = 3) -> None:
        self.url, self.parallel = url.rstrip("/"), parallel
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(8, parallel * 2))
        self.session.mount("http://", adapter)
        self.session.headers["Authorization"] = ("Bearer " if token.startswith("nbt_") else "Token ") + token

    def _call(self, method: str, endpoint: str, body: Any = None, params: dict | None = None) -> Any:
        reply = self.session.request(method, f"{self.url}/api/{endpoint}/", json=body, params=params, timeout=900)
        if reply.status_code >= 400:
            raise RuntimeError(f"{method} {endpoint}: {reply.status_code} {reply.text[:300]}")
        return reply.json() if reply.content else None

    def bulk(self, method: str, endpoint: str, items: Sequence[dict], chunk: int) -> list[dict]:
        """Chunked bulk writes, `parallel` in flight; the answers in the order of `items`."""
        chunks = [list(items[i:i + chunk]) for i in range(0, len(items), chunk)]
        with ThreadPoolExecutor(max_workers=max(1, min(self.parallel, len(chunks)))) as pool:
            return [obj for part in pool.map(lambda c: self._call(method, endpoint, c), chunks) for obj in part]

    def read_all(self, endpoint: str, params: dict) -> list[dict]:
        first = self._call("GET", endpoint, params={"limit": PAGE_SIZE, **params})
        results, count = list(first["results"]), first["count"]
        if not first.get("next") or not results:
            return results
        offsets = range(len(results), count, len(results))
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(offsets))) as pool:
            for page in pool.map(lambda o: self._call("GET", endpoint, params={"limit": PAGE_SIZE, "offset": o, **params}), offsets):
                results += page["results"]
        return results


def bare_reads(bare: Bare) -> dict[str, int]:
    """Every managed type, `fields=` as the pipeline asks, types `parallel` at a time: objects per type."""
    with ThreadPoolExecutor(max_workers=bare.parallel) as pool:
        pages = pool.map(lambda t: bare.read_all(t.endpoint, read_params(t)), TYPES.values())
        return {name: len(objects) for name, objects in zip(TYPES, pages, strict=True)}


def bare_writes(bare: Bare, devices: list[dict[str, Any]], chunk: int) -> int:
    """The bench workload as bulk calls in dependency order; returns the objects written."""
    written = 0

    def post(endpoint: str, items: list[dict]) -> list[dict]:
        nonlocal written
        written += len(items)
        return bare.bulk("POST", endpoint, items, chunk)

    tags = [o["id"] for o in post("extras/tags", [{"name": s, "slug": s} for s in (OWNER_TAG, SOURCE_TAG)])]

    def named(endpoint: str, names: list[str], extra: Callable[[str], dict] = lambda _: {}) -> dict[str, int]:
        made = post(endpoint, [{"name": n, "slug": slugify(n), "tags": tags, **extra(n)} for n in names])
        return {n: o["id"] for n, o in zip(names, made, strict=True)}

    manufacturers = named("dcim/manufacturers", sorted({d["manufacturer"] for d in devices}))
    sites = named("dcim/sites", sorted({d["site"] for d in devices}), lambda _: {"status": "active"})
    roles = named("dcim/device-roles", sorted({d["role"] for d in devices}))
    models = sorted({(d["manufacturer"], d["model"]) for d in devices})
    made = post("dcim/device-types", [{"manufacturer": manufacturers[m], "model": model, "slug": slugify(model), "tags": tags}
                                      for m, model in models])
    device_types = {pair: o["id"] for pair, o in zip(models, made, strict=True)}
    made = post("dcim/devices", [{"name": d["name"], "site": sites[d["site"]], "role": roles[d["role"]],
                                  "device_type": device_types[(d["manufacturer"], d["model"])], "serial": d.get("serial", ""),
                                  "status": d.get("status", "active"), "tags": tags} for d in devices])
    device_ids = [o["id"] for o in made]
    nics = [(device_id, nic) for device_id, d in zip(device_ids, devices, strict=True) for nic in d.get("interfaces", [])]
    made = post("dcim/interfaces", [{"device": device_id, "name": nic["name"], "type": nic.get("type", "other"), "tags": tags}
                                    for device_id, nic in nics])
    nic_ids = [o["id"] for o in made]
    with_mac = [(nic_id, nic) for nic_id, (_, nic) in zip(nic_ids, nics, strict=True) if nic.get("mac")]
    made = post("dcim/mac-addresses", [{"mac_address": nic["mac"], "assigned_object_type": "dcim.interface",
                                        "assigned_object_id": nic_id, "tags": tags} for nic_id, nic in with_mac])
    primary_macs = [{"id": nic_id, "primary_mac_address": mac["id"]} for (nic_id, _), mac in zip(with_mac, made, strict=True)]
    addresses = [(nic_id, address) for nic_id, (_, nic) in zip(nic_ids, nics, strict=True) for address in nic.get("ip_addresses", [])]
    made = post("ipam/ip-addresses", [{"address": a, "assigned_object_type": "dcim.interface", "assigned_object_id": nic_id,
                                       "tags": tags} for nic_id, a in addresses])
    ip_ids = {a: o["id"] for (_, a), o in zip(addresses, made, strict=True)}
    bare.bulk("PATCH", "dcim/interfaces", primary_macs, chunk)
    primary_ips = [{"id": device_id, "primary_ip4": ip_ids[d["primary_ip4"]]}
                   for device_id, d in zip(device_ids, devices, strict=True) if d.get("primary_ip4") in ip_ids]
    bare.bulk("PATCH", "dcim/devices", primary_ips, chunk)
    return written


def write_sweep(url: str, token: str, chunks: Sequence[int], parallels: Sequence[int], objects: int,
                out: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Objects per second creating `objects` unassigned IP addresses per (chunk, parallel) point.

    Each point uses addresses of its own (no clean-up between points), so every point writes into
    the same growing table, which is what a first sync does too.
    """
    rows, block = [], 0
    for chunk in chunks:
        for parallel in parallels:
            block += 1
            items = [{"address": f"198.51.{block}.{i % 250 + 1}/32" if objects <= 250 else
                      f"10.{block}.{i // 250}.{i % 250 + 1}/32", "description": "bench sweep"} for i in range(objects)]
            bare = Bare(url, token, parallel)
            started = time.perf_counter()
            error = None
            try:
                bare.bulk("POST", "ipam/ip-addresses", items, chunk)
            except Exception as exc:  # a point that fails (timeout, 5xx) is a measurement too
                error = f"{type(exc).__name__}: {str(exc)[:200]}"
            wall = time.perf_counter() - started
            row = {"chunk": chunk, "parallel": parallel, "objects": objects, "wall_s": wall,
                   "objects_per_s": objects / wall if wall and not error else 0.0, "error": error}
            rows.append(row)
            out(f"bench:   sweep chunk {chunk} × {parallel} in flight: {row['objects_per_s']:.1f} objects/s"
                + (f" ({error})" if error else ""))
    return rows


def best_point(rows: list[dict[str, Any]], tolerance: float = 0.05) -> dict[str, Any] | None:
    """The fastest point, or the lightest one (fewest in flight, then smallest chunk) within `tolerance` of it."""
    good = [r for r in rows if not r["error"] and r["objects_per_s"]]
    if not good:
        return None
    top = max(r["objects_per_s"] for r in good)
    near = [r for r in good if r["objects_per_s"] >= top * (1 - tolerance)]
    return min(near, key=lambda r: (r["parallel"], r["chunk"]))
