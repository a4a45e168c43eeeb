"""Write leases: one row per NetBox URL naming the run that writes to it, with heartbeat and expiry,
so two runs (a schedule and a person at the CLI, or two Dagster instances) never write at once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "write_leases",
        sa.Column("netbox_url", sa.String(length=512), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("acquired_at", UTC, nullable=False),
        sa.Column("heartbeat_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("netbox_url", name=op.f("pk_write_leases")),
    )


def downgrade() -> None:
    op.drop_table("write_leases")
