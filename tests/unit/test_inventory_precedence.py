"""Bureau reads a host's variables the way Ansible does (issue: the inventory
read the way Ansible reads it): a variable set for two groups of one host."""

from __future__ import annotations

from pathlib import Path

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager

from bureau.core import inventory as inv

HOSTS = """\
all:
  children:
    {first}:
      hosts:
        ldap1.gouv.tg:
    {second}:
      hosts:
        ldap1.gouv.tg:
    directory_site:
      children:
        {second}:
"""


def write(tmp_path: Path, first: str, second: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "hosts.yml").write_text(HOSTS.format(first=first, second=second))
    (tmp_path / "group_vars").mkdir()
    for group in ("all", first, second, "directory_site"):
        (tmp_path / "group_vars" / f"{group}.yml").write_text(
            f"where: {group}\nonly_{group}: true\n"
        )
    return tmp_path


def ansible_value(path: Path, host: str, name: str) -> object:
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path / "hosts.yml")])
    manager = VariableManager(loader=loader, inventory=inventory)
    return manager.get_vars(host=inventory.get_host(host))[name]


def test_a_variable_of_two_groups_has_ansibles_value(tmp_path: Path) -> None:
    # "ca" is written first and sorts first; "directory" wins in Ansible (same
    # depth, later name), where the old file-order merge also said "directory".
    # Swapped in the file, the file order would say "ca": Ansible still says
    # "directory", and so must Bureau.
    for first, second in (("ca", "directory"), ("directory", "ca")):
        root = write(tmp_path / f"{first}-{second}", first, second)
        loaded = inv.load(root)
        expected = ansible_value(root, "ldap1.gouv.tg", "where")
        assert loaded.variables("ldap1.gouv.tg")["where"] == expected


def test_a_deeper_group_overrides_its_parent_and_all(tmp_path: Path) -> None:
    root = write(tmp_path, "ca", "directory")
    loaded = inv.load(root)
    variables = loaded.variables("ldap1.gouv.tg")
    assert variables["only_all"] and variables["only_directory_site"]
    for name in ("where",):
        assert variables[name] == ansible_value(root, "ldap1.gouv.tg", name)
