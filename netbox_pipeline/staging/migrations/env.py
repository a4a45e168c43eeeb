"""Alembic environment: runs on the connection that `netbox_pipeline.staging.db` hands over.

Configured programmatically (no alembic.ini); `db.upgrade()` / `db.downgrade()` are the entry
points, they open the connection, take the migration lock and commit.
"""

from alembic import context

from netbox_pipeline.staging.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "staging migrations run through netbox_pipeline.staging.db.upgrade(); "
        "offline (--sql) mode is not supported"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite can alter little in place: batch mode rebuilds the table for such changes.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
