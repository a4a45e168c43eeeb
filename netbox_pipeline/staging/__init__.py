"""The staging database: the pipeline's data plane (models, migrations, store functions).

Open it with `netbox_pipeline.staging.db.open_staging(url)`; read and write through
`netbox_pipeline.staging.store`.
"""
