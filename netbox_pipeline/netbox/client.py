"""A NetBox REST client tuned for sync: one paginated read per type, chunked bulk writes.

It keeps pynetbox's session and authentication conventions (`Token <v1>` or `Bearer nbt_…` for
v2 tokens) and adds what a sync needs and pynetbox leaves to the caller: retries with backoff on
5xx and timeouts, a bounded number of bulk requests in flight, per-item errors from NetBox's
all-or-nothing bulk answers (isolating the refused objects so they never keep their neighbours out),
no blind retry of a POST whose outcome is unknown (the caller re-reads by natural key first, so no
duplicate is ever made), and a `changelog_message` naming the pipeline run on every write.
"""

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pynetbox
import requests

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
RETRY_STATUSES = {429, 500, 502, 503, 504}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Refusals about what was sent, so worth isolating the culprits; 401/403/404/405 refuse every item alike.
ITEM_REFUSALS = {400, 409, 422}
CHANGELOG_MESSAGE_MAX = 200  # NetBox refuses a longer change-log message (the whole request, 400)


class NetBoxError(Exception):
    """NetBox answered with an error (or not at all); never carries the token."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class UncertainWrite(NetBoxError):
    """A POST whose outcome is unknown (dropped connection, timeout, 5xx): settle before retrying.

    `sent_at` (time.monotonic()) dates the request: NetBox may still be working on it until its
    own timeout has passed since then.
    """

    def __init__(self, message: str, *, status: int | None = None, body: Any = None, sent_at: float = 0.0):
        super().__init__(message, status=status, body=body)
        self.sent_at = sent_at


@dataclass
class RequestStats:
    """Requests made, by method; the numbers the NetBox assets report."""

    counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, method: str) -> None:
        with self._lock:
            self.counts[method] = self.counts.get(method, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.counts.items() if m != "GET")


@dataclass
class BulkOutcome:
    """What one bulk operation did: objects NetBox accepted, and per-item rejections."""

    done: list[tuple[dict, Any]] = field(default_factory=list)  # (item sent, what NetBox returned)
    failed: list[tuple[dict, Any]] = field(default_factory=list)  # (item sent, NetBox's reason)
    uncertain: list[dict] = field(default_factory=list)  # sent, outcome unknown (POST only)
    # DELETE items whose object NetBox no longer holds (deleted since it was read): already done.
    gone: list[dict] = field(default_factory=list)
    uncertain_sent_at: float = 0.0  # when the last uncertain request was sent (time.monotonic())


def auth_header(token: str) -> str:
    return f"Bearer {token}" if token.startswith("nbt_") else f"Token {token}"


class NetBoxClient:
    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout_s: float = 60.0,
        retries: int = 3,
        max_parallel: int = 3,
        verify_ssl: bool = True,
        backoff_s: float = 0.5,
        changelog_message: str | None = None,
        server_timeout_s: float = 120.0,
    ):
        self.base_url = url.rstrip("/")
        self.api = pynetbox.api(self.base_url, token=token)
        self.session: requests.Session = self.api.http_session
        self.session.verify = verify_ssl
        self.session.headers.update({"Accept": "application/json", "Content-Type": "application/json"})
        if token:
            self.session.headers["Authorization"] = auth_header(token)
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_parallel = max_parallel
        self.backoff_s = backoff_s
        # How long NetBox may keep working on a request the client gave up on (gunicorn's timeout).
        self.server_timeout_s = server_timeout_s
        # NetBox 4.4+ records it on every change-log entry; older releases ignore the unknown field
        self.changelog_message = changelog_message[:CHANGELOG_MESSAGE_MAX] if changelog_message else None
        self.stats = RequestStats()
        self._version: str | None = None

    # --- transport ----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None, url: str | None = None) -> Any:
        """One API call with retries; POSTs are not retried blindly (UncertainWrite instead)."""
        target = url or f"{self.base_url}/api/{path.strip('/')}/"
        if method in WRITE_METHODS and self.changelog_message:
            json = with_changelog_message(json, self.changelog_message)
        attempt = 0
        while True:
            attempt += 1
            self.stats.add(method)
            sent_at = time.monotonic()
            try:
                response = self.session.request(method, target, params=params, json=json, timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = f"{method} {_path_of(target)}: no answer from NetBox ({type(exc).__name__})"
                if method == "POST":
                    raise UncertainWrite(reason, sent_at=sent_at) from None
                if attempt > self.retries:
                    raise NetBoxError(reason + f" after {attempt} attempts") from None
                self._sleep(attempt, reason)
                continue
            if response.status_code in RETRY_STATUSES:
                reason = f"{method} {_path_of(target)}: NetBox answered {response.status_code}"
                if method == "POST" and response.status_code != 429:
                    # NetBox's own 500 ends the request; a gateway's 502/503/504 may leave it running.
                    raise UncertainWrite(reason, status=response.status_code, body=_body(response),
                                         sent_at=0.0 if response.status_code == 500 else sent_at)
                if attempt > self.retries:
                    raise NetBoxError(reason + f" after {attempt} attempts", status=response.status_code, body=_body(response))
                self._sleep(attempt, reason, response.headers.get("Retry-After"))
                continue
            if response.status_code >= 400:
                body = _body(response)
                raise NetBoxError(
                    f"{method} {_path_of(target)}: NetBox answered {response.status_code}: {_short(body)}",
                    status=response.status_code,
                    body=body,
                )
            return _body(response)

    def _sleep(self, attempt: int, reason: str, retry_after: str | None = None) -> None:
        delay = float(retry_after) if retry_after and retry_after.isdigit() else self.backoff_s * 2 ** (attempt - 1)
        log.warning("%s; retrying in %.1f s (attempt %d of %d)", reason, delay, attempt + 1, self.retries + 1)
        time.sleep(min(delay, 30.0))

    # --- reads --------------------------------------------------------------------------------

    def version(self) -> str:
        """NetBox's release (`4.4.10`), from /api/status/."""
        if self._version is None:
            status = self.request("GET", "status")
            self._version = str(status.get("netbox-version", ""))
        return self._version

    def list_all(self, endpoint: str, params: dict | None = None) -> list[dict]:
        """Every object of an endpoint in PAGE_SIZE-object pages.

        The first page tells the count; the other pages are then read `max_parallel` at a time by
        offset, in order.
        """
        query = {"limit": PAGE_SIZE, **(params or {})}
        first = self.request("GET", endpoint, params=query)
        results = list(first.get("results", []))
        count = first.get("count")
        if not first.get("next"):
            return results
        if not isinstance(count, int) or not results:  # nothing to plan the pages by: follow the links
            page = first
            while page.get("next"):
                page = self.request("GET", endpoint, url=page["next"])
                results.extend(page.get("results", []))
            return results
        # Steps of the page size NetBox actually served (it caps `limit` at MAX_PAGE_SIZE).
        offsets = range(len(results), count, len(results))
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(offsets))) as pool:
            pages = pool.map(lambda offset: self.request("GET", endpoint, params={**query, "offset": offset}), offsets)
            for page in pages:
                results.extend(page.get("results", []))
        return results

    def wait_until_settled(self, sent_at: float, *, content_type: str, creates: int, poll_s: float = 2.0) -> str:
        """Return once writes sent up to `sent_at` can no longer be running on the server.

        That is when NetBox's change log holds a create entry, carrying this client's change-log
        message, for each of the `creates` objects of `content_type` this run sent (they all landed),
        or else when the server's own timeout has passed since the request was sent. Until then a
        re-read could miss an object that is still being written, and resending it would duplicate it.
        """
        deadline = sent_at + self.server_timeout_s
        while True:
            if self.changelog_message and self._creates_logged(content_type) >= creates:
                return "confirmed by NetBox's change log"
            left = deadline - time.monotonic()
            if left <= 0:
                return f"NetBox's request timeout ({self.server_timeout_s:.0f} s) has passed"
            time.sleep(min(poll_s, left))

    def _creates_logged(self, content_type: str) -> int:
        """Create entries with this client's change-log message for a content type (-1: unknown)."""
        try:
            changes = self.list_all("core/object-changes", {"changed_object_type": content_type, "action": "create"})
        except NetBoxError:
            return -1  # no change log to ask (an older NetBox, a token without the right): wait it out
        return sum(1 for change in changes
                   if change.get("message") == self.changelog_message and _action(change) == "create")

    # --- bulk writes --------------------------------------------------------------------------

    def bulk_create(self, endpoint: str, items: Sequence[dict], chunk_size: int) -> BulkOutcome:
        return self._bulk("POST", endpoint, items, chunk_size)

    def bulk_update(self, endpoint: str, items: Sequence[dict], chunk_size: int) -> BulkOutcome:
        """Items carry `id` plus only the fields to change."""
        return self._bulk("PATCH", endpoint, items, chunk_size)

    def bulk_delete(self, endpoint: str, ids: Iterable[int], chunk_size: int) -> BulkOutcome:
        return self._bulk("DELETE", endpoint, [{"id": i} for i in ids], chunk_size)

    def _bulk(self, method: str, endpoint: str, items: Sequence[dict], chunk_size: int) -> BulkOutcome:
        chunks = [list(items[i : i + chunk_size]) for i in range(0, len(items), chunk_size)]
        outcome = BulkOutcome()
        if not chunks:
            return outcome
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(chunks))) as pool:
            for part in pool.map(lambda chunk: self._send_chunk(method, endpoint, chunk), chunks):
                outcome.done.extend(part.done)
                outcome.failed.extend(part.failed)
                outcome.uncertain.extend(part.uncertain)
                outcome.gone.extend(part.gone)
                outcome.uncertain_sent_at = max(outcome.uncertain_sent_at, part.uncertain_sent_at)
        return outcome

    def _send_chunk(self, method: str, endpoint: str, chunk: list[dict]) -> BulkOutcome:
        outcome = BulkOutcome()
        self._send_isolating(method, endpoint, chunk, outcome)
        return outcome

    def _send_isolating(self, method: str, endpoint: str, items: list[dict], outcome: BulkOutcome) -> None:
        """Send items as one bulk request; when NetBox refuses it, isolate the refused items.

        NetBox's bulk writes are atomic: after a 400 nothing of the request was written, so whatever
        was not refused must be sent again. Items are reported as the caller's own dicts.
        """
        pending = items
        while pending:
            try:
                body = self.request(method, endpoint, json=pending)
            except UncertainWrite as exc:
                outcome.uncertain.extend(pending)  # the caller settles and re-reads before resending: no duplicates
                outcome.uncertain_sent_at = max(outcome.uncertain_sent_at, exc.sent_at)
                return
            except NetBoxError as exc:
                pending = self._isolate_refused(method, endpoint, pending, exc, outcome)
                continue
            _accept(method, endpoint, pending, body, outcome)
            return

    def _isolate_refused(self, method: str, endpoint: str, pending: list[dict], exc: NetBoxError, outcome: BulkOutcome) -> list[dict]:
        """Record what NetBox refused; return the items still to send (each pass drops at least one)."""
        if exc.status not in ITEM_REFUSALS:
            outcome.failed.extend((item, _reason_of(exc)) for item in pending)
            return []
        by_id = id_errors(exc.body, pending) if method in ("PATCH", "DELETE") else None
        if by_id is not None:
            return self._sort_by_id(method, endpoint, pending, by_id, outcome)
        errors = item_errors(exc.body, len(pending))
        if errors is not None and any(errors):
            outcome.failed.extend((item, error) for item, error in zip(pending, errors) if error)
            return [item for item, error in zip(pending, errors) if not error]
        if len(pending) == 1:
            outcome.failed.append((pending[0], _reason_of(exc)))
            return []
        # An answer that names no item: halve until each refused item stands alone, so one bad
        # object costs about 2·log2(chunk) requests and never keeps its neighbours out.
        middle = len(pending) // 2
        for half in (pending[:middle], pending[middle:]):
            self._send_isolating(method, endpoint, half, outcome)
        return []


    def _sort_by_id(self, method: str, endpoint: str, pending: list[dict], errors: list, outcome: BulkOutcome) -> list[dict]:
        """4.7 names the refused items of a bulk PATCH / DELETE by id, and refuses the whole request
        when one id no longer exists. Such an id, confirmed absent by a read, is a DELETE already
        done (`gone`) or an update with nothing left to update; the other refusals keep NetBox's reason."""
        named = [item for item, error in zip(pending, errors) if error and set(error) == {"id"}]
        absent = self._absent_ids(endpoint, [item["id"] for item in named]) if named else set()
        for item, error in zip(pending, errors):
            if not error:
                continue
            if item["id"] in absent and method == "DELETE":
                outcome.gone.append(item)
            elif item["id"] in absent:
                outcome.failed.append((item, f"no {endpoint} object with id {item['id']} in NetBox (deleted since it was read?)"))
            else:
                outcome.failed.append((item, error))
        return [item for item, error in zip(pending, errors) if not error]

    def _absent_ids(self, endpoint: str, ids: list[int]) -> set[int]:
        """Which of these ids NetBox does not hold (read by id); none when it cannot be asked."""
        try:
            found = self.list_all(endpoint, {"id": ids, "fields": "id"})
        except NetBoxError:
            return set()
        return set(ids) - {obj.get("id") for obj in found}


