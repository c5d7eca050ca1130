"""The pieces that make a 70,000-agent import fast keep their meaning:
initial passwords stay uniform over the alphabet and verifiable, folding is
memoized but unchanged, group writes are sent one at a time."""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import ldap
import pytest

from bureau.core.users import csvinput, ldapdir, naming, passwords, plan
from bureau.core.users.reference import ministries


def test_generated_passwords_use_the_whole_alphabet_evenly() -> None:
    drawn = [passwords.generate() for _ in range(3000)]
    assert all(len(p) == passwords.LENGTH for p in drawn)
    assert len(set(drawn)) == len(drawn)
    counts = Counter("".join(drawn))
    assert set(counts) == set(passwords.ALPHABET)
    expected = 3000 * passwords.LENGTH / len(passwords.ALPHABET)
    # 48,000 draws over 56 symbols: each count within 15 % of its mean unless biased.
    assert all(abs(n - expected) < 0.15 * expected for n in counts.values())


def test_ssha_hash_verifies_the_password() -> None:
    value = passwords.ssha("Correct-Horse-42")
    raw = base64.b64decode(value.removeprefix("{SSHA}"))
    digest, salt = raw[:20], raw[20:]
    assert hashlib.sha1(b"Correct-Horse-42" + salt).digest() == digest


def test_memoized_folding_gives_the_documented_uids() -> None:
    for _ in range(2):  # the second time from the cache
        assert naming.base_uid("Kokou", "Agbéko") == "kokou.agbeko"
        assert naming.base_uid("Afi", "d'Almeida") == "afi.dalmeida"
        assert naming.base_uid("Yao", "de Souza") == "yao.de-souza"


