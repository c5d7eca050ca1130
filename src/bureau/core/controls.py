"""Which Bureau task implements which ANSSI BP-028 recommendation.

The hardening role names each of its tasks after the recommendations it
implements, `R9 R12 | Write the kernel and network hardening settings`, and,
where one ssg rule is meant, says so: `(ssg: accounts_password_set_max_life_root)`.
This module reads those names from roles/hardening/tasks/*.yml; the audit
joins them to the XCCDF rules through the rules' ANSSI references (`R73`).
Nothing is kept by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROLE = "hardening"
_PREFIX = re.compile(r"^\s*((?:R\d+\s+)*R\d+)\s*\|\s*(.+?)\s*$")
_SSG = re.compile(r"\(ssg:\s*([a-z0-9_,\s]+?)\s*\)")
SSG_RULE_PREFIX = "xccdf_org.ssgproject.content_rule_"


@dataclass(frozen=True)
class Task:
    """A hardening task: the recommendations it implements, where it is written."""

    ids: tuple[str, ...]
    name: str
    file: str
    ssg_rules: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.file}: {self.name}"


def _names(items: Any) -> list[str]:
    """Task names in a task file, blocks included."""
    found: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("name"), str):
            found.append(item["name"])
        for key in ("block", "rescue", "always"):
            found += _names(item.get(key))
    return found


def parse_name(name: str, file: str) -> Task | None:
    """The task a name describes, or None when it carries no `Rnn |` prefix."""
    match = _PREFIX.match(name)
    if not match:
        return None
    return Task(
        ids=tuple(match[1].split()),
        name=name,
        file=file,
        ssg_rules=tuple(
            SSG_RULE_PREFIX + rule for listed in _SSG.findall(name) for rule in ssg_names(listed)
        ),
    )


def ssg_names(listed: str) -> list[str]:
    """`accounts_password_pam_minlen, _minclass` → both full rule names: an item
    starting with `_` replaces the last word of the first one."""
    items = [item.strip() for item in listed.split(",") if item.strip()]
    if not items:
        return []
    stem = items[0].rsplit("_", 1)[0]
    return [stem + item if item.startswith("_") else item for item in items]


def hardening_tasks(project: Path) -> list[Task]:
    """Every task of the hardening role that names the recommendations it implements."""
    tasks: list[Task] = []
    for path in sorted((project / "roles" / ROLE / "tasks").glob("*.yml")):
        file = str(path.relative_to(project))
        for name in _names(yaml.safe_load(path.read_text(encoding="utf-8"))):
            task = parse_name(name, file)
            if task is not None:
                tasks.append(task)
    return tasks


def implementing(tasks: list[Task], rule_id: str, anssi: tuple[str, ...]) -> list[Task]:
    """The tasks that implement an XCCDF rule: those naming the rule itself
    (`ssg: …`) when there are any, else those sharing one of its BP-028 ids."""
    named = [t for t in tasks if rule_id in t.ssg_rules]
    if named:
        return named
    return [t for t in tasks if set(t.ids) & set(anssi)]
