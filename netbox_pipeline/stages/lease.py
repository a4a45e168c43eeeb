"""The write lease: one run writes to a given NetBox at a time, across processes and Dagster instances.

A run that writes takes the lease before it reads NetBox for its plan and keeps it until its last
write, renewing it by heartbeat from a background thread. Another run waits, saying whom it waits
for and since when, or gives up at once when told not to wait. A holder that died (SIGKILL, a lost
host) stops renewing; its lease is taken over once it expired, or at once when the Dagster run that
held it is known to have ended. Dry runs and `plan` never take it: they write nothing.
"""

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from netbox_pipeline.staging import store
from netbox_pipeline.staging.models import utcnow

log = logging.getLogger(__name__)

WAIT_POLL_S = 1.0
WAIT_REPORT_EVERY_S = 15.0


class LeaseBusy(RuntimeError):
    """Another run holds the write lease and the caller chose not to wait (or waited long enough)."""


class LeaseLost(RuntimeError):
    """This run's lease expired and another run took it: stop writing."""


def describe_holder(row: dict) -> str:
    since = row["acquired_at"].strftime("%Y-%m-%d %H:%M:%S UTC")
    beat = row["heartbeat_at"].strftime("%H:%M:%S")
    expires = row["expires_at"].strftime("%H:%M:%S")
    return f"run {row['run_id']} ({row['holder']}), holding since {since}, last heartbeat {beat}, expires {expires} unless renewed"


def this_process(what: str = "netbox-pipeline") -> str:
    return f"{what} pid {os.getpid()} on {socket.gethostname()}"


@dataclass
class WriteLease:
    """The lease on one NetBox for one run; `with lease:` takes it (waiting) and releases it on any exit."""

    staging: object
    netbox_url: str
    run_id: str
    ttl_s: float = 120.0
    holder: str = field(default_factory=this_process)
    wait: bool = True
    max_wait_s: float | None = None
    # A run that ended (failed, canceled) yields its lease at once: is this run id still alive?
    holder_alive: Callable[[str], bool] = lambda run_id: True
    report: Callable[[str], None] = log.warning
    waited_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _beat: threading.Thread | None = field(default=None, repr=False)

    def acquire(self) -> "WriteLease":
        started = time.monotonic()
        last_report = None
        while True:
            busy = self._try_once()
            if busy is None:
                break
            waited = time.monotonic() - started
            if not self.wait:
                raise LeaseBusy(f"NetBox {self.netbox_url} is being written by {describe_holder(busy)}; not waiting (--no-wait)")
            if self.max_wait_s is not None and waited > self.max_wait_s:
                raise LeaseBusy(f"gave up after {waited:.0f} s waiting for the NetBox write lease: {describe_holder(busy)}")
            if last_report is None or time.monotonic() - last_report >= WAIT_REPORT_EVERY_S:
                self.report(f"waiting for the NetBox write lease on {self.netbox_url}: {describe_holder(busy)}")
                last_report = time.monotonic()
            time.sleep(WAIT_POLL_S)
        self.waited_s = time.monotonic() - started
        if last_report is not None:
            self.report(f"took the NetBox write lease on {self.netbox_url} after waiting {self.waited_s:.1f} s")
        self._start_heartbeat()
        return self

    def continue_holding(self) -> "WriteLease":
        """Renew the lease this run took in an earlier step; LeaseLost when it no longer has it."""
        with self.staging.session() as session:
            held = store.renew_lease(session, self.netbox_url, self.run_id, utcnow(), self.ttl_s)
            row = None if held else store.lease_holder(session, self.netbox_url)
        if not held and row is None:
            return self.acquire()  # released (by a failed step of this run) and nobody else wrote since
        if not held:
            raise LeaseLost(f"run {self.run_id} lost the NetBox write lease on {self.netbox_url} to {describe_holder(row)}; "
                            "its plan may be stale: run the sync again")
        self._start_heartbeat()
        return self

    def _try_once(self) -> dict | None:
        """None when this run now holds the lease; else the row of the run that does."""
        now = utcnow()
        with self.staging.session() as session:
            if store.renew_lease(session, self.netbox_url, self.run_id, now, self.ttl_s):
                return None
        with self.staging.session() as session:
            if store.take_over_lease(session, self.netbox_url, self.run_id, self.holder, now, self.ttl_s):
                self.report(f"took over an expired NetBox write lease on {self.netbox_url}")
                return None
        with self.staging.session() as session:
            if store.insert_lease(session, self.netbox_url, self.run_id, self.holder, now, self.ttl_s):
                return None
        with self.staging.session() as session:
            row = store.lease_holder(session, self.netbox_url)
        if row is None:
            return self._try_once()  # released between our statements: try again
        if not self.holder_alive(row["run_id"]):
            with self.staging.session() as session:
                if store.take_over_lease(session, self.netbox_url, self.run_id, self.holder, now, self.ttl_s,
                                         from_run_id=row["run_id"]):
                    self.report(f"took over the NetBox write lease of run {row['run_id']}, which has ended")
                    return None
        return row

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, name=f"write-lease-{self.run_id[:8]}", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        interval = max(self.ttl_s / 4, 0.2)
        while not self._stop.wait(interval):
            try:
                with self.staging.session() as session:
                    held = store.renew_lease(session, self.netbox_url, self.run_id, utcnow(), self.ttl_s)
            except Exception as exc:  # a staging hiccup: the next beat tries again before expiry
                log.warning("could not renew the NetBox write lease: %s", exc)
                continue
            if not held:
                log.error("the NetBox write lease of run %s expired and was taken by another run", self.run_id)
                return

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None

    def release(self) -> None:
        self.stop_heartbeat()
        with self.staging.session() as session:
            store.release_lease(session, self.netbox_url, self.run_id)

    def __enter__(self) -> "WriteLease":
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()


def lease_key(url: str) -> str:
    """One lease per NetBox, however its URL was spelled (trailing slash, case of the host)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}{f':{parts.port}' if parts.port else ''}{parts.path.rstrip('/')}"


@contextlib.contextmanager
def step_lease(config, staging, run_id: str, *, dry_run: bool, holder: str, holder_alive: Callable[[str], bool] = lambda _: True,
               report: Callable[[str], None] = log.warning, release: bool = False,
               continued: bool = False) -> Iterator[WriteLease | None]:
    """Hold this run's write lease for one Dagster step (taken or renewed, with heartbeat).

    Steps of one run pass the lease on to each other: it stays with the run between steps (a
    crash there frees it by expiry, or at once when Dagster knows the run ended) and is released by
    the last writing step (`release=True`), or by any step that fails. Dry runs take none. A step
    that `continued` the run's writes must find the lease still with its run: had another run taken
    it meanwhile, this run's plan would be stale, and writing it could duplicate what the other wrote.
    """
    if dry_run or config.netbox.dry_run or not config.netbox.url:
        yield None
        return
    lease = WriteLease(staging, lease_key(config.netbox.url), run_id, ttl_s=config.netbox.lease_ttl_s, holder=holder,
                       holder_alive=holder_alive, report=report)
    if continued:
        lease.continue_holding()
    else:
        lease.acquire()
    try:
        yield lease
    except BaseException:
        lease.release()
        raise
    if release:
        lease.release()
    else:
        lease.stop_heartbeat()
