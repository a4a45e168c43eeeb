"""The configuration's `defaults:` are declared once (model.DEFAULT_VALUES) and reach the build whole."""

from dataclasses import fields

from netbox_pipeline.config import Defaults, PipelineConfig
from netbox_pipeline.model import DEFAULT_VALUES, Device, Inventory, SourceResult, VirtualMachine
from netbox_pipeline.reconcile.building import Fallbacks, resolve_defaults
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.stages.plan import desired_for


def _inventory(*records) -> Inventory:
    return merge([SourceResult("filesystem", "rack", records=list(records))], default_precedence())


def test_configuration_defaults_and_build_fallbacks_share_one_declaration():
    assert Defaults().model_dump() == dict(DEFAULT_VALUES)
    unset = Fallbacks()
    shared = {f.name for f in fields(Fallbacks)} & set(DEFAULT_VALUES)
    # Where the build falls back without a configuration, it falls back to the configured value
    # (site and VM role excepted: without a configuration none is assumed).
    assert {name: getattr(unset, name) for name in shared - {"site", "vm_role"}} == \
        {name: DEFAULT_VALUES[name] for name in shared - {"site", "vm_role"}}
    assert (unset.site, unset.vm_role) == (None, None)
    assert resolve_defaults(Defaults().model_dump()) == Fallbacks(**{name: DEFAULT_VALUES[name] for name in shared})


def test_every_configured_default_that_is_a_fallback_reaches_the_build():
    config = PipelineConfig.model_validate({"defaults": {
        "site": "lab", "device_role": "appliance", "vm_role": "guest", "manufacturer": "Acme", "device_type": "Box"}})
    desired = desired_for(config, _inventory(Device(name="bare"), VirtualMachine(name="vm-1")))
    device = desired["devices"][("lab", "bare")]
    assert device.fields["role"] == ("appliance",)
    assert device.fields["device_type"] == ("acme", "box")
    assert desired["virtual_machines"][("", "vm-1")].fields["role"] == ("guest",)
    assert [p for p in desired.problems if p.check == "missing_site"] == []
