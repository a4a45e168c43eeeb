"""Contract tests: replay every recorded NetBox exchange (4.4, 4.6 and 4.7) against the sandbox.

4.4 and 4.6 come from ../shared/netbox-reference; 4.7 was recorded from a real NetBox 4.7.3 by
record_47.py and lives in the repository (recordings-4.7/).
"""

import json
from pathlib import Path

import pytest

from netbox_pipeline.sandbox.netbox import ALLOWED_MISMATCHES, NetBoxSandbox
from netbox_pipeline_tests.conftest import NETBOX_REFERENCE_DIR, require_real
from netbox_pipeline_tests.sandbox.netbox.replay import Replayer, example_files

EXAMPLE_DIRS = {"4.4": NETBOX_REFERENCE_DIR / "examples", "4.6": NETBOX_REFERENCE_DIR / "v4.6" / "examples",
                "4.7": Path(__file__).resolve().parent / "recordings-4.7" / "examples"}


def replay_all(version: str) -> list:
    with NetBoxSandbox(version=version) as sandbox:
        replayer = Replayer(sandbox)
        return [replayer.replay(json.loads(path.read_text()), path.stem) for path in example_files(EXAMPLE_DIRS[version])]


@pytest.mark.parametrize("version", ["4.4", "4.6", "4.7"])
def test_every_recorded_exchange_matches_or_is_allow_listed(version: str) -> None:
    require_real(EXAMPLE_DIRS[version].exists(), f"recorded NetBox {version} exchanges in {EXAMPLE_DIRS[version]}")
    outcomes = replay_all(version)
    matched = sum(o.ok for o in outcomes)
    summary = f"NetBox {version}: {matched} of {len(outcomes)} exchanges match"
    print(summary)
    allowed = ALLOWED_MISMATCHES[version]
    unexpected = {o.name: o.problems for o in outcomes if not o.ok and o.name not in allowed}
    now_matching = sorted(o.name for o in outcomes if o.ok and o.name in allowed)
    unknown = sorted(set(allowed) - {o.name for o in outcomes})
    for name, problems in unexpected.items():
        print(f"  MISMATCH {name}:")
        for problem in problems[:8]:
            print(f"    - {problem}")
    assert not unexpected, f"{summary}; mismatches not in the allow-list: {json.dumps(unexpected, indent=1)[:6000]}"
    assert not now_matching, f"{summary}; these now match, remove them from the allow-list: {now_matching}"
    assert not unknown, f"{summary}; allow-list names no recorded exchange: {unknown}"
