"""Single sign-on as an agent sees it: the portal, protected applications,
logout, lockout, the administrators' second factor, durable sessions."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
import time
import uuid

import pytest
from playwright.sync_api import BrowserContext, Page

from .support import ADMIN, AGENT, APP1, APP2, DOMAIN, MANAGER, PORTAL, VICTIM, Portal, totp

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes

SERVICE = "lemonldap-ng-fastcgi-server"


def echo(page: Page) -> dict[str, str]:
    """Headers the test application app1 received from nginx."""
    return json.loads(page.inner_text("body"))["headers"]


def test_the_front_presents_a_certificate_the_ca_vouches_for(
    address: str, tls: ssl.SSLContext
) -> None:
    for name in (f"auth.{DOMAIN}", f"manager.{DOMAIN}", f"app1.{DOMAIN}"):
        with (
            socket.create_connection((address, 443), timeout=10) as raw,
            tls.wrap_socket(raw, server_hostname=name) as conn,
        ):
            assert conn.version() in ("TLSv1.2", "TLSv1.3")


def test_the_portal_runs_and_its_configuration_is_private(host) -> None:
    assert host.service(SERVICE).is_running
    assert host.service(SERVICE).is_enabled
    conf = host.file("/var/lib/lemonldap-ng/conf/lmConf-1.json")
    assert conf.user == "www-data"
    assert conf.mode == 0o640
    assert host.run("nginx -t").rc == 0


def test_a_protected_site_sends_the_visitor_to_the_portal(
    context: BrowserContext, portal: Portal
) -> None:
    page = context.new_page()
    page.goto(APP1)
    assert portal.is_login_form(page), page.url
    portal.shot(page, "login-form")


def test_an_agent_logs_in_lands_on_the_app_and_opens_another_without_login(
    context: BrowserContext, portal: Portal
) -> None:
    page = context.new_page()
    page.goto(APP1)
    portal.login(page, AGENT)
    assert page.url.startswith(APP1), page.url
    headers = echo(page)
    assert headers["Auth-User"] == AGENT
    assert headers["Auth-Mail"] == f"{AGENT}@{DOMAIN}"
    # The application never sees the SSO cookie.
    assert "lemonldap=" not in headers.get("Cookie", "")
    portal.shot(page, "app1-logged-in")

    page.goto(APP2)
    assert page.url.startswith(APP2), page.url
    assert page.locator("h1").inner_text() == "Application 2"


def test_a_client_cannot_forge_the_identity_headers(
    context: BrowserContext, portal: Portal
) -> None:
    page = context.new_page()
    page.goto(APP1)
    portal.login(page, AGENT)
    context.set_extra_http_headers({"Auth-User": ADMIN, "Auth-Mail": f"{ADMIN}@{DOMAIN}"})
    page.goto(APP1)
    headers = echo(page)
    assert headers["Auth-User"] == AGENT
    assert headers["Auth-Mail"] == f"{AGENT}@{DOMAIN}"


def test_logout_ends_the_session_everywhere(
    context: BrowserContext, browser, portal: Portal
) -> None:
    page = context.new_page()
    page.goto(APP1)
    portal.login(page, AGENT)
    assert echo(page)["Auth-User"] == AGENT
    cookies = context.cookies()

    page.goto(PORTAL + "?logout=1")
    page.wait_for_load_state("networkidle")
    portal.shot(page, "logged-out")
    for app in (APP1, APP2):
        page.goto(app)
        assert portal.is_login_form(page), page.url

    # The session is gone on the server: replaying the old cookie opens nothing.
    replay = browser.new_context(ignore_https_errors=True)
    try:
        replay.add_cookies(cookies)
        other = replay.new_page()
        other.goto(APP1)
        assert portal.is_login_form(other), other.url
    finally:
        replay.close()


@pytest.mark.destructive
def test_sessions_live_in_postgresql_and_survive_a_restart_of_the_portal(
    context: BrowserContext, portal: Portal, host
) -> None:
    page = context.new_page()
    page.goto(APP1)
    portal.login(page, AGENT)
    assert echo(page)["Auth-User"] == AGENT

    count = host.run(
        "runuser -u postgres -- psql -tA -d lemonldap -c "
        "\"SELECT count(*) FROM sessions WHERE a_session ->> '_whatToTrace' = '%s'\"",
        AGENT,
    )
    assert count.rc == 0, count.stderr
    assert int(count.stdout.strip()) >= 1

    restart = host.run(f"systemctl restart {SERVICE}")
    assert restart.rc == 0, restart.stderr
    page.goto(APP1)
    assert page.url.startswith(APP1), page.url
    assert echo(page)["Auth-User"] == AGENT


def ssha(password: str) -> str:
    """The {SSHA} hash `bureau users import` writes for an initial password."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def test_a_new_agent_changes_the_initial_password_at_first_login(
    context: BrowserContext, portal: Portal, host
) -> None:
    # An agent as `bureau users import` creates one: an initial password
    # marked for change (pwdReset). The portal asks for a new password before
    # anything else; with it the agent reaches the application, and the
    # initial password no longer opens anything.
    uid = f"nouvel.agent{uuid.uuid4().hex[:6]}"
    dn = f"uid={uid},ou=people,dc=gouv,dc=tg"
    initial = base64.b32encode(os.urandom(10)).decode()
    chosen = "Lomé-" + base64.b32encode(os.urandom(10)).decode().lower()
    entry = "\n".join(
        [
            f"dn: {dn}",
            "objectClass: inetOrgPerson",
            "objectClass: bureauAgent",
            f"uid: {uid}",
            "cn: Nouvel Agent",
            "givenName: Nouvel",
            "sn: Agent",
            f"mail: {uid}@{DOMAIN}",
            "departmentNumber: MEF",
            "bureauAccountStatus: active",
            f"userPassword: {ssha(initial)}",
            "pwdReset: TRUE",
            "",
        ]
    )
    added = host.run("printf '%%s' %s | ldapadd -Q -Y EXTERNAL -H ldapi:///", entry)
    assert added.rc == 0, added.stderr
    try:
        page = context.new_page()
        page.goto(APP1)
        portal.login(page, uid, initial)
        assert not page.url.startswith(APP1), "the initial password opened the application"
        page.wait_for_selector("input[name=newpassword]")
        portal.shot(page, "first-login-change")
        page.fill("input[name=newpassword]", chosen)
        page.fill("input[name=confirmpassword]", chosen)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

        reset = host.run("ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b %s -s base pwdReset", dn)
        assert "pwdReset" not in reset.stdout, reset.stdout

        page.goto(APP1)
        if portal.is_login_form(page):
            portal.login(page, uid, chosen)
        assert page.url.startswith(APP1), page.url
        assert echo(page)["Auth-User"] == uid

        other = context.browser.new_context(ignore_https_errors=True)  # type: ignore[union-attr]
        try:
            again = other.new_page()
            again.goto(APP1)
            portal.login(again, uid, initial)
            assert portal.is_login_form(again)
            assert portal.error_code(again) == "5"  # PE_BADCREDENTIALS
        finally:
            other.close()
    finally:
        host.run("ldapdelete -Q -Y EXTERNAL -H ldapi:/// %s", dn)


