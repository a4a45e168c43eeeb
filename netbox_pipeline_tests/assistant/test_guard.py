"""The write guard's one-time tokens: bound to one tool, one preview's arguments, and a lifetime."""

import pytest

from netbox_pipeline.assistant.guard import ConfirmationTokens


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_confirms_once_only_its_own_tool_and_arguments_within_its_lifetime():
    clock = Clock()
    tokens = ConfirmationTokens(ttl_s=600, clock=clock)
    request = {"run_id": "4a085c6a", "force_fields": ["serial"], "pause": False}

    token = tokens.issue("undo", "hash-1", "sync 4a085c6a", "client 1.0", request)
    confirmed = tokens.redeem(token, "undo", dict(request))
    assert (confirmed.tool, confirmed.plan_hash, confirmed.subject) == ("undo", "hash-1", "sync 4a085c6a")
    with pytest.raises(ValueError, match="unknown or already used"):
        tokens.redeem(token, "undo", request)

    with pytest.raises(ValueError, match="confirms a sync preview, not undo"):
        tokens.redeem(tokens.issue("sync", "hash-2", "plan-run", "client 1.0"), "undo", request)
    with pytest.raises(ValueError, match="issued for undo with"):
        tokens.redeem(tokens.issue("undo", "hash-1", "sync 4a085c6a", "c", request), "undo", {**request, "run_id": "99999999"})

    late = tokens.issue("sync", "hash-3", "plan-run", "client 1.0")
    clock.now = 601
    with pytest.raises(ValueError, match="expired"):
        tokens.redeem(late, "sync")
