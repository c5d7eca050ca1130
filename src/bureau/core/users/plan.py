"""The difference between the CSV file and the directory, computed before any write.

Matching a row to an existing entry, in this order (the first that applies):
  1. the row's `uid` column  → the entry with that uid (or a new entry with that uid);
  2. the row's `employee_id` → the entry whose employeeNumber is that id;
  3. the row's `mail`        → the entry whose mail is that address;
  4. otherwise the name and ministry: entries with the same folded given name,
     surname and ministry, taken in uid order (kokou.agbeko, kokou.agbeko2, …),
     are paired with such rows in file order.
Unmatched rows are new agents. Their uid is `given.surname` folded, or, when
that is taken (by any entry, enabled or not, by a uid or address local part in
the file, or by another new agent), `given.surname2`, `3`, … New agents are
numbered in a deterministic order — by base uid, employee id, ministry, title,
phone — so the same file always gives the same uids, whatever its row order.
An agent, once created, keeps its uid and address: later runs match it first.

POSIX identity (a desktop session is a Unix login): every agent of the file
gets posixAccount with uidNumber = gidNumber (its private group), a home and a
shell. Ids come from a counter in the directory (`next_id`, the value read);
agents that lack one (new ones, and existing ones imported before) take the
next ids in uid order, and the counter moves past them (`Plan.id_next`) in one
atomic modification before any entry is written (ldapdir.reserve_ids). An id
is never taken back, so it is never handed out twice. The counter is also
moved past any uidNumber found in the directory. Entries the file does not
list (rooms, agents who left) get none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bureau.core.users import naming
from bureau.core.users.csvinput import AgentRow
from bureau.core.users.reference import Ministry
from bureau.errors import BadInput, Problem

ACTIVE = "active"
DISABLED = "disabled"
# ppolicy's permanent lock (the "1 January year 0" value slapd documents).
LOCKED_FOREVER = "000001010000Z"
AGENT_CLASSES = ("inetOrgPerson", "bureauAgent")
POSIX_CLASS = "posixAccount"
# The first id when the directory's counter says nothing lower (directory role:
# directory__posix_first_id).
FIRST_ID = 100000
# The POSIX attributes the importer sets once and then keeps.
POSIX = ("uidNumber", "gidNumber", "homeDirectory", "loginShell")
# Attributes the importer owns on an agent entry, with their canonical spelling.
MANAGED = (
    "uid",
    "cn",
    "givenName",
    "sn",
    "displayName",
    "mail",
    "title",
    "telephoneNumber",
    "departmentNumber",
    "ou",
    "employeeNumber",
    "bureauMailAlias",
    "bureauMailQuota",
    "bureauDriveQuota",
    "bureauAccountStatus",
)
# Multi-valued attributes compared as sets of lower-case values.
SETS = frozenset({"bureauMailAlias"})
READ_ATTRIBUTES = (*MANAGED, *POSIX, "objectClass", "pwdAccountLockedTime")
CANONICAL = {name.lower(): name for name in READ_ATTRIBUTES}


@dataclass(frozen=True)
class Entry:
    """An agent entry as read from the directory (canonical attribute names)."""

    dn: str
    attrs: Mapping[str, tuple[str, ...]]

    def first(self, name: str) -> str:
        values = self.attrs.get(name, ())
        return values[0] if values else ""

    @property
    def uid(self) -> str:
        return self.first("uid").lower()

    @property
    def status(self) -> str:
        return self.first("bureauAccountStatus").lower() or ACTIVE

    @property
    def posix(self) -> bool:
        classes = {c.lower() for c in self.attrs.get("objectClass", ())}
        return POSIX_CLASS.lower() in classes and bool(self.first("uidNumber"))

    @property
    def identity(self) -> tuple[str, str, str]:
        return (
            naming.fold(self.first("givenName")),
            naming.fold(self.first("sn")),
            self.first("departmentNumber").lower(),
        )


@dataclass(frozen=True)
class Group:
    """A ministry group as read from the directory."""

    dn: str
    cn: str
    members: frozenset[str]  # lower-case member DNs


@dataclass(frozen=True)
class Change:
    attribute: str
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class Create:
    uid: str
    dn: str
    attrs: dict[str, tuple[str, ...]]
    ministry: Ministry
    line: int


@dataclass(frozen=True)
class Update:
    uid: str
    dn: str
    changes: tuple[Change, ...]
    line: int


@dataclass(frozen=True)
class Disable:
    uid: str
    dn: str


@dataclass
class GroupChange:
    """Membership of one ministry group: one LDAP operation per group per run."""

    ministry: Ministry
    dn: str
    exists: bool
    current: int
    add: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)

    @property
    def emptied(self) -> bool:
        return self.exists and self.current + len(self.add) - len(self.delete) <= 0


@dataclass
class Plan:
    creates: list[Create] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    disables: list[Disable] = field(default_factory=list)
    groups: list[GroupChange] = field(default_factory=list)
    unchanged: int = 0
    untouched: int = 0  # entries not in the file, left as they are
    active: int = 0  # active agents in the directory before the run (guard.py)
    id_read: int = FIRST_ID  # the directory's counter as read
    id_next: int = FIRST_ID  # the counter once this plan's ids are reserved
    ids: int = 0  # POSIX ids this plan hands out

    @property
    def empty(self) -> bool:
        return not (self.creates or self.updates or self.disables or self.groups)

    @property
    def operations(self) -> int:
        return len(self.creates) + len(self.updates) + len(self.disables) + len(self.groups)

    def summary(self) -> str:
        members = sum(len(g.add) + len(g.delete) for g in self.groups)
        return (
            f"{len(self.creates)} to create, {len(self.updates)} to update, "
            f"{len(self.disables)} to disable, {self.unchanged} unchanged, "
            f"{self.untouched} not in the file left as they are; "
            f"{len(self.groups)} ministry group(s) to change ({members} membership change(s)); "
            f"{self.ids} POSIX id(s) to hand out"
        )

    def describe(self) -> Iterable[str]:
        """The difference, one line per entry, for --dry-run."""
        for create in self.creates:
            mail = create.attrs["mail"][0]
            yield f"+ {create.uid}  {create.attrs['cn'][0]} <{mail}>  {create.ministry.code}"
        for update in self.updates:
            for change in update.changes:
                old = ", ".join(change.old) or "(none)"
                new = ", ".join(change.new) or "(none)"
                yield f"~ {update.uid}  {change.attribute}: {old} → {new}"
        for disable in self.disables:
            yield f"- {disable.uid}  disabled and locked (not in the file)"
        for group in self.groups:
            verb = (
                "create"
                if not group.exists
                else "delete (no member left)"
                if group.emptied
                else "update"
            )
            yield (
                f"* group {group.ministry.code}: {verb}, +{len(group.add)} member(s), "
                f"-{len(group.delete)} member(s)"
            )


@dataclass(frozen=True)
class Target:
    """Where agents and groups live."""

    base_dn: str
    domain: str
    default_quota: int = 2048
    home_root: str = "/home"
    login_shell: str = "/bin/bash"

    @property
    def id_counter(self) -> str:
        """The entry whose uidNumber is the next POSIX id (directory role)."""
        return f"cn=posix-ids,ou=policies,{self.base_dn}"

    @property
    def people(self) -> str:
        return f"ou=people,{self.base_dn}"

    @property
    def groups(self) -> str:
        return f"ou=groups,{self.base_dn}"

    def agent_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people}"

    def group_dn(self, code: str) -> str:
        return f"cn={code},{self.groups}"


def _match(rows: list[AgentRow], entries: list[Entry]) -> dict[int, Entry]:
    """Pair rows (by line) with existing entries; see the module docstring."""
    by_uid = {e.uid: e for e in entries}
    by_employee = {
        e.first("employeeNumber").lower(): e for e in entries if e.first("employeeNumber")
    }
    by_mail = {e.first("mail").lower(): e for e in entries if e.first("mail")}
    matched: dict[int, Entry] = {}
    claimed: set[str] = set()

    def claim(row: AgentRow, entry: Entry | None) -> bool:
        if entry is None or entry.uid in claimed:
            return False
        matched[row.line] = entry
        claimed.add(entry.uid)
        return True

    waiting: list[AgentRow] = []
    for row in rows:
        if row.uid is not None:
            claim(row, by_uid.get(row.uid))
        elif not (row.employee_id and claim(row, by_employee.get(row.employee_id.lower()))):
            waiting.append(row)
    by_name: dict[tuple[str, str, str], list[AgentRow]] = defaultdict(list)
    for row in waiting:
        if row.mail and claim(row, by_mail.get(row.mail)):
            continue
        by_name[(naming.fold(row.given_name), naming.fold(row.surname), row.ministry.code)].append(
            row
        )
    candidates: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: (len(e.uid), e.uid)):
        if entry.uid not in claimed:
            candidates[entry.identity].append(entry)
    for key, named in by_name.items():
        pool = candidates.get(key, [])
        for row in named:
            while pool:
                entry = pool.pop(0)
                # An entry with an HR id belongs to that id: a row without one may take it,
                # a row with another id may not.
                other_id = entry.first("employeeNumber")
                if row.employee_id and other_id and other_id.lower() != row.employee_id.lower():
                    continue
                if claim(row, entry):
                    break
    return matched


def _taken(rows: list[AgentRow], entries: list[Entry], domain: str) -> set[str]:
    """Every uid and local part of `domain` already used, so new agents avoid them."""
    taken: set[str] = set()
    for entry in entries:
        taken.add(entry.uid)
        for name in ("mail", "bureauMailAlias"):
            for address in entry.attrs.get(name, ()):
                local = naming.local_part(address, domain)
                if local:
                    taken.add(local)
    for row in rows:
        if row.uid:
            taken.add(row.uid)
        for address in (row.mail or "", *row.aliases):
            local = naming.local_part(address, domain) if address else None
            if local:
                taken.add(local)
    return taken


def allocate_uids(new_rows: list[AgentRow], taken: set[str]) -> dict[int, str]:
    """uids for new agents without a uid column, by line; deterministic (module docstring)."""
    counters: dict[str, int] = {}
    result: dict[int, str] = {}
    order = sorted(
        new_rows,
        key=lambda r: (r.base_uid, r.employee_id or "", r.ministry.code, r.title, r.phone, r.line),
    )
    for row in order:
        base = row.base_uid
        number = counters.get(base, 1)
        while naming.with_suffix(base, number) in taken:
            number += 1
        uid = naming.with_suffix(base, number)
        counters[base] = number + 1
        taken.add(uid)
        result[row.line] = uid
    return result


def desired(
    row: AgentRow, uid: str, entry: Entry | None, target: Target
) -> dict[str, tuple[str, ...]]:
    """The managed attributes the agent's entry must have (empty tuple: absent)."""

    def kept(name: str, fallback: str) -> tuple[str, ...]:
        current = entry.attrs.get(name, ()) if entry else ()
        return current[:1] if current else ((fallback,) if fallback else ())

    mail = (row.mail,) if row.mail else kept("mail", f"{uid}@{target.domain}")
    aliases = tuple(a for a in row.aliases if a != mail[0])
    return {
        "uid": (uid,),
        "cn": (row.cn,),
        "givenName": (row.given_name,),
        "sn": (row.surname,),
        "displayName": (row.cn,),
        "mail": mail,
        "title": (row.title,) if row.title else (),
        "telephoneNumber": (row.phone,) if row.phone else (),
        "departmentNumber": (row.ministry.department,),
        "ou": (row.ministry.name,),
        "employeeNumber": (row.employee_id,) if row.employee_id else kept("employeeNumber", ""),
        "bureauMailAlias": aliases,
        "bureauMailQuota": (str(row.quota),)
        if row.quota
        else kept("bureauMailQuota", str(target.default_quota)),
        # The drive's quota: the file's, else the one an administrator set, else
        # none (the drive's site default applies).
        "bureauDriveQuota": (str(row.drive_quota),)
        if row.drive_quota
        else kept("bureauDriveQuota", ""),
        "bureauAccountStatus": (ACTIVE,),
    }


