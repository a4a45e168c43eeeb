"""Plan slices as columns: an apply run names its plan run, type and phase in columns of its own
(not packed into `instance`), a run keeps plan-level details, and a plan item keeps everything
apply needs, so each NetBox asset loads only its own type's slice of a plan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_ID = sa.String(length=36)
runs = sa.table("runs", sa.column("id", RUN_ID), sa.column("kind", sa.String(32)), sa.column("instance", sa.String(255)),
                sa.column("plan_run_id", RUN_ID), sa.column("object_type", sa.String(64)), sa.column("phase", sa.String(16)))


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("plan_run_id", RUN_ID, nullable=True))
        batch.add_column(sa.Column("object_type", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("phase", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch.create_index("ix_runs_plan_run_id_object_type_phase", ["plan_run_id", "object_type", "phase"])
    with op.batch_alter_table("plan_items") as batch:
        batch.add_column(sa.Column("item", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("writes_first", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("writes_second", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Apply runs recorded before this revision said "<plan run>:<type>:<phase>" in `instance`.
    bind = op.get_bind()
    for run_id, marker in bind.execute(sa.select(runs.c.id, runs.c.instance).where(runs.c.kind == "apply")).all():
        parts = (marker or "").split(":")
        if len(parts) == 3:
            bind.execute(runs.update().where(runs.c.id == run_id).values(
                plan_run_id=parts[0], object_type=parts[1], phase=parts[2], instance=None))


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(runs.c.id, runs.c.plan_run_id, runs.c.object_type, runs.c.phase)
                        .where(runs.c.kind == "apply", runs.c.plan_run_id.is_not(None))).all()
    for run_id, plan_run_id, object_type, phase in rows:
        bind.execute(runs.update().where(runs.c.id == run_id).values(instance=f"{plan_run_id}:{object_type}:{phase}"))
    with op.batch_alter_table("plan_items") as batch:
        batch.drop_column("writes_second")
        batch.drop_column("writes_first")
        batch.drop_column("item")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_plan_run_id_object_type_phase")
        batch.drop_column("details")
        batch.drop_column("phase")
        batch.drop_column("object_type")
        batch.drop_column("plan_run_id")
