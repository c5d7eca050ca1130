"""Where things are: the project root, Bureau's own data files, per-inventory state."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

STATE_DIR = ".bureau"


def project_root(start: Path | None = None) -> Path:
    """The nearest directory holding ansible.cfg and playbooks/, from `start` or the cwd."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "ansible.cfg").is_file() and (candidate / "playbooks").is_dir():
            return candidate
    return Path.cwd().resolve()


def state_dir(project: Path, inventory_name: str) -> Path:
    """Per-inventory state that is never committed (vault password, runner data)."""
    return project / STATE_DIR / inventory_name


def logs_dir(project: Path) -> Path:
    return project / STATE_DIR / "logs"


def _data(name: str) -> Any:
    text = resources.files("bureau").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class GroupRule:
    name: str
    description: str = ""
    required: bool = False
    min: int | None = None
    max: int | None = None
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecretRule:
    name: str
    group: str
    length: int = 32
    description: str = ""


@cache
def group_rules() -> dict[str, GroupRule]:
    """The known inventory groups (src/bureau/data/inventory-schema.yml)."""
    groups = _data("inventory-schema.yml")["groups"]
    return {
        name: GroupRule(
            name=name,
            description=str(body.get("description", "")),
            required=bool(body.get("required", False)),
            min=body.get("min"),
            max=body.get("max"),
            services=tuple(body.get("services") or ()),
        )
        for name, body in groups.items()
    }


@cache
def settings_schema() -> dict[str, Any]:
    """JSON Schema of the site settings (the variables of group `all`)."""
    return dict(_data("inventory-schema.yml")["settings"])


@cache
def secret_rules() -> tuple[SecretRule, ...]:
    """Every vault variable Bureau knows (src/bureau/data/secrets.yml)."""
    secrets = _data("secrets.yml") or {}
    return tuple(
        SecretRule(
            name=name,
            group=str(body.get("group", "all")),
            length=int(body.get("length", 32)),
            description=str(body.get("description", "")),
        )
        for name, body in secrets.items()
    )
