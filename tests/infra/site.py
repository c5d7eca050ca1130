"""What the checks know of the site under test, from the inventory Ansible uses.

The domain and the directory's base come from the inventory's `bureau__domain`,
read with Ansible's own inventory and variable managers from the inventory the
run was given (BUREAU_INVENTORY, else molecule's MOLECULE_INVENTORY_FILE, else
the project's default inventory, as `bureau` defaults to it);
BUREAU_DOMAIN overrides it. Addresses come from the host under test
(`address`): the checks dial it directly and keep the names clients use (SNI,
Host headers, certificate names), so no DNS entry is needed. Ports are the
services' standard ones.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from testinfra.host import Host

DEFAULT_INVENTORY = Path(__file__).resolve().parents[2] / "inventories" / "rehearsal"


@cache
def inventory_vars() -> dict[str, Any]:
    """Variables of the inventory's first host, as Ansible resolves them (not templated)."""
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
        hosts = inventory.get_hosts()
        if not hosts:
            return {}
        manager = VariableManager(loader=loader, inventory=inventory)
        return dict(manager.get_vars(host=hosts[0], include_hostvars=False))
    except AnsibleError as error:
        raise RuntimeError(
            f"the checks read the site from {source} and Ansible cannot: {error.message}; "
            "give its vault password (ANSIBLE_VAULT_PASSWORD_FILE), another inventory "
            "(BUREAU_INVENTORY) or the domain (BUREAU_DOMAIN)"
        ) from None


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
