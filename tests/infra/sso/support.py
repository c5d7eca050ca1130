"""Helpers of the sso checks (plain code, no fixtures): the clients and
constants the tests and the fixtures of conftest.py share."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

from ..site import DOMAIN
from ..testsupport import secret

PORTAL = f"https://auth.{DOMAIN}/"


MANAGER = f"https://manager.{DOMAIN}/"


APP1 = f"https://app1.{DOMAIN}/"


APP2 = f"https://app2.{DOMAIN}/"


AGENT = "kokou.agbeko"


VICTIM = "abla.adjo-amegan"


ADMIN = "edem.kodjo"


@dataclass(frozen=True)
class Portal:
    """What an agent does with the portal in a browser."""

    artifacts: Path

    def login(self, page: Page, uid: str, password: str | None = None) -> None:
        """Fill the login form the page shows and submit it."""
        page.wait_for_selector("form#lform input[name=user]")
        page.fill("input[name=user]", uid)
        if password is None:
            password = secret(f"agent_{uid}")
        page.fill("input[name=password]", password)
        # Wait for the answer to this form, not for a quiet network: the
        # portal's scripts keep the old page busy while the POST is in flight.
        with page.expect_navigation(wait_until="load"):
            page.click("form#lform button[type=submit]")
        page.wait_for_load_state("networkidle")

    def is_login_form(self, page: Page) -> bool:
        form = page.locator("form#lform input[name=password]")
        return page.url.startswith(PORTAL) and form.count() == 1

    def error_code(self, page: Page) -> str | None:
        """The portal's message number (trmsg) of the alert shown, if any."""
        alert = page.locator("[role=alert] [trmsg]")
        return alert.first.get_attribute("trmsg") if alert.count() else None

    def register_totp(self, page: Page, name: str) -> str:
        """Enrol a TOTP as the agent would with a phone (logged in already):
        read the secret the portal shows, answer with its code; return it."""
        page.goto(PORTAL + "2fregisters/totp")
        secret = ""
        for _ in range(40):  # the portal's CSP forbids evaluated scripts: poll from here
            secret = page.inner_text("#secret").replace(" ", "")
            if secret:
                break
            page.wait_for_timeout(500)
        assert secret, "the portal showed no TOTP secret"
        page.fill("#TOTPName", name)
        page.fill("#code", totp(secret, time.time()))
        page.click("#verify")
        page.wait_for_load_state("networkidle")
        return secret

    def shot(self, page: Page, name: str) -> None:
        page.screenshot(path=str(self.artifacts / f"sso-{name}.png"), full_page=True)


def totp(secret: str, at: float) -> str:
    """RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at a time."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"
