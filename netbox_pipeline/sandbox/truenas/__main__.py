from netbox_pipeline.sandbox.truenas.server import main

main()
