"""What the checks know of the site under test, from the inventory Ansible uses.

The domain and the directory's base come from the inventory's `bureau__domain`,
read with Ansible's own inventory and variable managers from the inventory the
run was given (BUREAU_INVENTORY, else molecule's MOLECULE_INVENTORY_FILE, else
the project's default inventory, as `bureau` defaults to it);
BUREAU_DOMAIN overrides it. Addresses come from the host under test
(`address`): the checks dial it directly and keep the names clients use (SNI,
Host headers, certificate names), so no DNS entry is needed. Ports are the
services' standard ones.

The ports a host's firewall must open (`firewall_ports`) are the roles' own
declarations, never the ruleset under test: `<role>__firewall_ports` of every
role that playbooks/site.yml applies to the host's groups, from the role's
defaults with the inventory's values winning (and a role's internal
`__<role>__firewall_ports` where it composes them), rendered with Ansible's
Templar, plus hardening's SSH port.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from testinfra.host import Host

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INVENTORY = ROOT / "inventories" / "rehearsal"
SITE_PLAYBOOK = ROOT / "playbooks" / "site.yml"
ROLES = ROOT / "roles"


@cache
def _ansible() -> tuple[Any, Any, Any] | None:
    """Ansible's loader, inventory and variable managers on the run's inventory."""
    source = (
        os.environ.get("BUREAU_INVENTORY")
        or os.environ.get("MOLECULE_INVENTORY_FILE")
        or str(DEFAULT_INVENTORY)
    )
    if not os.path.exists(source):
        return {}
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    # A rehearsal inventory keeps its secrets in a vault: open it the way
    # `bureau` does (ANSIBLE_VAULT_PASSWORD_FILE, else .bureau/<name>/vault-pass).
    name = Path(source).resolve()
    name = (name if name.is_dir() else name.parent).name
    password_file = Path(
        os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
        or DEFAULT_INVENTORY.parents[1] / ".bureau" / name / "vault-pass"
    )
    if password_file.is_file():
        from ansible.parsing.vault import VaultSecret

        secret = password_file.read_bytes().strip()
        loader.set_vault_secrets([("default", VaultSecret(secret))])
    from ansible.errors import AnsibleError

    try:
        inventory = InventoryManager(loader=loader, sources=[source])
        # Reading every host's variables here surfaces a vault problem at once.
        manager = VariableManager(loader=loader, inventory=inventory)
        for host in inventory.get_hosts():
            manager.get_vars(host=host, include_hostvars=False)
        return loader, inventory, manager
    except AnsibleError as error:
        raise RuntimeError(
            f"the checks read the site from {source} and Ansible cannot: {error.message}; "
            "give its vault password (ANSIBLE_VAULT_PASSWORD_FILE), another inventory "
            "(BUREAU_INVENTORY) or the domain (BUREAU_DOMAIN)"
        ) from None


@cache
def inventory_vars() -> dict[str, Any]:
    """Variables of the inventory's first host, as Ansible resolves them (not templated)."""
    found = _ansible()
    if found is None:
        return {}
    _, inventory, manager = found
    hosts = inventory.get_hosts()
    return dict(manager.get_vars(host=hosts[0], include_hostvars=False)) if hosts else {}


def host_vars(name: str) -> dict[str, Any]:
    """Variables of one inventory host, as Ansible resolves them (not templated)."""
    found = _ansible()
    host = found[1].get_host(name) if found else None
    if host is None:
        raise RuntimeError(f"host {name!r} is not in the inventory the checks read")
    return dict(found[2].get_vars(host=host, include_hostvars=False))


def roles_of(name: str, playbook: Path = SITE_PLAYBOOK) -> list[str]:
    """The roles the playbook applies to the host, in order (bureau.core.playbooks,
    which `bureau audit` uses to choose a host's checks)."""
    from bureau.core.playbooks import roles_of as applied

    found = _ansible()
    assert found is not None, "no inventory"
    loader, inventory, _ = found
    return applied(loader, inventory, name, playbook)


