"""Identity links seen again: a link is stored once and `last_seen_run_id` names the newest
inventory run that confirmed it (`run_id` stays the first), so lineage can tell the links of the
current merge from old ones without a row per run. The evidence (`reason`) gets room for a
serial number.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_ID = sa.String(length=36)
links = sa.table("identity_links", sa.column("run_id", RUN_ID), sa.column("last_seen_run_id", RUN_ID),
                 sa.column("reason", sa.String(255)))


def upgrade() -> None:
    op.add_column("identity_links", sa.Column("last_seen_run_id", RUN_ID, nullable=True))
    # Rows written before this revision were seen once: by the run that wrote them.
    op.execute(links.update().values(last_seen_run_id=links.c.run_id))
    with op.batch_alter_table("identity_links") as batch:
        batch.alter_column("last_seen_run_id", existing_type=RUN_ID, nullable=False)
        batch.alter_column("reason", existing_type=sa.String(length=64), type_=sa.String(length=255),
                           existing_nullable=False)


def downgrade() -> None:
    op.execute(links.update().where(sa.func.length(links.c.reason) > 64)
               .values(reason=sa.func.substr(links.c.reason, 1, 64)))
    with op.batch_alter_table("identity_links") as batch:
        batch.alter_column("reason", existing_type=sa.String(length=255), type_=sa.String(length=64),
                           existing_nullable=False)
        batch.drop_column("last_seen_run_id")
