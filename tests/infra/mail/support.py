"""Helpers of the mail checks (plain code, no fixtures): the clients and
constants the tests and the fixtures of conftest.py share."""

from __future__ import annotations

import email
import email.message
import imaplib
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid

from ..site import DOMAIN
from ..testsupport import Agent, messages_with, secret

PORTS = {
    "smtp": 25,
    "submission": 587,
    "submissions": 465,
    "imap": 143,
    "imaps": 993,
    "sieve": 4190,
}


SMTP_NAME = f"smtp.{DOMAIN}"
# The name a client announces in EHLO.
CLIENT_NAME = f"client.test.{DOMAIN}"


IMAP_NAME = f"imap.{DOMAIN}"


TIMEOUT = 20


KOKOU = "kokou.agbeko"


ABLA = "abla.adjo-amegan"


YAO = "yao.de-souza"


AFI = "afi.dalmeida"


def connect(port: int, timeout: float) -> socket.socket:
    return socket.create_connection((SMTP_NAME, port), timeout)


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
class Mail:
    """Clients of the mail host under test."""

    tls: ssl.SSLContext

    def agent(self, uid: str) -> Agent:
        return Agent(uid, secret(f"agent_{uid}"))

    def smtp(self) -> SMTP:
        client = SMTP(SMTP_NAME, PORTS["smtp"], timeout=TIMEOUT)
        client.ehlo(CLIENT_NAME)
        return client

    def submission(self, agent: Agent | None = None) -> SMTP:
        client = SMTP(SMTP_NAME, PORTS["submission"], timeout=TIMEOUT)
        client.ehlo(CLIENT_NAME)
        client.starttls(context=self.tls)
        client.ehlo(CLIENT_NAME)
        if agent:
            client.login(agent.address, agent.password)
        return client

    def submissions(self, agent: Agent) -> SMTP_SSL:
        client = SMTP_SSL(SMTP_NAME, PORTS["submissions"], context=self.tls, timeout=TIMEOUT)
        client.ehlo(CLIENT_NAME)
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
                found = [
                    m for m in messages_with(client, "INBOX", token) if match is None or match(m)
                ]
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
