"""What the mail host refuses, checked with real clients: a From: header that
is not the login's, our own domain claimed from outside, ministry lists
written to from the Internet, a password that must be changed first, weak
TLS (testssl.sh and Python's ssl) on every mail port."""

from __future__ import annotations

import concurrent.futures
import contextlib
import email.message
import imaplib
import json
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from testinfra.host import Host

from ..site import BASE_DN
from ..testsupport import artifacts_dir, run_testssl
from .support import (
    ABLA,
    CLIENT_NAME,
    DOMAIN,
    IMAP_NAME,
    KOKOU,
    PORTS,
    SMTP_NAME,
    TIMEOUT,
    YAO,
    Mail,
    connect,
    message,
)

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes

OUTSIDER = "partenaire@ailleurs.invalid"
# A ministry list closed to the Internet (the default) and one the scenario
# opens (mail_transfer__open_lists).
CLOSED_LIST = f"mef@{DOMAIN}"
OPEN_LIST = f"msh@{DOMAIN}"

REFUSED = (smtplib.SMTPSenderRefused, smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)


def dkim_domains(received: email.message.Message) -> list[str]:
    """The d= of every DKIM-Signature of a message."""
    domains = []
    for signature in received.get_all("DKIM-Signature") or []:
        tags = dict(t.split("=", 1) for t in "".join(signature.split()).split(";") if "=" in t)
        domains.append(tags.get("d", ""))
    return domains


def assert_permanent_refusal(error: Exception) -> None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
    else:
        codes = [error.smtp_code]  # type: ignore[attr-defined]
    assert all(code >= 500 for code in codes), error


# --- 1. The From: header belongs to the login --------------------------------


@pytest.mark.parametrize(
    "header_from",
    [
        f"{ABLA}@{DOMAIN}",
        # A display name that looks like the agent's own address.
        f'"{KOKOU}@{DOMAIN}" <{ABLA}@{DOMAIN}>',
        # Two authors, one of them the agent.
        f"{KOKOU}@{DOMAIN}, {ABLA}@{DOMAIN}",
    ],
    ids=["colleague", "display-name", "two-authors"],
)
def test_an_agent_cannot_write_a_colleague_s_address_in_from(
    mail: Mail, token: str, header_from: str
) -> None:
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    forged = message(header_from, abla.address, f"Usurpation de l'en-tête {token}")
    with mail.submission(kokou) as client, pytest.raises(REFUSED) as refused:
        client.send_message(forged, from_addr=kokou.address, to_addrs=[abla.address])
    assert_permanent_refusal(refused.value)
    assert mail.fetch(abla, token, wait=3) == [], "the forged From: was delivered"


def test_an_empty_envelope_sender_does_not_open_the_from_header(mail: Mail, token: str) -> None:
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    forged = message(abla.address, kokou.address, f"Sans expéditeur {token}")
    with mail.submissions(kokou) as client, pytest.raises(REFUSED) as refused:
        client.send_message(forged, from_addr="", to_addrs=[kokou.address])
    assert_permanent_refusal(refused.value)
    assert mail.fetch(kokou, token, wait=3) == []


def test_an_agent_may_write_its_alias_in_from(mail: Mail, token: str) -> None:
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    alias = f"k.agbeko@{DOMAIN}"
    with mail.submissions(kokou) as client:
        client.send_message(message(alias, abla.address, f"Alias {token}"), from_addr=alias)
    [received] = mail.fetch(abla, token)
    assert dkim_domains(received) == [DOMAIN]


# --- 2. Only our own senders are signed; our domain is not claimed from outside ---


@pytest.mark.parametrize(
    ("envelope", "header_from"),
    [
        (f"{KOKOU}@{DOMAIN}", f"{KOKOU}@{DOMAIN}"),
        (OUTSIDER, f"{KOKOU}@{DOMAIN}"),
        (f"{KOKOU}@{DOMAIN}", OUTSIDER),
    ],
    ids=["envelope-and-header", "header-only", "envelope-only"],
)
def test_mail_from_outside_claiming_our_domain_is_refused(
    mail: Mail, token: str, envelope: str, header_from: str
) -> None:
    """The tests reach port 25 from a private Docker address without AUTH:
    an outside server as far as the mail host is concerned."""
    abla = mail.agent(ABLA)
    forged = message(header_from, abla.address, f"Depuis l'extérieur {token}")
    try:
        with mail.smtp() as client:
            client.send_message(forged, from_addr=envelope, to_addrs=[abla.address])
    except REFUSED as refused:
        assert_permanent_refusal(refused)
        assert mail.fetch(abla, token, wait=3) == []
        return
    # Accepted: then at least it must not carry our signature.
    for received in mail.fetch(abla, token):
        assert DOMAIN not in dkim_domains(received), "outside mail was DKIM-signed as ours"
    pytest.fail(f"mail from outside claiming {DOMAIN} was accepted on port 25")


