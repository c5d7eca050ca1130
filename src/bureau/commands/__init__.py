"""One module per command group; each exposes a click command or group named `command`."""

from __future__ import annotations

import importlib

import click

# Add a module here to add a command group to `bureau`.
COMMAND_MODULES = ("image", "rehearse", "deploy", "check", "users", "dns", "audit", "vm")


def register(group: click.Group) -> None:
    for name in COMMAND_MODULES:
        group.add_command(importlib.import_module(f"bureau.commands.{name}").command)