class _RecordingDirectory:
    """Stands in for the LDAP connection: records how many writes are in flight."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []  # (dn, writes in flight when it was sent)
        self.open: set[int] = set()
        self.next_id = 0

    def _send(self, dn: str) -> int:
        self.next_id += 1
        self.sent.append((dn, len(self.open)))
        self.open.add(self.next_id)
        return self.next_id

    def add_ext(self, dn: str, modlist: object) -> int:
        return self._send(dn)

    def modify_ext(self, dn: str, modlist: object) -> int:
        return self._send(dn)

    def delete_ext(self, dn: str) -> int:
        return self._send(dn)

    def result3(self, msgid: int) -> None:
        self.open.discard(msgid)


def _import_into(
    directory: _RecordingDirectory, count: int, ministry: tuple[str, ...]
) -> ldapdir.Outcome:
    """Apply the plan of `count` new agents spread over `ministry` to `directory`."""
    header = "given_name,surname,ministry,employee_id\n"
    body = "".join(f"Kokou,Agbeko,{ministry[n % len(ministry)]},TG{n}\n" for n in range(count))
    agents = csvinput.parse(header + body, "a.csv", "gouv.tg")
    target = plan.Target(base_dn="dc=gouv,dc=tg", domain="gouv.tg")
    result = plan.build(agents, [], {}, ministries(), target, file="a.csv")
    hashed = {c.uid: passwords.ssha("x") for c in result.creates}
    return ldapdir.apply(directory, result, hashed)  # type: ignore[arg-type]


def test_agent_writes_are_pipelined_and_group_writes_go_one_at_a_time() -> None:
    fake = _RecordingDirectory()
    outcome = _import_into(fake, 40, ("MEF", "MSH", "MEN"))
    assert outcome.done == 43 and not outcome.failures
    agent_sends = [n for dn, n in fake.sent if dn.startswith("uid=")]
    group_sends = [(dn, n) for dn, n in fake.sent if dn.startswith("cn=")]
    assert max(agent_sends) == 39  # all 40 agents in flight together (window 128)
    assert [n for _, n in group_sends] == [0, 0, 0]  # each group alone: no agent, no group
    assert fake.sent.index(group_sends[0]) == 40  # after every agent


def test_partition_covers_every_entry_once() -> None:
    filters = ldapdir.partition("departmentNumber", ["MEF", "MSH"], "(objectClass=inetOrgPerson)")
    assert filters == [
        "(&(objectClass=inetOrgPerson)(departmentNumber=MEF))",
        "(&(objectClass=inetOrgPerson)(departmentNumber=MSH))",
        "(&(objectClass=inetOrgPerson)(!(|(departmentNumber=MEF)(departmentNumber=MSH))))",
    ]


def test_partition_escapes_values_and_degrades_to_one_search() -> None:
    assert ldapdir.partition("ou", ["a*b"], "(objectClass=*)")[0] == "(&(objectClass=*)(ou=a\\2ab))"
    assert ldapdir.partition("ou", [], "(objectClass=*)") == ["(objectClass=*)"]


class _Reader:
    def __init__(self) -> None:
        self.unbound = False

    def unbind_s(self) -> None:
        self.unbound = True


def test_concurrent_read_returns_every_entry_once_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    directory: dict[str | None, list[str]] = {
        "MEF": ["uid=b,ou=people,dc=gouv,dc=tg", "uid=twice,ou=people,dc=gouv,dc=tg"],
        "MSH": ["uid=a,ou=people,dc=gouv,dc=tg", "uid=twice,ou=people,dc=gouv,dc=tg"],
        None: ["uid=c,ou=people,dc=gouv,dc=tg"],  # no listed department
    }
    used: list[_Reader] = []

    def paged(
        conn: _Reader, base: str, filterstr: str, attrs: list[str]
    ) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
        used.append(conn)
        key: str | None = next(
            (d for d in ("MEF", "MSH") if f"(departmentNumber={d}))" in filterstr), None
        )
        if "(!(" in filterstr:
            key = None
        for dn in directory[key]:
            yield dn, {"uid": [dn[4:].split(",")[0].encode()]}

    monkeypatch.setattr(ldapdir, "_paged", paged)
    opened: list[_Reader] = []

    def more() -> _Reader:
        opened.append(_Reader())
        return opened[-1]

    first = _Reader()
    target = plan.Target(base_dn="dc=gouv,dc=tg", domain="gouv.tg")
    entries = ldapdir.read_agents(first, target, departments=["MEF", "MSH"], more=more)  # type: ignore[arg-type]
    assert [e.uid for e in entries] == ["a", "b", "c", "twice"]
    assert len(opened) == 2 and all(r.unbound for r in opened)  # 3 searches, 3 connections
    assert not first.unbound  # the caller's connection stays open for the writes


def test_the_passwords_file_has_unix_lines_and_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "agents-passwords.csv"
    previous = os.umask(0)  # the mode must not depend on a strict umask
    try:
        fd = passwords.open_output(path)
    finally:
        os.umask(previous)
    rows = [
        ("kokou.agbeko", "Kokou Agbéko", "kokou.agbeko@gouv.tg", "abcDEF234"),
        ("a", "B, C", "a@gouv.tg", "x"),
    ]
    passwords.write(fd, rows)
    raw = path.read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    assert (
        raw.decode("utf-8").splitlines()[1]
        == "kokou.agbeko,Kokou Agbéko,kokou.agbeko@gouv.tg,abcDEF234"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(encoding="utf-8", newline="") as stream:
        assert [tuple(r) for r in csv.reader(stream)][1:] == rows


class _BusyDirectory(_RecordingDirectory):
    """libldap under load: every third new write is refused with LDAP_BUSY (not sent)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.refused = 0

    def add_ext(self, dn: str, modlist: object) -> int:
        self.calls += 1
        if self.calls % 3 == 0:
            self.refused += 1
            raise ldap.BUSY({"desc": "Server is busy", "info": "Resource temporarily unavailable"})
        return self._send(dn)


def test_a_write_refused_as_busy_is_sent_again_after_reading_a_result() -> None:
    fake = _BusyDirectory()
    outcome = _import_into(fake, 30, ("MEF",))
    assert fake.refused > 0
    assert outcome.done == 31 and not outcome.failures  # 30 agents and the group
    assert len({dn for dn, _ in fake.sent if dn.startswith("uid=")}) == 30