def test_the_portal_offers_no_self_registration_or_mail_reset(
    context: BrowserContext,
) -> None:
    page = context.new_page()
    page.goto(PORTAL)
    links = page.locator("a[href*='register'], a[href*='resetpwd']")
    assert links.count() == 0, [links.nth(i).get_attribute("href") for i in range(links.count())]


def test_after_login_the_portal_menu_lists_the_services_under_the_states_name(
    host, context: BrowserContext, portal: Portal
) -> None:
    """An agent who logs in at the portal itself sees the services registered
    with a menu entry (Messagerie et agendas…), each a link to its site, and
    the State's name instead of LemonLDAP::NG's logo."""
    registry = host.run("cat /etc/lemonldap-ng/bureau-applications/*.json")
    expected = {}
    for text in registry.stdout.replace("}\n{", "}\0{").split("\0"):
        if text.strip():
            application = json.loads(text)
            if "menu" in application:
                uri = application["menu"].get("uri", f"https://{application['host']}/")
                expected[application["menu"]["name"]] = uri
    assert expected, "no application registered a menu entry: the portal would show agents nothing"
    page = context.new_page()
    page.goto(PORTAL)
    portal.login(page, AGENT)
    assert "Aucune application autorisée" not in page.content()
    for name, uri in expected.items():
        link = page.locator(f"a[href^='{uri}']", has_text=name)
        assert link.count() >= 1, f"the menu has no link {name!r} to {uri}"
    logo = page.locator("img[src*='bureau/logo.svg']")
    assert logo.count() >= 1, "the portal does not show the State's logo"
    assert page.locator("img[src*='logo_llng']").count() == 0
    portal.shot(page, "menu")


