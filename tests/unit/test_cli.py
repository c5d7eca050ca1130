from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from bureau.cli import main
from bureau.core import vault
from bureau.core.progress import Progress


def test_check_exits_2_on_problems_and_0_when_clean(
    make_inventory, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_inventory()
    assert main(["check", "-i", str(root)]) == 2
    assert "vault_pki_ca_passphrase" in capsys.readouterr().err
    password = vault.password_file(project, root.name)
    vault.ensure_password_file(password)
    vault.write(vault.vault_file(root), {"vault_pki_ca_passphrase": "x" * 40}, password)
    assert main(["check", "-i", str(root)]) == 0
    assert "is valid" in capsys.readouterr().out


def test_check_json(make_inventory, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_inventory(site="---\nbureau__organisation: X\n")
    assert main(["check", "-i", str(root), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert {p["key"] for p in report["problems"]} >= {"bureau__domain"}


def test_deploy_refuses_bad_input_before_running(
    make_inventory, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_inventory(site="---\n")
    assert main(["deploy", "-i", str(root)]) == 2
    assert "nothing was changed" in capsys.readouterr().err
    assert not (project / ".bureau" / "logs").exists()


def test_plain_progress_prints_tasks_and_failures() -> None:
    out = io.StringIO()
    console = Console(file=out, width=160)
    with Progress(console, "site.yml on rehearsal") as progress:
        progress.handle({"event": "playbook_on_task_start", "event_data": {"task": "Install"}})
        progress.handle(
            {"event": "runner_on_ok", "event_data": {"host": "h", "res": {"changed": True}}}
        )
        progress.handle(
            {"event": "runner_on_failed", "event_data": {"host": "h", "res": {"msg": "boom"}}}
        )
    text = out.getvalue()
    assert "task 1: Install" in text
    assert "FAILED h: boom" in text
    assert (progress.hosts["h"].ok, progress.hosts["h"].changed) == (1, 1)
    assert progress.hosts["h"].failed == 1
