"""Token authentication per version: accepted schemes and the exact 403 bodies."""

import pytest

from netbox_pipeline.sandbox.netbox import DEFAULT_V1_TOKEN, DEFAULT_V2_TOKEN, NetBoxSandbox
from netbox_pipeline.sandbox.netbox.auth import authenticate
from netbox_pipeline_tests.sandbox.netbox.conftest import Client

V2_KEY = DEFAULT_V2_TOKEN.split(".")[0]


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        (f"Bearer {DEFAULT_V1_TOKEN}", "Authentication credentials were not provided."),
        ("Token ffffffffffffffffffffffffffffffffffffffff", "Invalid token"),
        ("Basic YWRtaW46YWRtaW4=", "Authentication credentials were not provided."),
        (f"Token {DEFAULT_V1_TOKEN}", None),
    ],
)
def test_44_accepts_only_token_scheme(header, detail):
    with NetBoxSandbox(version="4.4") as sb:
        reply = Client(sb)("GET", "dcim/devices/", headers={"Authorization": header} if header else {"Authorization": ""})
        if detail is None:
            assert reply.status_code == 200
        else:
            assert (reply.status_code, reply.json()) == (403, {"detail": detail})
            assert "WWW-Authenticate" not in reply.headers


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (f"Bearer {DEFAULT_V2_TOKEN}", None),
        (f"Token {DEFAULT_V2_TOKEN}", None),
        (f"Bearer {DEFAULT_V1_TOKEN}", None),
        (f"Bearer {V2_KEY}.wrong", "Invalid v2 token"),
        (f"Bearer {V2_KEY}.{'x' * 40}", "Invalid v2 token"),
        ("Bearer nbt_AAAAAAAAAAAA.secret", "Invalid v2 token"),
        ("Bearer nbt_nodot", "Invalid authorization header: Could not parse key from v2 token. Did you mean to use 'Token' instead of 'Bearer'?"),
        ("Bearer 8lk4PJvyUQ4p.secret", "Invalid v1 token"),
        (f"Bearer {DEFAULT_V2_TOKEN} extra", 'Invalid authorization header: Must be in the form "Bearer <key>.<token>" or "Token <token>"'),
        ("Token ffffffffffffffffffffffffffffffffffffffff", "Invalid v1 token"),
    ],
)
def test_46_token_variants(header, detail):
    sandbox = NetBoxSandbox(version="4.6")  # seeded with the v1 and v2 default tokens; no need to serve
    result = authenticate(header, "4.6", sandbox.store)
    assert result.error == detail
    assert result.ok == (detail is None)


def test_read_only_token_can_read_but_not_write():
    read_only = "nbt_readonlykey1.0123456789012345678901234567890123456789"
    with NetBoxSandbox(version="4.6", read_only_tokens=[read_only]) as sb:
        client = Client(sb, read_only, scheme="Bearer")
        assert client("GET", "dcim/manufacturers/").status_code == 200
        reply = client("POST", "dcim/manufacturers/", {"name": "RO", "slug": "ro"})
        assert (reply.status_code, reply.json()) == (403, {"detail": "You do not have permission to perform this action."})
        assert sb.objects("dcim/manufacturers") == []


def test_disabled_token_and_secrets_not_stored(tmp_path):
    state = tmp_path / "state.json"
    disabled = "nbt_disabledkey1.abcdefabcdefabcdefabcdefabcdefabcdefabcd"
    with NetBoxSandbox(version="4.6", state_file=str(state)) as sb:
        sb.add_token(disabled, enabled=False)
        reply = Client(sb, disabled, scheme="Bearer")("GET", "dcim/sites/")
        assert (reply.status_code, reply.json()) == (403, {"detail": "Token disabled"})
    text = state.read_text()
    assert DEFAULT_V1_TOKEN not in text and DEFAULT_V2_TOKEN.split(".")[1] not in text and "abcdefabcdef" not in text


def test_v2_token_rejected_in_44_mode():
    with pytest.raises(ValueError, match="v2 tokens"):
        NetBoxSandbox(version="4.4", token=DEFAULT_V2_TOKEN)
