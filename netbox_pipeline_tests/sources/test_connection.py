"""The client TLS context and failure sentences the networked sources share."""

import ssl

import pytest

from netbox_pipeline.sandbox.tls import make_certificates
from netbox_pipeline.sources.connection import CaCertError, client_context, no_answer, untrusted_certificate


def test_ca_cert_alone_is_trusted(tmp_path):
    ca_cert, _, _ = make_certificates(tmp_path)
    context = client_context(True, ca_cert)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 1  # that CA only, not the system's


def test_verify_off_accepts_any_certificate(tmp_path):
    context = client_context(False, tmp_path / "ignored.pem")
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


def test_unusable_ca_cert_is_named(tmp_path):
    with pytest.raises(CaCertError, match=f"ca_cert {tmp_path / 'nope.pem'} is not a readable file"):
        client_context(True, tmp_path / "nope.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(CaCertError, match=f"ca_cert {garbage} is not a PEM CA certificate"):
        client_context(True, garbage)


def test_sentences():
    assert untrusted_certificate("self-signed certificate", whose="the NAS's") == (
        "TLS error: the server certificate is not trusted (self-signed certificate); trust the NAS's CA with "
        "ca_cert: <PEM file>, or set verify_ssl: false")
    assert no_answer(2.5) == "no answer within 2.5 s (timeout_s)"
