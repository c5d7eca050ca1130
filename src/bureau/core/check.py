"""Validation of an inventory and its site settings: every problem, with where and how to fix.

Nothing is applied until this says the input is valid: `bureau deploy` and
`bureau rehearse up` call `require_valid` before touching a host or a container.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from bureau.core import inventory as inv
from bureau.core import releases, settings, vault
from bureau.errors import BadInput, Problem

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.[a-z]{{2,63}}$")
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_CONTAINER = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
_PUBLISHED = re.compile(r"^127\.0\.0\.1:(\d{1,5}):(\d{1,5})(/(tcp|udp))?$")
IMPLICIT_GROUPS = frozenset({"all", "ungrouped"})
DOCKER_CONNECTION = "community.docker.docker"


def valid_domain(name: str) -> bool:
    """A DNS domain in lower case with at least two labels, e.g. gouv.tg."""
    return bool(_DOMAIN.match(name))


def valid_hostname(name: str) -> bool:
    """An inventory host name: DNS labels in lower case (e.g. ldap1.gouv.tg)."""
    return bool(_HOSTNAME.match(name))


def suggest(name: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return close[0] if close else None


@dataclass
class Report:
    """What `check` found: the inventory (when it could be read) and every problem."""

    inventory: inv.Inventory | None
    problems: list[Problem] = field(default_factory=list)
    # What does not stop a deploy but an operator must hear (support dates).
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(
    path: Path,
    project: Path,
    *,
    secrets: bool = True,
    rehearsal: bool | None = None,
) -> Report:
    """Validate the inventory at `path`; never raises for bad input, returns the problems.

    `rehearsal` adds the checks `bureau rehearse` needs; None applies them when
    the inventory has hosts in group `rehearsal`.
    """
    try:
        inventory = inv.load(path)
    except BadInput as err:
        return Report(None, list(err.problems) or [Problem(str(path), "-i", str(err))])
    problems = list(inventory.problems)
    problems += check_groups(inventory)
    problems += check_host_names(inventory)
    problems += check_settings(inventory)
    problems += check_drive_hosts(inventory)
    found = releases.check(inventory, project)
    problems += found.problems
    if rehearsal is None:
        rehearsal = bool(inventory.members("rehearsal"))
    if secrets:
        problems += check_secrets(
            inventory, vault.password_file(project, inventory.name), generated=rehearsal
        )
    if rehearsal:
        problems += check_rehearsal(inventory)
    return Report(inventory, problems, found.warnings)


def require_valid(
    path: Path,
    project: Path,
    *,
    secrets: bool = True,
    rehearsal: bool | None = None,
    warn: Callable[[str], None] | None = None,
    unchanged: str = "nothing was changed",
) -> inv.Inventory:
    """The inventory, or BadInput listing every problem (`unchanged`: what the
    caller has not done, said at the end of the message).

    Warnings (support dates) go to `warn`, one line each, and stop nothing."""
    report = check(path, project, secrets=secrets, rehearsal=rehearsal)
    for warning in report.warnings if warn else ():
        warn(f"warning: {warning}")
    if report.problems or report.inventory is None:
        count = len(report.problems)
        raise BadInput(
            f"inventory {inv.shown(path)} has {count} problem{'s' * (count != 1)}; {unchanged}",
            report.problems,
        )
    return report.inventory


def check_groups(inventory: inv.Inventory) -> list[Problem]:
    rules = settings.group_rules()
    known = sorted(rules)
    problems: list[Problem] = []

    def unknown(name: str, file: str, line: int | None) -> Problem:
        close = suggest(name, known)
        fix = f"did you mean '{close}'? " if close else ""
        fix += f"known groups: {', '.join(known)} (src/bureau/data/inventory-schema.yml)"
        return Problem(file, name, "unknown group", fix, line)

    for name, group in inventory.groups.items():
        if name not in rules and name not in IMPLICIT_GROUPS:
            problems.append(unknown(name, group.location.file, group.location.line))
    # group_vars/<x> of a group that hosts.yml does not declare: a typo Ansible ignores.
    for owner, places in inventory.group_var_locations.items():
        if owner not in rules and owner not in IMPLICIT_GROUPS and owner not in inventory.groups:
            first = next(iter(places.values()), inv.Location(f"group_vars/{owner}"))
            problems.append(unknown(owner, first.file, None))
    hosts_file = inv.shown(inventory.hosts_file)
    for name, rule in rules.items():
        if name in IMPLICIT_GROUPS:
            continue
        members = inventory.members(name)
        group = inventory.groups.get(name)
        where = group.location if group else inv.Location(hosts_file)
        if not members and rule.required:
            problems.append(
                Problem(
                    where.file,
                    name,
                    f"group '{name}' has no host; it needs exactly "
                    f"{rule.min if rule.min == rule.max else f'at least {rule.min}'}"
                    f" ({rule.description})",
                    f"add a host under `{name}: hosts:` in {hosts_file}",
                    where.line,
                )
            )
            continue
        if group is None and not members:
            continue
        count = len(members)
        too_few = rule.min is not None and count < rule.min
        too_many = rule.max is not None and count > rule.max
        if too_few or too_many:
            wanted = (
                f"exactly {rule.min}"
                if rule.min == rule.max
                else f"{rule.min or 0} to {rule.max}"
                if rule.max is not None
                else f"at least {rule.min}"
            )
            problems.append(
                Problem(
                    where.file,
                    name,
                    f"group '{name}' has {count} host{'s' * (count != 1)}, it takes {wanted}",
                    f"list {wanted} host(s) under `{name}: hosts:`",
                    where.line,
                )
            )
    return problems


def check_host_names(inventory: inv.Inventory) -> list[Problem]:
    return [
        Problem(
            where.file,
            host,
            "not a valid host name",
            "use lower-case DNS labels of letters, digits and '-', e.g. ldap1.gouv.tg",
            where.line,
        )
        for host, where in inventory.hosts.items()
        if not valid_hostname(host)
    ]


def _var_location(inventory: inv.Inventory, host: str, key: str) -> inv.Location:
    """Where the host's value of key is written: its own line, else its groups'."""
    found = inventory.host_var_locations.get(host, {}).get(key)
    for group in reversed(inventory.ansible_group_order(host)):
        found = found or inventory.group_var_locations.get(group, {}).get(key)
    return found or inv.Location(inv.shown(inventory.path / "host_vars" / f"{host}.yml"))


def check_drive_hosts(inventory: inv.Inventory) -> list[Problem]:
    """Each folder of the drive on exactly one drive host (a lock database is
    one Apache's): a ministry in drive__ministries of one host, one host at
    most with none (it serves the rest), a share in drive__shares of one."""
    hosts = inventory.members("drive")
    problems: list[Problem] = []
    seen: dict[tuple[str, str], str] = {}
    serving_rest: list[str] = []
    for host in hosts:
        values = inventory.variables(host)
        ministries = values.get("drive__ministries", [])
        shares = values.get("drive__shares", [])
        if not isinstance(ministries, list) or not all(isinstance(m, str) for m in ministries):
            where = _var_location(inventory, host, "drive__ministries")
            problems.append(
                Problem(
                    where.file,
                    f"{host}: drive__ministries",
                    "not a list of ministry codes",
                    "write a list such as [mef, msh]",
                    where.line,
                )
            )
            continue
        if not ministries:
            serving_rest.append(host)
        names = [("ministry", m.lower()) for m in ministries]
        if isinstance(shares, list):
            names += [("share", str(s.get("name"))) for s in shares if isinstance(s, dict)]
        for kind, name in names:
            other = seen.setdefault((kind, name), host)
            if other != host:
                key = "drive__ministries" if kind == "ministry" else "drive__shares"
                where = _var_location(inventory, host, key)
                problems.append(
                    Problem(
                        where.file,
                        f"{host}: {key}",
                        f"{kind} {name} is also served by {other} (a folder has one drive host)",
                        f"keep {name} in the {key} of one host only (host_vars)",
                        where.line,
                    )
                )
    if len(serving_rest) > 1:
        where = _var_location(inventory, serving_rest[1], "drive__ministries")
        problems.append(
            Problem(
                where.file,
                f"{serving_rest[1]}: drive__ministries",
                f"empty on {', '.join(serving_rest)}: only one drive host serves the ministries "
                "no other lists",
                "list the ministries of each drive host but one in its host_vars",
                where.line,
            )
        )
    return problems


def _settings_location(inventory: inv.Inventory, key: str) -> inv.Location:
    found = inventory.group_var_locations.get("all", {}).get(key)
    if found is not None:
        return found
    return inv.Location(inv.shown(inventory.path / "group_vars" / "all" / "site.yml"))


def check_settings(inventory: inv.Inventory) -> list[Problem]:
    schema = settings.settings_schema()
    props: dict[str, Any] = schema.get("properties", {})
    values = inventory.group_vars.get("all", {})
    problems: list[Problem] = []
    for key in schema.get("required", []):
        if key not in values:
            where = _settings_location(inventory, key)
            problems.append(
                Problem(
                    where.file,
                    key,
                    f"missing: {props.get(key, {}).get('description', 'required setting')}",
                    props.get(key, {}).get("x-fix", f"set {key}"),
                )
            )
    checked = {k: v for k, v in values.items() if k in props}
    for error in Draft202012Validator(schema).iter_errors(checked):
        if error.validator == "required" or not error.path:
            continue
        key = str(error.path[0])
        where = _settings_location(inventory, key)
        problems.append(
            Problem(where.file, key, error.message, props.get(key, {}).get("x-fix", ""), where.line)
        )
    domain = values.get("bureau__domain")
    if isinstance(domain, str) and not valid_domain(domain):
        where = _settings_location(inventory, "bureau__domain")
        problems.append(
            Problem(
                where.file,
                "bureau__domain",
                f"'{domain}' is not a DNS domain",
                props.get("bureau__domain", {}).get("x-fix", "write a domain such as gouv.tg"),
                where.line,
            )
        )
    return problems


def needed_secrets(inventory: inv.Inventory) -> list[settings.SecretRule]:
    """The vault variables this inventory needs: those whose group has hosts."""
    return [rule for rule in settings.secret_rules() if inventory.members(rule.group)]


def check_secrets(
    inventory: inv.Inventory, password: Path, *, generated: bool = False
) -> list[Problem]:
    """Every needed vault variable is in vault.yml, not empty, and not in clear text.

    `generated`: the inventory is a rehearsal, whose secrets `bureau rehearse up` makes.
    """
    needed = needed_secrets(inventory)
    if not needed:
        return []
    path = vault.vault_file(inventory.path)
    file = inv.shown(path)
    problems: list[Problem] = []
    for rule in needed:
        for owner, places in inventory.group_var_locations.items():
            if rule.name in places:
                where = places[rule.name]
                problems.append(
                    Problem(
                        where.file,
                        rule.name,
                        f"a secret is written in clear text (group_vars of '{owner}')",
                        f"move it into {file} (ansible-vault encrypted) and delete this line",
                        where.line,
                    )
                )
    if not path.exists():
        names = ", ".join(rule.name for rule in needed)
        example = path.with_name("vault.yml.example")
        source = f"copy {inv.shown(example)}, fill in" if example.exists() else "write"
        fix = (
            "run `bureau rehearse up`: it generates the rehearsal secrets"
            if generated
            else f"{source} the values, then `ansible-vault encrypt --vault-password-file "
            f"{inv.shown(password)} {file}`"
        )
        problems.append(
            Problem(file, "(vault file)", f"does not exist; it must hold: {names}", fix)
        )
        return problems
    try:
        values = vault.read(path, password)
    except vault.VaultError as err:
        problems.append(Problem(file, "(vault)", err.message, err.fix))
        return problems
    for rule in needed:
        value = values.get(rule.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            state = "missing" if rule.name not in values else "empty"
            problems.append(
                Problem(
                    file,
                    rule.name,
                    f"{state}: {rule.description} (needed by group '{rule.group}')",
                    f"add `{rule.name}: <value>` with `ansible-vault edit "
                    f"--vault-password-file {inv.shown(password)} {file}`",
                )
            )
    return problems


def check_rehearsal(inventory: inv.Inventory) -> list[Problem]:
    """What `bureau rehearse` needs: container names, a network, valid published ports."""
    problems: list[Problem] = []
    hosts_file = inv.shown(inventory.hosts_file)
    if not inventory.members("rehearsal"):
        problems.append(
            Problem(
                hosts_file,
                "rehearsal",
                "not a rehearsal inventory: group 'rehearsal' has no host",
                "rehearse only inventories whose hosts are all in group `rehearsal` "
                "(e.g. -i inventories/rehearsal); use `bureau deploy` for real hosts",
            )
        )
        return problems
    for host in inventory.hosts:
        where = inventory.hosts[host]
        if host not in inventory.members("rehearsal"):
            problems.append(
                Problem(
                    where.file,
                    host,
                    "host is not in group 'rehearsal'",
                    "add it under `rehearsal: hosts:`",
                    where.line,
                )
            )
        variables = inventory.variables(host)
        container = variables.get("ansible_host")
        if not isinstance(container, str) or not _CONTAINER.match(container):
            problems.append(
                Problem(
                    where.file,
                    f"{host}.ansible_host",
                    "a rehearsal host needs `ansible_host`: the name of its container",
                    "set `ansible_host: bureau-rehearsal-<short-name>` under the host",
                    where.line,
                )
            )
        if variables.get("ansible_connection") != DOCKER_CONNECTION:
            loc = inventory.host_var_location(host, "ansible_connection")
            problems.append(
                Problem(
                    loc.file,
                    "ansible_connection",
                    f"rehearsal hosts are reached with {DOCKER_CONNECTION}",
                    f"set `ansible_connection: {DOCKER_CONNECTION}` in group_vars/all",
                    loc.line,
                )
            )
        ports = variables.get("rehearsal__published_ports", [])
        loc = inventory.host_var_location(host, "rehearsal__published_ports")
        if not isinstance(ports, list):
            problems.append(
                Problem(
                    loc.file,
                    f"{host}.rehearsal__published_ports",
                    "must be a list",
                    'write `["127.0.0.1:8443:443"]`',
                    loc.line,
                )
            )
            continue
        for port in ports:
            match = _PUBLISHED.match(str(port))
            if not match or not all(0 < int(p) < 65536 for p in match.groups()[:2]):
                problems.append(
                    Problem(
                        loc.file,
                        f"{host}.rehearsal__published_ports",
                        f"'{port}' is not 127.0.0.1:HOSTPORT:CONTAINERPORT",
                        "publish on loopback only, e.g. 127.0.0.1:8443:443",
                        loc.line,
                    )
                )
    if "rehearsal__network" not in inventory.group_vars.get("all", {}):
        problems.append(
            Problem(
                inv.shown(inventory.path / "group_vars" / "all" / "rehearsal.yml"),
                "rehearsal__network",
                "missing: the Docker network the rehearsal containers share",
                "set `rehearsal__network: bureau-rehearsal` in group_vars/all/rehearsal.yml",
            )
        )
    return problems
