"""Small inventories written into tmp_path: no Docker, no network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

HOSTS = """\
---
all:
  children:
    rehearsal:
      hosts:
        suite.gouv.tg:
          ansible_host: bureau-rehearsal-suite
    ca:
      hosts:
        suite.gouv.tg:
"""

SITE = """\
---
bureau__domain: gouv.tg
bureau__organisation: République Togolaise
bureau__container: true
"""

REHEARSAL = """\
---
ansible_connection: community.docker.docker
rehearsal__network: bureau-rehearsal
bureau__debian_release: trixie
"""

MakeInventory = Callable[..., Path]


@pytest.fixture
def make_inventory(tmp_path: Path) -> MakeInventory:
    """Write an inventory directory; pass file contents to override the defaults."""

    def make(
        name: str = "rehearsal",
        hosts: str = HOSTS,
        site: str | None = SITE,
        rehearsal: str | None = REHEARSAL,
        extra: dict[str, str] | None = None,
    ) -> Path:
        root = tmp_path / "project" / "inventories" / name
        (root / "group_vars" / "all").mkdir(parents=True)
        (root / "hosts.yml").write_text(hosts, encoding="utf-8")
        if site is not None:
            (root / "group_vars" / "all" / "site.yml").write_text(site, encoding="utf-8")
        if rehearsal is not None:
            (root / "group_vars" / "all" / "rehearsal.yml").write_text(rehearsal, encoding="utf-8")
        for relative, text in (extra or {}).items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return root

    return make


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root (ansible.cfg + playbooks/) with no vault password in the environment."""
    root = tmp_path / "project"
    (root / "playbooks").mkdir(parents=True)
    (root / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
    (root / "playbooks" / "site.yml").write_text("---\n[]\n", encoding="utf-8")
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    return root
