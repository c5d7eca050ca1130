"""The reference data shipped with Bureau: ministries and common Togolese names."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Ministry:
    """A ministry: `code` names its group (cn=<code>) and, upper-case, departmentNumber."""

    code: str
    name: str

    @property
    def department(self) -> str:
        return self.code.upper()


@dataclass(frozen=True)
class Names:
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]


def _data(name: str) -> Any:
    return yaml.safe_load(resources.files("bureau").joinpath("data", name).read_text("utf-8"))


@cache
def ministries() -> dict[str, Ministry]:
    """Ministries by lower-case code, in the order of the reference file."""
    return {
        str(item["code"]).lower(): Ministry(str(item["code"]).lower(), str(item["name"]))
        for item in _data("ministries.yml")
    }


@cache
def names() -> Names:
    data = _data("names.yml")
    return Names(
        female=tuple(data["given_names"]["female"]),
        male=tuple(data["given_names"]["male"]),
        surnames=tuple(data["surnames"]),
    )
