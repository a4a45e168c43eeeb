"""Shared fixtures and the real-component switch.

Tests that need a real component (PostgreSQL, the nmap binary, the recorded NetBox exchanges)
call `require_real(...)`. Locally a missing component skips the test with the reason; with
NETBOX_PIPELINE_REQUIRE_REAL=1 (set by .ci/run, and whenever CI=true) it fails instead, so CI can
never go green by skipping them.
"""

import os
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("NETBOX_PIPELINE_SHARED", REPO_ROOT.parent / "shared"))
NETBOX_REFERENCE_DIR = SHARED_DIR / "netbox-reference"
POSTGRES_ADMIN_URL = os.environ.get(
    "NETBOX_PIPELINE_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def real_components_required() -> bool:
    return os.environ.get("NETBOX_PIPELINE_REQUIRE_REAL") == "1" or os.environ.get("CI") == "true"


def require_real(available: bool, what: str) -> None:
    """Skip (locally) or fail (CI) when a real component the test needs is missing."""
    if available:
        return
    if real_components_required():
        pytest.fail(f"required real component missing: {what}", pytrace=False)
    pytest.skip(f"real component missing: {what}")


def _postgres_reachable() -> str | None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # the reason goes into the skip/fail message
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@pytest.fixture(autouse=True, scope="session")
def _own_dagster_home(tmp_path_factory):
    """No test ever writes runs into the checkout's .dagster_home (the one ./run.sh ui shows)."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = previous


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database on the local server, dropped after the test."""
    import sqlalchemy as sa

    problem = _postgres_reachable()
    require_real(problem is None, f"PostgreSQL at {POSTGRES_ADMIN_URL} ({problem})")
    name = f"nbp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'staging.sqlite'}"


@pytest.fixture(params=["sqlite", "postgres"])
def staging_url(request, tmp_path):
    """Runs a test once against SQLite and once against the local PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'staging.sqlite'}"
    return request.getfixturevalue("postgres_url")


# An estate (inventory files + config + NetBox sandbox + Dagster home) for end-to-end tests.
from netbox_pipeline_tests.estate import make_estate  # noqa: E402,F401
# A real NetBox 4.7 (session server, fresh database per test).
from netbox_pipeline_tests.real_netbox import real_netbox, real_netbox_server  # noqa: E402,F401
