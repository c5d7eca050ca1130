"""Reading an Ansible YAML inventory directory, keeping where everything was written.

An inventory is a directory: `hosts.yml` (Ansible's YAML inventory format),
`group_vars/<group>.yml` or `group_vars/<group>/*.yml`, and the same for
`host_vars/`. Values are kept literally (Jinja expressions are not evaluated):
`bureau check` validates what the operator wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bureau.core import yamlmarks
from bureau.errors import BadInput, Problem

HOSTS_FILES = ("hosts.yml", "hosts.yaml")
VARS_SUFFIXES = (".yml", ".yaml", ".json")
GROUP_KEYS = frozenset({"hosts", "vars", "children"})
VAULT_HEADER = "$ANSIBLE_VAULT;"


def shown(path: Path) -> str:
    """A path as the operator typed it: relative to the working directory when inside it."""
    if not path.is_absolute():
        return str(path)
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None


@dataclass
class Group:
    name: str
    location: Location
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class Inventory:
    """The hosts, groups and variables of one inventory directory."""

    path: Path
    hosts_file: Path
    groups: dict[str, Group] = field(default_factory=dict)
    hosts: dict[str, Location] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    host_var_locations: dict[str, dict[str, Location]] = field(default_factory=dict)
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    group_var_locations: dict[str, dict[str, Location]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Ansible's own reading of the hosts file, made when first needed.
    _ansible: Any = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.path.name

    def members(self, group: str) -> list[str]:
        """Hosts of a group, through its children too; `all` holds every host."""
        if group == "all":
            return list(self.hosts)
        found: dict[str, None] = {}
        seen: set[str] = set()

        def collect(name: str) -> None:
            if name in seen or name not in self.groups:
                return
            seen.add(name)
            for host in self.groups[name].hosts:
                found[host] = None
            for child in self.groups[name].children:
                collect(child)

        collect(group)
        return list(found)

    def groups_of(self, host: str) -> list[str]:
        """The groups a host belongs to, `all` first, then in inventory order."""
        names = ["all"] + [g for g in self.groups if g != "all" and host in self.members(g)]
        return names

    def variables(self, host: str) -> dict[str, Any]:
        """The host's variables as Ansible resolves them (values as written, not
        templated): its groups' variables in Ansible's own order — by depth in the
        group tree, then `ansible_group_priority`, then name, as Ansible's
        inventory manager sorts them (so a host in `ca` and `directory` gets
        `directory`'s value, as ansible-playbook gives it) — then its own."""
        merged: dict[str, Any] = {}
        for group in self.ansible_group_order(host):
            merged.update(self.group_vars.get(group, {}))
        merged.update(self.host_vars.get(host, {}))
        return merged

    def ansible_group_order(self, host: str) -> list[str]:
        """The host's groups in the order Ansible merges their variables, from
        Ansible's inventory manager reading the hosts file (which holds no secret:
        group and host variable files are read here, with their lines)."""
        from ansible.inventory.helpers import sort_groups
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader

        if self._ansible is None:
            self._ansible = InventoryManager(loader=DataLoader(), sources=[str(self.hosts_file)])
        found = self._ansible.get_host(host)
        if found is None:
            return self.groups_of(host)
        return [group.name for group in sort_groups(found.get_groups())]

    def host_var_location(self, host: str, key: str) -> Location:
        return self.host_var_locations.get(host, {}).get(key) or self.hosts.get(
            host, Location(shown(self.hosts_file))
        )


def find_hosts_file(path: Path) -> Path:
    """The hosts file of an inventory given as a directory or as the file itself."""
    if path.is_file():
        return path
    if path.is_dir():
        for name in HOSTS_FILES:
            if (path / name).is_file():
                return path / name
        raise BadInput(
            f"no inventory in {shown(path)}",
            [
                Problem(
                    file=shown(path),
                    key="hosts.yml",
                    message="the inventory directory has no hosts.yml",
                    fix="create hosts.yml (Ansible YAML inventory); copy inventories/staging",
                )
            ],
        )
    raise BadInput(
        f"inventory {shown(path)} does not exist",
        [
            Problem(
                file=shown(path),
                key="-i",
                message="no such inventory file or directory",
                fix="pass -i with an inventory directory, e.g. -i inventories/rehearsal",
            )
        ],
    )


def load(path: Path) -> Inventory:
    """Load an inventory; structural problems are collected in `Inventory.problems`.

    Raises BadInput only when nothing sensible can be read (no hosts file,
    broken YAML in the hosts file).
    """
    hosts_file = find_hosts_file(path).resolve()
    inventory = Inventory(path=hosts_file.parent, hosts_file=hosts_file)
    doc = yamlmarks.load(hosts_file, shown(hosts_file))
    _parse_hosts(inventory, doc)
    _load_vars_tree(inventory, "group_vars")
    _load_vars_tree(inventory, "host_vars")
    return inventory


def _parse_hosts(inventory: Inventory, doc: yamlmarks.Document) -> None:
    file = shown(doc.path)
    if doc.data is None:
        inventory.problems.append(
            Problem(file, "all", "the inventory is empty", "declare `all:` with hosts and groups")
        )
        return
    if not isinstance(doc.data, dict):
        inventory.problems.append(
            Problem(file, "(top)", "the inventory must be a mapping of groups", "start with `all:`")
        )
        return
    for name, body in doc.data.items():
        _parse_group(inventory, doc, str(name), body, (name,))


def _parse_group(
    inventory: Inventory,
    doc: yamlmarks.Document,
    name: str,
    body: Any,
    keys: tuple[str, ...],
) -> None:
    file = shown(doc.path)
    location = Location(file, doc.line(*keys))
    group = inventory.groups.get(name)
    if group is None:
        group = inventory.groups[name] = Group(name=name, location=location)
    if body is None:
        return
    if not isinstance(body, dict):
        inventory.problems.append(
            Problem(
                file,
                name,
                "a group must be a mapping with hosts, vars or children",
                "write `hosts:`, `vars:` or `children:` under the group",
                location.line,
            )
        )
        return
    for key in body:
        if key not in GROUP_KEYS:
            inventory.problems.append(
                Problem(
                    file,
                    f"{name}.{key}",
                    f"'{key}' is not hosts, vars or children",
                    f"indent '{key}' under `children:` if it is a group, under `hosts:` "
                    "if it is a host",
                    doc.line(*keys, key),
                )
            )
    hosts = body.get("hosts") or {}
    if isinstance(hosts, dict):
        for host, host_vars in hosts.items():
            host = str(host)
            where = Location(file, doc.line(*keys, "hosts", host))
            group.hosts.append(host)
            inventory.hosts.setdefault(host, where)
            if isinstance(host_vars, dict):
                target = inventory.host_vars.setdefault(host, {})
                places = inventory.host_var_locations.setdefault(host, {})
                for var, value in host_vars.items():
                    target[str(var)] = value
                    places[str(var)] = Location(file, doc.line(*keys, "hosts", host, var))
            elif host_vars is not None:
                inventory.problems.append(
                    Problem(
                        file,
                        host,
                        "host variables must be a mapping",
                        "write `key: value`",
                        where.line,
                    )
                )
    else:
        inventory.problems.append(
            Problem(
                file,
                f"{name}.hosts",
                "hosts must be a mapping of host names",
                "write each host as `name.gouv.tg:` under `hosts:`",
                doc.line(*keys, "hosts"),
            )
        )
    group_vars = body.get("vars") or {}
    if isinstance(group_vars, dict):
        target = inventory.group_vars.setdefault(name, {})
        places = inventory.group_var_locations.setdefault(name, {})
        for var, value in group_vars.items():
            target[str(var)] = value
            places[str(var)] = Location(file, doc.line(*keys, "vars", var))
    children = body.get("children") or {}
    if isinstance(children, dict):
        for child, child_body in children.items():
            child = str(child)
            if child not in group.children:
                group.children.append(child)
            _parse_group(inventory, doc, child, child_body, (*keys, "children", child))


def _vars_file(path: Path) -> bool:
    """A variables file as Ansible reads it: .yml, .yaml, .json, or no extension
    at all (molecule writes its inventory's `group_vars/all` so)."""
    return path.is_file() and (path.suffix in VARS_SUFFIXES or not path.suffix)


def _vars_files(directory: Path) -> list[tuple[str, Path]]:
    """(owner name, file) for group_vars/x.yml and group_vars/x/*.yml, in a stable order."""
    found: list[tuple[str, Path]] = []
    if not directory.is_dir():
        return found
    for entry in sorted(directory.iterdir()):
        if entry.is_dir():
            for inner in sorted(entry.iterdir()):
                if _vars_file(inner) and not inner.name.startswith("."):
                    found.append((entry.name, inner))
        elif _vars_file(entry) and not entry.name.startswith("."):
            found.append((entry.stem, entry))
    return found


def _load_vars_tree(inventory: Inventory, tree: str) -> None:
    for owner, path in _vars_files(inventory.path / tree):
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.startswith(VAULT_HEADER):
            continue  # encrypted: read by bureau.core.vault where secrets are checked
        try:
            doc = yamlmarks.loads(text, path, shown(path))
        except BadInput as err:
            inventory.problems.extend(err.problems)
            continue
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            inventory.problems.append(
                Problem(shown(path), "(top)", "a vars file must be a mapping", "write `key: value`")
            )
            continue
        if tree == "group_vars":
            values = inventory.group_vars.setdefault(owner, {})
            places = inventory.group_var_locations.setdefault(owner, {})
        else:
            values = inventory.host_vars.setdefault(owner, {})
            places = inventory.host_var_locations.setdefault(owner, {})
        for key, value in doc.data.items():
            values[str(key)] = value
            places[str(key)] = Location(shown(path), doc.line(key))
