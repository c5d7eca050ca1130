from __future__ import annotations

from pathlib import Path

import pytest

from bureau.core import inventory as inv
from bureau.core import yamlmarks
from bureau.errors import BadInput

NESTED = """\
---
all:
  vars:
    ntp: pool
  children:
    ca:
      hosts:
        ca1.gouv.tg:
          ansible_host: 10.0.0.1
    directory:
      children:
        dir_dc1:
          hosts:
            ldap1.gouv.tg:
        dir_dc2:
          hosts:
            ldap2.gouv.tg:
"""


def test_lines_are_kept_for_keys_and_items(tmp_path: Path) -> None:
    doc = yamlmarks.loads("---\na:\n  b: 1\n  c:\n    - x\n    - y\n", tmp_path / "f.yml")
    assert doc.data == {"a": {"b": 1, "c": ["x", "y"]}}
    assert doc.line("a") == 2
    assert doc.line("a", "b") == 3
    assert doc.line("a", "c", 1) == 6


def test_vault_tag_reads_as_text(tmp_path: Path) -> None:
    doc = yamlmarks.loads("---\nx: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n", tmp_path / "f.yml")
    assert doc.data["x"].startswith("$ANSIBLE_VAULT")


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        yamlmarks.loads("---\na: [1, 2\nb: 3\n", tmp_path / "broken.yml", "broken.yml")
    problem = caught.value.problems[0]
    assert problem.file == "broken.yml"
    assert problem.line == 3


def test_children_give_their_hosts_to_the_parent(make_inventory, project: Path) -> None:
    loaded = inv.load(make_inventory(name="x", hosts=NESTED))
    assert loaded.members("directory") == ["ldap1.gouv.tg", "ldap2.gouv.tg"]
    assert loaded.members("all") == ["ca1.gouv.tg", "ldap1.gouv.tg", "ldap2.gouv.tg"]
    assert loaded.groups_of("ldap2.gouv.tg") == ["all", "directory", "dir_dc2"]
    assert loaded.hosts["ldap1.gouv.tg"].line == 14
    assert loaded.group_vars["all"]["ntp"] == "pool"


def test_vars_files_and_host_vars_merge_in_order(make_inventory, project: Path) -> None:
    root = make_inventory(
        name="x",
        hosts=NESTED,
        extra={
            "group_vars/directory.yml": "---\nport: 389\nlevel: group\n",
            "host_vars/ldap1.gouv.tg/main.yml": "---\nlevel: host\n",
        },
    )
    loaded = inv.load(root)
    assert loaded.variables("ldap1.gouv.tg")["level"] == "host"
    assert loaded.variables("ldap2.gouv.tg")["level"] == "group"
    assert loaded.variables("ca1.gouv.tg")["ansible_host"] == "10.0.0.1"
    where = loaded.group_var_locations["all"]["bureau__domain"]
    assert where.file.endswith("group_vars/all/site.yml")
    assert where.line == 2


def test_encrypted_vars_files_are_not_parsed(make_inventory, project: Path) -> None:
    root = make_inventory(extra={"group_vars/all/vault.yml": "$ANSIBLE_VAULT;1.1;AES256\n6162\n"})
    loaded = inv.load(root)
    assert not loaded.problems
    assert "vault_pki_ca_passphrase" not in loaded.group_vars["all"]


def test_a_misplaced_key_is_a_problem_with_its_line(make_inventory, project: Path) -> None:
    hosts = "---\nall:\n  children:\n    ca:\n      host:\n        ca1.gouv.tg:\n"
    loaded = inv.load(make_inventory(name="x", hosts=hosts))
    [problem] = loaded.problems
    assert problem.key == "ca.host"
    assert problem.line == 5


def test_missing_inventory_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        inv.load(tmp_path / "nowhere")
    assert "does not exist" in str(caught.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput) as caught:
        inv.load(tmp_path / "empty")
    assert caught.value.problems[0].key == "hosts.yml"
