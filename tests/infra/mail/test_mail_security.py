"""What the mail host refuses, checked with real clients: a From: header that
is not the login's, our own domain claimed from outside, ministry lists
written to from the Internet, a password that must be changed first, weak
TLS (testssl.sh and Python's ssl) on every mail port."""

from __future__ import annotations

import email.message
import smtplib

import pytest
from conftest import (
    ABLA,
    DOMAIN,
    KOKOU,
    Mail,
    message,
)

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
