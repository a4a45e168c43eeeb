"""Fixtures for the NetBox sandbox tests: a running sandbox per version and a small HTTP client."""

from typing import Any

import pytest
import requests

from netbox_pipeline.sandbox.netbox import NetBoxSandbox


class Client:
    """requests with the sandbox's base URL and token filled in."""

    def __init__(self, sandbox: NetBoxSandbox, token: str | None = None, scheme: str = "Token") -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"{scheme} {token or sandbox.token}"

    def __call__(self, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.session.request(method, f"{self.sandbox.api_url}/{path.lstrip('/')}", json=body, **kw)

    def post(self, path: str, body: Any) -> dict[str, Any]:
        reply = self("POST", path, body)
        assert reply.status_code == 201, reply.text
        return reply.json()


@pytest.fixture(params=["4.4", "4.6"])
def sandbox(request):
    with NetBoxSandbox(version=request.param) as sb:
        yield sb


@pytest.fixture
def client(sandbox):
    return Client(sandbox)


def build_device(client: Client, name: str = "leaf-01", **extra: Any) -> dict[str, Any]:
    """A device with everything it needs (manufacturer, type, role, site) created first."""
    sites = client("GET", "dcim/sites/?slug=site-a").json()["results"]
    if sites:
        site = sites[0]
        dtype = client("GET", "dcim/device-types/").json()["results"][0]
        role = client("GET", "dcim/device-roles/").json()["results"][0]
    else:
        maker = client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
        site = client.post("dcim/sites/", {"name": "Site A", "slug": "site-a"})
        role = client.post("dcim/device-roles/", {"name": "Leaf", "slug": "leaf"})
        dtype = client.post("dcim/device-types/", {"manufacturer": maker["id"], "model": "AX", "slug": "ax"})
    return client.post(
        "dcim/devices/", {"name": name, "site": site["id"], "role": role["id"], "device_type": dtype["id"], **extra}
    )
