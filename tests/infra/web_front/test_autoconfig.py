"""Mail client set-up through the web front: Thunderbird's autoconfig
document and Outlook's autodiscover answer, published by the mailbox role
through web_front's entry point on a host of the web_front group."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ..site import DOMAIN
from .support import Front, require_sites_or_skip

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

AUTOCONFIG = f"autoconfig.{DOMAIN}"
AUTODISCOVER = f"autodiscover.{DOMAIN}"

OUTLOOK_REQUEST = f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>kokou.agbeko@{DOMAIN}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
""".encode()


@pytest.fixture(scope="module", autouse=True)
def _published(front: Front) -> None:
    require_sites_or_skip(front, {AUTOCONFIG, AUTODISCOVER}, "the mail set-up sites")


def test_thunderbird_finds_the_imap_server(front: Front) -> None:
    answer = front.get(AUTOCONFIG, f"/mail/config-v1.1.xml?emailaddress=kokou.agbeko%40{DOMAIN}")
    assert answer.status == 200
    document = ET.fromstring(answer.body)
    hostnames = [node.text for node in document.iter("hostname")]
    assert f"imap.{DOMAIN}" in hostnames
    assert f"smtp.{DOMAIN}" in hostnames


def test_outlook_gets_an_answer_to_its_post(front: Front) -> None:
    for path in ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"):
        answer = front.get(
            AUTODISCOVER,
            path,
            method="POST",
            body=OUTLOOK_REQUEST,
            headers={"Content-Type": "text/xml"},
        )
        assert answer.status == 200, (path, answer.status)
        assert f"imap.{DOMAIN}".encode() in answer.body
        ET.fromstring(answer.body)
