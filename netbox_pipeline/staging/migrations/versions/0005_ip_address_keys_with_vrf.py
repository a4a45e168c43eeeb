"""An IP address's natural key holds its VRF: `192.0.2.10` becomes `/192.0.2.10` (the global table)
in the object map, and so do the primary IPs devices and VMs were last written with, so what the
pipeline wrote before keeps its grace counters, ownership and three-way diff.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OBJECT_MAP = sa.table(
    "object_map",
    sa.column("id", sa.Integer),
    sa.column("object_type", sa.String),
    sa.column("natural_key", sa.String),
    sa.column("last_written", sa.JSON(none_as_null=True)),
)
_PRIMARY_OWNERS = ("devices", "virtual_machines")


def upgrade() -> None:
    conn = op.get_bind()
    # Before, a key was the bare host (never a "/"); now it is always "<vrf>/<host>".
    conn.execute(
        _OBJECT_MAP.update()
        .where(_OBJECT_MAP.c.object_type == "ip_addresses", ~_OBJECT_MAP.c.natural_key.contains("/"))
        .values(natural_key=sa.literal("/") + _OBJECT_MAP.c.natural_key)
    )
    _rewrite_primary_ips(conn, lambda key: ["", *key] if len(key) == 1 else key)


def downgrade() -> None:
    conn = op.get_bind()
    # A VRF's address had no key of its own before; only the global table's go back.
    conn.execute(
        _OBJECT_MAP.update()
        .where(_OBJECT_MAP.c.object_type == "ip_addresses", _OBJECT_MAP.c.natural_key.startswith("/"))
        .values(natural_key=sa.func.substr(_OBJECT_MAP.c.natural_key, 2))
    )
    _rewrite_primary_ips(conn, lambda key: key[1:] if len(key) == 2 and key[0] == "" else key)


def _rewrite_primary_ips(conn, rewrite) -> None:
    rows = conn.execute(
        sa.select(_OBJECT_MAP.c.id, _OBJECT_MAP.c.last_written).where(_OBJECT_MAP.c.object_type.in_(_PRIMARY_OWNERS))
    ).all()
    for row_id, written in rows:
        key = (written or {}).get("primary_ip4")
        if not isinstance(key, list) or rewrite(key) == key:
            continue
        conn.execute(_OBJECT_MAP.update().where(_OBJECT_MAP.c.id == row_id)
                     .values(last_written={**written, "primary_ip4": rewrite(key)}))