def allocate_ids(
    needing: Iterable[str], entries: Iterable[Entry], next_id: int
) -> tuple[dict[str, int], int]:
    """POSIX ids for the agents `needing` one (uids), in uid order, from the counter
    `next_id`, or past the highest id already in the directory if that is higher;
    returns the ids and the counter's next value. Ids only ever grow."""
    highest = max(
        (
            int(value)
            for entry in entries
            for name in ("uidNumber", "gidNumber")
            for value in entry.attrs.get(name, ())
            if value.isdigit()
        ),
        default=0,
    )
    first = max(next_id, highest + 1)
    ids = {uid: first + n for n, uid in enumerate(sorted(set(needing)))}
    return ids, first + len(ids) if ids else next_id


def posix(
    uid: str, entry: Entry | None, number: int | None, target: Target
) -> dict[str, tuple[str, ...]]:
    """The POSIX attributes of an agent: kept once set, `number` when it has none."""

    def kept(name: str, fallback: str) -> tuple[str, ...]:
        current = entry.attrs.get(name, ()) if entry else ()
        return current[:1] if current else (fallback,)

    if entry is not None and entry.posix:
        uid_number = entry.first("uidNumber")
    elif number is not None:
        uid_number = str(number)
    else:
        raise ValueError(f"{uid} needs a POSIX id and none was allocated")
    return {
        "uidNumber": (uid_number,),
        # The private group of the agent: SSSD's auto_private_groups (office role).
        "gidNumber": (uid_number,) if number is not None else kept("gidNumber", uid_number),
        "homeDirectory": kept("homeDirectory", f"{target.home_root}/{uid}"),
        "loginShell": kept("loginShell", target.login_shell),
    }


