from __future__ import annotations

from pathlib import Path

import pytest

from bureau.core import check, vault
from bureau.errors import BadInput, Problem


def _with_vault(project: Path, root: Path, values: dict[str, str]) -> None:
    password = vault.password_file(project, root.name)
    vault.ensure_password_file(password)
    vault.write(vault.vault_file(root), values, password)


def _keys(problems: list[Problem]) -> dict[str, Problem]:
    return {p.key: p for p in problems}


def test_a_complete_rehearsal_is_clean(make_inventory, project: Path) -> None:
    root = make_inventory()
    _with_vault(project, root, {"vault_pki_ca_passphrase": "x" * 40})
    report = check.check(root, project)
    assert report.ok, [str(p) for p in report.problems]
    assert report.inventory is not None
    assert list(report.inventory.hosts) == ["suite.gouv.tg"]


def test_missing_domain_names_the_settings_file_and_fix(make_inventory, project: Path) -> None:
    root = make_inventory(site="---\nbureau__organisation: X\n")
    problem = _keys(check.check(root, project, secrets=False).problems)["bureau__domain"]
    assert problem.file.endswith("group_vars/all/site.yml")
    assert "missing" in problem.message
    assert "bureau__domain: gouv.tg" in problem.fix


def test_invalid_domain_has_its_line(make_inventory, project: Path) -> None:
    root = make_inventory(site="---\nbureau__organisation: X\nbureau__domain: Gouv_TG\n")
    problem = _keys(check.check(root, project, secrets=False).problems)["bureau__domain"]
    assert problem.line == 3
    assert "not a DNS domain" in problem.message


def test_settings_types_come_from_the_schema(make_inventory, project: Path) -> None:
    root = make_inventory(
        site="---\nbureau__domain: gouv.tg\nbureau__organisation: X\nbureau__container: 'yes'\n"
    )
    problem = _keys(check.check(root, project, secrets=False).problems)["bureau__container"]
    assert problem.line == 4
    assert "boolean" in problem.message


def test_unknown_group_suggests_the_close_name(make_inventory, project: Path) -> None:
    hosts = (
        "---\nall:\n  children:\n    ca:\n      hosts:\n        ca1.gouv.tg:\n"
        "    directroy:\n      hosts:\n        ldap1.gouv.tg:\n"
    )
    root = make_inventory(name="x", hosts=hosts, rehearsal=None)
    problem = _keys(check.check(root, project, secrets=False).problems)["directroy"]
    assert problem.message == "unknown group"
    assert problem.line == 7
    assert "did you mean 'directory'?" in problem.fix


def test_group_vars_of_an_unknown_group_are_reported(make_inventory, project: Path) -> None:
    root = make_inventory(extra={"group_vars/mial/main.yml": "---\nx: 1\n"})
    assert "mial" in _keys(check.check(root, project, secrets=False).problems)


def test_group_sizes(make_inventory, project: Path) -> None:
    hosts = (
        "---\nall:\n  children:\n    directory:\n      hosts:\n"
        "        l1.gouv.tg:\n        l2.gouv.tg:\n        l3.gouv.tg:\n"
    )
    root = make_inventory(name="x", hosts=hosts, rehearsal=None)
    problems = _keys(check.check(root, project, secrets=False).problems)
    assert "no host" in problems["ca"].message
    assert "takes 1 to 2" in problems["directory"].message
    assert problems["directory"].line == 4


def test_two_ca_hosts_are_one_too_many(make_inventory, project: Path) -> None:
    hosts = (
        "---\nall:\n  children:\n    ca:\n      hosts:\n        a.gouv.tg:\n        b.gouv.tg:\n"
    )
    root = make_inventory(name="x", hosts=hosts, rehearsal=None)
    problem = _keys(check.check(root, project, secrets=False).problems)["ca"]
    assert "exactly 1" in problem.message


def test_bad_host_name(make_inventory, project: Path) -> None:
    hosts = "---\nall:\n  children:\n    ca:\n      hosts:\n        Bad_Host.gouv.tg:\n"
    root = make_inventory(name="x", hosts=hosts, rehearsal=None)
    problem = _keys(check.check(root, project, secrets=False).problems)["Bad_Host.gouv.tg"]
    assert problem.line == 6
    assert "not a valid host name" in problem.message


def test_absent_vault_names_the_keys_and_how_to_create_it(make_inventory, project: Path) -> None:
    root = make_inventory(
        name="production",
        rehearsal=None,
        hosts=("---\nall:\n  children:\n    ca:\n      hosts:\n        ca1.gouv.tg:\n"),
        extra={"group_vars/all/vault.yml.example": "---\nvault_pki_ca_passphrase: ''\n"},
    )
    [problem] = check.check(root, project).problems
    assert problem.file.endswith("group_vars/all/vault.yml")
    assert problem.key == "(vault file)"
    assert "must hold: vault_pki_ca_passphrase" in problem.message
    assert "vault.yml.example" in problem.fix
    assert "ansible-vault encrypt" in problem.fix


def test_absent_secret_in_an_existing_vault(make_inventory, project: Path) -> None:
    root = make_inventory()
    _with_vault(project, root, {"vault_other": "x"})
    [problem] = check.check(root, project).problems
    assert problem.key == "vault_pki_ca_passphrase"
    assert problem.message.startswith("missing")
    assert "ansible-vault edit" in problem.fix


