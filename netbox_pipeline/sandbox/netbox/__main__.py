from netbox_pipeline.sandbox.netbox.server import main

main()
