"""The imperative shell: each pipeline stage as a plain function over config, staging DB and NetBox.

One module per stage, mirroring the Dagster assets in defs/: collect (source assets), inventory and
plan (the planning step), apply (the NetBox assets). The decisions are made by the pure core
(sources/, reconcile/, netbox/schema.py); these functions fetch, store and hand over. Stages pass
each other staging run ids, never in-memory objects: the staging DB is the one data plane.
"""
