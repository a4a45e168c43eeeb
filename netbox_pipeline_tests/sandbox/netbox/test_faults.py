"""Fault injection: deterministic under a seed, scoped by path and method, and `after_write`."""

import pytest
import requests

from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.sandbox.netbox.faults import Faults
from netbox_pipeline_tests.sandbox.netbox.conftest import Client


def _pattern(seed):
    faults = Faults().configure(error_rate=0.3, drop_rate=0.2, seed=seed)
    return [(d.error, d.drop) for d in (faults.decide("GET", "/api/dcim/devices/") for _ in range(200))]


def test_same_seed_same_faults():
    assert _pattern(7) == _pattern(7)
    assert _pattern(7) != _pattern(8)
    errors = sum(e for e, _ in _pattern(7))
    assert 30 < errors < 90  # about 30 % of 200


def test_scope_by_path_and_method():
    faults = Faults().configure(error_rate=1.0, path_prefix="/api/dcim/", methods=["post"])
    assert faults.decide("POST", "/api/dcim/devices/").error
    assert not faults.decide("GET", "/api/dcim/devices/").fails
    assert not faults.decide("POST", "/api/ipam/prefixes/").fails
    faults.clear()
    assert not faults.decide("POST", "/api/dcim/devices/").fails
    with pytest.raises(ValueError):
        faults.configure(error_rate=0.8, drop_rate=0.5)


def test_errors_and_drops_over_http():
    with NetBoxSandbox() as sb:
        client = Client(sb)
        sb.faults.configure(error_rate=1.0)
        assert client("GET", "dcim/sites/").status_code == 500
        sb.faults.configure(drop_rate=1.0)
        with pytest.raises(requests.ConnectionError):
            client("GET", "dcim/sites/")
        sb.faults.clear()
        assert client("GET", "dcim/sites/").status_code == 200
        assert [e.status for e in sb.request_log] == [500, 0, 200]


def test_after_write_applies_the_post_but_fails_the_answer():
    with NetBoxSandbox() as sb:
        client = Client(sb)
        sb.faults.configure(error_rate=1.0, methods=["POST"], after_write=True)
        reply = client("POST", "dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
        assert reply.status_code == 500
        assert [m["name"] for m in sb.objects("dcim/manufacturers")] == ["Acme"]
        retry = client("POST", "dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
        sb.faults.clear()
        assert retry.status_code == 500 and len(sb.objects("dcim/manufacturers")) == 1


def test_latency_is_added():
    with NetBoxSandbox() as sb:
        sb.faults.configure(latency_s=0.05)
        Client(sb)("GET", "dcim/sites/")
        assert sb.request_log[0].duration_s >= 0.05
