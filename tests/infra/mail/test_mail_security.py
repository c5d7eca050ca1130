"""What the mail host refuses, checked with real clients: a From: header that
is not the login's, our own domain claimed from outside, ministry lists
written to from the Internet, a password that must be changed first, weak
TLS (testssl.sh and Python's ssl) on every mail port."""

from __future__ import annotations

import email.message
import imaplib
import smtplib

import pytest
from conftest import (
    ABLA,
    DOMAIN,
    KOKOU,
    YAO,
    Mail,
    message,
)
from testinfra.host import Host

BASE_DN = ",".join(f"dc={part}" for part in DOMAIN.split("."))
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
