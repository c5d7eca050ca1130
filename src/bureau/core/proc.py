"""Running external commands with errors an operator can read."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from bureau.errors import BureauError, CommandFailed


def require(program: str, hint: str) -> str:
    """Return the path of `program`, or fail saying how to get it."""
    path = shutil.which(program)
    if path is None:
        raise BureauError(f"'{program}' is not installed: {hint}")
    return path


def run(
    command: Sequence[str],
    *,
    input_bytes: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; raise CommandFailed when it fails."""
    proc = subprocess.run(
        list(command),
        input=input_bytes.decode() if input_bytes is not None else None,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise CommandFailed(list(command), proc.returncode, proc.stdout + proc.stderr)
    return proc