def id_errors(body: Any, items: list[dict]) -> list | None:
    """Per-item errors of a 4.7 bulk PATCH / DELETE refusal, which names the items by id
    (`{"detail": ..., "errors": [{"id": 7, "errors": {...}}]}`), in request order; None otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return None
    by_id: dict[Any, Any] = {}
    for entry in body["errors"]:
        if not isinstance(entry, dict) or "id" not in entry or "index" in entry:
            return None
        by_id[entry["id"]] = entry.get("errors") or {"detail": body.get("detail") or "refused by NetBox without a reason"}
    ids = {item.get("id") for item in items}
    if not by_id or not set(by_id) <= ids:
        return None  # names an item we did not send: pairs nothing
    return [by_id.get(item.get("id"), {}) for item in items]


def _action(change: dict) -> str | None:
    action = change.get("action")
    return action.get("value") if isinstance(action, dict) else action


def _accept(method: str, endpoint: str, sent: list[dict], body: Any, outcome: BulkOutcome) -> None:
    if method == "PATCH" and isinstance(body, list):
        _pair_by_id(endpoint, sent, body, outcome)
        return
    returned = body if isinstance(body, list) and len(body) == len(sent) else [None] * len(sent)
    outcome.done.extend(zip(sent, returned))


def _pair_by_id(endpoint: str, sent: list[dict], returned: list, outcome: BulkOutcome) -> None:
    """NetBox answers a bulk PATCH in its model's ordering and silently leaves out unknown ids."""
    by_id = {obj.get("id"): obj for obj in returned if isinstance(obj, dict)}
    for item in sent:
        if item["id"] in by_id:
            outcome.done.append((item, by_id[item["id"]]))
        else:
            outcome.failed.append((item, f"no {endpoint} object with id {item['id']} in NetBox (deleted since it was read?)"))


