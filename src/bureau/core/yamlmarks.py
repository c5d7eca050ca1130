"""YAML loading that remembers on which line each key was written.

`bureau check` names the file and line of every problem; PyYAML's node marks
give the line, this module keeps them beside the plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bureau.errors import BadInput, Problem

KeyPath = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """A safe loader that reads Ansible's tags (`!vault`, `!unsafe`) as plain strings."""


def _tagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _tagged)


@dataclass
class Document:
    """A YAML file's data and the line (1-based) of every mapping key and list item."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, *keys: str | int) -> int | None:
        return self.lines.get(tuple(keys))


def _walk(node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            path = (*prefix, key)
            lines[path] = key_node.start_mark.line + 1
            _walk(value_node, path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            lines[path] = item.start_mark.line + 1
            _walk(item, path, lines)


def _unbuildable_line(node: yaml.Node) -> int | None:
    """The line of the first scalar PyYAML cannot build (an impossible date)."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.safe_load(node.value)
            except ValueError:
                return node.start_mark.line + 1
        return None
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [item for pair in node.value for item in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    for child in children:
        line = _unbuildable_line(child)
        if line is not None:
            return line
    return None


def loads(text: str, path: Path, shown: str | None = None) -> Document:
    """Parse YAML text; a syntax error becomes BadInput naming the file and line."""
    node = None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except ValueError as err:
        # Well-formed YAML whose value cannot be built: a date such as 2027-13-01.
        line = _unbuildable_line(node) if node is not None else None
        raise BadInput(
            "invalid YAML value",
            [
                Problem(
                    file=shown or str(path),
                    key="(value)",
                    message=f"a value cannot be read: {err}",
                    fix="correct the value at this line (a date is YYYY-MM-DD, a real day)",
                    line=line,
                )
            ],
        ) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise BadInput(
            "invalid YAML",
            [
                Problem(
                    file=shown or str(path),
                    key="(syntax)",
                    message=f"not valid YAML: {problem}",
                    fix="correct the YAML syntax at this line (indentation, quotes, colons)",
                    line=line,
                )
            ],
        ) from err
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return Document(path=path, data=data, lines=lines)


def load(path: Path, shown: str | None = None) -> Document:
    """Read and parse a YAML file (see `loads`)."""
    return loads(path.read_text(encoding="utf-8"), path, shown)
