"""The pieces of `netbox-pipeline bench`: targets (stand-in, real, any URL), bare baselines, the core benchmark."""