def item_errors(body: Any, count: int) -> list | None:
    """Per-item errors of a refused bulk request, in request order (falsy for a valid item), or None.

    NetBox 4.3–4.6 answer a list aligned with the request (`{}` for a valid item); 4.7 answers
    `{"detail": "N of M objects could not be created.", "errors": [{"index": i, "errors": {...}}]}`.
    Anything else (a bare `detail`, the first object's field errors of a bulk PATCH, a list of
    another length, an HTML page) cannot be paired with the items: None.
    """
    if isinstance(body, list):
        return body if len(body) == count else None
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return _indexed_errors(body["errors"], count, body.get("detail"))
    return None


def _indexed_errors(entries: list, count: int, detail: Any) -> list | None:
    errors: list[Any] = [{}] * count
    for entry in entries:
        index = entry.get("index") if isinstance(entry, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
            return None  # an index we cannot trust pairs nothing
        errors[index] = entry.get("errors") or {"detail": detail or "refused by NetBox without a reason"}
    return errors


def _reason_of(exc: NetBoxError) -> Any:
    """NetBox's own reason when it gave one; else (5xx page, HTML, no answer) status and path."""
    return exc.body if isinstance(exc.body, dict) else str(exc)


def with_changelog_message(body: Any, message: str) -> Any:
    """A write's body carrying `changelog_message`: in the object, in each item of a bulk body
    (bulk DELETE items are `{id, changelog_message}`), or alone for a single DELETE. The caller's
    dicts are copied, never changed, so bulk outcomes still report the caller's own items."""
    if body is None:
        return {"changelog_message": message}
    if isinstance(body, dict):
        return {"changelog_message": message, **body}
    if isinstance(body, list):
        return [{"changelog_message": message, **item} if isinstance(item, dict) else item for item in body]
    return body


def _body(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def _short(body: Any, limit: int = 300) -> str:
    text = str(body) if body is not None else ""
    return text if len(text) <= limit else text[:limit] + "…"


def _path_of(url: str) -> str:
    """The URL without query string or user-info: names the NetBox and endpoint, never a secret."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), parts.path, "", ""))

