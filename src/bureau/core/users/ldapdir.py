"""The directory side of an import: read agents and groups, apply a plan.

python-ldap (libldap, in C) is used rather than the pure-Python ldap3: encoding
an add request costs ≈0.14 ms in C against ≈1.2 ms with ldap3, which alone
would exceed the 60 s budget of a 70,000-agent import. Writes are pipelined:
up to WINDOW operations are in flight, their results collected as they come.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import ldap
from ldap.controls import SimplePagedResultsControl
from ldap.filter import escape_filter_chars
from ldap.ldapobject import LDAPObject

from bureau.core.users import tlsname
from bureau.core.users.plan import (
    CANONICAL,
    DISABLED,
    LOCKED_FOREVER,
    READ_ATTRIBUTES,
    Entry,
    Group,
    Plan,
    Target,
)
from bureau.core.users.reference import Ministry
from bureau.errors import BureauError

WINDOW = 128
# Group writes go one at a time: each makes memberof rewrite every member
# entry (a ministry of 2,300 agents: 2,300 internal modifications), and 30
# such writes in flight together fight over slapd's single mdb writer —
# measured 98 s for the 30 ministry groups sent together against 24 s for
# ldapadd sending them one by one on the same (loaded) machine.
GROUP_WINDOW = 1
# A write refused with LDAP_BUSY by libldap is sent again, at most this many
# times, after reading a result (or pausing this long when none is in flight).
BUSY_RETRIES = 1000
BUSY_PAUSE = 0.05
# Connections reading the directory back at the start of an import (read_agents).
READERS = 4
PAGE = 1000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Connection:
    """How to reach and bind to the directory."""

    uri: str
    bind_dn: str
    password: str
    ca_file: str | None = None
    starttls: bool = True  # for ldap:// URIs; ldaps:// is TLS from the start
    tls_name: str | None = None  # the name the certificate must carry, if not the URI's host
    timeout: float = 30.0


@dataclass
class Outcome:
    done: int = 0
    failures: list[str] = field(default_factory=list)
    agents_seconds: float = 0.0  # creates, updates, disables
    groups_seconds: float = 0.0  # group writes, memberof's updates of every member included


def connect(settings: Connection) -> LDAPObject:
    """Open, secure and bind; errors say what to check."""
    conn = ldap.initialize(settings.uri, bytes_mode=False)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, settings.timeout)
    own_check = bool(settings.tls_name) and settings.tls_name != urlsplit(settings.uri).hostname
    if own_check and not settings.ca_file:
        raise BureauError("--tls-name needs --ca-file: the certificate is checked against that CA")
    # ALLOW: the handshake skips libldap's host check; tlsname.verify does it all, before the bind.
    conn.set_option(
        ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_ALLOW if own_check else ldap.OPT_X_TLS_DEMAND
    )
    if settings.ca_file:
        conn.set_option(ldap.OPT_X_TLS_CACERTFILE, settings.ca_file)
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    secured = settings.uri.startswith("ldaps://") or settings.starttls
    try:
        if settings.uri.startswith("ldap://") and settings.starttls:
            conn.start_tls_s()
        if own_check and secured and settings.ca_file and settings.tls_name:
            conn.search_s(
                "", ldap.SCOPE_BASE, "(objectClass=*)", ["1.1"]
            )  # completes the handshake
            tlsname.verify(
                conn.get_option(ldap.OPT_X_TLS_PEERCERT), settings.ca_file, settings.tls_name
            )
        conn.simple_bind_s(settings.bind_dn, settings.password)
    except ldap.INVALID_CREDENTIALS as err:
        raise BureauError(
            f"the directory refused the password of {settings.bind_dn} "
            "(fix: check --bind-dn and the password file or vault secret)"
        ) from err
    except ldap.LDAPError as err:
        raise BureauError(
            f"cannot connect to {settings.uri}: {_describe(err)} "
            "(fix: check --uri, that slapd runs, and --ca-file for its certificate)"
        ) from err
    return conn


def _describe(err: ldap.LDAPError) -> str:
    info = err.args[0] if err.args and isinstance(err.args[0], dict) else {}
    text = str(info.get("desc", err))
    if info.get("info"):
        text += f" ({info['info']})"
    return text


def _paged(
    conn: LDAPObject, base: str, filterstr: str, attrs: list[str]
) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    control = SimplePagedResultsControl(True, size=PAGE, cookie="")
    while True:
        msgid = conn.search_ext(base, ldap.SCOPE_ONELEVEL, filterstr, attrs, serverctrls=[control])
        _, data, _, controls = conn.result3(msgid)
        for dn, attributes in data:
            if dn is not None:
                yield dn, attributes
        cookie = next(
            (c.cookie for c in controls if c.controlType == SimplePagedResultsControl.controlType),
            b"",
        )
        if not cookie:
            return
        control.cookie = cookie


def partition(attribute: str, values: Iterable[str], base_filter: str) -> list[str]:
    """Filters that split `base_filter`'s entries by `attribute`: one per value, and one
    for every entry that has none of them. Together they match every entry (an entry
    with two of the values matches two filters)."""
    escaped = [escape_filter_chars(v) for v in values]
    filters = [f"(&{base_filter}({attribute}={v}))" for v in escaped]
    others = "".join(f"({attribute}={v})" for v in escaped)
    filters.append(f"(&{base_filter}(!(|{others})))" if escaped else base_filter)
    return filters


def _entry(dn: str, raw: Mapping[str, list[bytes]]) -> Entry:
    return Entry(
        dn,
        {
            CANONICAL.get(name.lower(), name): tuple(v.decode("utf-8") for v in values)
            for name, values in raw.items()
        },
    )


def read_agents(
    conn: LDAPObject,
    target: Target,
    *,
    departments: Sequence[str] = (),
    more: Callable[[], LDAPObject] | None = None,
) -> list[Entry]:
    """Every entry under ou=people (active or not), with the attributes the importer owns.

    Given `departments` (departmentNumber is indexed) and `more` (opens another
    connection), READERS connections read concurrently, each one paged search
    per department of its share, plus one search for entries of no listed
    department. slapd keeps one paged search per connection, hence connections
    rather than searches in flight on one. Entries come back sorted by DN.
    """
    filters = partition("departmentNumber", departments, "(objectClass=inetOrgPerson)")
    readers = min(READERS, len(filters)) if more else 1
    shares = [filters[i::readers] for i in range(readers)]

    def read_share(index: int) -> list[Entry]:
        reader = conn if index == 0 or more is None else more()
        try:
            return [
                _entry(dn, raw)
                for filterstr in shares[index]
                for dn, raw in _paged(reader, target.people, filterstr, list(READ_ATTRIBUTES))
            ]
        finally:
            if reader is not conn:
                reader.unbind_s()

    try:
        with ThreadPoolExecutor(max_workers=readers) as pool:
            parts = list(pool.map(read_share, range(readers)))
    except ldap.NO_SUCH_OBJECT as err:
        raise BureauError(
            f"{target.people} does not exist (fix: deploy the directory role first)"
        ) from err
    except ldap.LDAPError as err:
        raise BureauError(f"cannot read {target.people}: {_describe(err)}") from err
    unique = {entry.dn.lower(): entry for part in parts for entry in part}
    return [unique[dn] for dn in sorted(unique)]


def read_groups(
    conn: LDAPObject, target: Target, ministries: Mapping[str, Ministry]
) -> dict[str, Group]:
    """The ministry groups that exist, by code, with their members (lower-case DNs)."""
    groups: dict[str, Group] = {}
    try:
        for dn, raw in _paged(conn, target.groups, "(objectClass=groupOfNames)", ["cn", "member"]):
            code = raw.get("cn", [b""])[0].decode("utf-8").lower()
            if code in ministries:
                members = frozenset(v.decode("utf-8").lower() for v in raw.get("member", []))
                groups[code] = Group(dn, code, members)
    except ldap.LDAPError as err:
        raise BureauError(f"cannot read {target.groups}: {_describe(err)}") from err
    return groups


def read_id_counter(conn: LDAPObject, target: Target) -> int:
    """The next POSIX id, from the directory's counter (directory role)."""
    try:
        found = conn.search_s(target.id_counter, ldap.SCOPE_BASE, "(objectClass=*)", ["uidNumber"])
    except ldap.NO_SUCH_OBJECT as err:
        raise BureauError(
            f"{target.id_counter} does not exist (fix: deploy this version's directory role "
            "first: it creates the POSIX id counter)"
        ) from err
    except ldap.LDAPError as err:
        raise BureauError(f"cannot read {target.id_counter}: {_describe(err)}") from err
    values = found[0][1].get("uidNumber", []) if found else []
    if len(values) != 1 or not values[0].isdigit():
        raise BureauError(
            f"{target.id_counter} has no usable uidNumber (fix: set it, as an administrator, "
            "above every uidNumber of ou=people)"
        )
    return int(values[0])


