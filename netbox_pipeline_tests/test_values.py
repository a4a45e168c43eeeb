import pytest

from netbox_pipeline.values import (
    decode_exact,
    encode_exact,
    MIN_SECRET_LENGTH,
    fold_name,
    host_port,
    jsonable,
    ip_equal,
    ip_host,
    mask_secrets,
    normalise_choice,
    normalise_custom_fields,
    normalise_int_set,
    normalise_ip,
    normalise_mac,
    normalise_number,
    normalise_scalar,
    normalise_tags,
    normalise_text,
    slugify,
    tag_slug,
    usable_address,
    with_prefix_length,
)

MACS = [
    ("00:11:22:aa:bb:cc", "00:11:22:AA:BB:CC"),
    ("00-11-22-AA-BB-CC", "00:11:22:AA:BB:CC"),
    ("0011.22aa.bbcc", "00:11:22:AA:BB:CC"),
    ("001122aabbcc", "00:11:22:AA:BB:CC"),
    ("  00:11:22:33:44:55 ", "00:11:22:33:44:55"),
    (None, None),
    ("", None),
]


@pytest.mark.parametrize(("raw", "expected"), MACS)
def test_mac_forms(raw, expected):
    assert normalise_mac(raw) == expected


@pytest.mark.parametrize("raw", ["zz", "00:11:22:33:44", "00:11:22:33:44:55:66", "0:1:2:3:4:5",
                                 "0011.2233.44", "00:11:22:33:44:gg", "00 11 22 33 44 55"])
def test_bad_macs_are_rejected(raw):
    with pytest.raises(ValueError, match="invalid MAC address"):
        normalise_mac(raw)


IPS = [
    ("10.0.0.1", "10.0.0.1"),
    ("10.0.0.1/32", "10.0.0.1/32"),
    ("10.0.0.1/24", "10.0.0.1/24"),
    ("10.0.0.1/255.255.255.0", "10.0.0.1/24"),
    ("2001:DB8:0:0::0001/64", "2001:db8::1/64"),
    ("2001:db8::1", "2001:db8::1"),
    (" 192.0.2.1/24 ", "192.0.2.1/24"),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), IPS)
def test_ip_forms(raw, expected):
    assert normalise_ip(raw) == expected


def test_the_canonical_ipv4_shortcut_agrees_with_ipaddress():
    import ipaddress
    import random

    rng = random.Random(7)
    texts = [f"{rng.choice([0, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255, 256, 300])}.{rng.randrange(256)}."
             f"{rng.randrange(256)}.{rng.choice(['0', '00', '7', '07', '255'])}"
             + rng.choice(["", "/0", "/8", "/24", "/32", "/33", "/024"]) for _ in range(2000)]
    for text in texts:
        try:
            expected = str(ipaddress.ip_interface(text) if "/" in text else ipaddress.ip_address(text))
        except ValueError:
            expected = None
        try:
            got = normalise_ip(text)
        except ValueError:
            got = None
        assert (got, ip_host(text) if got else None) == (expected, expected and expected.split("/")[0]), text


@pytest.mark.parametrize("raw", ["10.0.0.256", "10.0.0.1/33", "host", "2001:db8::g", "10.0.0.01"])
def test_bad_ips_are_rejected(raw):
    with pytest.raises(ValueError, match="invalid IP address"):
        normalise_ip(raw)


@pytest.mark.parametrize(("desired", "live", "equal"), [
    ("10.0.0.1", "10.0.0.1/24", True),  # no prefix length given: only the host is pinned
    ("10.0.0.1", "10.0.0.2/24", False),
    ("10.0.0.1/32", "10.0.0.1", True),  # bare means /32 once a prefix length is asked for
    ("10.0.0.1/24", "10.0.0.1/32", False),
    ("2001:db8::1/64", "2001:DB8::0001/64", True),
    (None, None, True),
    (None, "10.0.0.1/24", False),
])
def test_ip_equal(desired, live, equal):
    assert ip_equal(desired, live) is equal


