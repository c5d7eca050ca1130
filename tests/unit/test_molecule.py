"""The molecule scenarios test what production runs."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MOLECULE = ROOT / "molecule"
SCENARIOS = sorted(p.parent.name for p in MOLECULE.glob("*/molecule.yml"))


def load(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_suite_converges_with_site_yml_and_lists_no_role() -> None:
    """The suite's converge is the production playbook; what follows it is
    test data loaded through entry points, never a list of roles."""
    plays = load(MOLECULE / "suite" / "converge.yml")
    assert isinstance(plays, list) and plays
    first = plays[0]
    assert (MOLECULE / "suite" / first["ansible.builtin.import_playbook"]).resolve() == (
        ROOT / "playbooks" / "site.yml"
    )
    for path in (MOLECULE / "suite").glob("*.yml"):
        for play in load(path) or []:
            if isinstance(play, dict) and "hosts" in play:
                assert "roles" not in play, f"{path.name}: play {play['name']!r} lists roles"
            if "ansible.builtin.import_playbook" in play:
                target = (MOLECULE / "suite" / play["ansible.builtin.import_playbook"]).resolve()
                assert target.parent in (MOLECULE / "suite", ROOT / "playbooks"), target


def test_each_rehearsal_host_has_the_groups_of_its_suite_host() -> None:
    """The rehearsal's hosts are molecule/suite's: the suite host, and the
    hosts of their own (office) with the same groups."""
    platforms = load(MOLECULE / "suite" / "molecule.yml")["platforms"]
    suite = {platform["hostname"]: set(platform["groups"]) for platform in platforms}
    rehearsal = load(ROOT / "inventories" / "rehearsal" / "hosts.yml")["all"]["children"]
    groups: dict[str, set[str]] = {}
    for group, body in rehearsal.items():
        if group != "rehearsal":
            for host in body["hosts"]:
                groups.setdefault(host, set()).add(group)
    assert set(rehearsal["rehearsal"]["hosts"]) == set(groups)
    for host, found in groups.items():
        assert found == suite.get(host), f"{host}: {sorted(found)} in the rehearsal"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_verifies_something(scenario: str) -> None:
    """molecule's testinfra verifier passes with "no tests found": every
    scenario must point at test files that exist."""
    config = load(MOLECULE / scenario / "molecule.yml")
    verifier = config.get("verifier", {})
    directory = (MOLECULE / scenario / verifier.get("directory", "tests")).resolve()
    found = list(directory.glob("test_*.py"))
    for pattern in verifier.get("additional_files_or_dirs", []):
        matched = glob.glob(str(directory / pattern))
        assert matched, f"{scenario}: {pattern} matches no test file"
        found += matched
    assert found, f"{scenario}: no test file under {directory}"


def _roles_of(playbook: Path, seen: set[Path] | None = None) -> dict[str, set[str]]:
    """Role → the host groups it is deployed to, following import_playbook."""
    seen = seen or set()
    found: dict[str, set[str]] = {}
    if playbook in seen:
        return found
    seen.add(playbook)
    for play in load(playbook) or []:
        if "ansible.builtin.import_playbook" in play:
            for role, groups in _roles_of(
                (playbook.parent / play["ansible.builtin.import_playbook"]).resolve(), seen
            ).items():
                found.setdefault(role, set()).update(groups)
        for role in play.get("roles", []):
            name = role["role"] if isinstance(role, dict) else role
            found.setdefault(name, set()).add(play["hosts"])
    return found


def test_the_suite_converges_and_verifies_every_role() -> None:
    """Every role of roles/ is deployed by site.yml to a group a suite host is
    in (the suite host, or a host of its own: the office desktops, the Debian 12
    video host), and the suite runs that role's checks (or a small scenario does)."""
    deployed = _roles_of(ROOT / "playbooks" / "site.yml")
    roles = {p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()}
    assert roles <= set(deployed), f"not in site.yml: {sorted(roles - set(deployed))}"
    config = load(MOLECULE / "suite" / "molecule.yml")
    groups = {g for platform in config["platforms"] for g in platform["groups"]} | {"all"}
    for role, hosts in deployed.items():
        assert hosts & groups, f"{role}: deployed to {hosts}, none of them the suite host's"
    verified = {Path(p).parent.name for p in config["verifier"]["additional_files_or_dirs"]}
    # The checks of a role live in tests/infra/<role> or in the directory of the
    # capability it serves (mail: filtering, mail_transfer, mailbox; web_front:
    # postgresql).
    serves = {"filtering": "mail", "mail_transfer": "mail", "mailbox": "mail",
              "postgresql": "web_front"}  # fmt: skip
    for role in roles:
        assert serves.get(role, role) in verified, f"the suite runs no check of {role}"