class IdsTaken(BureauError):
    """Another writer moved the counter between our read and our reservation."""


def reserve_ids(conn: LDAPObject, target: Target, read: int, following: int) -> None:
    """Move the counter from `read` to `following` in one modification: delete the value
    read, add the next. slapd applies both or neither; if another import reserved ids
    meanwhile the delete finds no such value and nothing changes (compare-and-swap)."""
    try:
        conn.modify_s(
            target.id_counter,
            [
                (ldap.MOD_DELETE, "uidNumber", [str(read).encode()]),
                (ldap.MOD_ADD, "uidNumber", [str(following).encode()]),
            ],
        )
    except ldap.NO_SUCH_ATTRIBUTE as err:
        raise IdsTaken(
            f"another import took POSIX ids from {target.id_counter} during this one; "
            "nothing was written (fix: run the import again)"
        ) from err
    except ldap.LDAPError as err:
        raise BureauError(
            f"cannot reserve POSIX ids in {target.id_counter}: {_describe(err)}; nothing was "
            "written (fix: check that the provisioning account may write it: directory role)"
        ) from err


def _values(values: tuple[str, ...] | list[str]) -> list[bytes]:
    return [v.encode("utf-8") for v in values]


def _operations(plan: Plan, hashed: Mapping[str, str]) -> Iterator[tuple[str, str, Any]]:
    """(kind, dn, payload) for every write of the plan, in a safe order."""
    for create in plan.creates:
        modlist = [(name, _values(values)) for name, values in create.attrs.items()]
        modlist.append(("userPassword", _values([hashed[create.uid]])))
        modlist.append(("pwdReset", [b"TRUE"]))
        yield "add", create.dn, modlist
    for update in plan.updates:
        modlist = [
            # Classes are added: replacing them would touch the structural class.
            (ldap.MOD_ADD, c.attribute, _values([v for v in c.new if v not in c.old]))
            if c.attribute == "objectClass"
            else (ldap.MOD_REPLACE, c.attribute, _values(c.new))
            if c.new
            else (ldap.MOD_DELETE, c.attribute, None)
            for c in update.changes
        ]
        yield "modify", update.dn, modlist
    for disable in plan.disables:
        yield (
            "modify",
            disable.dn,
            [
                (ldap.MOD_REPLACE, "bureauAccountStatus", [DISABLED.encode()]),
                (ldap.MOD_REPLACE, "pwdAccountLockedTime", [LOCKED_FOREVER.encode()]),
            ],
        )
    for group in plan.groups:
        if not group.exists:
            yield (
                "add",
                group.dn,
                [
                    ("objectClass", [b"groupOfNames"]),
                    ("cn", [group.ministry.code.encode()]),
                    ("description", [group.ministry.name.encode()]),
                    ("member", _values(group.add)),
                ],
            )
        elif group.emptied:
            yield "delete", group.dn, None
        else:
            modlist = []
            if group.add:
                modlist.append((ldap.MOD_ADD, "member", _values(group.add)))
            if group.delete:
                modlist.append((ldap.MOD_DELETE, "member", _values(group.delete)))
            yield "modify", group.dn, modlist


