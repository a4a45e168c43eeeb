"""Fixtures for the source tests: the nmap namespace lab (built once per test run)."""

import pytest

from netbox_pipeline_tests.conftest import require_real
from netbox_pipeline_tests.sources.nmap_lab import NmapLab, lab_available


@pytest.fixture(scope="session")
def nmap_lab():
    """Three hosts with listeners on a bridge, all inside network namespaces; removed afterwards."""
    available, why = lab_available()
    require_real(available, f"nmap namespace lab ({why})")
    lab = NmapLab().start()
    try:
        yield lab
    finally:
        lab.stop()
