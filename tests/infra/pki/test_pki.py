"""Checks of the internal CA and of each host's certificate (role `pki`).

Run by `molecule verify` against the scenario's containers, and written for a
`bureau audit` against live hosts (not built yet): every expectation comes from
the host's inventory variables (`pki__host_name`, `pki__host_names`, group
`ca`), never from the scenario.
"""

from __future__ import annotations

import datetime
import shlex
from typing import Any

import pytest
from cryptography import x509

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

CERT_DIR = "/etc/ssl/bureau"
CA_CERT = f"{CERT_DIR}/ca.crt"
HOST_CERT = f"{CERT_DIR}/host.crt"
FULLCHAIN = f"{CERT_DIR}/host-fullchain.crt"
HOST_KEY = f"{CERT_DIR}/private/host.key"
TRUST_STORE_FILE = "/usr/local/share/ca-certificates/bureau-ca.crt"
CA_DIR = "/var/lib/bureau-ca"
CA_KEY = f"{CA_DIR}/ca.key"
RENEW_BEFORE_DAYS = 30
CRL = f"{CERT_DIR}/ca.crl"
CRL_DER = f"{CERT_DIR}/ca.crl.der"
# With weekly runs the role keeps at least this many days before the CRL's
# nextUpdate (pki__crl_renew_before_days 14); fewer means runs have stopped.
CRL_MIN_DAYS = 7
# A free port on the host's loopback, used for a few seconds by the TLS check.
TLS_PORT = 18443


def host_vars(host: Any) -> dict[str, Any]:
    return host.ansible.get_variables()


def expected_names(host: Any) -> list[str]:
    """The DNS names the role puts in the certificate, main name first."""
    variables = host_vars(host)
    main = variables.get("pki__host_name", variables["inventory_hostname"])
    names = [main]
    for name in variables.get("pki__host_names", []):
        if name not in names:
            names.append(name)
    return names


def expected_crl_url(host: Any) -> str:
    variables = host_vars(host)
    default = f"http://pki.{variables['bureau__domain']}/bureau-ca.crl"
    return str(variables.get("pki__crl_url", default))


def is_ca_host(host: Any) -> bool:
    variables = host_vars(host)
    ca_hosts = variables["groups"].get("ca", [])
    return bool(ca_hosts) and variables["inventory_hostname"] == ca_hosts[0]


def stat(host: Any, *paths: str) -> dict[str, tuple[str, str, str]]:
    """Owner, group and octal mode of each path, in one command."""
    out = host.check_output("stat -c '%n %U %G %a' " + " ".join(map(shlex.quote, paths)))
    result = {}
    for line in out.splitlines():
        path, user, group, mode = line.rsplit(" ", 3)
        result[path] = (user, group, mode)
    return result


def test_host_certificate_is_signed_by_the_ca(host: Any) -> None:
    result = host.run("openssl verify -CAfile %s %s %s", CA_CERT, HOST_CERT, FULLCHAIN)
    assert result.rc == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{HOST_CERT}: OK", f"{FULLCHAIN}: OK"]


def test_fullchain_is_host_certificate_then_ca(host: Any) -> None:
    chain = host.file(FULLCHAIN).content_string
    host_pem = host.file(HOST_CERT).content_string.strip()
    ca_pem = host.file(CA_CERT).content_string.strip()
    assert chain == f"{host_pem}\n{ca_pem}\n"


def test_certificate_carries_the_host_names(host: Any) -> None:
    names = expected_names(host)
    subject = host.check_output("openssl x509 -in %s -noout -subject -nameopt RFC2253", HOST_CERT)
    assert subject == f"subject=CN={names[0]}"
    out = host.check_output("openssl x509 -in %s -noout -ext subjectAltName", HOST_CERT)
    # "X509v3 Subject Alternative Name: \n    DNS:a, DNS:b, IP Address:10.0.0.1"
    entries = [item.strip() for item in out.splitlines()[1].split(",")]
    dns_names = [item.removeprefix("DNS:") for item in entries if item.startswith("DNS:")]
    assert dns_names == names


def test_key_matches_certificate(host: Any) -> None:
    key_pub = host.check_output("openssl pkey -in %s -pubout", HOST_KEY)
    cert_pub = host.check_output("openssl x509 -in %s -noout -pubkey", HOST_CERT)
    assert key_pub.startswith("-----BEGIN PUBLIC KEY-----")
    assert key_pub == cert_pub


def test_certificate_is_not_about_to_expire(host: Any) -> None:
    seconds = RENEW_BEFORE_DAYS * 86400
    result = host.run("openssl x509 -in %s -noout -checkend %s", HOST_CERT, str(seconds))
    assert result.rc == 0, f"{HOST_CERT} expires within {RENEW_BEFORE_DAYS} days: run the pki role"


def test_files_have_the_documented_owners_and_modes(host: Any) -> None:
    paths = [
        CA_CERT,
        HOST_CERT,
        FULLCHAIN,
        CRL,
        CRL_DER,
        TRUST_STORE_FILE,
        f"{CERT_DIR}/private",
        HOST_KEY,
    ]
    assert stat(host, *paths) == {
        CA_CERT: ("root", "root", "644"),
        CRL: ("root", "root", "644"),
        CRL_DER: ("root", "root", "644"),
        HOST_CERT: ("root", "root", "644"),
        FULLCHAIN: ("root", "root", "644"),
        TRUST_STORE_FILE: ("root", "root", "644"),
        f"{CERT_DIR}/private": ("root", "ssl-cert", "710"),
        HOST_KEY: ("root", "ssl-cert", "640"),
    }