def test_host_and_prefix_helpers():
    assert ip_host("192.0.2.10/24") == "192.0.2.10"
    assert with_prefix_length("192.0.2.10") == "192.0.2.10/32"
    assert with_prefix_length("2001:db8::1") == "2001:db8::1/128"
    assert with_prefix_length("192.0.2.10/24") == "192.0.2.10/24"


@pytest.mark.parametrize("value, expected", [
    ("10.0.20.10/24", "10.0.20.10/24"), ("2001:DB8::1/64", "2001:db8::1/64"), (" 192.0.2.7/32 ", "192.0.2.7/32"),
    ("127.0.0.1/8", None), ("::1/128", None), ("fe80::1/64", None), ("169.254.1.1/16", None),
    ("0.0.0.0/0", None), ("224.0.0.251/32", None), ("dhcp", None), ("DHCP", None), ("auto", None),
    ("manual", None), ("not-an-ip", None), ("", None), (None, None)])
def test_usable_addresses_skip_loopback_link_local_and_methods(value, expected):
    assert usable_address(value) == expected


def test_host_port_brackets_ipv6_literals():
    assert host_port("pve1.lab", 8006) == "pve1.lab:8006"
    assert host_port("192.0.2.1", 443) == "192.0.2.1:443"
    assert host_port("::1", 8443) == "[::1]:8443"


@pytest.mark.parametrize(("raw", "expected"), [
    ({"value": "active", "label": "Active"}, "active"),
    ("active", "active"),
    ({"value": 4, "label": "IPv4"}, 4),
    (None, None),
])
def test_choice(raw, expected):
    assert normalise_choice(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [(2.0, 2), (2, 2), (1.5, 1.5), (0.0, 0), ("2", "2")])
def test_number(raw, expected):
    result = normalise_number(raw)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("raw", "expected"), [
    ("", None), ("  ", None), (" x ", "x"), (None, None), (3, 3),
])
def test_text(raw, expected):
    assert normalise_text(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ({"value": "active", "label": "Active"}, "active"),
    (2.0, 2),
    ("", None),
    ([1, 2.0, " a "], (1, 2, "a")),
    (True, True),
    (False, False),
])
def test_scalar(raw, expected):
    assert normalise_scalar(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Acme Networks", "acme-networks"),
    ("Ubuntu 22.04", "ubuntu-22-04"),
    ("  Dell  EMC ", "dell-emc"),
    ("Café Röster", "cafe-roster"),
    ("AT&T / Lab", "att-lab"),
    ("already-a-slug", "already-a-slug"),
    ("under_score", "under_score"),
    ("USW-24-PoE", "usw-24-poe"),
])
def test_slugify(raw, expected):
    assert slugify(raw) == expected


def test_tags_from_names_slugs_and_nested_objects():
    live = [{"id": 1, "name": "Netbox Pipeline", "slug": "netbox-pipeline"}, {"name": "Core"}]
    assert normalise_tags(live) == ("core", "netbox-pipeline")
    assert normalise_tags(["B", "a", "b"]) == ("a", "b")
    assert normalise_tags(None) == ()
    assert tag_slug({"slug": "x"}) == "x"


def test_stored_form_keeps_tuples_sets_and_lists_apart_and_plain_json_as_it_is():
    value = {"key": ("site", "host", ("eth0",)), "tags": frozenset({"b", "a"}), "ids": [1, 2.5, None, True],
             3: {"nested": [("x",), {"y"}]}, "text": "", "choice": {"value": "active", "label": "Active"}}
    stored = encode_exact(value)
    assert stored["key"] == {"$tuple": ["site", "host", {"$tuple": ["eth0"]}]}
    assert stored["tags"] == {"$set": ["a", "b"]} and "3" in stored
    restored = decode_exact(stored)
    assert restored == {**{k: v for k, v in value.items() if k != 3}, "3": value[3]}  # keys become text
    assert type(restored["key"]) is tuple and type(restored["3"]["nested"][1]) is set
    plain = {"a": [1, {"b": None, "c": 2.5}], "d": True}
    assert encode_exact(plain) == plain and encode_exact(plain) is not plain