@dataclass
class FirewallPorts:
    """TCP ports a host's firewall opens: to every address, and to some sources only."""

    open_to_all: set[int] = field(default_factory=set)
    restricted: set[int] = field(default_factory=set)

    def add(self, port: object, sources: object = None) -> None:
        """A port, or a range of ports "FIRST-LAST" (hardening's open_ports takes both)."""
        first, _, last = str(port).partition("-")
        ports = range(int(first), int(last or first) + 1)
        (self.restricted if sources else self.open_to_all).update(ports)


def _trusted(value: Any) -> Any:
    """A role file's values marked as templates, as Ansible marks them when it loads a role."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


def _role_file(role: str, kind: str) -> dict[str, Any]:
    path = ROLES / role / kind / "main.yml"
    found = _ansible()
    if not found or not path.is_file():
        return {}
    return dict(_trusted(found[0].load_from_file(str(path)) or {}))


def firewall_ports(name: str) -> FirewallPorts:
    """What the roles declare the host's firewall opens (TCP): each role's
    `<role>__firewall_ports` (its internal `__<role>__firewall_ports` when its
    vars compose them) unless `<role>__firewall` is false, any other
    `<name>__firewall_ports` the inventory gives the host (a scenario's test
    listener), and hardening's SSH port. Role defaults < inventory < role vars,
    as in Ansible; Jinja rendered with Ansible's Templar, with the other hosts'
    inventory variables as `hostvars`."""
    from ansible.template import Templar

    roles = roles_of(name)
    inventory = host_vars(name)
    defaults: dict[str, Any] = {}
    internal: dict[str, Any] = {}
    for role in roles:
        defaults.update(_role_file(role, "defaults"))
        internal.update(_role_file(role, "vars"))
    variables = {**defaults, **inventory, **internal}
    found = _ansible()
    assert found is not None
    # A role that opens a port to its peers names them from their inventory
    # variables (no facts here: an address falls back to the host's name).
    variables["hostvars"] = {other.name: host_vars(other.name) for other in found[1].get_hosts()}
    templar = Templar(loader=found[0], variables=variables)
    declared = FirewallPorts()
    owners = list(roles) + [
        m[1]
        for key in inventory
        if (m := re.fullmatch(r"([a-z0-9_]+?)__firewall_ports", key)) and m[1] not in roles
    ]
    for owner in owners:
        enabled = variables.get(f"{owner}__firewall", True)
        if not templar.template(enabled):
            continue
        key = next(
            (
                k
                for k in (f"__{owner}__firewall_ports", f"{owner}__firewall_ports")
                if k in variables
            ),
            None,
        )
        for item in templar.template(variables[key]) if key else []:
            if item.get("proto", "tcp") == "tcp":
                declared.add(item["port"], item.get("sources"))
    if "hardening" in roles:
        declared.add(
            templar.template(variables["hardening__ssh_port"]),
            templar.template(variables.get("hardening__ssh_sources") or []),
        )
    return declared


def _domain() -> str:
    configured = os.environ.get("BUREAU_DOMAIN") or inventory_vars().get("bureau__domain")
    if not configured:
        raise RuntimeError(
            "the checks need the site's domain: run them with an inventory "
            "(BUREAU_INVENTORY, or under molecule) or set BUREAU_DOMAIN"
        )
    return str(configured).lower()


DOMAIN = _domain()
BASE_DN = ",".join(f"dc={part}" for part in DOMAIN.split("."))


def name(service: str) -> str:
    """The name clients use for a service of the site: smtp, imap, ldap, auth, mail …"""
    return f"{service}.{DOMAIN}"


def address(host: Host) -> str:
    """Where this machine reaches the host: BUREAU_ADDRESS, else the first IPv4
    address of its eth0 (a container on the scenario's network, or a VM)."""
    configured = os.environ.get("BUREAU_ADDRESS")
    if configured:
        return configured
    addresses = [a for a in host.interface("eth0").addresses if ":" not in a]
    assert addresses, "the host has no IPv4 address on eth0: set BUREAU_ADDRESS"
    return addresses[0]
