"""Initial staging schema: runs, source snapshots and records, inventory versions, identity links,
plan items, applied changes, object map.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a migration must not change when the models do.
UTC = sa.DateTime(timezone=True)
KEY = sa.String(length=512)
RUN_ID = sa.String(length=36)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", RUN_ID, nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_kind", sa.String(length=64), nullable=True),
        sa.Column("instance", sa.String(length=255), nullable=True),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_dagster_run_id", "runs", ["dagster_run_id"])
    op.create_index("ix_runs_kind_started_at", "runs", ["kind", "started_at"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])

    op.create_table(
        "source_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", RUN_ID, nullable=False),
        sa.Column("source_kind", sa.String(length=64), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("taken_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_source_snapshots_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_source_snapshots"),
    )
    op.create_index("ix_source_snapshots_run_id", "source_snapshots", ["run_id"])
    op.create_index(
        "ix_source_snapshots_source_kind_instance_taken_at",
        "source_snapshots",
        ["source_kind", "instance", "taken_at"],
    )

    op.create_table(
        "source_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=False),
        sa.Column("record_key", KEY, nullable=False),
        sa.Column("location", sa.String(length=1024), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["source_snapshots.id"],
            name="fk_source_records_snapshot_id_source_snapshots",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_source_records"),
    )
    op.create_index("ix_source_records_record_key", "source_records", ["record_key"])
    op.create_index(
        "ix_source_records_snapshot_id_record_type_record_key",
        "source_records",
        ["snapshot_id", "record_type", "record_key"],
    )

    op.create_table(
        "inventory_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("natural_key", KEY, nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen_run_id", RUN_ID, nullable=False),
        sa.Column("last_seen_run_id", RUN_ID, nullable=False),
        sa.Column("closed_run_id", RUN_ID, nullable=True),
        sa.Column("valid_from", UTC, nullable=False),
        sa.Column("valid_to", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_items"),
    )
    op.create_index("ix_inventory_items_closed_run_id", "inventory_items", ["closed_run_id"])
    op.create_index("ix_inventory_items_first_seen_run_id", "inventory_items", ["first_seen_run_id"])
    op.create_index(
        "ix_inventory_items_object_type_natural_key_valid_to",
        "inventory_items",
        ["object_type", "natural_key", "valid_to"],
    )
    op.create_index(
        "uq_inventory_items_current",
        "inventory_items",
        ["object_type", "natural_key"],
        unique=True,
        sqlite_where=sa.text("valid_to IS NULL"),
        postgresql_where=sa.text("valid_to IS NULL"),
    )

    op.create_table(
        "identity_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("inventory_natural_key", KEY, nullable=False),
        sa.Column("source_kind", sa.String(length=64), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("record_key", KEY, nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("run_id", RUN_ID, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identity_links"),
    )
    op.create_index(
        "ix_identity_links_object_type_inventory_natural_key",
        "identity_links",
        ["object_type", "inventory_natural_key"],
    )
    op.create_index("ix_identity_links_run_id", "identity_links", ["run_id"])
    op.create_index(
        "ix_identity_links_source_kind_instance_record_key",
        "identity_links",
        ["source_kind", "instance", "record_key"],
    )

    op.create_table(
        "plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", RUN_ID, nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("natural_key", KEY, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("netbox_id", sa.BigInteger(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("desired", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_plan_items_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_plan_items"),
    )
    op.create_index(
        "ix_plan_items_object_type_natural_key", "plan_items", ["object_type", "natural_key"]
    )
    op.create_index("ix_plan_items_run_id_object_type", "plan_items", ["run_id", "object_type"])

    op.create_table(
        "applied_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", RUN_ID, nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=True),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("natural_key", KEY, nullable=False),
        sa.Column("netbox_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("applied_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["plan_items.id"],
            name="fk_applied_changes_plan_item_id_plan_items",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_applied_changes_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_applied_changes"),
    )
    op.create_index(
        "ix_applied_changes_object_type_natural_key",
        "applied_changes",
        ["object_type", "natural_key"],
    )
    op.create_index("ix_applied_changes_plan_item_id", "applied_changes", ["plan_item_id"])
    op.create_index(
        "ix_applied_changes_run_id_object_type", "applied_changes", ["run_id", "object_type"]
    )

    op.create_table(
        "object_map",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("natural_key", KEY, nullable=False),
        sa.Column("netbox_id", sa.BigInteger(), nullable=True),
        sa.Column("inventory_item_key", KEY, nullable=True),
        sa.Column("last_written", sa.JSON(), nullable=True),
        sa.Column("written_hash", sa.String(length=64), nullable=True),
        sa.Column("owned", sa.Boolean(), nullable=False),
        sa.Column("source_kinds", sa.JSON(), nullable=True),
        sa.Column("first_written_run_id", RUN_ID, nullable=True),
        sa.Column("last_written_run_id", RUN_ID, nullable=True),
        sa.Column("last_seen_run_id", RUN_ID, nullable=True),
        sa.Column("missing_runs", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_object_map"),
        sa.UniqueConstraint(
            "object_type", "natural_key", name="uq_object_map_object_type_natural_key"
        ),
    )
    op.create_index("ix_object_map_object_type_netbox_id", "object_map", ["object_type", "netbox_id"])


def downgrade() -> None:
    # Children before parents; a table's indexes go with it.
    for table in (
        "object_map",
        "applied_changes",
        "plan_items",
        "identity_links",
        "inventory_items",
        "source_records",
        "source_snapshots",
        "runs",
    ):
        op.drop_table(table)
