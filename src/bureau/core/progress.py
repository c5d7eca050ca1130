"""Showing a playbook run: a live table on a terminal, plain lines elsewhere (CI)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from bureau.core.inventory import shown
from bureau.core.runner import DeployResult, Event, HostTally

_COLUMNS = ("ok", "changed", "failed", "unreachable", "skipped")
PLAIN_WIDTH = 160  # columns when the output is a log or a pipe, not a terminal


def make_console(*, stderr: bool = False) -> Console:
    """A console for the operator; wide when it writes to a file or CI log;
    on standard error when standard output carries a document (--json)."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(width=PLAIN_WIDTH, stderr=stderr)
    return console


class Progress:
    """Counts results per host as events arrive; `handle` is the runner's callback."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self.task = ""
        self.tasks = 0
        self.hosts: dict[str, HostTally] = {}
        self.live = console.is_terminal
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.live:
            self._live = Live(self._table(), console=self.console, refresh_per_second=4)
            self._live.__enter__()
        else:
            self.console.print(f"deploy: {self.title}", highlight=False)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(kind, value, trace)

    def handle(self, event: Event) -> None:
        name = str(event.get("event", ""))
        data: dict[str, Any] = event.get("event_data") or {}
        host = str(data.get("host", ""))
        if name == "playbook_on_task_start":
            self.tasks += 1
            self.task = str(data.get("task", ""))
            if not self.live:
                self.console.print(
                    f"task {self.tasks}: {self.task}", highlight=False, markup=False, soft_wrap=True
                )
        elif name == "runner_on_ok":
            tally = self.hosts.setdefault(host, HostTally())
            tally.ok += 1
            tally.changed += bool((data.get("res") or {}).get("changed"))
        elif name == "runner_on_failed":
            tally = self.hosts.setdefault(host, HostTally())
            if data.get("ignore_errors"):
                tally.ignored += 1
            else:
                tally.failed += 1
                self._say(f"  FAILED {host}: {self._message(data)}")
        elif name == "runner_on_unreachable":
            self.hosts.setdefault(host, HostTally()).unreachable += 1
            self._say(f"  UNREACHABLE {host}: {self._message(data)}")
        elif name == "runner_on_skipped":
            self.hosts.setdefault(host, HostTally()).skipped += 1
        if self._live is not None:
            self._live.update(self._table())

    @staticmethod
    def _message(data: dict[str, Any]) -> str:
        res = data.get("res") or {}
        text = str(res.get("msg") or res.get("stderr") or "see the log")
        return " ".join(text.split())[:200]

    def _say(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(text, highlight=False, markup=False, soft_wrap=True)
        else:
            self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    def _table(self) -> Table:
        table = Table(title=f"{self.title} — task {self.tasks}: {self.task}", title_justify="left")
        table.add_column("host")
        for column in _COLUMNS:
            table.add_column(column, justify="right")
        for host, tally in sorted(self.hosts.items()):
            table.add_row(host, *(str(getattr(tally, c)) for c in _COLUMNS))
        return table


def print_summary(console: Console, result: DeployResult) -> None:
    """Per-host counts, duration and the log's path."""
    table = Table(title="deploy summary", title_justify="left")
    table.add_column("host")
    for column in _COLUMNS:
        table.add_column(column, justify="right")
    for host, tally in result.hosts.items():
        style = "red" if tally.failed or tally.unreachable else None
        table.add_row(host, *(str(getattr(tally, c)) for c in _COLUMNS), style=style)
    if result.hosts:
        console.print(table)
    else:
        # Ansible stopped before any host ran (syntax, missing file, vault): show why.
        console.print("ansible stopped before any task ran:", highlight=False, markup=False)
        for line in _log_tail(result):
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if result.slowest:
        console.print("slowest tasks:", highlight=False)
        for seconds, host, task in result.slowest:
            console.print(
                f"  {seconds:6.1f} s  {host}  {task}", highlight=False, markup=False, soft_wrap=True
            )
    verdict = "succeeded" if result.succeeded else f"FAILED ({result.status}, rc {result.rc})"
    console.print(
        f"deploy {verdict} in {result.duration:.1f} s; log: {shown(result.log_path)}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _log_tail(result: DeployResult, lines: int = 12) -> list[str]:
    try:
        text = result.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    kept = [line for line in text.splitlines() if line.strip() and not line.startswith("# ")]
    return kept[-lines:]
