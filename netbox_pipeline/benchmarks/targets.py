"""Where the benchmark runs: the stand-in, a real NetBox it starts itself, or any NetBox by URL.

Every target is seen through the same request-logging proxy (`sandbox.real_netbox.proxy`), so
requests are counted on the wire the same way everywhere. `fresh()` hands back an empty NetBox
behind a cleared log: a new stand-in, a reset real database, or — for a NetBox given by URL — the
objects carrying the owner tag deleted, children first (the bench's own objects; nothing else).
"""

import logging

import requests

from netbox_pipeline.benchmarks.bare import OWNER_TAG, SOURCE_TAG
from netbox_pipeline.netbox.schema import TYPES
from netbox_pipeline.sandbox.real_netbox.proxy import LoggedNetBox

log = logging.getLogger("netbox_pipeline.bench")


class StandInTarget:
    kind = "stand-in"

    def __init__(self, version: str = "4.4") -> None:
        self.version = version
        self._box = None
        self._proxy: LoggedNetBox | None = None

    def fresh(self) -> LoggedNetBox:
        from netbox_pipeline.sandbox.netbox import NetBoxSandbox

        self.close()
        self._box = NetBoxSandbox(version=self.version).start()
        self._proxy = LoggedNetBox(self._box.url, self._box.token, version=self.version)
        return self._proxy

    def close(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()
        if self._box is not None:
            self._box.stop()
        self._box = self._proxy = None


class RealTarget:
    """A real NetBox (`sandbox.real_netbox`) started for the benchmark; `fresh()` re-clones its database."""

    kind = "real"

    def __init__(self, version: str) -> None:
        from netbox_pipeline.sandbox.real_netbox import RealNetBox

        # RealNetBox claims Redis databases no other running instance (e.g. the tests') holds.
        self.server = RealNetBox(version=version).start()
        self.version = version
        self._proxy = LoggedNetBox(self.server.url, self.server.token, version=version)

    def fresh(self) -> LoggedNetBox:
        self.server.reset()
        self._proxy.reset_log()
        return self._proxy

    def close(self) -> None:
        self._proxy.stop()
        self.server.stop()


class UrlTarget:
    """Any NetBox by URL and token; `fresh()` deletes the objects tagged with the owner tag, children first."""

    kind = "url"

    def __init__(self, url: str, token: str) -> None:
        self._proxy = LoggedNetBox(url.rstrip("/"), token)
        reply = self._proxy._session.get(f"{self._proxy.upstream_url}/api/status/", timeout=60)
        reply.raise_for_status()
        self.version = str(reply.json().get("netbox-version", "?"))

    def fresh(self) -> LoggedNetBox:
        wipe_owned(self._proxy)
        self._proxy.reset_log()
        return self._proxy

    def close(self) -> None:
        self._proxy.stop()


def wipe_owned(netbox: LoggedNetBox, chunk: int = 500) -> int:
    """Delete every object carrying the owner tag, children first (past the proxy: not counted)."""
    session: requests.Session = netbox._session
    deleted = 0
    for nbtype in reversed(list(TYPES.values())):
        if nbtype.endpoint == "extras/tags":
            continue
        ids = [o["id"] for o in _list(session, f"{netbox.upstream_url}/api/{nbtype.endpoint}/?tag={OWNER_TAG}&fields=id")]
        for start in range(0, len(ids), chunk):
            body = [{"id": i} for i in ids[start:start + chunk]]
            session.delete(f"{netbox.upstream_url}/api/{nbtype.endpoint}/", json=body, timeout=600).raise_for_status()
        deleted += len(ids)
    # The bench's tags go too once they tag nothing, so every phase starts as on an empty NetBox
    # (a bulk POST of an existing tag is refused).
    for slug in (OWNER_TAG, SOURCE_TAG):
        for tag in _list(session, f"{netbox.upstream_url}/api/extras/tags/?slug={slug}&fields=id,tagged_items"):
            if not tag.get("tagged_items"):
                session.delete(f"{netbox.upstream_url}/api/extras/tags/{tag['id']}/", timeout=60).raise_for_status()
    log.info("bench: deleted %d owned objects", deleted)
    return deleted


def _list(session: requests.Session, url: str) -> list[dict]:
    found: list[dict] = []
    while url:
        reply = session.get(url, timeout=300)
        if reply.status_code == 400:  # the endpoint has no tag filter (or is unknown here): nothing of ours
            return found
        reply.raise_for_status()
        page = reply.json()
        found += page["results"]
        url = page.get("next")
    return found
