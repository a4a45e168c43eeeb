"""One line per failed run: the cause, then the next step picked from what the cause says."""

import pytest

from netbox_pipeline.failures import VERBOSE_HINT, failure_line, next_step


@pytest.mark.parametrize("label, cause, step", [
    ("merge and plan", "plan_sync: netbox_snapshot: reading NetBox failed: GET http://nb/api/extras/tags/: no answer from NetBox "
     "(ConnectionError) after 4 attempts", "check that NetBox is running and answers at http://nb (netbox.url), then run again"),
    ("merge and plan", "plan_sync: netbox_snapshot: reading NetBox failed: GET http://nb/api/status/: NetBox answered 403: "
     "{'detail': 'Invalid token'}", "check the token in NETBOX_TOKEN (netbox.token): `plan` needs read access, `sync` write access"),
    ("merge, plan and write", "check deletion_ratio failed: 40 deletions are 50% of owned objects (limit 10%); nothing was written",
     "check why so much disappeared from the sources; if it is meant, raise deletion.max_ratio for one run"),
    ("merge, plan and write", "NetBox http://nb is being written by run 1234; not waiting (--no-wait)",
     "another run is writing to this NetBox: wait for it to finish, or run without --no-wait to queue behind it"),
    ("proxmox_inventory[pve-lab]", "proxmox_inventory: proxmox:pve-lab failed: proxmox 127.0.0.1:8006: 401 authentication failure",
     "fix what the message names (docs/source-proxmox.md); until then the sync uses this instance's last good snapshot"),
    ("home_assistant_devices[home]", "home_assistant_devices: home_assistant:home failed: TLS: certificate verify failed",
     "fix what the message names (docs/source-home-assistant.md); until then the sync uses this instance's last good snapshot"),
    ("filesystem_inventory[rack]", "filesystem_inventory: filesystem:rack failed: cannot read inventory file rack.yaml: No such file",
     "fix what the message names (docs/inventory-files.md); until then the sync uses this instance's last good snapshot"),
    ("merge and plan", "plan_sync: KeyError: 'site'", VERBOSE_HINT),
])
def test_the_next_step_follows_from_the_cause(label, cause, step):
    assert next_step(label, cause, "http://nb") == step


def test_a_failure_is_one_line_even_when_the_error_has_many():
    line = failure_line("merge and plan", "0f0f", "plan_sync: boom\n  File x, line 3\nTraceback", netbox_url=None)
    assert "\n" not in line
    assert line == f"FAILED {'merge and plan':<40} run 0f0f: plan_sync: boom — next: {VERBOSE_HINT}"
