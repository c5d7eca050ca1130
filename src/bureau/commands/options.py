"""Options several commands share, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

DEFAULT_INVENTORY = Path("inventories/rehearsal")


def inventory_option(help_text: str, *, required: bool = False) -> Callable[[Any], Any]:
    """`-i/--inventory`: the rehearsal inventory by default, unless `required`."""
    if required:
        return click.option(
            "-i", "--inventory", type=click.Path(path_type=Path), required=True, help=help_text
        )
    return click.option(
        "-i",
        "--inventory",
        type=click.Path(path_type=Path),
        default=DEFAULT_INVENTORY,
        show_default=True,
        help=help_text,
    )
