"""A NetBox slower than the client's timeout: uncertain writes are settled, never guessed at.

Before: the client re-read at once, while the server was still writing, found nothing and resent,
making duplicate IPs and MACs; an uncertain custom-field create failed the run.
"""

import pytest

from netbox_pipeline_tests.estate import small_estate
from netbox_pipeline_tests.operations.helpers import custom_field_duplicates, duplicates


def slow_estate(make_estate):
    data = small_estate()
    data["devices"][0]["custom_fields"] = {"asset_owner": "ops", "warranty_until": "2027-01-01"}
    estate = make_estate(files={"rack": data},
                         extra_config="custom_fields: {asset_owner: {type: text}, warranty_until: {type: date}}")
    text = estate.config_path.read_text().replace("chunk_size: 2}", "chunk_size: 10, timeout_s: 0.5, server_timeout_s: 2}")
    estate.config_path.write_text(text)
    return estate


@pytest.mark.parametrize("fault", ["still writing after the timeout", "written, answered after the timeout"])
def test_writes_answered_after_the_timeout_make_no_duplicate_on_the_run_and_a_rerun(make_estate, fault):
    estate = slow_estate(make_estate)
    if fault.startswith("still"):
        estate.sandbox.faults.configure(latency_s=1.0, methods=["POST"])
    else:
        estate.sandbox.faults.configure(answer_delay_s=1.0, methods=["POST"])
    first = estate.sync()
    assert first.success, [r.error for r in first.runs]
    assert estate.sandbox.faults.active and [w for w in estate.writes() if w.method == "POST"]
    assert duplicates(estate) == [] and custom_field_duplicates(estate) == []
    assert len(estate.objects("mac_addresses")) == 7 and len(estate.objects("ip_addresses")) == 4
    # The bootstrap custom fields went the same way.
    assert {"asset_owner", "warranty_until"} <= {cf["name"] for cf in estate.sandbox.objects("extras/custom-fields")}

    rerun = estate.sync()
    assert rerun.success, [r.error for r in rerun.runs]
    assert duplicates(estate) == [] and custom_field_duplicates(estate) == []
    assert len(estate.objects("mac_addresses")) == 7
