"""The difference between a CSV file and the directory, and the stable uid rule."""

from __future__ import annotations

import pytest

from bureau.core.users import csvinput, plan
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
    **kwargs: bool,
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
        by_dn[create.dn] = {k: v for k, v in create.attrs.items() if k != "objectClass"}
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
