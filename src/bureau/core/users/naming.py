"""How names become uids and addresses: ASCII folding and the syntax rules.

"Kokou Agbéko" → uid `kokou.agbeko`, address `kokou.agbeko@gouv.tg`;
"Abla Adjo-Amégan" → `abla.adjo-amegan`; "Afi d'Almeida" → `afi.dalmeida`;
"Yao de Souza" → `yao.de-souza`. Collisions get a numeric suffix: see plan.py.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

UID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
# A deliberately plain address syntax: what every MTA and client accepts.
LOCAL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$")
DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMPLOYEE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,63}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().-]{3,30}$")
_APOSTROPHES = re.compile("['`\u2019]")
_NOT_UID_CHARS = re.compile(r"[^a-z0-9-]+")
_HYPHENS = re.compile(r"-{2,}")


# Memoized: an import folds each name several times (validation, matching,
# uid allocation) and a country's given names and surnames repeat a lot; a
# 70,000-row file folded 560,000 times spent ≈4 s here.
@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """ASCII-fold a name part: accents stripped, lower case, spaces → hyphen.

    Apostrophes vanish ("d'Almeida" → "dalmeida"); any other character that is
    not a letter, digit or hyphen becomes a hyphen; hyphens never repeat nor
    start or end the result.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    decomposed = _APOSTROPHES.sub("", decomposed)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.encode("ascii", "ignore").decode("ascii").lower()
    ascii_only = _NOT_UID_CHARS.sub("-", ascii_only)
    return _HYPHENS.sub("-", ascii_only).strip("-")


@lru_cache(maxsize=65536)
def base_uid(given_name: str, surname: str) -> str:
    """The uid before any collision suffix: `given.surname`, folded ("" if unusable)."""
    given, sur = fold(given_name), fold(surname)
    if not given or not sur:
        return ""
    return f"{given}.{sur}"[:60].rstrip(".-")


def with_suffix(base: str, number: int) -> str:
    """The n-th candidate for a base uid: base, base2, base3, …"""
    return base if number <= 1 else f"{base}{number}"


def valid_uid(uid: str) -> bool:
    return bool(UID_RE.match(uid))


def address_problem(address: str, domain: str) -> str | None:
    """Why `address` cannot be an agent's address in `domain`, or None if it can."""
    if address.count("@") != 1:
        return "is not an address (local@domain)"
    local, _, host = address.partition("@")
    if not LOCAL_RE.match(local):
        return f"has an invalid local part {local!r} (letters a-z, digits, . _ + - only)"
    if not DOMAIN_RE.match(host):
        return f"has an invalid domain {host!r}"
    if host != domain and not host.endswith("." + domain):
        return f"is outside the mail domain {domain} and its subdomains"
    return None


def local_part(address: str, domain: str) -> str | None:
    """The local part of an address of exactly `domain`, else None."""
    local, _, host = address.lower().partition("@")
    return local if host == domain else None
