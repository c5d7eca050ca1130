"""Files with personal data or passwords that Bureau writes in the project root
stay out of git; files the repository holds are not hidden."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )


pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or _git("rev-parse", "--git-dir").returncode != 0,
    reason="not a git work tree",
)


@pytest.mark.parametrize(
    "path",
    [
        "agents.csv",  # docs/users.md: bureau users sample --count 3000 -o agents.csv
        "agents-changed.csv",
        "export-rh.csv",
        "agents-passwords-20261129-114632.csv",  # the import's default --passwords-out
        "passwords-first.csv",
        "inventories/rehearsal/agents-passwords-20261129-114632.csv",
    ],
)
def test_agents_and_passwords_files_are_ignored(path: str) -> None:
    assert _git("check-ignore", "--no-index", "-q", path).returncode == 0, path


@pytest.mark.parametrize("path", ["bench/results/agents.csv", "tests/unit/data/agents.csv"])
def test_csv_files_outside_the_root_are_not(path: str) -> None:
    assert _git("check-ignore", "--no-index", "-q", path).returncode == 1, path


def test_no_tracked_file_is_ignored() -> None:
    assert _git("ls-files", "--cached", "--ignored", "--exclude-standard").stdout == ""
