"""Mail behaviour agents rely on, checked with real clients against the real daemons."""

from __future__ import annotations

import base64
import imaplib
import smtplib
import socket
import ssl
import time

import dkim
import pytest

from .support import (
    ABLA,
    AFI,
    CLIENT_NAME,
    DOMAIN,
    KOKOU,
    PORTS,
    SMTP_NAME,
    YAO,
    Agent,
    Mail,
    connect,
    message,
)

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes

OUTSIDE = "destinataire@ailleurs.invalid"


def test_submission_reaches_a_colleague_with_a_valid_dkim_signature(
    host, mail: Mail, token: str
) -> None:
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    with mail.submission(kokou) as client:
        client.send_message(message(kokou.address, abla.address, f"Note de service {token}"))
    [received] = mail.fetch(abla, token)
    assert received["From"] == kokou.address
    signature = received["DKIM-Signature"]
    assert signature is not None, "outgoing mail is not DKIM-signed"
    tags = dict(t.split("=", 1) for t in "".join(signature.split()).split(";") if "=" in t)
    selector = tags["s"]
    assert tags["d"] == DOMAIN
    record = host.file(f"/var/lib/rspamd/dkim/{DOMAIN}.{selector}.txt").content_string.strip()

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name.decode().rstrip(".") == f"{selector}._domainkey.{DOMAIN}"
        return record.encode()

    assert dkim.verify(received.raw, dnsfunc=dns), "the DKIM signature does not verify"


def test_implicit_tls_submission_and_alias_delivery(mail: Mail, token: str) -> None:
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    with mail.submissions(abla) as client:
        client.send_message(message(abla.address, f"k.agbeko@{DOMAIN}", f"Alias {token}"))
    assert len(mail.fetch(kokou, token)) == 1


def test_no_open_relay(mail: Mail) -> None:
    with mail.smtp() as client:
        # An outside sender: our own domain is refused on 25 before relaying
        # is even considered (test_mail_security.py).
        client.mail("someone@ailleurs.invalid")
        code, reply = client.rcpt(OUTSIDE)
    assert code == 554 and b"Relay access denied" in reply, (code, reply)
    with mail.submission() as client:
        client.mail(f"{KOKOU}@{DOMAIN}")
        code, reply = client.rcpt(OUTSIDE)
    assert code >= 500, (code, reply)


def test_unknown_and_disabled_recipients_are_refused_at_rcpt(mail: Mail) -> None:
    with mail.smtp() as client:
        client.mail("sender@ailleurs.invalid")
        for recipient in (f"personne.inconnue@{DOMAIN}", f"{AFI}@{DOMAIN}"):
            code, reply = client.rcpt(recipient)
            assert code == 550 and b"User unknown" in reply, (recipient, code, reply)
        code, reply = client.rcpt(f"{ABLA}@{DOMAIN}")
        assert code == 250, (code, reply)


def test_wrong_password_is_refused(mail: Mail) -> None:
    kokou = mail.agent(KOKOU)
    with mail.submission() as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login(kokou.address, kokou.password + "x")
    with pytest.raises(imaplib.IMAP4.error):
        mail.imaps(Agent(KOKOU, "not-" + kokou.password))
    disabled = mail.agent(AFI)
    with mail.submission() as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login(disabled.uid, disabled.password)


def test_no_authentication_before_tls(mail: Mail) -> None:
    kokou = mail.agent(KOKOU)
    client = smtplib.SMTP(timeout=20)
    client.sock = connect(PORTS["submission"], 20)
    client.file = None
    client._host = SMTP_NAME
    code, _ = client.getreply()
    assert code == 220
    client.ehlo(CLIENT_NAME)
    assert not client.has_extn("auth"), "AUTH is offered before STARTTLS"
    plain = base64.b64encode(f"\0{kokou.uid}\0{kokou.password}".encode()).decode()
    code, reply = client.docmd("AUTH", f"PLAIN {plain}")
    assert code >= 500, (code, reply)
    client.close()
    imap = mail.imap_plain()
    try:
        assert "LOGINDISABLED" in imap.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(kokou.uid, kokou.password)
    finally:
        imap.shutdown()


def test_an_agent_cannot_send_as_a_colleague(mail: Mail, token: str) -> None:
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    with mail.submission(kokou) as client:
        with pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)) as refused:
            client.send_message(
                message(abla.address, kokou.address, f"Usurpation {token}"),
                from_addr=abla.address,
            )
        assert "not owned by user" in str(refused.value)
        # Its own alias is fine.
        client.send_message(
            message(f"k.agbeko@{DOMAIN}", abla.address, f"Depuis l'alias {token}"),
            from_addr=f"k.agbeko@{DOMAIN}",
        )
    assert len(mail.fetch(abla, token)) == 1


def test_a_ministry_list_reaches_every_member(mail: Mail, token: str) -> None:
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    with mail.submission(abla) as client:
        client.send_message(message(abla.address, f"mef@{DOMAIN}", f"Circulaire MEF {token}"))
    assert len(mail.fetch(kokou, token)) == 1
    assert len(mail.fetch(abla, token)) == 1


