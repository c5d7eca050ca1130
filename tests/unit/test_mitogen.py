"""Ansible runs over Mitogen everywhere, through one strategy shim that can be turned off."""

from __future__ import annotations

import configparser
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "plugins" / "strategy" / "mitogen_linear.py"


def load_shim(monkeypatch: pytest.MonkeyPatch, switch: str) -> ModuleType:
    monkeypatch.setenv("BUREAU_MITOGEN", switch)
    spec = importlib.util.spec_from_file_location(f"bureau_test_mitogen_linear_{switch}", SHIM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ansible_cfg_and_molecule_use_the_shim() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "ansible.cfg")
    assert config["defaults"]["strategy"] == "mitogen_linear"
    assert (ROOT / config["defaults"]["strategy_plugins"] / "mitogen_linear.py") == SHIM
    molecule = yaml.safe_load((ROOT / ".config" / "molecule" / "config.yml").read_text())
    defaults = molecule["provisioner"]["config_options"]["defaults"]
    assert defaults["strategy"] == "mitogen_linear"
    assert defaults["strategy_plugins"] == "${MOLECULE_PROJECT_DIRECTORY}/plugins/strategy"


def test_full_connection_names_reach_mitogen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mitogen only knows `docker`, `ssh`, `local`: the full names our inventories
    and molecule's driver use must not silently fall back to Ansible's plugins."""
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy

    loaded: list[str] = []
    # The shim replaces Mitogen's wrapper: put it back after the test.
    monkeypatch.setattr(
        ansible_mitogen.strategy,
        "wrap_connection_loader__get_with_context",
        ansible_mitogen.strategy.wrap_connection_loader__get_with_context,
    )

    def record(name: str, *args: Any, **kwargs: Any) -> str:
        loaded.append(name)
        return name

    monkeypatch.setattr(ansible_mitogen.loaders, "connection_loader__get_with_context", record)
    shim = load_shim(monkeypatch, "1")
    for full, short in (("community.docker.docker", "docker"), ("ansible.builtin.ssh", "ssh")):
        assert shim._get_connection(full) == f"mitogen_{short}"
    # The controller's local connection stays Ansible's (molecule's async create/destroy).
    assert shim._get_connection("local") == "local"
    assert shim._get_connection("ansible.builtin.local") == "ansible.builtin.local"
    assert loaded == ["mitogen_docker", "mitogen_ssh", "local", "ansible.builtin.local"]
    from ansible_mitogen.strategy import StrategyMixin

    assert issubclass(shim.StrategyModule, StrategyMixin)


def test_bureau_mitogen_0_runs_the_plain_linear_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible.plugins.loader import strategy_loader

    shim = load_shim(monkeypatch, "0")
    assert shim.StrategyModule is strategy_loader.get("linear", class_only=True)
    assert not shim.mitogen_enabled()
