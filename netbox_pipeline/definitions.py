"""The Dagster code location `netbox_pipeline`: Definitions built from defs/ and the config.

The configuration file is found through $NETBOX_PIPELINE_CONFIG (default netbox_pipeline.yaml in
the working directory); with none, the location still loads, with no sources.
"""

import dagster as dg

from netbox_pipeline.config import load_config
from netbox_pipeline.defs import build_definitions


def current_definitions() -> dg.Definitions:
    """The location as the config says now. Dagster calls a no-argument function on every load,
    where `defs` is fixed at first import: a long-lived process (the MCP server, a test session)
    that loads the location in-process must see the config of today, not of its first import."""
    return build_definitions(load_config())


defs = current_definitions()