def test_jsonable_sorts_keys_and_sets_and_lists_tuples():
    assert jsonable({"b": (1, 2), "a": {"z", "y"}, "c": "x"}) == {"a": ["y", "z"], "b": [1, 2], "c": "x"}
    assert list(jsonable({"b": 1, "a": 2})) == ["a", "b"]


def test_custom_fields_and_int_sets():
    assert normalise_custom_fields({"a": "", "b": 2.0}) == {"a": None, "b": 2}
    assert normalise_custom_fields(None) == {}
    assert normalise_int_set([443, 80, 80]) == (80, 443)


def test_fold_name():
    assert fold_name(" LEAF-01 ") == "leaf-01"


IDEMPOTENCE = [
    (normalise_mac, [m for m, _ in MACS]),
    (normalise_ip, [i for i, _ in IPS]),
    (normalise_choice, [{"value": "a", "label": "A"}, "a", None]),
    (normalise_number, [2.0, 3, 1.25, None]),
    (normalise_text, ["", " a ", None, 5]),
    (normalise_scalar, [{"value": "a", "label": "A"}, 2.0, "", [1.0, " x "], None, True]),
    (slugify, ["Acme Networks", "Ubuntu 22.04", "Café", "-x-", "a..b"]),
    (normalise_tags, [["B", "a"], [{"slug": "x"}], None]),
    (normalise_custom_fields, [{"a": "", "b": 2.0, "c": [1.0]}, None]),
    (normalise_int_set, [[3, 1, 3], None]),
    (fold_name, ["LEAF", "straße"]),
]


@pytest.mark.parametrize(("normalise", "values"), IDEMPOTENCE, ids=lambda x: getattr(x, "__name__", ""))
def test_every_normaliser_is_idempotent(normalise, values):
    for value in values:
        once = normalise(value)
        assert normalise(once) == once, value


def test_slug_for_any_script_is_never_empty_and_keeps_netbox_slugs():
    from netbox_pipeline.values import slugify

    assert slugify("Home Lab") == slugify("home.lab") == "home-lab"  # NetBox's rules, unchanged
    assert slugify("Tokyo 東京") == "tokyo"  # NetBox's own slug for it: kept, so keys do not move
    assert slugify("東京") == "dongjing" and slugify("大阪") == "daban" and slugify("Москва") == "moskva"
    assert slugify("!!!") == slugify(" !!! ") == "x-e84c538e7fe2"  # a stable digest, never empty
    assert slugify("???") not in ("", slugify("!!!"))
    assert slugify("") == "" and slugify("   ") == ""


# --- secrets in messages ---------------------------------------------------------------------------


def test_a_short_secret_is_masked_only_as_a_whole_word():
    message = "password a refused for user admin at a lab"
    assert mask_secrets(message, ["a"]) == "password *** refused for user admin at *** lab"
    assert mask_secrets("label lab-1 lab", ["lab"]) == "label ***-1 ***"


def test_a_long_secret_is_masked_everywhere_even_glued_to_other_text():
    token = "0123456789abcdef0123456789abcdef01234567"
    assert len(token) >= MIN_SECRET_LENGTH
    assert mask_secrets(f"GET /api/?token%3D{token}x and Token {token}", [token]) == "GET /api/?token%3D***x and Token ***"


def test_the_longer_of_two_overlapping_secrets_is_masked_whole():
    assert mask_secrets("key sekret-sekret", ["sekret", "sekret-sekret"]) == "key ***"
    assert mask_secrets("nothing here", ["", None]) == "nothing here"
