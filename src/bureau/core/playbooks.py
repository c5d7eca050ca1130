"""Which roles a playbook applies to a host, read with Ansible's own managers."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def roles_of(loader: Any, inventory: Any, name: str, playbook: Path) -> list[str]:
    """The roles the playbook applies to the host, in order: its plays whose
    host pattern covers the host (imported playbooks followed). `loader` and
    `inventory` are Ansible's DataLoader and InventoryManager."""
    roles: list[str] = []
    for play in loader.load_from_file(str(playbook)) or []:
        imported = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if imported:
            for role in roles_of(loader, inventory, name, playbook.parent / imported):
                if role not in roles:
                    roles.append(role)
            continue
        hosts = {h.name for h in inventory.get_hosts(play.get("hosts", []))}
        if name not in hosts:
            continue
        for entry in play.get("roles") or []:
            role = entry["role"] if isinstance(entry, dict) else entry
            if str(role) not in roles:
                roles.append(str(role))
    return roles