def test_mail_from_outside_is_delivered_unsigned(mail: Mail, token: str) -> None:
    """The MX still works for the Internet, and signs nothing of it."""
    kokou = mail.agent(KOKOU)
    with mail.smtp() as client:
        client.send_message(message(OUTSIDER, kokou.address, f"Partenaire {token}"))
    [received] = mail.fetch(kokou, token)
    assert DOMAIN not in dkim_domains(received)


def test_mail_of_the_host_itself_is_still_signed(host: Host, mail: Mail, token: str) -> None:
    """Vacation replies, bounces and quota warnings leave through sendmail on
    the host: a suite host, so signed."""
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    text = message(kokou.address, abla.address, f"Message local {token}").as_string()
    sent = host.run(f"/usr/sbin/sendmail -f {kokou.address} -t <<'EOF'\n{text}\nEOF")
    assert sent.rc == 0, sent.stderr
    [received] = mail.fetch(abla, token)
    assert dkim_domains(received) == [DOMAIN]


# --- 3. Ministry lists are closed to the Internet unless opened -----------------


def test_a_ministry_list_is_closed_to_the_internet(mail: Mail) -> None:
    with mail.smtp() as client:
        client.mail(OUTSIDER)
        code, reply = client.rcpt(CLOSED_LIST)
    assert code >= 500, (code, reply)
    assert b"agents" in reply, reply


def test_a_ministry_list_opened_in_the_inventory_accepts_the_internet(
    mail: Mail, token: str
) -> None:
    yao = mail.agent(YAO)
    with mail.smtp() as client:
        client.send_message(message(OUTSIDER, OPEN_LIST, f"Appel à projets {token}"))
    assert len(mail.fetch(yao, token)) == 1


# --- 4. A password that must be changed opens no mail ----------------------------


def ldapmodify(host: Host, ldif: str) -> None:
    result = host.run(f"ldapmodify -Q -Y EXTERNAL -H ldapi:/// <<'EOF'\n{ldif}\nEOF")
    assert result.rc == 0, result.stderr


def flush_auth_cache(host: Host) -> None:
    # Dovecot caches a successful login (auth_cache_ttl) and a failed lookup
    # (auth_cache_negative_ttl): without this the test would see the cache.
    result = host.run("doveadm auth cache flush")
    assert result.rc == 0, result.stderr


def test_a_password_that_must_be_changed_opens_no_mail(host: Host, mail: Mail) -> None:
    abla = mail.agent(ABLA)
    dn = f"uid={abla.uid},ou=people,{BASE_DN}"
    ldapmodify(host, f"dn: {dn}\nchangetype: modify\nreplace: pwdReset\npwdReset: TRUE\n")
    try:
        flush_auth_cache(host)
        with pytest.raises(imaplib.IMAP4.error):
            mail.imaps(abla).logout()
        with mail.submission() as client, pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(abla.address, abla.password)
    finally:
        ldapmodify(host, f"dn: {dn}\nchangetype: modify\ndelete: pwdReset\n")
        flush_auth_cache(host)
    mail.imaps(abla).logout()
    with mail.submission(abla):
        pass


# --- 5. TLS: no anonymous suite, Mozilla intermediate, a server order -------------

# (port name, STARTTLS protocol, certificate name)
TLS_PORTS: dict[str, tuple[str | None, str]] = {
    "smtp": ("smtp", SMTP_NAME),
    "submission": ("smtp", SMTP_NAME),
    "submissions": (None, SMTP_NAME),
    "imaps": (None, IMAP_NAME),
    "sieve": ("sieve", IMAP_NAME),
}

# testssl.sh findings accepted on purpose, per port, each with its reason.
# Everything else rated MEDIUM, HIGH or CRITICAL fails.
TESTSSL_WAIVERS: dict[str, dict[str, str]] = {name: {} for name in TLS_PORTS}
TESTSSL_FAILING = ("MEDIUM", "HIGH", "CRITICAL")
# Ports whose STARTTLS testssl.sh 3.0 does not speak: reached through a relay.
TLS_STARTTLS_RELAYED = ("sieve",)


def read_reply(sock: socket.socket, done: Callable[[bytes], bool]) -> bytes:
    data = b""
    while not done(data):
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return data


def smtp_done(data: bytes) -> bool:
    lines = data.split(b"\r\n")
    return len(lines) > 1 and any(len(line) > 3 and line[3:4] == b" " for line in lines[:-1])


def sieve_done(data: bytes) -> bool:
    return any(line.startswith((b"OK", b"NO", b"BYE")) for line in data.split(b"\r\n"))


