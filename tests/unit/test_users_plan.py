"""The difference between a CSV file and the directory, and the stable uid rule."""

from __future__ import annotations

from typing import Any

import pytest

from bureau.core.users import csvinput, ldapdir, plan
from bureau.core.users.plan import Entry, Group, Plan, Target
from bureau.core.users.reference import ministries
from bureau.errors import BadInput

TARGET = Target(base_dn="dc=gouv,dc=tg", domain="gouv.tg")
HEADER = "given_name,surname,ministry,title,phone,mail,aliases,quota,uid,employee_id\n"


def rows(*lines: str) -> list[csvinput.AgentRow]:
    return csvinput.parse(HEADER + "".join(f"{line}\n" for line in lines), "a.csv", "gouv.tg")


def build(
    agents: list[csvinput.AgentRow],
    entries: list[Entry] | None = None,
    groups: dict[str, Group] | None = None,
    **kwargs: Any,
) -> Plan:
    return plan.build(
        agents, entries or [], groups or {}, ministries(), TARGET, file="a.csv", **kwargs
    )


def applied(
    result: Plan, entries: list[Entry], groups: dict[str, Group]
) -> tuple[list[Entry], dict[str, Group]]:
    """What the directory holds once `result` is applied (a stand-in for slapd)."""
    by_dn = {e.dn: dict(e.attrs) for e in entries}
    for create in result.creates:
        by_dn[create.dn] = dict(create.attrs)
    for update in result.updates:
        for change in update.changes:
            if change.new:
                by_dn[update.dn][change.attribute] = change.new
            else:
                by_dn[update.dn].pop(change.attribute, None)
    for disable in result.disables:
        by_dn[disable.dn]["bureauAccountStatus"] = ("disabled",)
        by_dn[disable.dn]["pwdAccountLockedTime"] = (plan.LOCKED_FOREVER,)
    new_groups = dict(groups)
    for change in result.groups:
        old = groups.get(change.ministry.code)
        members = set(old.members if old else ()) | set(change.add)
        members -= set(change.delete)
        new_groups[change.ministry.code] = Group(
            change.dn, change.ministry.code, frozenset(members)
        )
    return [Entry(dn, attrs) for dn, attrs in by_dn.items()], new_groups


def uids(result: Plan) -> dict[str, str]:
    return {c.attrs.get("employeeNumber", ("",))[0]: c.uid for c in result.creates}


def test_namesakes_get_numbered_uids_whatever_the_row_order() -> None:
    lines = [
        "Kokou,Agbéko,mef,,,,,,,E2",
        "Kokou,Agbéko,men,,,,,,,E1",
        "Kokou,Agbéko,msh,,,,,,,E3",
    ]
    forward = uids(build(rows(*lines)))
    backward = uids(build(rows(*reversed(lines))))
    assert (
        forward == backward == {"E1": "kokou.agbeko", "E2": "kokou.agbeko2", "E3": "kokou.agbeko3"}
    )
    mails = [c.attrs["mail"][0] for c in build(rows(*lines)).creates]
    assert set(mails) == {f"kokou.agbeko{n}@gouv.tg" for n in ("", "2", "3")}


def test_an_agent_keeps_its_uid_when_a_namesake_arrives_earlier_in_the_file() -> None:
    first = build(rows("Kokou,Agbéko,mef,,,,,,,E5"))
    entries, groups = applied(first, [], {})
    second = build(rows("Kokou,Agbéko,men,,,,,,,E1", "Kokou,Agbéko,mef,,,,,,,E5"), entries, groups)
    assert [c.uid for c in second.creates] == ["kokou.agbeko2"]
    assert second.updates == [] and second.unchanged == 1


def test_without_ids_agents_are_matched_by_name_and_ministry() -> None:
    first = build(rows("Afi,Akakpo,mef,Comptable,,,,,,", "Afi,Akakpo,mef,Directeur,,,,,,"))
    entries, groups = applied(first, [], {})
    assert sorted(c.uid for c in first.creates) == ["afi.akakpo", "afi.akakpo2"]
    again = build(
        rows("Afi,Akakpo,mef,Comptable,,,,,,", "Afi,Akakpo,mef,Directeur,,,,,,"), entries, groups
    )
    assert again.empty and again.unchanged == 2


def test_a_second_identical_import_changes_nothing() -> None:
    agents = rows(
        "Kokou,Agbéko,mef,Directeur,+228 22 21 00 00,,kokou@finances.gouv.tg,4096,,E1",
        "Abla,Adjo-Amégan,msh,,,,,,,E2",
        "Yao,Mensah,men,,,yao.mensah@education.gouv.tg,,,,E3",
    )
    first = build(agents)
    assert len(first.creates) == 3 and len(first.groups) == 3
    entries, groups = applied(first, [], {})
    second = build(agents, entries, groups)
    assert second.empty and second.unchanged == 3