def apply(
    conn: LDAPObject, plan: Plan, hashed: Mapping[str, str], progress: Progress | None = None
) -> Outcome:
    """Send every write of the plan, WINDOW agent writes at a time in flight, then the
    group writes GROUP_WINDOW at a time; failures are collected."""
    outcome = Outcome()
    inflight: list[tuple[int, str]] = []
    started = time.monotonic()

    def collect(msgid: int, dn: str) -> None:
        try:
            conn.result3(msgid)
            outcome.done += 1
        except ldap.LDAPError as err:
            outcome.failures.append(f"{dn}: {_describe(err)}")
        if progress:
            progress(1)

    def send(kind: str, dn: str, payload: Any) -> int:
        """Send one write. libldap refuses a new request with LDAP_BUSY while an
        earlier one is still being written (the server reads slower than we send
        and the socket buffer is full; seen in CI under load): that request was
        not sent. Reading the oldest result lets the pending write finish; then
        the request is sent again."""
        for _ in range(BUSY_RETRIES):
            try:
                if kind == "add":
                    return conn.add_ext(dn, payload)
                if kind == "modify":
                    return conn.modify_ext(dn, payload)
                return conn.delete_ext(dn)
            except ldap.BUSY:
                if inflight:
                    collect(*inflight.pop(0))
                else:
                    time.sleep(BUSY_PAUSE)
        raise ldap.BUSY({"desc": f"the directory stayed busy while sending {dn}"})

    window = WINDOW
    groups_started = False
    for kind, dn, payload in _operations(plan, hashed):
        if dn.startswith("cn=") and not groups_started:
            # Group writes wait for every agent write: memberof needs the members to exist.
            while inflight:
                collect(*inflight.pop(0))
            outcome.agents_seconds = time.monotonic() - started
            started = time.monotonic()
            groups_started, window = True, GROUP_WINDOW
        msgid = send(kind, dn, payload)
        inflight.append((msgid, dn))
        if len(inflight) >= window:
            collect(*inflight.pop(0))
    for msgid, dn in inflight:
        collect(msgid, dn)
    if plan.groups:
        outcome.groups_seconds = time.monotonic() - started
    else:
        outcome.agents_seconds = time.monotonic() - started
    return outcome
