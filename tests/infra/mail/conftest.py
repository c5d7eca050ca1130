"""Fixtures of the mail checks: real SMTP, IMAP and ManageSieve clients.

The daemons are reached on the ports the molecule scenario publishes on
127.0.0.1 (override with BUREAU_MAIL_ADDRESS and BUREAU_<SERVICE>_PORT), with
TLS certificates checked against the CA read from the host and the names
clients use (smtp.gouv.tg, imap.gouv.tg). The test agents and their
passwords are those the scenario creates (BUREAU_TEST_SECRETS, by default
the molecule ephemeral directory's `secrets`).
"""

from __future__ import annotations

import email
import email.message
import imaplib
import os
import smtplib
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import make_msgid

import pytest
from testsupport import secret

DOMAIN = os.environ.get("BUREAU_MAIL_DOMAIN", "gouv.tg")
ADDRESS = os.environ.get("BUREAU_MAIL_ADDRESS", "127.0.0.1")
PORTS = {
    "smtp": int(os.environ.get("BUREAU_SMTP_PORT", "12525")),
    "submission": int(os.environ.get("BUREAU_SUBMISSION_PORT", "12587")),
    "submissions": int(os.environ.get("BUREAU_SUBMISSIONS_PORT", "12465")),
    "imap": int(os.environ.get("BUREAU_IMAP_PORT", "12143")),
    "imaps": int(os.environ.get("BUREAU_IMAPS_PORT", "12993")),
    "sieve": int(os.environ.get("BUREAU_SIEVE_PORT", "14190")),
}
SMTP_NAME = f"smtp.{DOMAIN}"
IMAP_NAME = f"imap.{DOMAIN}"
TIMEOUT = 20

KOKOU = "kokou.agbeko"
ABLA = "abla.adjo-amegan"
YAO = "yao.de-souza"
AFI = "afi.dalmeida"


def connect(port: int, timeout: float) -> socket.socket:
    return socket.create_connection((ADDRESS, port), timeout)


class SMTP(smtplib.SMTP):
    """smtplib.SMTP that dials ADDRESS but checks the certificate of the host it names."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect(port, timeout)


class SMTP_SSL(smtplib.SMTP_SSL):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.context.wrap_socket(connect(port, timeout), server_hostname=self._host)


class IMAP4(imaplib.IMAP4):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        return connect(self.port, timeout or TIMEOUT)


class IMAP4_SSL(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = connect(self.port, timeout or TIMEOUT)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Agent:
    uid: str
    password: str

    @property
    def address(self) -> str:
        return f"{self.uid}@{DOMAIN}"


@dataclass(frozen=True)
class Mail:
    """Clients of the mail host under test."""

    tls: ssl.SSLContext

    def agent(self, uid: str) -> Agent:
        return Agent(uid, secret(f"agent_{uid}"))

    def smtp(self) -> SMTP:
        client = SMTP(SMTP_NAME, PORTS["smtp"], timeout=TIMEOUT)
        client.ehlo("client.test.gouv.tg")
        return client

    def submission(self, agent: Agent | None = None) -> SMTP:
        client = SMTP(SMTP_NAME, PORTS["submission"], timeout=TIMEOUT)
        client.ehlo("client.test.gouv.tg")
        client.starttls(context=self.tls)
        client.ehlo("client.test.gouv.tg")
        if agent:
            client.login(agent.address, agent.password)
        return client

    def submissions(self, agent: Agent) -> SMTP_SSL:
        client = SMTP_SSL(SMTP_NAME, PORTS["submissions"], context=self.tls, timeout=TIMEOUT)
        client.ehlo("client.test.gouv.tg")
        client.login(agent.uid, agent.password)
        return client

    def imaps(self, agent: Agent) -> IMAP4_SSL:
        client = IMAP4_SSL(IMAP_NAME, PORTS["imaps"], ssl_context=self.tls, timeout=TIMEOUT)
        client.login(agent.uid, agent.password)
        return client

    def imap_plain(self) -> IMAP4:
        return IMAP4(IMAP_NAME, PORTS["imap"], timeout=TIMEOUT)

    def fetch(
        self,
        agent: Agent,
        token: str,
        *,
        count: int = 1,
        wait: float = 30,
        match: Callable[[email.message.Message], bool] | None = None,
    ) -> list[email.message.Message]:
        """Messages of the agent's INBOX whose text holds `token`, once `count` are there."""
        deadline = time.monotonic() + wait
        found: list[email.message.Message] = []
        while True:
            client = self.imaps(agent)
            try:
                client.select("INBOX", readonly=True)
                status, data = client.search("UTF-8", "TEXT", f'"{token}"'.encode())
                assert status == "OK", data
                found = []
                for number in data[0].split():
                    status, parts = client.fetch(number, "(BODY.PEEK[])")
                    assert status == "OK", parts
                    raw = parts[0][1]
                    message = email.message_from_bytes(raw)
                    message.raw = raw  # type: ignore[attr-defined]
                    if match is None or match(message):
                        found.append(message)
            finally:
                client.logout()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def message(sender: str, to: str, subject: str, body: str = "") -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg.set_content(body or f"Bonjour,\n\n{subject}\n\nCordialement.\n")
    return msg


@pytest.fixture(scope="module")
def mail(ca_file: str) -> Mail:
    context = ssl.create_default_context(cafile=ca_file)
    return Mail(tls=context)


@pytest.fixture
def token() -> Iterator[str]:
    yield "bureau-test-" + uuid.uuid4().hex[:12]
