"""The Dagster code location `netbox_pipeline`: Definitions built from defs/ and the config.

The configuration file is found through $NETBOX_PIPELINE_CONFIG (default netbox_pipeline.yaml in
the working directory); with none, the location still loads, with no sources.
"""

from netbox_pipeline.config import load_config
from netbox_pipeline.defs import build_definitions

defs = build_definitions(load_config())
