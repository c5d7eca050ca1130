"""Checking the directory's certificate against a name other than the URI's host.

From the controller, a test or rehearsal directory is reached on a published
port (ldaps://127.0.0.1:13636) while its certificate names the service
(ldap.gouv.tg). libldap checks the certificate against the URI's host only,
so in that case the handshake is made without libldap's check and the peer
certificate is verified here — issued by the CA, valid now, naming the
expected host — before any password is sent.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtensionOID

from bureau.errors import BureauError


def verify(peer_der: bytes | None, ca_file: str, name: str) -> None:
    """Raise BureauError unless the peer certificate is the CA's and names `name`."""
    if not peer_der:
        raise BureauError("the directory sent no certificate (fix: check the URI and TLS)")
    peer = x509.load_der_x509_certificate(peer_der)
    authorities = x509.load_pem_x509_certificates(Path(ca_file).read_bytes())
    for authority in authorities:
        try:
            peer.verify_directly_issued_by(authority)
            break
        except (ValueError, TypeError, InvalidSignature):  # not this CA: try the next one
            continue
    else:
        raise BureauError(
            f"the directory's certificate ({peer.subject.rfc4514_string()}) is not issued by "
            f"the CA in {ca_file} (fix: pass the directory's CA with --ca-file)"
        )
    now = datetime.datetime.now(datetime.UTC)
    if not peer.not_valid_before_utc <= now <= peer.not_valid_after_utc:
        raise BureauError("the directory's certificate is expired or not yet valid")
    try:
        names = peer.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        ).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if name.lower() not in {n.lower() for n in names}:
        raise BureauError(
            f"the directory's certificate names {', '.join(names) or 'no host'}, not {name} "
            "(fix: pass --tls-name with one of those names)"
        )