def test_changes_are_updates_of_the_changed_attributes_only() -> None:
    entries, groups = applied(build(rows("Kokou,Agbéko,mef,Directeur,,,,,,E1")), [], {})
    result = build(rows("Kokou,Agbéko,men,Directeur général,,,,1024,,E1"), entries, groups)
    [update] = result.updates
    assert update.uid == "kokou.agbeko"
    assert {c.attribute: c.new for c in update.changes} == {
        "title": ("Directeur général",),
        "departmentNumber": ("MEN",),
        "ou": (ministries()["men"].name,),
        "bureauMailQuota": ("1024",),
    }
    moved = {g.ministry.code: (g.add, g.delete) for g in result.groups}
    dn = "uid=kokou.agbeko,ou=people,dc=gouv,dc=tg"
    assert moved == {"mef": ([], [dn]), "men": ([dn], [])}


def test_missing_agents_are_disabled_only_when_asked_never_deleted() -> None:
    entries, groups = applied(
        build(rows("Kokou,Agbéko,mef,,,,,,,E1", "Abla,Akakpo,mef,,,,,,,E2")), [], {}
    )
    kept = build(rows("Kokou,Agbéko,mef,,,,,,,E1"), entries, groups)
    assert kept.empty and kept.untouched == 1
    result = build(rows("Kokou,Agbéko,mef,,,,,,,E1"), entries, groups, disable_missing=True)
    assert [d.uid for d in result.disables] == ["abla.akakpo"]
    [group] = result.groups
    assert group.delete == ["uid=abla.akakpo,ou=people,dc=gouv,dc=tg"] and not group.emptied
    # Back in the file: enabled and unlocked again, same uid.
    entries, groups = applied(result, entries, groups)
    back = build(rows("Kokou,Agbéko,mef,,,,,,,E1", "Abla,Akakpo,mef,,,,,,,E2"), entries, groups)
    [update] = back.updates
    assert {c.attribute: c.new for c in update.changes} == {
        "bureauAccountStatus": ("active",),
        "pwdAccountLockedTime": (),
    }


def test_an_address_of_another_agent_is_a_conflict() -> None:
    entries, groups = applied(build(rows("Kokou,Agbéko,mef,,,,,,,E1")), [], {})
    with pytest.raises(BadInput) as caught:
        build(rows("Abla,Akakpo,mef,,,,kokou.agbeko@gouv.tg,,,E2"), entries, groups)
    [problem] = caught.value.problems
    assert (problem.line, problem.key) == (2, "aliases")


def test_generated_uids_avoid_addresses_already_used() -> None:
    result = build(rows("Yao,Mensah,mef,,,,yao.mensah@gouv.tg,,,E1", "Yao,Mensah,men,,,,,,,E2"))
    assert uids(result) == {"E1": "yao.mensah2", "E2": "yao.mensah3"}


def test_a_drive_quota_is_set_from_the_file_and_otherwise_kept() -> None:
    header = "given_name,surname,ministry,drive_quota,employee_id\n"
    with_quota = csvinput.parse(header + "Kokou,Agbéko,mef,20480,E1\n", "a.csv", "gouv.tg")
    assert with_quota[0].drive_quota == 20480
    created = build(with_quota)
    assert created.creates[0].attrs["bureauDriveQuota"] == ("20480",)
    entries, groups = applied(created, [], {})
    # A later file without the column keeps it (an administrator may have set it).
    without = csvinput.parse(header + "Kokou,Agbéko,mef,,E1\n", "a.csv", "gouv.tg")
    assert build(without, entries, groups).empty
    # Nobody gets one by default: the drive's site default applies.
    assert "bureauDriveQuota" not in build(rows("Abla,Adjo,msh,,,,,,,E2")).creates[0].attrs


def posix_of(result: Plan, entries: list[Entry] | None = None) -> dict[str, tuple[str, ...]]:
    """uid → (uidNumber, gidNumber, homeDirectory, loginShell) as the plan leaves them."""
    after, _ = applied(result, entries or [], {})
    return {
        e.uid: tuple(e.first(n) for n in plan.POSIX)
        for e in after
        if "posixAccount" in e.attrs.get("objectClass", ())
    }


