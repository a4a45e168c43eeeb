"""Staging database tables: the pipeline's data plane, every row keyed by the run that wrote it.

Rows that belong to a run (snapshots, plan items, applied changes) reference `runs` and go with it.
Rows that outlive any single run (inventory versions, identity links, the object map) keep run ids
as plain indexed strings, so pruning old runs never rewrites them.

Every change here needs a migration in `migrations/versions/`; the test suite compares these
models with the migrated schema and fails on any drift.
"""

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_KINDS = ("source", "inventory", "plan", "apply", "sync", "prune", "undo")
RUN_STATUSES = ("running", "success", "failed")
SNAPSHOT_STATUSES = ("ok", "failed")
PLAN_ACTIONS = ("create", "update", "unchanged", "orphan", "delete", "skip")
APPLIED_STATUSES = ("applied", "failed", "skipped")

KEY_LEN = 512  # natural keys and record keys: names, "device/interface", addresses
REASON_LEN = 255  # an identity link's evidence: "MAC AA:BB:…", "device serial …, serial …"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in and out on every backend (SQLite stores no offset, so it is implied)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; staging stores aware UTC only")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


# SQL NULL (not JSON 'null') for a missing document, so "IS NULL" means what it says.
Json = JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index(None, "kind", "started_at"), Index(None, "plan_run_id", "object_type", "phase"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dagster_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    source_kind: Mapped[str | None] = mapped_column(String(64))
    instance: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[dict[str, Any] | None] = mapped_column(Json)
    error: Mapped[str | None] = mapped_column(Text)
    # An apply run writes one type's slice of one plan in one phase ("first", "second", "delete").
    plan_run_id: Mapped[str | None] = mapped_column(String(36))
    object_type: Mapped[str | None] = mapped_column(String(64))
    phase: Mapped[str | None] = mapped_column(String(16))
    # Plan-level facts the NetBox steps need (custom fields wanted, emptied instances, ...).
    details: Mapped[dict[str, Any] | None] = mapped_column(Json)


class SourceSnapshot(Base):
    __tablename__ = "source_snapshots"
    __table_args__ = (Index(None, "source_kind", "instance", "taken_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    source_kind: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="ok")
    error: Mapped[str | None] = mapped_column(Text)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SourceRecord(Base):
    __tablename__ = "source_records"
    __table_args__ = (
        Index(None, "snapshot_id", "record_type", "record_key"),
        Index(None, "record_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("source_snapshots.id", ondelete="CASCADE"))
    record_type: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(KEY_LEN))
    location: Mapped[str | None] = mapped_column(String(1024))
    payload: Mapped[Any] = mapped_column(Json)
    payload_hash: Mapped[str] = mapped_column(String(64))


class InventoryItem(Base):
    """One version of a merged item; the current version has valid_to NULL."""

    __tablename__ = "inventory_items"
    __table_args__ = (
        Index(None, "object_type", "natural_key", "valid_to"),
        # At most one current version per item (both backends support partial indexes).
        Index(
            "uq_inventory_items_current",
            "object_type",
            "natural_key",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
        Index(None, "first_seen_run_id"),
        Index(None, "closed_run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(64))
    natural_key: Mapped[str] = mapped_column(String(KEY_LEN))
    fields: Mapped[dict[str, Any]] = mapped_column(Json)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(Json)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_run_id: Mapped[str] = mapped_column(String(36))  # run that created this version
    last_seen_run_id: Mapped[str] = mapped_column(String(36))  # last run that confirmed it
    closed_run_id: Mapped[str | None] = mapped_column(String(36))  # run that ended it
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IdentityLink(Base):
    """Why a source record was merged into an inventory item other than by its own natural key.

    Stored once per (item, record, reason): `run_id` is the inventory run that first saw it,
    `last_seen_run_id` the newest one that saw it again, so a link that no longer holds stays as
    history without growing the table every run.
    """

    __tablename__ = "identity_links"
    __table_args__ = (
        Index(None, "object_type", "inventory_natural_key"),
        Index(None, "source_kind", "instance", "record_key"),
        Index(None, "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(64))
    inventory_natural_key: Mapped[str] = mapped_column(String(KEY_LEN))
    source_kind: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(255))
    record_key: Mapped[str] = mapped_column(String(KEY_LEN))
    reason: Mapped[str] = mapped_column(String(REASON_LEN))
    run_id: Mapped[str] = mapped_column(String(36))  # first seen
    last_seen_run_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanItem(Base):
    __tablename__ = "plan_items"
    __table_args__ = (
        Index(None, "run_id", "object_type"),
        Index(None, "object_type", "natural_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(64))
    natural_key: Mapped[str] = mapped_column(String(KEY_LEN))
    action: Mapped[str] = mapped_column(String(16))
    netbox_id: Mapped[int | None] = mapped_column(BigInteger)
    changes: Mapped[dict[str, Any] | None] = mapped_column(Json)  # field -> [before, after]
    desired: Mapped[dict[str, Any] | None] = mapped_column(Json)
    reason: Mapped[str | None] = mapped_column(Text)
    # Everything apply needs (netbox.items.PlanItem.to_stored), and which passes write.
    item: Mapped[dict[str, Any] | None] = mapped_column(Json)
    writes_first: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    writes_second: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class AppliedChange(Base):
    """One write (or attempted write) to NetBox: what undoing a run needs."""

    __tablename__ = "applied_changes"
    __table_args__ = (
        Index(None, "run_id", "object_type"),
        Index(None, "object_type", "natural_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    plan_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_items.id", ondelete="SET NULL"), index=True
    )
    object_type: Mapped[str] = mapped_column(String(64))
    natural_key: Mapped[str] = mapped_column(String(KEY_LEN))
    netbox_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(Json)
    after: Mapped[dict[str, Any] | None] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ObjectMapEntry(Base):
    """NetBox type + id <-> natural key <-> inventory item, with what was last written."""

    __tablename__ = "object_map"
    __table_args__ = (
        UniqueConstraint("object_type", "natural_key"),
        Index(None, "object_type", "netbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(64))
    natural_key: Mapped[str] = mapped_column(String(KEY_LEN))
    netbox_id: Mapped[int | None] = mapped_column(BigInteger)
    inventory_item_key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    last_written: Mapped[dict[str, Any] | None] = mapped_column(Json)
    written_hash: Mapped[str | None] = mapped_column(String(64))
    owned: Mapped[bool] = mapped_column(Boolean, default=True)
    source_kinds: Mapped[list[str] | None] = mapped_column(Json)
    first_written_run_id: Mapped[str | None] = mapped_column(String(36))
    last_written_run_id: Mapped[str | None] = mapped_column(String(36))
    last_seen_run_id: Mapped[str | None] = mapped_column(String(36))
    missing_runs: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WriteLease(Base):
    """Who writes to one NetBox now: one row per NetBox URL, held across processes and Dagster instances.

    A holder renews `expires_at` by heartbeat while it works; another run may take the row over
    only once that has passed (or once the holding Dagster run is known to have ended).
    """

    __tablename__ = "write_leases"

    netbox_url: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))  # host, pid and what runs there
    run_id: Mapped[str] = mapped_column(String(64))  # the Dagster run id of the holder
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


STAGING_TABLES = tuple(Base.metadata.tables)