def test_empty_secret_and_clear_text_secret(make_inventory, project: Path) -> None:
    root = make_inventory(extra={"group_vars/all/oops.yml": "---\nvault_pki_ca_passphrase: x\n"})
    _with_vault(project, root, {"vault_pki_ca_passphrase": " "})
    messages = [p.message for p in check.check(root, project).problems]
    assert any("clear text" in m for m in messages)
    assert any(m.startswith("empty") for m in messages)


def test_undecryptable_vault_is_a_problem_with_a_fix(make_inventory, project: Path) -> None:
    root = make_inventory()
    _with_vault(project, root, {"vault_pki_ca_passphrase": "x"})
    vault.password_file(project, root.name).write_text("another password\n")
    [problem] = check.check(root, project).problems
    assert problem.key == "(vault)"
    assert "cannot decrypt" in problem.message
    assert problem.fix


def test_secrets_of_groups_without_hosts_are_not_needed(make_inventory, project: Path) -> None:
    hosts = "---\nall:\n  children:\n    rehearsal:\n      hosts:\n        s.gouv.tg:\n"
    root = make_inventory(hosts=hosts)
    assert check.needed_secrets(check.inv.load(root)) == []


def test_rehearsal_hosts_need_a_container_name_and_loopback_ports(
    make_inventory, project: Path
) -> None:
    hosts = (
        "---\nall:\n  children:\n    rehearsal:\n      hosts:\n        s.gouv.tg:\n"
        "          rehearsal__published_ports: ['0.0.0.0:80:80', '127.0.0.1:8443:443']\n"
        "    ca:\n      hosts:\n        s.gouv.tg:\n"
    )
    root = make_inventory(hosts=hosts)
    problems = _keys(check.check(root, project, secrets=False).problems)
    assert "s.gouv.tg.ansible_host" in problems
    ports = problems["s.gouv.tg.rehearsal__published_ports"]
    assert "0.0.0.0:80:80" in ports.message and ports.line == 7


def test_rehearsal_checks_refuse_a_real_inventory(make_inventory, project: Path) -> None:
    hosts = "---\nall:\n  children:\n    ca:\n      hosts:\n        ca1.gouv.tg:\n"
    root = make_inventory(name="production", hosts=hosts, rehearsal=None)
    problems = check.check(root, project, secrets=False, rehearsal=True).problems
    assert [p.key for p in problems] == ["rehearsal"]


def test_require_valid_lists_every_problem(make_inventory, project: Path) -> None:
    hosts = "---\nall:\n  children:\n    cq:\n      hosts:\n        suite.gouv.tg:\n"
    root = make_inventory(name="x", hosts=hosts, site="---\n", rehearsal=None)
    with pytest.raises(BadInput) as caught:
        check.require_valid(root, project)
    keys = {p.key for p in caught.value.problems}
    assert {"cq", "ca", "bureau__domain", "bureau__organisation"} <= keys
    assert "nothing was changed" in str(caught.value)
    assert caught.value.exit_code == 2


def test_domain_and_host_name_rules() -> None:
    assert check.valid_domain("gouv.tg")
    assert check.valid_domain("staging.gouv.tg")
    for bad in ("gouv", "-gouv.tg", "gouv..tg", "GOUV.TG", "gouv.t1", "a_b.tg", ""):
        assert not check.valid_domain(bad), bad
    assert check.valid_hostname("ldap1.staging.gouv.tg")
    assert check.valid_hostname("localhost")
    assert not check.valid_hostname("ldap1_.gouv.tg")


def test_each_drive_folder_has_one_host(make_inventory, project: Path) -> None:
    """Several drive hosts split the ministries and shares: one listed twice,
    or two hosts serving "the rest", is refused before anything is contacted."""
    hosts = (
        "---\nall:\n  children:\n    drive:\n      hosts:\n"
        "        d1.gouv.tg:\n        d2.gouv.tg:\n        d3.gouv.tg:\n"
    )
    root = make_inventory(
        name="x",
        hosts=hosts,
        rehearsal=None,
        extra={
            "host_vars/d1.gouv.tg.yml": "---\ndrive__ministries: [mef, msh]\n",
            "host_vars/d2.gouv.tg.yml": (
                "---\ndrive__ministries: [MSH]\n"
                "drive__shares:\n  - {name: budget, read_write: [mef]}\n"
            ),
            "host_vars/d3.gouv.tg.yml": (
                "---\ndrive__shares:\n  - {name: budget, read_only: [msh]}\n"
            ),
        },
    )
    problems = _keys(check.check(root, project, secrets=False).problems)
    twice = problems["d2.gouv.tg: drive__ministries"]
    assert "ministry msh is also served by d1.gouv.tg" in twice.message
    assert twice.file.endswith("d2.gouv.tg.yml") and twice.line == 2
    assert (
        "share budget is also served by d2.gouv.tg" in problems["d3.gouv.tg: drive__shares"].message
    )


def test_one_drive_host_serves_the_ministries_nobody_lists(make_inventory, project: Path) -> None:
    hosts = (
        "---\nall:\n  children:\n    drive:\n      hosts:\n"
        "        d1.gouv.tg:\n        d2.gouv.tg:\n"
    )
    root = make_inventory(name="x", hosts=hosts, rehearsal=None)
    problem = _keys(check.check(root, project, secrets=False).problems)[
        "d2.gouv.tg: drive__ministries"
    ]
    assert "empty on d1.gouv.tg, d2.gouv.tg" in problem.message
    assert "list the ministries" in problem.fix
    alone = make_inventory(
        name="y", hosts=hosts.replace("        d2.gouv.tg:\n", ""), rehearsal=None
    )
    assert not [
        p for p in check.check(alone, project, secrets=False).problems if "drive__" in p.key
    ]