class ManageSieve:
    """The few ManageSieve (RFC 5804) commands an out-of-office set-up needs."""

    def __init__(self, tls: ssl.SSLContext, name: str) -> None:
        self.sock: socket.socket = connect(PORTS["sieve"], 20)
        self.file = self.sock.makefile("rb")
        self.response()
        self.command("STARTTLS")
        self.sock = tls.wrap_socket(self.sock, server_hostname=name)
        self.file = self.sock.makefile("rb")
        self.response()

    def response(self) -> bytes:
        lines = []
        while True:
            line = self.file.readline()
            assert line, "ManageSieve connection closed"
            lines.append(line)
            if line.startswith((b"OK", b"NO", b"BYE")):
                assert line.startswith(b"OK"), b"".join(lines)
                return b"".join(lines)

    def command(self, text: str, literal: bytes | None = None) -> bytes:
        data = text.encode()
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        return self.response()

    def login(self, user: str, password: str) -> None:
        plain = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.command(f'AUTHENTICATE "PLAIN" "{plain}"')

    def close(self) -> None:
        self.command("LOGOUT")
        self.sock.close()


def test_out_of_office_answers_once_per_sender(mail: Mail, token: str) -> None:
    kokou, abla = mail.agent(KOKOU), mail.agent(ABLA)
    script = (
        'require ["vacation"];\r\n'
        f'vacation :days 1 :subject "Absente {token}" '
        '"Je suis absente jusqu\'au 15. / Out of office.";\r\n'
    ).encode()
    sieve = ManageSieve(mail.tls, f"imap.{DOMAIN}")
    try:
        sieve.login(abla.uid, abla.password)
        sieve.command('PUTSCRIPT "absence"', script)
        sieve.command('SETACTIVE "absence"')
        with mail.submission(kokou) as client:
            for n in (1, 2):
                client.send_message(message(kokou.address, abla.address, f"Dossier {n} {token}"))
        assert len(mail.fetch(abla, token, count=2)) == 2
        replies = mail.fetch(kokou, f"Absente {token}", wait=10, count=2)
        assert len(replies) == 1, f"{len(replies)} out-of-office replies, expected one"
        assert replies[0]["Auto-Submitted"].startswith("auto-replied")
    finally:
        sieve.command('SETACTIVE ""')
        sieve.close()


def test_a_full_mailbox_refuses_delivery_with_a_bounce(mail: Mail, token: str) -> None:
    kokou, yao = mail.agent(KOKOU), mail.agent(YAO)
    big = message(kokou.address, yao.address, f"Rapport annuel {token}", "x" * 76 + "\n")
    big.add_attachment(b"\0" * (1536 * 1024), maintype="application", subtype="octet-stream")
    with mail.submission(kokou) as client:
        client.send_message(big)
    bounces = mail.fetch(
        kokou,
        token,
        match=lambda m: m.get_content_type() == "multipart/report",
    )
    assert len(bounces) == 1, "no bounce for the over-quota delivery"
    report = bounces[0].as_string()
    assert yao.address in report and "5.2.2" in report
    time.sleep(1)
    assert mail.fetch(yao, token, wait=0) == []


def test_mail_client_set_up_documents(host) -> None:
    import xml.etree.ElementTree as ET

    config = ET.fromstring(
        host.file("/var/www/bureau/autoconfig/mail/config-v1.1.xml").content_string.encode()
    )
    provider = config.find("emailProvider")
    assert provider is not None and provider.findtext("domain") == DOMAIN
    incoming = {
        (s.findtext("port"), s.findtext("socketType")) for s in provider.iter("incomingServer")
    }
    outgoing = {
        (s.findtext("port"), s.findtext("socketType")) for s in provider.iter("outgoingServer")
    }
    assert incoming == {("993", "SSL"), ("143", "STARTTLS")}
    assert outgoing == {("465", "SSL"), ("587", "STARTTLS")}
    assert {s.findtext("hostname") for s in provider.iter("incomingServer")} == {f"imap.{DOMAIN}"}
    ns = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
    discover = ET.fromstring(
        host.file("/var/www/bureau/autodiscover/autodiscover.xml").content_string.encode()
    )
    protocols = {p.findtext(f"{ns}Type"): p for p in discover.iter(f"{ns}Protocol")}
    assert protocols["IMAP"].findtext(f"{ns}Server") == f"imap.{DOMAIN}"
    assert protocols["IMAP"].findtext(f"{ns}Port") == "993"
    assert protocols["SMTP"].findtext(f"{ns}Port") == "465"


def test_postfix_configuration_is_valid(host) -> None:
    assert host.run("postfix check").rc == 0
    assert host.check_output("postconf -h message_size_limit") == str(25 * 1024 * 1024)


def test_brute_force_is_watched(host) -> None:
    for jail in ("dovecot", "postfix-sasl"):
        result = host.run("fail2ban-client status %s", jail)
        assert result.rc == 0, result.stderr


def test_the_dkim_private_key_is_readable_by_rspamd_only(host) -> None:
    keys = host.file("/var/lib/rspamd/dkim")
    assert keys.user == "_rspamd" and keys.mode == 0o700
    for name in host.check_output("ls /var/lib/rspamd/dkim").split():
        if name.endswith(".key"):
            key = host.file(f"/var/lib/rspamd/dkim/{name}")
            assert key.user == "_rspamd" and key.mode == 0o600