def plain_socket(name: str) -> socket.socket:
    """A connection to the port, after STARTTLS where the port needs it."""
    sock = connect(PORTS[name], TIMEOUT)
    starttls = TLS_PORTS[name][0]
    if starttls == "smtp":
        for command in (b"", f"EHLO {CLIENT_NAME}\r\n".encode(), b"STARTTLS\r\n"):
            sock.sendall(command)
            reply = read_reply(sock, smtp_done)
        assert reply.startswith(b"220"), reply
    elif starttls == "sieve":
        read_reply(sock, sieve_done)
        sock.sendall(b"STARTTLS\r\n")
        reply = read_reply(sock, sieve_done)
        assert reply.startswith(b"OK"), reply
    return sock


@pytest.mark.parametrize("name", list(TLS_PORTS))
def test_no_anonymous_cipher_suite(name: str) -> None:
    anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    anonymous.check_hostname = False
    anonymous.verify_mode = ssl.CERT_NONE
    # Anonymous suites exist in TLS 1.2 only; security level 0 lets this
    # client offer them.
    anonymous.maximum_version = ssl.TLSVersion.TLSv1_2
    anonymous.set_ciphers("aNULL:@SECLEVEL=0")
    sock = plain_socket(name)
    try:
        tls = anonymous.wrap_socket(sock, server_hostname=TLS_PORTS[name][1])
    except ssl.SSLError as refused:
        assert "NO_CIPHERS_AVAILABLE" not in str(refused), "the client offered nothing"
        return
    finally:
        sock.close()
    cipher = tls.cipher()
    tls.close()
    pytest.fail(f"{name}: anonymous suite negotiated: {cipher}")


class StartTLSRelay:
    """A local port that does the plain-text part of STARTTLS with the server
    (testssl.sh 3.0 knows no ManageSieve STARTTLS), then passes the bytes of
    each connection through: testssl.sh sees the server's TLS as is."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.relay, args=(client,), daemon=True).start()

    def relay(self, client: socket.socket) -> None:
        try:
            server = plain_socket(self.name)
        except (OSError, AssertionError):
            client.close()
            return
        server.settimeout(None)

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (source, sink):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(server, client), daemon=True).start()
        pump(client, server)
        client.close()
        server.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def testssl_reports(ca_file: str, address: str) -> dict[str, tuple[Path, float, str]]:
    """testssl.sh against every mail TLS port at once (its runs wait on the
    network, not on the CPU): the report, the seconds it took and its output."""
    artifacts = artifacts_dir("mail", "testssl")
    relays = {name: StartTLSRelay(name) for name in TLS_STARTTLS_RELAYED}

    def run(name: str) -> tuple[Path, float, str]:
        starttls, certificate_name = TLS_PORTS[name]
        port, ip = PORTS[name], address
        if name in relays:
            starttls, port, ip = None, relays[name].port, "127.0.0.1"
        report = artifacts / f"{name}.json"
        started = time.monotonic()
        output = ""
        try:
            run_testssl(
                f"{certificate_name}:{port}",
                ip,
                ca_file,
                report,
                *(("--starttls", starttls) if starttls else ()),
            )
        except AssertionError as error:  # no report: the test shows testssl's output
            output = str(error)
        seconds = time.monotonic() - started
        (artifacts / f"{name}.duration").write_text(f"{seconds:.1f}\n")
        return report, seconds, output

    try:
        with concurrent.futures.ThreadPoolExecutor(len(TLS_PORTS)) as pool:
            return dict(zip(TLS_PORTS, pool.map(run, TLS_PORTS), strict=True))
    finally:
        for relay in relays.values():
            relay.close()


@pytest.mark.parametrize("name", list(TLS_PORTS))
def test_tls_passes_testssl(name: str, testssl_reports: dict[str, tuple[Path, float, str]]) -> None:
    report, seconds, output = testssl_reports[name]
    assert report.exists(), output
    findings = {item["id"]: item for item in json.loads(report.read_text())}
    assert "scanProblem" not in findings, findings["scanProblem"]
    for protocol in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert findings[protocol]["finding"].startswith("not offered"), findings[protocol]
    assert findings["TLS1_2"]["finding"].startswith("offered"), findings["TLS1_2"]
    # Mozilla intermediate: no anonymous suite, no CBC suite (testssl rates
    # CBC LOW only), and the server's order of suites.
    for category in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_AVERAGE"):
        assert findings[category]["finding"] == "not offered", findings[category]
    assert findings["cipher_order"]["finding"] == "server", findings["cipher_order"]
    serious = {
        key: f"{item['severity']}: {item['finding']}"
        for key, item in findings.items()
        if item["severity"] in TESTSSL_FAILING and key not in TESTSSL_WAIVERS[name]
    }
    assert not serious, f"{name} ({seconds:.0f} s): {serious}"
