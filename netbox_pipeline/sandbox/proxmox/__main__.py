from netbox_pipeline.sandbox.proxmox.server import main

main()
