"""Alembic migrations of the staging database (a package so that installs ship them)."""
