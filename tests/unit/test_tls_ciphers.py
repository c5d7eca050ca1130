"""The TLS 1.2 suites are Mozilla "intermediate" in every role that serves TLS:
the web front's list is the reference, the mail and office roles carry the
same one."""

from __future__ import annotations

from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
LISTS = {
    "web_front": "web_front__tls_ciphers",
    "mail_transfer": "mail_transfer__tls_ciphers",
    "mailbox": "mailbox__tls_ciphers",
    "office": "office__tls_ciphers",  # RDP and the browser gateway
}


def defaults(role: str) -> dict:
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text(encoding="utf-8"))


def test_every_tls_role_uses_the_web_front_s_cipher_list() -> None:
    reference = defaults("web_front")[LISTS["web_front"]]
    for role, name in LISTS.items():
        assert defaults(role)[name] == reference, f"{role}: {name} differs from web_front's list"


def test_the_list_has_only_aead_suites_with_forward_secrecy() -> None:
    for suite in defaults("web_front")[LISTS["web_front"]]:
        assert suite.startswith(("ECDHE-", "DHE-")), suite
        assert suite.endswith(("GCM-SHA256", "GCM-SHA384", "CHACHA20-POLY1305")), suite
