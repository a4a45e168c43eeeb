"""`netbox-pipeline mcp`: the pipeline's knowledge as Model Context Protocol tools for AI assistants.

Read tools answer from the staging DB, the Dagster instance and one read of NetBox, the same
way the CLI does; `sync` and `undo` write only when `mcp.allow_writes` is set, and only what was
previewed and then confirmed with its one-time token (`writes.py`, `guard.py`). Named `assistant`
so it never shadows the `mcp` SDK package.
"""

from netbox_pipeline.assistant.server import build_server, serve
