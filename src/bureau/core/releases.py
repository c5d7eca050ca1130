"""Debian releases: which one each host targets, which roles run on it, how long it is supported.

A host's release is the inventory variable `bureau__debian_release` (set per
group or host; default in src/bureau/data/releases.yml). The rehearsal starts
each host on the image of its release; the base role refuses a host whose
running release is not the one its inventory names. The roles a host carries
come from playbooks/site.yml (the groups each play targets), and the releases
a role runs on from its meta/main.yml (`galaxy_info.platforms`), so there is
no second list to keep in step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bureau.core import inventory as inv
from bureau.errors import Problem

VARIABLE = "bureau__debian_release"


@dataclass(frozen=True)
class Release:
    codename: str
    version: int
    security_end: dt.date
    lts_end: dt.date

    @property
    def label(self) -> str:
        return f"Debian {self.version} ({self.codename})"


@cache
def _data() -> dict[str, Any]:
    text = resources.files("bureau").joinpath("data", "releases.yml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def releases() -> dict[str, Release]:
    return {
        name: Release(name, int(r["version"]), r["security_end"], r["lts_end"])
        for name, r in _data()["releases"].items()
    }


def default() -> str:
    return str(_data()["default"])


def warn_days() -> int:
    return int(_data()["warn_days"])


def release_of(inventory: inv.Inventory, host: str) -> str:
    """The codename the inventory gives `host` (the default when it says nothing)."""
    return str(inventory.variables(host).get(VARIABLE, default()))


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def roles_by_group(project: Path) -> dict[str, set[str]]:
    """Group → the roles playbooks/site.yml deploys to it (following import_playbook)."""
    found: dict[str, set[str]] = {}

    def walk(playbook: Path, seen: set[Path]) -> None:
        if playbook in seen or not playbook.is_file():
            return
        seen.add(playbook)
        for play in _load(playbook) or []:
            if "ansible.builtin.import_playbook" in play:
                walk((playbook.parent / play["ansible.builtin.import_playbook"]).resolve(), seen)
                continue
            hosts = play.get("hosts")
            for role in play.get("roles", []):
                name = role["role"] if isinstance(role, dict) else role
                for group in str(hosts).replace(",", ":").split(":"):
                    found.setdefault(group.strip(), set()).add(name)

    walk(project / "playbooks" / "site.yml", set())
    return found


def role_releases(project: Path, role: str) -> set[str]:
    """The Debian codenames a role declares it runs on (meta/main.yml platforms)."""
    meta = project / "roles" / role / "meta" / "main.yml"
    if not meta.is_file():
        return set()
    platforms = ((_load(meta) or {}).get("galaxy_info") or {}).get("platforms") or []
    return {
        str(version)
        for platform in platforms
        if platform.get("name") == "Debian"
        for version in platform.get("versions", [])
    }


def _location(inventory: inv.Inventory, host: str) -> tuple[inv.Location, str]:
    """Where the host's value is written, and by whom: the host itself, else the
    group whose value wins (`all` when nothing sets it)."""
    if VARIABLE in inventory.host_var_locations.get(host, {}):
        return inventory.host_var_locations[host][VARIABLE], f"host '{host}'"
    for group in reversed(inventory.ansible_group_order(host)):
        found = inventory.group_var_locations.get(group, {}).get(VARIABLE)
        if found is not None:
            return found, f"group '{group}'"
    return inventory.hosts.get(host, inv.Location(inv.shown(inventory.hosts_file))), "group 'all'"


@dataclass
class Findings:
    problems: list[Problem]
    warnings: list[Problem]


def check(inventory: inv.Inventory, project: Path, today: dt.date | None = None) -> Findings:
    """A known release per host, carried by every role of its groups; support dates."""
    today = today or dt.date.today()
    known = releases()
    by_group = roles_by_group(project)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    # One message per (release, group) rather than per host: that is how
    # operators set it, and how they would fix it.
    warned: set[tuple[str, str]] = set()
    for host in inventory.hosts:
        codename = release_of(inventory, host)
        where, owner = _location(inventory, host)
        if codename not in known:
            problems.append(
                Problem(
                    where.file,
                    f"{host}.{VARIABLE}",
                    f"unknown Debian release '{codename}'",
                    f"set `{VARIABLE}:` to one of {', '.join(sorted(known))} "
                    "(src/bureau/data/releases.yml)",
                    where.line,
                )
            )
            continue
        release = known[codename]
        groups = ["all", *inventory.groups_of(host)]
        newest = max(known.values(), key=lambda r: r.version)
        # Roles that keep the host on this release: none of the newer ones has them.
        pinned: list[str] = []
        for group in groups:
            for role in sorted(by_group.get(group, ())):
                supported = role_releases(project, role)
                newer = {s for s in supported if s in known and known[s].version > release.version}
                if codename in supported and not newer and codename != newest.codename:
                    pinned.append(role)
                if supported and codename not in supported:
                    names = ", ".join(
                        f"{known[s].label}" if s in known else s for s in sorted(supported)
                    )
                    problems.append(
                        Problem(
                            where.file,
                            f"{host}.{VARIABLE}",
                            f"role '{role}' (group '{group}') does not run on {release.label}; "
                            f"it runs on {names}",
                            f"set `{VARIABLE}: {sorted(supported)[-1]}` for group '{group}', "
                            f"or move the host out of it (roles/{role}/README.md)",
                            where.line,
                        )
                    )
        left = (release.security_end - today).days
        if left > warn_days():
            continue
        if (codename, owner) in warned:
            continue
        warned.add((codename, owner))
        if left < 0:
            message = (
                f"{owner} targets {release.label}, whose regular security support "
                f"ended on {release.security_end}; Debian LTS (a subset of packages, best "
                f"effort) runs to {release.lts_end}"
            )
        else:
            message = (
                f"{owner} targets {release.label}, whose regular security support "
                f"ends on {release.security_end} (in {left} days); LTS to {release.lts_end}"
            )
        if pinned:
            # A decision, not an oversight: say what it implies and until when.
            names = ", ".join(f"'{role}'" for role in dict.fromkeys(pinned))
            message += (
                f"; the host stays on it by design: role {names} runs on no newer "
                f"release (roles/{pinned[0]}/README.md, docs/{pinned[0]}.md)"
            )
            fix = (
                f"nothing to change now; before {release.lts_end} (end of Debian LTS) "
                f"move the role to {newest.label} as docs/{pinned[0]}.md describes"
            )
        elif newest.codename != codename:
            fix = f"plan the upgrade to {newest.label} (docs/operations/upgrade-12-to-13.md)"
        else:
            fix = "plan the upgrade to the next Debian release"
        warnings.append(Problem(where.file, f"{host}.{VARIABLE}", message, fix, where.line))
    return Findings(problems, warnings)