def test_a_wrong_password_shows_an_error(context: BrowserContext, portal: Portal) -> None:
    page = context.new_page()
    page.goto(APP1)
    portal.login(page, AGENT, "not-the-password-0")
    assert portal.is_login_form(page)
    assert portal.error_code(page) == "5"  # PE_BADCREDENTIALS
    portal.shot(page, "wrong-password")


@pytest.mark.destructive
def test_the_directory_lockout_applies_at_the_portal(
    context: BrowserContext, portal: Portal, host
) -> None:
    dn = f"uid={VICTIM},ou=people,dc=gouv,dc=tg"
    page = context.new_page()
    try:
        for attempt in range(5):
            page.goto(PORTAL)
            portal.login(page, VICTIM, f"wrong-password-{attempt}")
            assert portal.error_code(page) == "5"
        # Locked by the directory (ppolicy): even the right password is refused.
        # The directory does not say "locked" (olcPPolicyUseLockout FALSE: no
        # hint to an attacker), so the portal shows "bad credentials" (5); with
        # the hint on, it shows "account locked" (21).
        page.goto(PORTAL)
        portal.login(page, VICTIM)
        assert portal.is_login_form(page)
        assert portal.error_code(page) in ("5", "21")
        portal.shot(page, "locked")
        locked = host.run(
            "ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b %s -s base pwdAccountLockedTime", dn
        )
        assert "pwdAccountLockedTime:" in locked.stdout
    finally:
        # Unlock and forget the failures, as an administrator would, so that
        # the check can run again.
        for attribute in ("pwdAccountLockedTime", "pwdFailureTime"):
            host.run(
                "printf 'dn: %s\\nchangetype: modify\\ndelete: %s\\n' | "
                "ldapmodify -Q -Y EXTERNAL -H ldapi:///",
                dn,
                attribute,
            )


def test_an_agent_cannot_open_the_manager(context: BrowserContext, portal: Portal) -> None:
    page = context.new_page()
    page.goto(PORTAL)
    portal.login(page, AGENT)
    # The manager demands the TOTP level: the portal offers to upgrade the
    # session, which an agent without a second factor cannot do.
    page.goto(MANAGER)
    assert not page.url.startswith(MANAGER), page.url
    assert page.url.startswith(PORTAL), page.url
    portal.shot(page, "manager-agent-refused")


def test_an_administrator_without_second_factor_cannot_open_the_manager(
    context: BrowserContext, portal: Portal
) -> None:
    page = context.new_page()
    page.goto(MANAGER)
    portal.login(page, ADMIN)
    # The portal asks an administrator to register a TOTP first.
    assert page.url.startswith(PORTAL + "2fregisters"), page.url
    portal.shot(page, "admin-must-register-totp")
    response = page.goto(MANAGER)
    assert response is not None
    assert not (page.url.startswith(MANAGER) and response.status == 200), page.url


def test_an_administrator_with_a_totp_opens_the_manager(
    context: BrowserContext, portal: Portal, host
) -> None:
    page = context.new_page()
    try:
        page.goto(MANAGER)
        portal.login(page, ADMIN)
        # Enrol a TOTP as the agent would with a phone: read the secret shown.
        secret = portal.register_totp(page, "test")
        portal.shot(page, "admin-totp-registered")

        # A new login now asks for the code, and then the manager opens.
        page.goto(PORTAL + "?logout=1")
        page.goto(MANAGER)
        portal.login(page, ADMIN)
        page.wait_for_selector("input[name=code]")
        # The next time step: a code the registration did not use (totp2fRange 1).
        page.fill("input[name=code]", totp(secret, time.time() + 30))
        page.click("form.password button[type=submit]")
        page.wait_for_load_state("networkidle")
        response = page.goto(MANAGER)
        assert response is not None
        assert page.url.startswith(MANAGER), page.url
        assert response.status == 200
        portal.shot(page, "manager-admin")
    finally:
        # Forget the device, so that the checks can run again.
        host.run(
            "runuser -u postgres -- psql -d lemonldap -c "
            "\"UPDATE psessions SET a_session = a_session - '_2fDevices' "
            "WHERE a_session ->> '_session_uid' = '%s'\"",
            ADMIN,
        )