def test_new_agents_get_posix_ids_from_the_counter_in_uid_order() -> None:
    result = build(rows("Yao,Mensah,men,,,,,,,E3", "Abla,Adjo,msh,,,,,,,E2"), next_id=100040)
    assert posix_of(result) == {
        "abla.adjo": ("100040", "100040", "/home/abla.adjo", "/bin/bash"),
        "yao.mensah": ("100041", "100041", "/home/yao.mensah", "/bin/bash"),
    }
    assert (result.id_read, result.id_next, result.ids) == (100040, 100042, 2)
    assert all("posixAccount" in c.attrs["objectClass"] for c in result.creates)


def test_ids_do_not_depend_on_the_row_order() -> None:
    lines = ["Kokou,Agbéko,mef,,,,,,,E2", "Kokou,Agbéko,men,,,,,,,E1", "Afi,Akakpo,mef,,,,,,,E4"]
    assert posix_of(build(rows(*lines))) == posix_of(build(rows(*reversed(lines))))


def test_existing_agents_get_ids_at_the_next_import_and_keep_them() -> None:
    agents = rows("Kokou,Agbéko,mef,,,,,,,E1", "Abla,Adjo,msh,,,,,,,E2")
    first = build(agents)
    # As an import before POSIX identities left them: no posixAccount, no ids.
    old = [
        Entry(
            c.dn,
            {k: v for k, v in c.attrs.items() if k not in plan.POSIX}
            | {"objectClass": plan.AGENT_CLASSES},
        )
        for c in first.creates
    ]
    _, groups = applied(first, [], {})
    entries = old
    second = build(agents, entries, groups, next_id=100007)
    assert not second.creates and len(second.updates) == 2
    for update in second.updates:
        changed = {c.attribute: c.new for c in update.changes}
        assert changed["objectClass"] == (*plan.AGENT_CLASSES, "posixAccount")
        assert set(changed) == {"objectClass", *plan.POSIX}
    assert posix_of(second, entries) == {
        "abla.adjo": ("100007", "100007", "/home/abla.adjo", "/bin/bash"),
        "kokou.agbeko": ("100008", "100008", "/home/kokou.agbeko", "/bin/bash"),
    }
    after, groups = applied(second, entries, groups)
    third = build(agents, after, groups, next_id=second.id_next)
    assert third.empty and third.ids == 0 and third.id_next == third.id_read == 100009


def test_an_id_is_never_handed_out_twice() -> None:
    first = build(rows("Kokou,Agbéko,mef,,,,,,,E1", "Abla,Adjo,msh,,,,,,,E2"), next_id=100000)
    entries, groups = applied(first, [], {})
    # Kokou leaves and his entry is deleted by an administrator: his id stays spent.
    entries = [e for e in entries if e.uid != "kokou.agbeko"]
    second = build(
        rows("Abla,Adjo,msh,,,,,,,E2", "Essi,Kpodar,mtp,,,,,,,E3"),
        entries,
        groups,
        next_id=first.id_next,
    )
    assert posix_of(second, entries)["essi.kpodar"][0] == "100002"
    # A counter left behind the directory (a restored backup, an id set by hand)
    # moves past the highest id found.
    third = build(rows("Afi,Akakpo,mef,,,,,,,E9"), entries, groups, next_id=100000)
    assert posix_of(third, entries)["afi.akakpo"][0] == "100001"
    assert third.id_read == 100000 and third.id_next == 100002


def test_agents_the_file_does_not_list_get_no_posix_identity() -> None:
    room = Entry(
        "uid=salle.conseil,ou=people,dc=gouv,dc=tg",
        {"uid": ("salle.conseil",), "objectClass": plan.AGENT_CLASSES, "cn": ("Salle",)},
    )
    result = build(rows("Abla,Adjo,msh,,,,,,,E2"), [room], {}, disable_missing=False)
    assert result.untouched == 1 and result.ids == 1
    assert "salle.conseil" not in posix_of(result, [room])


def test_classes_are_added_not_replaced() -> None:

    entry = Entry(
        "uid=abla.adjo,ou=people,dc=gouv,dc=tg",
        {"uid": ("abla.adjo",), "objectClass": ("inetOrgPerson", "bureauAgent")},
    )
    result = build(rows("Abla,Adjo,msh,,,,,,abla.adjo,"), [entry], {})
    [(_, _, modlist)] = [op for op in ldapdir._operations(result, {}) if op[0] == "modify"]
    assert modlist[0] == (ldapdir.ldap.MOD_ADD, "objectClass", [b"posixAccount"])
    assert (ldapdir.ldap.MOD_REPLACE, "uidNumber", [b"100000"]) in modlist
