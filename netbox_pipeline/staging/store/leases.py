"""Write leases: which run may write to a NetBox now (one row per NetBox URL).

Every change is one conditional statement, so two processes racing for the same row cannot both
win on SQLite or PostgreSQL: re-entry by the holder, take-over of an expired row, or the first
insert. The caller decides when to wait, and how long a heartbeat keeps the row alive.
"""

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netbox_pipeline.staging.models import WriteLease
from netbox_pipeline.staging.store._common import _row_dict


def lease_holder(session: Session, netbox_url: str) -> dict[str, Any] | None:
    row = session.scalars(select(WriteLease).where(WriteLease.netbox_url == netbox_url)).first()
    return _row_dict(row) if row else None


def renew_lease(session: Session, netbox_url: str, run_id: str, now: dt.datetime, ttl_s: float) -> bool:
    """Push the expiry of a lease this run holds; False when it holds none (expired and taken)."""
    result = session.execute(update(WriteLease)
                             .where(WriteLease.netbox_url == netbox_url, WriteLease.run_id == run_id)
                             .values(heartbeat_at=now, expires_at=now + dt.timedelta(seconds=ttl_s)))
    return result.rowcount == 1


def take_over_lease(session: Session, netbox_url: str, run_id: str, holder: str, now: dt.datetime, ttl_s: float,
                    *, from_run_id: str | None = None) -> bool:
    """Take an expired lease over (or, with `from_run_id`, one of a run known to have ended)."""
    condition = WriteLease.run_id == from_run_id if from_run_id else WriteLease.expires_at < now
    result = session.execute(update(WriteLease).where(WriteLease.netbox_url == netbox_url, condition)
                             .values(run_id=run_id, holder=holder, acquired_at=now, heartbeat_at=now,
                                     expires_at=now + dt.timedelta(seconds=ttl_s)))
    return result.rowcount == 1


def insert_lease(session: Session, netbox_url: str, run_id: str, holder: str, now: dt.datetime, ttl_s: float) -> bool:
    """Create the row when nobody holds the lease; False when another run inserted it first."""
    try:
        with session.begin_nested():
            session.execute(insert(WriteLease).values(netbox_url=netbox_url, run_id=run_id, holder=holder, acquired_at=now,
                                                      heartbeat_at=now, expires_at=now + dt.timedelta(seconds=ttl_s)))
    except IntegrityError:
        return False
    return True


def release_lease(session: Session, netbox_url: str, run_id: str) -> bool:
    result = session.execute(delete(WriteLease).where(WriteLease.netbox_url == netbox_url, WriteLease.run_id == run_id))
    return result.rowcount == 1
