"""The internal CA's revocation list, as a client checking a certificate
meets it: every site's certificate names a CRL distribution point, and the
front serves at that URL, over plain HTTP, a DER list signed by the CA that
does not revoke the certificate. Nothing else is served on that name."""

from __future__ import annotations

import datetime
import http.client
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from testinfra.host import Host

from .support import Front

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

CRL_DER = "/etc/ssl/bureau/ca.crl.der"


def distribution_points(front: Front) -> dict[str, tuple[str, ...]]:
    """The CRL distribution points of the certificate each site presents."""
    return {
        name: tuple(front.handshake(name).get("crlDistributionPoints", ())) for name in front.sites
    }


def expected_url(host: Host) -> str:
    variables = host.ansible.get_variables()
    default = f"http://pki.{variables['bureau__domain']}/bureau-ca.crl"
    return str(variables.get("pki__crl_url", default))


@pytest.fixture(scope="module")
def ca_certificate(ca_file: str) -> x509.Certificate:
    with open(ca_file, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def test_every_site_certificate_names_the_crl(front: Front, host: Host) -> None:
    url = expected_url(host)
    assert distribution_points(front) == {name: (url,) for name in front.sites}


def test_crl_is_served_at_its_url_and_signed_by_the_ca(
    front: Front, host: Host, ca_certificate: x509.Certificate
) -> None:
    url = urlsplit(expected_url(host))
    assert url.scheme == "http"
    answer = front.get(url.hostname or "", url.path, scheme="http")
    assert answer.status == 200, answer.status
    assert answer.headers["Content-Type"] == "application/pkix-crl"
    # The very list the pki role installed, in DER.
    assert answer.body == host.file(CRL_DER).content
    crl = x509.load_der_x509_crl(answer.body)
    assert crl.issuer == ca_certificate.subject
    assert crl.is_signature_valid(ca_certificate.public_key())
    now = datetime.datetime.now(datetime.UTC)
    assert crl.last_update_utc <= now
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > now + datetime.timedelta(days=1), crl.next_update_utc


def test_site_certificate_is_not_revoked(host: Host) -> None:
    """openssl verify -crl_check on the host: the certificate the sites
    present is valid against the CA and its current list."""
    result = host.run(
        "openssl verify -crl_check -CRLfile %s -CAfile %s %s",
        "/etc/ssl/bureau/ca.crl",
        "/etc/ssl/bureau/ca.crt",
        "/etc/ssl/bureau/host.crt",
    )
    assert result.rc == 0, result.stdout + result.stderr


def test_crl_name_serves_nothing_else(front: Front, host: Host) -> None:
    url = urlsplit(expected_url(host))
    name = url.hostname or ""
    for path in ("/", "/index.html", f"{url.path}.pem", "/etc/ssl/bureau/ca.crl"):
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            front.get(name, path, scheme="http")
    # Not a TLS site: the handshake for that name is refused like any unknown name.
    if name not in front.sites:
        with pytest.raises(OSError):
            front.handshake(name)
