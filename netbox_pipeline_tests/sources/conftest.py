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


@pytest.fixture(scope="session")
def real_home_assistant():
    """A real Home Assistant (PyPI, own venv), onboarded, seeded with the stand-in's estate."""
    from netbox_pipeline_tests.sources.real_ha import install
    from netbox_pipeline_tests.sources.real_ha.harness import RealHomeAssistant

    python = install.python_for_ha()
    require_real(python is not None, "Python 3.11 or 3.12 for Home Assistant 2024.3")
    ha = RealHomeAssistant().start()
    try:
        yield ha
    finally:
        ha.stop()
