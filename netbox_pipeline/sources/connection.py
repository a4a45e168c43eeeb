"""What the sources that talk to a server over the network share: the client's TLS context and the
sentences for the failures every one of them can meet. Each source puts its own location in front
(`"<kind> <instance or host>: " + sentence`), so the wording stays the same across sources."""

import ssl
from pathlib import Path


class CaCertError(ValueError):
    """The configured `ca_cert` cannot be used; the message names the file (never a secret)."""


def readable_ca_cert(ca_cert: Path | str) -> Path:
    """`ca_cert` when it is a file; CaCertError otherwise."""
    path = Path(ca_cert)
    if not path.is_file():
        raise CaCertError(f"ca_cert {ca_cert} is not a readable file (a PEM CA certificate)")
    return path


def client_context(verify_ssl: bool, ca_cert: Path | None = None) -> ssl.SSLContext:
    """Verifying against the system's CAs, or against `ca_cert` alone when given; with
    `verify_ssl` off, accepting any certificate (the operator's choice for that instance)."""
    if not verify_ssl:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_cert is None:
        return ssl.create_default_context()
    path = readable_ca_cert(ca_cert)
    try:
        return ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        raise CaCertError(f"ca_cert {ca_cert} is not a PEM CA certificate ({exc.reason})") from None


def untrusted_certificate(detail: str, whose: str = "its") -> str:
    """The sentence for a certificate the client does not trust; `whose` names the CA's owner."""
    return (f"TLS error: the server certificate is not trusted ({detail}); trust {whose} CA with "
            "ca_cert: <PEM file>, or set verify_ssl: false")


def no_answer(timeout_s: float) -> str:
    return f"no answer within {timeout_s:g} s (timeout_s)"