def _same(name: str, old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    if name in SETS:
        return {v.lower() for v in old} == {v.lower() for v in new}
    if name == "uid":
        return tuple(v.lower() for v in old) == new
    return old == new


def _address_conflicts(
    rows: list[AgentRow], uids: dict[int, str], entries: list[Entry], file: str
) -> list[Problem]:
    """Addresses in the file that belong to another agent already in the directory."""
    owner: dict[str, str] = {}
    for entry in entries:
        for name in ("mail", "bureauMailAlias"):
            for address in entry.attrs.get(name, ()):
                owner[address.lower()] = entry.uid
    problems: list[Problem] = []
    for row in rows:
        uid = uids[row.line]
        for key, addresses in (("mail", (row.mail,) if row.mail else ()), ("aliases", row.aliases)):
            for address in addresses:
                holder = owner.get(address)
                if holder and holder != uid:
                    problems.append(
                        Problem(
                            file,
                            key,
                            f"{address} already belongs to {holder} in the directory",
                            "give another address, or remove it from that agent first",
                            row.line,
                        )
                    )
    return problems


def build(
    rows: list[AgentRow],
    entries: list[Entry],
    groups: Mapping[str, Group],
    ministries: Mapping[str, Ministry],
    target: Target,
    *,
    file: str,
    disable_missing: bool = False,
    next_id: int = FIRST_ID,
) -> Plan:
    """Compare the file with the directory; raise BadInput on conflicts, before any write.

    `next_id` is the directory's POSIX id counter (module docstring)."""
    matched = _match(rows, entries)
    new_rows = [r for r in rows if r.line not in matched and r.uid is None]
    uids = allocate_uids(new_rows, _taken(rows, entries, target.domain))
    for row in rows:
        if row.line in matched:
            uids[row.line] = matched[row.line].uid
        elif row.uid is not None:
            uids[row.line] = row.uid
    problems = _address_conflicts(rows, uids, entries, file)
    if problems:
        raise BadInput(
            f"{file}: {len(problems)} conflict(s) with the directory; nothing was changed", problems
        )

    needing = [uids[r.line] for r in rows if not (r.line in matched and matched[r.line].posix)]
    numbers, id_next = allocate_ids(needing, entries, next_id)
    plan = Plan(
        active=sum(1 for e in entries if e.status != DISABLED),
        id_read=next_id,
        id_next=id_next,
        ids=len(numbers),
    )
    member_of: dict[str, str] = {}  # lower-case agent DN → ministry code wanted
    leaving: set[str] = set()  # lower-case agent DNs to remove from every ministry group
    for row in rows:
        uid = uids[row.line]
        entry = matched.get(row.line)
        want = desired(row, uid, entry, target) | posix(uid, entry, numbers.get(uid), target)
        if entry is None:
            dn = target.agent_dn(uid)
            attrs = {k: v for k, v in want.items() if v}
            attrs["objectClass"] = (*AGENT_CLASSES, POSIX_CLASS)
            plan.creates.append(Create(uid, dn, attrs, row.ministry, row.line))
        else:
            dn = entry.dn
            changes = [
                Change(name, entry.attrs.get(name, ()), value)
                for name, value in want.items()
                if not _same(name, entry.attrs.get(name, ()), value)
            ]
            classes = entry.attrs.get("objectClass", ())
            if POSIX_CLASS.lower() not in {c.lower() for c in classes}:
                # Added, not replaced (ldapdir): the structural class stays as it is.
                changes.insert(0, Change("objectClass", classes, (*classes, POSIX_CLASS)))
            if entry.attrs.get("pwdAccountLockedTime") and entry.status == DISABLED:
                changes.append(
                    Change("pwdAccountLockedTime", entry.attrs["pwdAccountLockedTime"], ())
                )
            if changes:
                plan.updates.append(Update(uid, dn, tuple(changes), row.line))
            else:
                plan.unchanged += 1
        member_of[dn.lower()] = row.ministry.code
    seen = {matched[r.line].uid for r in rows if r.line in matched}
    for entry in entries:
        if entry.uid in seen:
            continue
        if disable_missing and entry.status != DISABLED:
            plan.disables.append(Disable(entry.uid, entry.dn))
            leaving.add(entry.dn.lower())
        else:
            plan.untouched += 1
    plan.groups = _group_changes(member_of, leaving, groups, ministries, target)
    return plan


def _group_changes(
    member_of: Mapping[str, str],
    leaving: set[str],
    groups: Mapping[str, Group],
    ministries: Mapping[str, Ministry],
    target: Target,
) -> list[GroupChange]:
    """One change per ministry group: who joins, who leaves (moved or disabled)."""
    changes: dict[str, GroupChange] = {}

    def change(code: str) -> GroupChange:
        if code not in changes:
            group = groups.get(code)
            changes[code] = GroupChange(
                ministry=ministries[code],
                dn=group.dn if group else target.group_dn(code),
                exists=group is not None,
                current=len(group.members) if group else 0,
            )
        return changes[code]

    for code, group in groups.items():
        if code not in ministries:
            continue
        for member in group.members:
            wanted = member_of.get(member)
            if member in leaving or (wanted is not None and wanted != code):
                change(code).delete.append(member)
    for agent, code in member_of.items():
        group = groups.get(code)
        if group is None or agent not in group.members:
            change(code).add.append(agent)
    return [c for _, c in sorted(changes.items()) if c.add or c.delete]
