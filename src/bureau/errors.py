"""Errors a human can act on; the CLI turns them into exit codes in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what is wrong, how to fix it."""

    file: str
    key: str
    message: str
    fix: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.key}: {self.message}"
        return f"{text}\n    fix: {self.fix}" if self.fix else text


class BureauError(Exception):
    """A failure with a message for the operator and an exit code."""

    exit_code = EXIT_FAILED


class BadInput(BureauError):
    """The input (inventory, settings, CSV, options) is invalid; nothing was changed."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)


@dataclass
class CommandFailed(BureauError):
    """An external command (docker, debootstrap, ansible) failed."""

    command: list[str]
    returncode: int
    output: str = field(default="")

    def __str__(self) -> str:
        tail = "\n".join(self.output.strip().splitlines()[-20:])
        text = f"command failed with exit code {self.returncode}: {' '.join(self.command)}"
        return f"{text}\n{tail}" if tail else text
