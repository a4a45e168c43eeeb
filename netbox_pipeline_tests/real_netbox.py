"""Fixtures for a real NetBox (the PyPI wheel under gunicorn) in the tests.

One server per test session (installing takes ~2 minutes once per machine, the template database
seconds when the shared dump exists); every test gets a fresh database cloned from the seeded one
under the running workers, and its own logging proxy so it can count the requests on the wire.
A NetBox that cannot start fails the tests in CI (`require_real`) and skips them locally.
"""

import logging
import os

import pytest

from netbox_pipeline_tests.conftest import require_real

REAL_NETBOX_VERSION = os.environ.get("NETBOX_PIPELINE_TEST_REAL_NETBOX", "4.7.3")
# The parameter value the end-to-end tests use for "the real server" next to the stand-in's "4.4" / "4.6".
REAL = "4.7-real"


@pytest.fixture(scope="session")
def real_netbox_server():
    from netbox_pipeline.sandbox.real_netbox import RealNetBox, RealNetBoxError

    logging.getLogger("netbox_pipeline.real_netbox").setLevel(logging.INFO)
    server = RealNetBox(version=REAL_NETBOX_VERSION)
    try:
        server.start()
    except RealNetBoxError as exc:
        require_real(False, f"a real NetBox {REAL_NETBOX_VERSION}: {exc}")
    yield server
    server.stop()


@pytest.fixture
def real_netbox(real_netbox_server):
    """The session's real NetBox on a fresh database, behind a logging proxy (the stand-in's test surface)."""
    from netbox_pipeline.sandbox.real_netbox.proxy import LoggedNetBox

    real_netbox_server.reset()
    logged = LoggedNetBox(real_netbox_server.url, real_netbox_server.token, real_netbox_server.read_only_token,
                          version=REAL_NETBOX_VERSION)
    yield logged
    logged.stop()


def serve_netbox(request):
    """The body of a fixture parametrised by release: the stand-in answering as `request.param`
    ("4.4", "4.6", "4.7"), or the session's real NetBox for REAL. Use as `yield from serve_netbox(request)`."""
    if request.param == REAL:
        yield request.getfixturevalue("real_netbox")
        return
    from netbox_pipeline.sandbox.netbox import NetBoxSandbox

    with NetBoxSandbox(version=request.param) as sandbox:
        yield sandbox
