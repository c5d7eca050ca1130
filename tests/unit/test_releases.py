"""Which Debian release each host targets, which roles run on it, how long it is supported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bureau.core import check, releases
from bureau.core import inventory as inv

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 6)


def _project_with_role(project: Path, role: str, versions: list[str], group: str) -> None:
    meta = project / "roles" / role / "meta"
    meta.mkdir(parents=True)
    meta.joinpath("main.yml").write_text(
        "---\ngalaxy_info:\n  platforms:\n    - name: Debian\n"
        f"      versions: [{', '.join(versions)}]\n",
        encoding="utf-8",
    )
    (project / "playbooks" / "site.yml").write_text(
        f"---\n- name: Deploy {role}\n  hosts: {group}\n  roles:\n    - role: {role}\n",
        encoding="utf-8",
    )


def test_the_default_is_debian_13_and_every_shipped_inventory_says_so() -> None:
    assert releases.default() == "trixie"
    assert releases.releases()["trixie"].version == 13
    by_group = releases.roles_by_group(ROOT)
    for name in ("rehearsal", "staging", "production"):
        loaded = inv.load(ROOT / "inventories" / name)
        for host in loaded.hosts:
            roles = {role for group in loaded.groups_of(host) for role in by_group.get(group, ())}
            # Debian 12 only for a host whose role runs on no newer release (video).
            newest = all("trixie" in releases.role_releases(ROOT, role) for role in roles)
            expected = "trixie" if newest else "bookworm"
            assert releases.release_of(loaded, host) == expected, (name, host, sorted(roles))


def test_a_group_on_debian_12_is_warned_with_the_dates(make_inventory, project: Path) -> None:
    root = make_inventory(extra={"group_vars/ca/release.yml": "bureau__debian_release: bookworm\n"})
    found = releases.check(inv.load(root), project, today=TODAY)
    assert not found.problems
    [warning] = found.warnings
    assert "group 'ca' targets Debian 12 (bookworm)" in warning.message
    assert "ended on 2026-06-10" in warning.message and "2028-06-30" in warning.message
    assert warning.file.endswith("group_vars/ca/release.yml") and warning.line == 1
    assert "upgrade-12-to-13" in warning.fix


def test_debian_13_is_quiet_until_its_end_comes_near(make_inventory, project: Path) -> None:
    loaded = inv.load(make_inventory())
    assert releases.check(loaded, project, today=TODAY).warnings == []
    [late] = releases.check(loaded, project, today=dt.date(2028, 5, 1)).warnings
    assert "ends on 2028-08-09 (in 100 days)" in late.message


def test_an_unknown_release_is_a_problem_with_its_fix(make_inventory, project: Path) -> None:
    root = make_inventory(extra={"host_vars/suite.gouv.tg.yml": "bureau__debian_release: buster\n"})
    report = check.check(root, project, secrets=False)
    [problem] = [p for p in report.problems if "release" in p.message]
    assert "unknown Debian release 'buster'" in problem.message
    assert "bookworm, trixie" in problem.fix
    assert problem.file.endswith("host_vars/suite.gouv.tg.yml")


def test_a_role_that_does_not_run_on_the_release_is_refused(make_inventory, project: Path) -> None:
    _project_with_role(project, "video", ["bookworm"], "ca")
    report = check.check(make_inventory(), project, secrets=False)
    [problem] = [p for p in report.problems if "does not run" in p.message]
    assert "role 'video' (group 'ca') does not run on Debian 13 (trixie)" in problem.message
    assert "bureau__debian_release: bookworm" in problem.fix


def test_a_host_kept_on_debian_12_by_a_role_is_told_what_it_implies(
    make_inventory, project: Path
) -> None:
    """The video hosts stay on Debian 12 (Janus is not in Debian 13,
    docs/video.md): the warning says so, with the end of LTS, not "upgrade"."""
    _project_with_role(project, "video", ["bookworm"], "ca")
    root = make_inventory(extra={"group_vars/ca/release.yml": "bureau__debian_release: bookworm\n"})
    found = releases.check(inv.load(root), project, today=TODAY)
    assert not found.problems
    [warning] = found.warnings
    assert "stays on it by design: role 'video' runs on no newer release" in warning.message
    assert "LTS" in warning.message and "2028-06-30" in warning.message
    assert "before 2028-06-30" in warning.fix and "docs/video.md" in warning.fix
    assert "upgrade-12-to-13" not in warning.fix


# Roles that run on Debian 12 only, and why (their README and docs say more).
DEBIAN_12_ONLY = {"video": "Janus is not in Debian 13 (docs/video.md)"}


def test_every_role_declares_the_releases_it_runs_on() -> None:
    for role in sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()):
        supported = releases.role_releases(ROOT, role)
        if role in DEBIAN_12_ONLY:
            assert supported == {"bookworm"}, f"{role}: {DEBIAN_12_ONLY[role]}"
            continue
        assert "trixie" in supported, f"{role}: meta/main.yml does not list trixie"
        assert supported <= set(releases.releases()), f"{role}: unknown release in {supported}"


def test_site_yml_gives_the_roles_of_each_group() -> None:
    by_group = releases.roles_by_group(ROOT)
    assert {"base", "hardening", "pki"} <= by_group["all"]
    assert "mailbox" in by_group["mailbox"]