def test_ca_certificate_is_a_constrained_ca(host: Any) -> None:
    extensions = "basicConstraints,keyUsage,nameConstraints"
    out = host.check_output("openssl x509 -in %s -noout -ext %s", CA_CERT, extensions)
    assert "X509v3 Basic Constraints: critical\n    CA:TRUE" in out
    assert "X509v3 Key Usage: critical\n    Certificate Sign, CRL Sign" in out
    domain = host_vars(host).get("bureau__domain")
    if "X509v3 Name Constraints" in out and domain:
        assert f"DNS:{domain}" in out


def test_ca_key_is_encrypted_and_only_on_the_ca_host(host: Any) -> None:
    if not is_ca_host(host):
        assert not host.file(CA_KEY).exists
        assert not host.file(CA_DIR).exists
        return
    assert stat(host, CA_DIR, CA_KEY) == {
        CA_DIR: ("root", "root", "700"),
        CA_KEY: ("root", "root", "600"),
    }
    pem = host.file(CA_KEY).content_string
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # Unreadable without the passphrase.
    assert host.run("openssl pkey -in %s -passin pass: -noout", CA_KEY).rc != 0
    # The certificate every host trusts is the one the CA keeps.
    assert host.file(f"{CA_DIR}/ca.crt").content_string == host.file(CA_CERT).content_string


def tls_handshakes(host: Any, attempts: list[tuple[str, str]]) -> list[int]:
    """Serve the host certificate on loopback; run `openssl s_client` once per
    (name, extra options) attempt, return each exit code."""
    clients = "\n".join(
        f"echo | openssl s_client -connect 127.0.0.1:{TLS_PORT} -servername {shlex.quote(name)} "
        f"-verify_hostname {shlex.quote(name)} -verify_return_error -brief {options} "
        f">/dev/null 2>&1; echo rc=$?"
        for name, options in attempts
    )
    script = f"""
openssl s_server -accept 127.0.0.1:{TLS_PORT} -cert {FULLCHAIN} -key {HOST_KEY} -quiet \\
    </dev/null >/dev/null 2>&1 &
server=$!
for i in $(seq 100); do
  ss -Htln 'sport = :{TLS_PORT}' | grep -q . && break
  sleep 0.1
done
{clients}
kill $server
"""
    out = host.check_output("bash -c %s", script)
    return [int(line.removeprefix("rc=")) for line in out.splitlines() if line.startswith("rc=")]


def test_system_trust_store_trusts_the_host_certificate(host: Any) -> None:
    names = expected_names(host)
    attempts = [(name, "") for name in names]
    # Controls: a name the certificate does not carry, and the same handshake
    # without any trust store, must both fail.
    attempts += [(f"not-{names[0]}", ""), (names[0], "-no-CAfile -no-CApath -no-CAstore")]
    codes = tls_handshakes(host, attempts)
    assert codes[: len(names)] == [0] * len(names), dict(zip(names, codes, strict=False))
    assert codes[len(names)] != 0, "a name outside the certificate was accepted"
    assert codes[len(names) + 1] != 0, "the handshake succeeded without a trust store"


def test_private_key_is_unreadable_by_other_users(host: Any) -> None:
    result = host.run("su -s /bin/sh nobody -c %s", f"LC_ALL=C cat {HOST_KEY}")
    assert result.rc != 0
    assert "Permission denied" in result.stderr


def test_certificate_names_the_crl_distribution_point(host: Any) -> None:
    out = host.check_output("openssl x509 -in %s -noout -ext crlDistributionPoints", HOST_CERT)
    uris = [line.strip() for line in out.splitlines() if line.strip().startswith("URI:")]
    assert uris == [f"URI:{expected_crl_url(host)}"], out


def test_crl_is_signed_by_the_ca_and_not_expiring(host: Any) -> None:
    verified = host.run("openssl crl -in %s -CAfile %s -noout -verify", CRL, CA_CERT)
    assert verified.rc == 0, verified.stdout + verified.stderr
    assert "verify OK" in verified.stdout + verified.stderr
    crl = x509.load_pem_x509_crl(host.file(CRL).content)
    ca = x509.load_pem_x509_certificate(host.file(CA_CERT).content)
    assert crl.issuer == ca.subject
    now = datetime.datetime.now(datetime.UTC)
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > now + datetime.timedelta(days=CRL_MIN_DAYS), (
        f"{CRL} expires on {crl.next_update_utc:%Y-%m-%d}: run the pki role"
    )


def test_der_copy_is_the_same_crl(host: Any) -> None:
    pem = x509.load_pem_x509_crl(host.file(CRL).content)
    der = x509.load_der_x509_crl(host.file(CRL_DER).content)
    assert der == pem


def test_crl_lists_the_revoked_certificates(host: Any) -> None:
    crl = x509.load_pem_x509_crl(host.file(CRL).content)
    revoked = {entry.serial_number for entry in crl}
    wanted = {
        int(item["serial_number"])
        for item in host_vars(host).get("pki__revoked_certificates", [])
        if "serial_number" in item
    }
    assert wanted <= revoked
    # The host's own certificate is not revoked.
    serial = host.check_output("openssl x509 -in %s -noout -serial", HOST_CERT)
    assert int(serial.removeprefix("serial="), 16) not in revoked


def test_crl_is_signed_on_the_ca_host_only(host: Any) -> None:
    signed = host.file(f"{CA_DIR}/ca.crl")
    if is_ca_host(host):
        # Every host gets the list the CA host keeps.
        assert signed.content == host.file(CRL).content
    else:
        assert not signed.exists
